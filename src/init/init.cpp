#include "featreuse/init/init.hpp"

#include "featreuse/core/error.hpp"
#include "featreuse/models/weights.hpp"

namespace featreuse::init {

const std::vector<SchemeInfo>& schemes() {
  static const std::vector<SchemeInfo> list = {
      {"ri", "random initialisation: the architecture's library default, seeded by the cell seed", false, {}},
      {"wt", "weight transfer: the source's weights, a fresh classifier head", true, {}},
  };
  return list;
}

std::string apply(models::Network& net, const nlohmann::json& init, const models::TensorList* source) {
  const std::string scheme = init.value("scheme", std::string());
  if (scheme == "ri") return "RI (library default init)";
  if (scheme == "wt") {
    if (!source) throw Error("init wt needs the source's weights");
    models::LoadOptions options;
    options.source = "source " + init.value("source", std::string("?"));
    const auto report = models::load_weights(net, *source, options);
    return "WT from " + options.source + " (" + std::to_string(report.loaded) + " tensors, head kept random)";
  }
  throw Error("unknown init scheme '" + scheme + "'");
}

}  // namespace featreuse::init
