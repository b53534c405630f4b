// Runs as one process (ctest's per-test entries) and under `mpirun -np 2`
// (dist.two_ranks): every test is collective over MPI_COMM_WORLD.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <thread>

#include "featreuse/core/collective.hpp"
#include "featreuse/core/cores.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/dist/device.hpp"
#include "featreuse/dist/overlap.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/dist/task_queue.hpp"
#include "featreuse/dist/topology.hpp"

using namespace featreuse;

namespace {
int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}
int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// Tasks 0..7; 1 and 2 depend on 0; 3 depends on 2; 4 depends on 3.
grid::Plan chain_plan() {
  grid::Plan plan;
  for (int i = 0; i < 8; ++i) {
    grid::Task t;
    t.id = "t" + std::to_string(i);
    t.cost = 1.0 + i;
    plan.tasks.push_back(t);
  }
  plan.tasks[1].deps = {"t0"};
  plan.tasks[2].deps = {"t0"};
  plan.tasks[3].deps = {"t2"};
  plan.tasks[4].deps = {"t3"};
  return plan;
}
// The scheduler the coordinator (world rank 0) owns, every task pending; null elsewhere.
std::unique_ptr<grid::Scheduler> coordinator_scheduler(const grid::Plan& plan) {
  if (world_rank() != 0) return nullptr;
  return std::make_unique<grid::Scheduler>(
      plan, std::vector<grid::TaskState>(plan.tasks.size(), grid::TaskState::pending));
}
}  // namespace

TEST(Topology, GroupsOfOneAndValidation) {
  dist::Topology t = dist::make_topology(MPI_COMM_WORLD, 1);
  EXPECT_EQ(t.group_count, world_size());
  EXPECT_EQ(t.group, world_rank());
  EXPECT_TRUE(t.leader());
  EXPECT_GE(featreuse::threads_per_rank(t.world), 1);
  dist::free_topology(t);
  if (world_size() == 2) {
    dist::Topology both = dist::make_topology(MPI_COMM_WORLD, 2);
    EXPECT_EQ(both.group_count, 1);
    EXPECT_EQ(both.group_rank, world_rank());
    dist::free_topology(both);
  }
  EXPECT_THROW(dist::make_topology(MPI_COMM_WORLD, 3), Error);
}

dist::ReducerOptions buckets_of(size_t bytes, dist::GradientSync sync = dist::GradientSync::overlapped) {
  dist::ReducerOptions options;
  options.bucket_bytes = bytes;
  options.sync = sync;
  return options;
}

TEST(Reducer, AveragesAndBroadcastsAcrossTheGroup) {
  auto reducer = dist::make_mpi_reducer(MPI_COMM_WORLD, buckets_of(16));  // tiny buckets: many rounds
  const float r = float(world_rank());
  std::vector<at::Tensor> grads = {at::full({3, 2}, r), at::full({5}, 10 * r), at::full({1}, 1.0f)};
  reducer->average(grads);
  const float mean_rank = float(world_size() - 1) / 2.0f;
  EXPECT_TRUE(at::allclose(grads[0], at::full({3, 2}, mean_rank)));
  EXPECT_TRUE(at::allclose(grads[1], at::full({5}, 10 * mean_rank)));
  EXPECT_TRUE(at::allclose(grads[2], at::full({1}, 1.0f)));

  std::vector<at::Tensor> weights = {at::full({4, 4}, r + 1), at::full({2}, r - 7)};
  reducer->broadcast(weights);
  EXPECT_TRUE(at::equal(weights[0], at::full({4, 4}, 1.0f)));
  EXPECT_TRUE(at::equal(weights[1], at::full({2}, -7.0f)));

  std::vector<double> sums = {1.0, r};
  reducer->sum(sums);
  EXPECT_EQ(sums[0], double(world_size()));
  EXPECT_THROW(reducer->average({at::Tensor()}), Error);
}

