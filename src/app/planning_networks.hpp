#pragma once
// The networks a job's planning reads: probe points, checkpoint layouts,
// analysis tables and where an init's entries come from, all of which follow
// from a network's structure. So while a job is planned each model, head and
// input is built once, not once per question, and without its families' weight
// draws (models::StructureOnlyBuild), most of a build's time.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "featreuse/grid/plan.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::app {

// What tells one planned network from another: the model config, head and input.
std::string network_key(const json& model, int64_t num_classes, int64_t in_channels, int64_t image_size);

class PlanningNetworks {
 public:
  // The network of `model` with that head and input; its weights are
  // LibTorch's constructor defaults, never read.
  std::shared_ptr<models::Network> get(const json& model, int64_t num_classes, int64_t in_channels,
                                       int64_t image_size);
  // Planning is over: the networks' memory goes back before training.
  void clear() { kept_.clear(); }

 private:
  // Plans list a model's tasks together; the paper's jobs have four models.
  static constexpr size_t kKept = 4;
  std::deque<std::pair<std::string, std::shared_ptr<models::Network>>> kept_;  // most recently used last
};

}  // namespace featreuse::app
