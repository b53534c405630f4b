#pragma once
// Runs one task inside a group: marks it running, does its work (train a
// cell or source, import a weight file, or draw an ST state), writes its
// outputs and then its record (an analysis: its tables). Any failure inside the task becomes the
// task's failed record; a stop request leaves it pending.
#include <map>
#include <memory>

#include "featreuse/data/dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/dist/task_queue.hpp"
#include "featreuse/grid/plan.hpp"
#include "featreuse/store/store.hpp"
#include "featreuse/train/resume.hpp"
#include "featreuse/train/trainer.hpp"
#include "heartbeat.hpp"

namespace featreuse::app {

class TaskRunner {
 public:
  // Cells and sources train on `device` (analyses run on the CPU).
  TaskRunner(store::Store& store, const grid::Plan& plan, const dist::Topology& topology,
             dist::GradientReducer& reducer, c10::Device device);
  dist::Outcome run(size_t task_index);

 private:
  // `heartbeat` (the writer's; null elsewhere) hears of every training step.
  train::TrainResult train(const grid::Task& task, train::ResumeSlot* resume, Heartbeat* heartbeat);
  train::TrainResult import_weights(const grid::Task& task);
  train::TrainResult draw_st(const grid::Task& task);
  train::TrainResult analyse(const grid::Task& task);
  // A network shaped like `source`'s checkpoints.
  std::shared_ptr<models::Network> source_network(const grid::Task& source);
  const data::Dataset& dataset(const json& config);
  [[noreturn]] void abort_group(const grid::Task& task, const std::string& message) const;
  store::Store& store_;
  const grid::Plan& plan_;
  const dist::Topology& topology_;
  dist::GradientReducer& reducer_;
  const c10::Device device_;
  // Open datasets, kept between tasks (cells of a grid share a few datasets).
  std::map<std::string, std::unique_ptr<data::Dataset>> open_;
};

}  // namespace featreuse::app