// The factory's CPU backend is the MPI one, bucketed the same way.
TEST(Reducer, TheCpuDeviceGetsTheMpiBackend) {
  auto reducer = dist::make_reducer(MPI_COMM_WORLD, c10::Device(c10::kCPU), buckets_of(8));
  EXPECT_EQ(reducer->size(), world_size());
  std::vector<at::Tensor> grads = {at::arange(6, at::kFloat).reshape({2, 3}) * float(world_rank() + 1)};
  reducer->average(grads);
  const float mean_factor = float(world_size() + 1) / 2.0f;  // mean of 1..n
  EXPECT_TRUE(at::allclose(grads[0], at::arange(6, at::kFloat).reshape({2, 3}) * mean_factor));
}

// Leaf tensors as a tiny network's parameters: w1 (used twice, so its
// gradient arrives summed), b1, w2, one never used and one frozen.
struct TinyNet {
  std::vector<at::Tensor> params;
  TinyNet() {
    at::manual_seed(1);
    params = {at::randn({4, 3}), at::randn({3}), at::randn({3, 2}), at::randn({5}), at::randn({2})};
    for (size_t i = 0; i < 4; ++i) params[i].requires_grad_(true);
  }
  at::Tensor loss(const at::Tensor& x) const {
    const at::Tensor h = at::tanh(at::matmul(x, params[0]) + params[1]);
    return (at::matmul(h, params[2]) * params[4]).pow(2).sum() + 0.1 * at::matmul(x, params[0]).sum();
  }
};

