#include "featreuse/models/network.hpp"

#include "featreuse/core/error.hpp"

namespace featreuse::models {

ProbedOutput Network::forward_probed(const torch::Tensor& input,
                                     const std::vector<std::string>& probes) {
  if (!probes.empty()) throw Error("this model has no probe points");
  return {forward(input), {}};
}

bool under_module(const std::string& name, const std::string& path) {
  if (name.size() < path.size() || name.compare(0, path.size(), path) != 0) return false;
  return name.size() == path.size() || name[path.size()] == '.';
}

std::vector<StateEntry> state_entries(torch::nn::Module& module) {
  std::vector<StateEntry> out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      out.push_back({prefix + p.key(), p.value(), false});
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false))
      out.push_back({prefix + b.key(), b.value(), true});
  }
  return out;
}

}  // namespace featreuse::models
