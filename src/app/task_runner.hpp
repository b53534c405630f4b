#pragma once
// Runs one task inside a group: marks it running, does its work (train a
// cell or source, import a weight file, or draw an ST state), writes its
// outputs and then its record (an analysis: its tables). Any failure inside the task becomes the
// task's failed record; a stop request leaves it pending.
#include <exception>
#include <map>
#include <memory>

#include "featreuse/analysis/task.hpp"
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
  // Every task computes on `device`.
  TaskRunner(store::Store& store, const grid::Plan& plan, const dist::Topology& topology,
             dist::GradientReducer& reducer, c10::Device device);
  // `companions`: tasks the scheduler keeps for this group that share work
  // with this one (dist::Assignment); an analysis makes their tables too,
  // in its own test passes, and keeps them for when they come.
  dist::Outcome run(size_t task_index, const std::vector<size_t>& companions = {});

 private:
  void save_record(const grid::Task& task, const store::CellRecord& record);
  store::CellRecord mark_running(const grid::Task& task);
  train::TrainResult perform(const grid::Task& task, const std::vector<size_t>& companions,
                             train::ResumeSlot* resume, Heartbeat* heartbeat);
  void record_done(const grid::Task& task, train::TrainResult& result, const store::CellRecord& started,
                   double seconds);
  void record_interrupted(const grid::Task& task, store::CellRecord record, double seconds);
  void record_failed(const grid::Task& task, store::CellRecord record, const std::string& message,
                     double seconds);
  // `heartbeat` (the writer's; null elsewhere) hears of every training step.
  train::TrainResult train(const grid::Task& task, train::ResumeSlot* resume, Heartbeat* heartbeat);
  train::TrainResult import_weights(const grid::Task& task);
  train::TrainResult draw_st(const grid::Task& task);
  train::TrainResult analyse(const grid::Task& task, const std::vector<size_t>& companions);
  struct PreparedAnalysis {
    std::shared_ptr<models::Network> initial_net, best_net, partner_net;
    analysis::AnalysisInputs in;
    std::vector<analysis::AnalysisRequest> requests;
  };
  PreparedAnalysis prepare_analysis(const grid::Task& cell, const std::vector<const grid::Task*>& together);
  // The analysis tasks to run with `task`: the companions that analyse the
  // same cell (against the same partner, if any) and are not made yet.
  std::vector<const grid::Task*> analysed_together(const grid::Task& task,
                                                   const std::vector<size_t>& companions) const;
  // A network shaped like `source`'s checkpoints.
  std::shared_ptr<models::Network> source_network(const grid::Task& source);
  const data::Dataset& dataset(const json& config);
  [[noreturn]] void abort_group(const grid::Task& task, const std::string& message) const;
  void stop_if_unusable(const std::exception& e, bool whole_group) const;
  store::Store& store_;
  const grid::Plan& plan_;
  const dist::Topology& topology_;
  dist::GradientReducer& reducer_;
  const c10::Device device_;
  // Open datasets, kept between tasks (cells of a grid share a few datasets).
  std::map<std::string, std::unique_ptr<data::Dataset>> open_;
  // Tables of companions made in an earlier task's test passes, by task id,
  // with the id of the task that made them.
  struct MadeEarlier {
    std::vector<store::ResultTable> tables;
    std::string by;
  };
  std::map<std::string, MadeEarlier> made_earlier_;
};

}  // namespace featreuse::app
