#pragma once
// Dynamic task distribution: a coordinator on world rank 0 (a thread beside
// that rank's own training) owns the Scheduler; group leaders ask it for the
// next task and report outcomes; leaders pass tasks on to their group.
// Waiting ranks sleep between polls instead of spinning.
#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "featreuse/dist/topology.hpp"
#include "featreuse/grid/scheduler.hpp"

namespace featreuse::dist {

enum class Outcome : int64_t { none = 0, done = 1, failed = 2, interrupted = 3 };

// A task for a group, and the tasks the scheduler keeps for the same group
// that share work with it (grid::Scheduler::reserved): the group's leader
// may do their work too while it runs `task`, and gets them next.
struct Assignment {
  size_t task = 0;
  std::vector<size_t> companions;  // known to the group's leader only
};

class TaskQueue {
 public:
  // Collective over the world. `scheduler` is used on world rank 0 only
  // (others may pass nullptr); the plan's task costs feed the job-level
  // progress line.
  TaskQueue(const Topology& topology, grid::Scheduler* scheduler, const grid::Plan* plan);
  ~TaskQueue();

  // Every rank of a group calls this together. Reports the outcome of the
  // group's previous task (leaders only; ignored on others) and returns the
  // next task, or nullopt when the group should stop: no task can run any
  // more, or `want_more` was false (a stop was requested).
  std::optional<Assignment> next(std::optional<size_t> previous, Outcome outcome, bool want_more = true);

 private:
  void serve();
  std::optional<Assignment> ask_coordinator(int64_t previous, Outcome outcome, bool want_more);
  const Topology& topology_;
  grid::Scheduler* scheduler_;
  const grid::Plan* plan_;
  MPI_Comm comm_ = MPI_COMM_NULL;  // private duplicate of the world for the protocol
  std::thread coordinator_;
  std::atomic<bool> abandoned_{false};  // the coordinator stops serving (set while unwinding)
};

}  // namespace featreuse::dist
