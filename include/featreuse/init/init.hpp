#pragma once
// Initialisation schemes: how a freshly built network (its library-default
// random init, seeded by the cell seed) gets its starting weights. The job
// axis `init` names one; schemes that need a source read the source task's
// best checkpoint. (RI and WT here; ST and WT-ST come with the paper's
// initialisations.)
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "featreuse/models/network.hpp"

namespace featreuse::init {

struct SchemeInfo {
  std::string name, description;
  bool needs_source = false;
  nlohmann::json params = nlohmann::json::object();  // parameter defaults (typed by value)
};

const std::vector<SchemeInfo>& schemes();

// Applies `init` ({"scheme": name, params..., "source": id}) to `net`.
// `source` holds the source's weights (state_dict names) for schemes that
// need one. Returns a one-line description for the log.
std::string apply(models::Network& net, const nlohmann::json& init, const models::TensorList* source);

}  // namespace featreuse::init
