#pragma once
// Which task a free group takes next: the ready task (dependencies done) with
// the highest priority (longest remaining path), ties in plan order. The run
// coordinator and `featreuse plan`'s simulation share this policy. Pure.
#include <optional>
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

  std::optional<size_t> take();         // marks the task running
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
};

// Simulated schedule with estimated costs as durations, for `plan`.
struct Slot {
  size_t task;
  int group;
  double start, end;
};
std::vector<Slot> simulate(const Plan& plan, int groups);

}  // namespace featreuse::grid
