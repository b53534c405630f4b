#pragma once
// Which task a free group takes next: the ready task (dependencies done) with
// the highest priority (longest remaining path), ties in plan order. A group
// that takes an analysis keeps the other ready analyses of the same cell: run
// one after the other on one rank, they share their test passes
// (docs/analyses.md). The run coordinator and `featreuse plan`'s simulation
// share this policy. Pure.
#include <optional>
#include <string>
#include <vector>

#include "featreuse/grid/plan.hpp"

namespace featreuse::grid {

// Codes as stored in the store's results table.
enum class TaskState : int { pending = 0, running = 1, done = 2, failed = 3 };
const char* state_name(TaskState state);

class Scheduler {
 public:
  // `start`: one state per plan task (done tasks are skipped, failed ones stay
  // failed; a running state from a crashed job counts as pending).
  Scheduler(const Plan& plan, std::vector<TaskState> start);

  // Marks the task running. Tasks reserved for `group` come first; one
  // reserved for another group is never given. Taking an analysis reserves
  // the cell's other ready analyses for `group`.
  std::optional<size_t> take(int group = 0);
  // The pending tasks reserved for `group` that analyse the same cell as `task`.
  std::vector<size_t> reserved(int group, size_t task) const;
  // A group that stops gives back what was reserved for it.
  void release_reservations(int group);
  void complete(size_t task, bool ok);  // done or failed
  void release(size_t task);            // back to pending (interrupted)

  TaskState state(size_t task) const { return states_[task]; }
  // Pending tasks that can never run because a dependency failed.
  std::vector<size_t> blocked() const;
  // Nothing is running and no pending task can still become ready.
  bool finished() const;
  size_t running() const;

 private:
  bool is_blocked(size_t task) const;
  bool is_ready(size_t task) const;
  std::vector<std::vector<size_t>> deps_;
  std::vector<double> priority_;
  std::vector<TaskState> states_;
  std::vector<std::string> shares_with_;  // analyses: the analysed cell's id; "" for other tasks
  std::vector<int> reserved_for_;         // the group a task is kept for; -1: any
};

// Simulated schedule with estimated costs as durations, for `plan`.
struct Slot {
  size_t task;
  int group;
  double start, end;
};
std::vector<Slot> simulate(const Plan& plan, int groups);

}  // namespace featreuse::grid
