#pragma once
// Runs one task inside a group: marks it running, trains it, writes its
// outputs and then its record. Any failure inside the task becomes the
// task's failed record; a stop request leaves it pending.
#include <map>
#include <memory>

#include "featreuse/data/dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/dist/task_queue.hpp"
#include "featreuse/grid/plan.hpp"
#include "featreuse/store/store.hpp"

namespace featreuse::app {

class TaskRunner {
 public:
  TaskRunner(store::Store& store, const grid::Plan& plan, const dist::Topology& topology,
             dist::GradientReducer& reducer);
  dist::Outcome run(size_t task_index);

 private:
  const data::Dataset& dataset(const json& config);
  store::Store& store_;
  const grid::Plan& plan_;
  const dist::Topology& topology_;
  dist::GradientReducer& reducer_;
  // Open datasets, kept between tasks (cells of a grid share a few datasets).
  std::map<std::string, std::unique_ptr<data::Dataset>> open_;
};

}  // namespace featreuse::app
