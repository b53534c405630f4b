#include "planning_networks.hpp"

#include "featreuse/models/initial_draws.hpp"
#include "study.hpp"

namespace featreuse::app {

std::string network_key(const json& model, int64_t num_classes, int64_t in_channels, int64_t image_size) {
  return model.dump() + "|" + std::to_string(num_classes) + "|" + std::to_string(in_channels) + "|" +
         std::to_string(image_size);
}

std::shared_ptr<models::Network> PlanningNetworks::get(const json& model, int64_t num_classes,
                                                       int64_t in_channels, int64_t image_size) {
  const std::string key = network_key(model, num_classes, in_channels, image_size);
  for (auto it = kept_.begin(); it != kept_.end(); ++it)
    if (it->first == key) {
      auto found = std::move(*it);
      kept_.erase(it);
      kept_.push_back(std::move(found));
      return kept_.back().second;
    }
  if (kept_.size() == kKept) kept_.pop_front();
  models::StructureOnlyBuild structure_only;
  kept_.emplace_back(key, build_network(model, num_classes, in_channels, image_size, 0));
  return kept_.back().second;
}

}  // namespace featreuse::app