// This rank's own gradients, summed over the ranks by MPI itself, over the
// group size: what every rank must hold after averaging (zeros where none).
std::vector<at::Tensor> mpi_mean_gradients(const at::Tensor& x) {
  TinyNet local;
  local.loss(x).backward();
  std::vector<at::Tensor> out;
  for (const auto& p : local.params) {
    at::Tensor g = p.grad().defined() ? p.grad().clone() : at::zeros_like(p);
    MPI_Allreduce(MPI_IN_PLACE, g.data_ptr<float>(), int(g.numel()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    out.push_back(g.mul_(1.0 / world_size()));
  }
  return out;
}

at::Tensor rank_input() {
  at::manual_seed(7);
  return at::randn({6, 4}) * float(world_rank() + 1);
}

// Starts nothing: records the sizes of the buffers in the order they start,
// and leaves them as they are (a group of one).
class RecordingAverager : public dist::AsyncAverager {
 public:
  explicit RecordingAverager(std::vector<int64_t>& started) : started_(started) {}
  void start(const at::Tensor& flat) override { started_.push_back(flat.numel()); }
  void wait_all() override {}

 private:
  std::vector<int64_t>& started_;
};

// One parameter per bucket, in reverse parameter order: the frozen one (2),
// the unused one (5), w2 (6), b1 (3), w1 (12). A bucket starts once it is
// complete and every bucket before it has started: the unused parameter's
// holds the rest back until finish() gives it zeros.
TEST(Overlap, BucketsStartInReverseParameterOrderEachOnceComplete) {
  const at::Tensor x = rank_input();
  TinyNet net, local;
  std::vector<int64_t> started;
  dist::OverlappedAverage overlap(net.params, std::make_unique<RecordingAverager>(started), 1);
  overlap.begin_step();
  net.loss(x).backward();
  EXPECT_EQ(started, std::vector<int64_t>({2}));
  overlap.finish();
  EXPECT_EQ(started, std::vector<int64_t>({2, 5, 6, 3, 12}));
  local.loss(x).backward();
  for (size_t i : {0, 1, 2}) EXPECT_TRUE(at::equal(net.params[i].grad(), local.params[i].grad())) << i;
  for (size_t i : {3, 4}) EXPECT_TRUE(at::equal(net.params[i].grad(), at::zeros_like(net.params[i]))) << i;

  // Without the unused parameter every bucket starts during backward.
  TinyNet used;
  const std::vector<at::Tensor> averaged = {used.params[0], used.params[1], used.params[2], used.params[4]};
  started.clear();
  dist::OverlappedAverage during(averaged, std::make_unique<RecordingAverager>(started), 1);
  during.begin_step();
  used.loss(x).backward();
  EXPECT_EQ(started, std::vector<int64_t>({2, 6, 3, 12}));
  during.finish();
}

// A step whose backward throws after some averages started leaves them in
// flight (the trainer then stops the process); a finished step does not, and
// the average is destroyed either way without waiting.
TEST(Overlap, AStepThatThrowsInsideBackwardLeavesItsStartedAveragesInFlight) {
  const at::Tensor x = rank_input();
  TinyNet net;
  const std::vector<at::Tensor> averaged = {net.params[0], net.params[1], net.params[2], net.params[4]};
  net.params[1].register_hook([](const at::Tensor&) -> at::Tensor { throw Error("out of memory"); });
  std::vector<int64_t> started;
  {
    dist::OverlappedAverage overlap(averaged, std::make_unique<RecordingAverager>(started), 1);
    EXPECT_FALSE(overlap.in_flight());
    overlap.begin_step();
    EXPECT_ANY_THROW(net.loss(x).backward());
    EXPECT_EQ(started, std::vector<int64_t>({2, 6}));  // the frozen one's and w2's, not b1's
    EXPECT_TRUE(overlap.in_flight());
  }
  TinyNet fine;
  started.clear();
  dist::OverlappedAverage overlap(fine.params, std::make_unique<RecordingAverager>(started), 1);
  overlap.begin_step();
  fine.loss(x).backward();
  overlap.finish();
  EXPECT_FALSE(overlap.in_flight());
}

TEST(Overlap, EveryGradientIsTheGroupMeanWhateverTheBuckets) {
  if (world_size() < 2) GTEST_SKIP() << "averages over a group of 2 or more: dist.two_ranks";
  const at::Tensor x = rank_input();
  const std::vector<at::Tensor> want = mpi_mean_gradients(x);
  // One parameter per bucket, a few per bucket, all in one.
  for (size_t bytes : {4u, 24u, 1u << 20}) {
    TinyNet net;
    auto reducer = dist::make_mpi_reducer(MPI_COMM_WORLD, buckets_of(bytes));
    auto overlap = reducer->overlapped(net.params);
    ASSERT_TRUE(overlap);
    for (int step = 0; step < 2; ++step) {  // the second step reuses the buckets
      for (auto& p : net.params)
        if (p.grad().defined()) p.mutable_grad().zero_();
      overlap->begin_step();
      net.loss(x).backward();
      overlap->finish();
      for (size_t i = 0; i < want.size(); ++i) {
        const at::Tensor& got = net.params[i].grad();
        ASSERT_TRUE(got.defined()) << "parameter " << i;
        // Two ranks' sums are the same whatever the bucket: bit for bit then.
        if (world_size() == 2)
          EXPECT_TRUE(at::equal(got, want[i]))
              << "bucket bytes " << bytes << ", step " << step << ", param " << i;
        else
          EXPECT_TRUE(at::allclose(got, want[i], 1e-6, 1e-7)) << "bucket bytes " << bytes << ", param " << i;
      }
    }
  }
}

TEST(Overlap, ASecondBackwardInOneStepIsRefusedAndHooksLeaveWithTheAverage) {
  if (world_size() < 2) GTEST_SKIP() << "averages over a group of 2 or more: dist.two_ranks";
  const at::Tensor x = rank_input();
  TinyNet net;
  auto reducer = dist::make_mpi_reducer(MPI_COMM_WORLD, buckets_of(1u << 20));
  {
    auto overlap = reducer->overlapped(net.params);
    EXPECT_THROW(overlap->finish(), Error);  // no step begun
    overlap->begin_step();
    net.loss(x).backward();
    EXPECT_ANY_THROW(net.loss(x).backward());
  }
  // Without the hooks, backward leaves this rank's own gradients.
  for (auto& p : net.params) p.mutable_grad() = at::Tensor();
  net.loss(x).backward();
  TinyNet local;
  local.loss(x).backward();
  EXPECT_TRUE(at::equal(net.params[0].grad(), local.params[0].grad()));
}

TEST(Overlap, AfterBackwardAveragingAutomaticOnMpiAndOneRankGetNone) {
  TinyNet net;
  auto after = dist::make_mpi_reducer(MPI_COMM_WORLD, buckets_of(64, dist::GradientSync::after_backward));
  EXPECT_EQ(after->overlapped(net.params), nullptr);
  auto alone = dist::make_mpi_reducer(MPI_COMM_SELF, buckets_of(64));
  EXPECT_EQ(alone->overlapped(net.params), nullptr);
  auto automatic = dist::make_mpi_reducer(MPI_COMM_WORLD, buckets_of(64, dist::GradientSync::automatic));
  EXPECT_EQ(automatic->overlapped(net.params), nullptr);  // MPI: after backward unless asked
  EXPECT_EQ(dist::parse_gradient_sync("auto"), dist::GradientSync::automatic);
  EXPECT_EQ(dist::parse_gradient_sync("overlapped"), dist::GradientSync::overlapped);
  EXPECT_EQ(dist::parse_gradient_sync("after-backward"), dist::GradientSync::after_backward);
  EXPECT_THROW(dist::parse_gradient_sync("async"), Error);
}

TEST(Device, TheCpuUnlessAGpuIsVisibleAndAsked) {
  dist::Topology topology = dist::make_topology(MPI_COMM_WORLD, 1);
  EXPECT_TRUE(dist::rank_device(topology, dist::DeviceChoice::cpu).is_cpu());
  if (torch::cuda::device_count() == 0) {
    EXPECT_TRUE(dist::rank_device(topology, dist::DeviceChoice::automatic).is_cpu());
    EXPECT_THROW(dist::rank_device(topology, dist::DeviceChoice::cuda), Error);
  }
  if (!dist::nccl_available())
    EXPECT_THROW(dist::make_reducer(MPI_COMM_WORLD, c10::Device(c10::kCUDA, 0)), Error);
  EXPECT_EQ(dist::parse_device_choice("auto"), dist::DeviceChoice::automatic);
  EXPECT_EQ(dist::parse_device_choice("cuda"), dist::DeviceChoice::cuda);
  EXPECT_THROW(dist::parse_device_choice("gpu"), Error);
  dist::free_topology(topology);
}

// Two ranks of a group on one GPU are told apart by the GPU's PCI address, not
// by how many GPUs a process sees; CPU ranks ("") never share a GPU.
TEST(Device, AGroupSharingAGpuIsFoundByAddress) {
  using Addresses = std::vector<std::string>;
  EXPECT_EQ(dist::ranks_sharing_a_gpu(Addresses{"0000:3b:00", "0000:5e:00"}), std::nullopt);
  EXPECT_EQ(dist::ranks_sharing_a_gpu(Addresses{"0000:3b:00", "0000:5e:00", "0000:3b:00"}),
            std::make_optional(std::make_pair(0, 2)));
  EXPECT_EQ(dist::ranks_sharing_a_gpu(Addresses{"", "", ""}), std::nullopt);
  EXPECT_EQ(dist::ranks_sharing_a_gpu(Addresses{}), std::nullopt);
  EXPECT_EQ(dist::gpu_address(c10::Device(c10::kCPU)), "");
  // The whole world as one group, on the CPU: nothing shared, nothing thrown.
  dist::Topology topology = dist::make_topology(MPI_COMM_WORLD, world_size());
  EXPECT_NO_THROW(dist::check_one_gpu_per_rank(topology, c10::Device(c10::kCPU)));
  dist::free_topology(topology);
}

TEST(TaskQueue, EveryTaskOnceAndFailuresBlockTheirDependents) {
  dist::Topology topology = dist::make_topology(MPI_COMM_WORLD, 1);
  const grid::Plan plan = chain_plan();
  const auto scheduler = coordinator_scheduler(plan);
  std::vector<int> taken(8, 0);
  std::vector<size_t> blocked;
  {
    dist::TaskQueue queue(topology, scheduler.get(), &plan);
    std::optional<size_t> previous;
    dist::Outcome outcome = dist::Outcome::none;
    while (auto assigned = queue.next(previous, outcome)) {
      EXPECT_TRUE(assigned->companions.empty());  // no analyses in this plan
      taken[assigned->task] += 1;
      outcome = assigned->task == 2 ? dist::Outcome::failed : dist::Outcome::done;  // task 2 fails
      previous = assigned->task;
    }
  }
  if (world_rank() == 0) blocked = scheduler->blocked();
  MPI_Allreduce(MPI_IN_PLACE, taken.data(), 8, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(taken, (std::vector<int>{1, 1, 1, 0, 0, 1, 1, 1}));  // 3 and 4 wait on the failed 2
  if (world_rank() == 0) {
    EXPECT_EQ(blocked, (std::vector<size_t>{3, 4}));
    EXPECT_EQ(scheduler->state(2), grid::TaskState::failed);
    EXPECT_TRUE(scheduler->finished());
  }
  dist::free_topology(topology);
}

TEST(TaskQueue, AGroupThatStopsGetsNoMoreTasks) {
  dist::Topology topology = dist::make_topology(MPI_COMM_WORLD, 1);
  const grid::Plan plan = chain_plan();
  const auto scheduler = coordinator_scheduler(plan);
  int ran = 0;
  {
    dist::TaskQueue queue(topology, scheduler.get(), &plan);
    auto first = queue.next(std::nullopt, dist::Outcome::none);
    ASSERT_TRUE(first);
    ++ran;
    // A stop request: report the task as interrupted and ask for nothing more.
    EXPECT_FALSE(queue.next(first->task, dist::Outcome::interrupted, /*want_more=*/false));
  }
  MPI_Allreduce(MPI_IN_PLACE, &ran, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(ran, world_size());
  if (world_rank() == 0) {
    for (size_t i = 0; i < 8; ++i) EXPECT_NE(scheduler->state(i), grid::TaskState::running);
    EXPECT_FALSE(scheduler->finished());  // interrupted tasks are pending again
  }
  dist::free_topology(topology);
}

// The analyses of one cell go to one group, which hears of the others it
// will get while it runs the first (over MPI with 2+ ranks: the companions
// travel in the coordinator's reply).
TEST(TaskQueue, AGroupHearsOfTheAnalysesKeptForIt) {
  dist::Topology topology = dist::make_topology(MPI_COMM_WORLD, 1);
  grid::Plan plan;
  grid::Task cell;
  cell.id = "cell";
  plan.tasks.push_back(cell);
  for (const char* name : {"knn", "reinit", "cka"}) {
    grid::Task t;
    t.id = name;
    t.kind = grid::TaskKind::analysis;
    t.config = {{"analysis", name}, {"cells", {"cell"}}};
    t.deps = {"cell"};
    plan.tasks.push_back(t);
  }
  const auto scheduler = coordinator_scheduler(plan);
  std::vector<int> taken(4, 0);
  std::vector<size_t> first_companions;
  size_t first_analysis = 0;
  int analyses_here = 0;
  {
    dist::TaskQueue queue(topology, scheduler.get(), &plan);
    std::optional<size_t> previous;
    while (auto assigned = queue.next(previous, dist::Outcome::done)) {
      if (assigned->task > 0 && first_analysis == 0) {
        first_analysis = assigned->task;
        first_companions = assigned->companions;
      }
      taken[assigned->task] += 1;
      analyses_here += assigned->task > 0 ? 1 : 0;
      previous = assigned->task;
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, taken.data(), 4, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(taken, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_EQ(analyses_here, first_analysis > 0 ? 3 : 0);
  // The rank whose group took the first analysis of the cell took all three.
  if (first_analysis > 0) {
    std::vector<size_t> expected;
    for (size_t i = 1; i < 4; ++i)
      if (i != first_analysis) expected.push_back(i);
    EXPECT_EQ(first_companions, expected);
  }
  dist::free_topology(topology);
}

// A rank whose task throws (a store it cannot write) unwinds past the queue
// while its group has not reported: the destructor must not wait for that
// report (the process aborts next). Each rank is a world of its own here, so
// its coordinator waits on exactly the group that threw.
TEST(TaskQueue, AnExceptionLeavesTheQueueWithoutWaitingForTheGroups) {
  dist::Topology alone = dist::make_topology(MPI_COMM_SELF, 1);
  const grid::Plan plan = chain_plan();
  grid::Scheduler scheduler(plan, std::vector<grid::TaskState>(8, grid::TaskState::pending));
  try {
    dist::TaskQueue queue(alone, &scheduler, &plan);
    ASSERT_TRUE(queue.next(std::nullopt, dist::Outcome::none));
    throw Error("cannot write the store");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cannot write the store");
  }
  EXPECT_EQ(scheduler.running(), 1u);  // the task that threw is left running, as its record is
  dist::free_topology(alone);
}

TEST(Collective, RankZeroDecidesAndErrorsAreRaisedEverywhere) {
  const int rank = world_rank(), size = world_size();
  EXPECT_EQ(featreuse::decided_by_rank0(MPI_COMM_WORLD, [&] { return "from " + std::to_string(rank); }),
            "from 0");
  try {
    featreuse::decided_by_rank0(MPI_COMM_WORLD, []() -> std::string { throw featreuse::Error("no plan"); });
    ADD_FAILURE() << "rank " << rank << " did not throw";
  } catch (const featreuse::CollectiveError& e) {
    EXPECT_STREQ(e.what(), "no plan");
  }
  // The last rank fails: every rank throws its message; nobody waits forever.
  try {
    featreuse::all_or_nothing(MPI_COMM_WORLD, [&] {
      if (rank == size - 1) throw featreuse::Error("rank " + std::to_string(rank) + " failed");
    });
    ADD_FAILURE() << "rank " << rank << " did not throw";
  } catch (const featreuse::CollectiveError& e) {
    EXPECT_EQ(std::string(e.what()), "rank " + std::to_string(size - 1) + " failed");
    EXPECT_EQ(e.exit_code(), featreuse::exit_codes::kFailed);
  }
  // A user error keeps its exit code (2) on every rank, whichever rank raised it.
  try {
    featreuse::decided_by_rank0(MPI_COMM_WORLD,
                                []() -> std::string { throw featreuse::UserError("bad job"); });
    ADD_FAILURE() << "rank " << rank << " did not throw";
  } catch (const featreuse::CollectiveError& e) {
    EXPECT_EQ(e.exit_code(), featreuse::exit_codes::kUserError);
  }
  try {
    featreuse::all_or_nothing(MPI_COMM_WORLD, [&] {
      if (rank == size - 1) throw featreuse::ConfigError("job.yaml", "grid", "bad");
    });
    ADD_FAILURE() << "rank " << rank << " did not throw";
  } catch (const featreuse::CollectiveError& e) {
    EXPECT_EQ(e.exit_code(), featreuse::exit_codes::kUserError);
  }
  EXPECT_NO_THROW(featreuse::all_or_nothing(MPI_COMM_WORLD, [] {}));
  EXPECT_EQ(featreuse::broadcast_string(rank == 0 ? std::string(100000, 'x') : "", 0, MPI_COMM_WORLD),
            std::string(100000, 'x'));
}

TEST(Cores, ThreadsPerRankHonoursSlurm) {
  setenv("SLURM_CPUS_PER_TASK", "3", 1);
  EXPECT_EQ(featreuse::threads_per_rank(MPI_COMM_WORLD), 3);
  unsetenv("SLURM_CPUS_PER_TASK");
}

// The affinity mask decides, as Slurm's cgroups, taskset or mpirun's binding
// set it: ranks that share cores split them, ranks bound apart keep theirs.
TEST(Cores, ThreadsPerRankFollowTheAffinityMask) {
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  const int cores = CPU_COUNT(&all), ranks = world_size();  // the test's ranks share one node
  EXPECT_EQ(featreuse::usable_cores(), cores);
  EXPECT_EQ(featreuse::threads_per_rank(MPI_COMM_WORLD), std::max(1, cores / ranks));
  // Each rank bound to a core of its own (as mpirun --bind-to core does).
  std::vector<int> ids;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &all)) ids.push_back(c);
  if (cores >= ranks) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(ids[size_t(world_rank())], &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    EXPECT_EQ(featreuse::usable_cores(), 1);
    EXPECT_EQ(featreuse::threads_per_rank(MPI_COMM_WORLD), 1);
    // Every rank on the same one core: still one thread each, never zero.
    CPU_ZERO(&one);
    CPU_SET(ids[0], &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    EXPECT_EQ(featreuse::threads_per_rank(MPI_COMM_WORLD), 1);
    ASSERT_EQ(sched_setaffinity(0, sizeof all, &all), 0);
  }
}
