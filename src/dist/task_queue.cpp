#include "featreuse/dist/task_queue.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"

namespace featreuse::dist {

namespace {
constexpr int kRequestTag = 101, kReplyTag = 102;
enum Reply : int64_t { kTask = 0, kWait = 1, kFinish = 2 };
constexpr auto kIdlePoll = std::chrono::milliseconds(2);
constexpr auto kWaitRetry = std::chrono::milliseconds(200);
// A reply: what, the task, how many companions, then the companions (at most
// this many are sent; the others stay reserved and are simply run later).
constexpr int kMaxCompanions = 32;
constexpr int kReplyLength = 3 + kMaxCompanions;
}  // namespace

TaskQueue::TaskQueue(const Topology& topology, grid::Scheduler* scheduler, const grid::Plan* plan)
    : topology_(topology), scheduler_(scheduler), plan_(plan) {
  MPI_Comm_dup(topology.world, &comm_);
  if (topology.world_rank == 0) {
    if (!scheduler_ || !plan_) throw Error("task queue: world rank 0 needs the scheduler and plan");
    int provided = 0;
    MPI_Query_thread(&provided);
    if (provided < MPI_THREAD_MULTIPLE && topology.world_size > 1)
      throw Error("the MPI library gives no MPI_THREAD_MULTIPLE, which the coordinator thread needs");
    coordinator_ = std::thread([this] { serve(); });
  }
}

TaskQueue::~TaskQueue() {
  // An exception unwinding past the queue (a store this rank cannot write)
  // must not wait for groups that will never report: the coordinator stops
  // serving, and the process aborts next (cmd_run.cpp), taking the others.
  const bool unwinding = std::uncaught_exceptions() > 0;
  if (unwinding) abandoned_ = true;
  if (coordinator_.joinable()) coordinator_.join();
  if (comm_ != MPI_COMM_NULL && !unwinding) MPI_Comm_free(&comm_);
}

void TaskQueue::serve() {
  int active_groups = topology_.group_count;
  const size_t total = plan_->tasks.size();
  double total_cost = 0, done_cost = 0;
  size_t done = 0, failed = 0;
  for (size_t i = 0; i < total; ++i) {
    total_cost += plan_->tasks[i].cost;
    if (scheduler_->state(i) == grid::TaskState::done) {
      ++done;
      total_cost -= plan_->tasks[i].cost;  // not part of this run's work
    }
  }
  const size_t skipped = done;
  Stopwatch clock;
  while (active_groups > 0 && !abandoned_) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, kRequestTag, comm_, &flag, &status);
    if (!flag) {
      std::this_thread::sleep_for(kIdlePoll);
      continue;
    }
    int64_t request[4];
    MPI_Recv(request, 4, MPI_INT64_T, status.MPI_SOURCE, kRequestTag, comm_, MPI_STATUS_IGNORE);
    const int64_t previous = request[1];
    const auto outcome = static_cast<Outcome>(request[2]);
    const bool want_more = request[3] != 0;
    if (previous >= 0 && outcome != Outcome::none) {
      const size_t t = size_t(previous);
      if (outcome == Outcome::interrupted) {
        scheduler_->release(t);
      } else {
        scheduler_->complete(t, outcome == Outcome::done);
        (outcome == Outcome::done ? done : failed) += 1;
        done_cost += plan_->tasks[t].cost;
        const double elapsed = clock.seconds();
        const double rate = elapsed > 0 ? done_cost / elapsed : 0;
        // Sums of costs added and taken away: the last task may leave -1e-12 behind.
        const double left = std::max(0.0, total_cost - done_cost);
        const double eta = rate > 0 ? left / rate : -1;
        spdlog::info(
            "job: {}/{} tasks finished ({} done, {} failed, {} running, {} skipped as done before) "
            "{:.2f} tasks/min ETA {}",
            done + failed - skipped, total - skipped, done - skipped, failed, scheduler_->running(), skipped,
            (done + failed - skipped) / std::max(elapsed / 60.0, 1e-9), format_duration(eta));
      }
    }
    const int group = int(request[0]);
    int64_t reply[kReplyLength] = {kFinish, -1, 0};
    if (!want_more) scheduler_->release_reservations(group);
    if (want_more) {
      if (auto task = scheduler_->take(group)) {
        reply[0] = kTask;
        reply[1] = int64_t(*task);
        for (size_t companion : scheduler_->reserved(group, *task))
          if (reply[2] < kMaxCompanions) reply[3 + reply[2]++] = int64_t(companion);
      } else if (!scheduler_->finished()) {
        reply[0] = kWait;
      }
    }
    if (reply[0] == kFinish) --active_groups;
    MPI_Send(reply, int(3 + reply[2]), MPI_INT64_T, status.MPI_SOURCE, kReplyTag, comm_);
  }
}

std::optional<Assignment> TaskQueue::ask_coordinator(int64_t previous, Outcome outcome, bool want_more) {
  int64_t request[4] = {topology_.group, previous, static_cast<int64_t>(outcome), want_more ? 1 : 0};
  while (true) {
    MPI_Send(request, 4, MPI_INT64_T, 0, kRequestTag, comm_);
    int64_t reply[kReplyLength];
    MPI_Request pending;
    MPI_Irecv(reply, kReplyLength, MPI_INT64_T, 0, kReplyTag, comm_, &pending);
    wait_sleeping(pending, 1);
    if (reply[0] == kTask) {
      Assignment a;
      a.task = size_t(reply[1]);
      for (int64_t c = 0; c < reply[2]; ++c) a.companions.push_back(size_t(reply[3 + c]));
      return a;
    }
    if (reply[0] == kFinish) return std::nullopt;
    // Nothing ready yet (dependencies still running): ask again shortly.
    request[1] = -1;
    request[2] = static_cast<int64_t>(Outcome::none);
    std::this_thread::sleep_for(kWaitRetry);
  }
}

std::optional<Assignment> TaskQueue::next(std::optional<size_t> previous, Outcome outcome, bool want_more) {
  int64_t task = -1;
  std::vector<size_t> companions;
  if (topology_.leader()) {
    auto answer =
        ask_coordinator(previous ? int64_t(*previous) : -1, previous ? outcome : Outcome::none, want_more);
    if (answer) {
      task = int64_t(answer->task);
      companions = std::move(answer->companions);
    }
  }
  if (topology_.group_size > 1) {
    MPI_Request request;
    MPI_Ibcast(&task, 1, MPI_INT64_T, 0, topology_.group_comm, &request);
    wait_sleeping(request, 5);
  }
  if (task < 0) return std::nullopt;
  return Assignment{size_t(task), std::move(companions)};
}

}  // namespace featreuse::dist
