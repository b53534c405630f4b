// featreuse run JOB --store S.h5 [--ranks-per-task G] [--retry-failed] [--strict]:
// the orchestrator. Rank 0 expands the job and checks it against the store;
// all ranks create the store's layout together; then groups take tasks from
// the coordinator until none can run. Rerunning the same command skips done
// tasks and redoes the rest.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "device_args.hpp"
#include "featreuse/core/collective.hpp"
#include "featreuse/core/cores.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/core/stop.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/dist/device.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/dist/task_queue.hpp"
#include "featreuse/dist/topology.hpp"
#include "featreuse/store/reader.hpp"
#include "featreuse/store/run_lock.hpp"
#include "featreuse/store/size.hpp"
#include "featreuse/store/store.hpp"
#include "plan_store.hpp"
#include "reducer_args.hpp"
#include "study.hpp"
#include "task_runner.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

struct RunOptions {
  std::string job, store;
  int ranks_per_task = 1;
  bool retry_failed = false;
  int max_attempts = 3;  // a task whose process died this often is failed, not started again
  bool strict = false;   // exit kTasksFailed when a task failed
  int threads = 0;
  dist::DeviceChoice device = dist::DeviceChoice::automatic;
  dist::ReducerOptions reducer;
};

// Every rank's device, or one error for all: a rank that cannot use its
// GPU stops the job before any task starts.
c10::Device pick_device(const dist::Topology& topology, dist::DeviceChoice choice) {
  c10::Device device(c10::kCPU);
  std::string problem;
  try {
    device = dist::rank_device(topology, choice);
  } catch (const Error& e) {
    problem = e.what();
  }
  int failed = problem.empty() ? 0 : 1;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, topology.world);
  if (failed)
    throw CollectiveError(problem.empty() ? "another rank could not use its device (see its log)" : problem);
  all_or_nothing(topology.world, [&] { dist::check_one_gpu_per_rank(topology, device); });
  return device;
}

// The exit code of `run --strict` when a task failed (scheduling worked):
// distinct from 1 (the job could not run), 2 (the user's input) and 3 (internal error).
constexpr int kTasksFailed = exit_codes::kTasksFailed;

// The job's outcome on stdout, the failed count last; returns that count.
size_t print_summary(const grid::Plan& plan, store::Store& store, const std::string& path, double seconds) {
  std::map<grid::TaskState, size_t> counts;
  for (const auto& t : plan.tasks) counts[store.read_record(t.id).status] += 1;
  const size_t failed = counts[grid::TaskState::failed];
  const std::string summary =
      "job " + plan.job_name + " finished in " + format_duration(seconds) + ": " +
      std::to_string(counts[grid::TaskState::done]) + " done, " +
      std::to_string(counts[grid::TaskState::pending] + counts[grid::TaskState::running]) + " pending, of " +
      std::to_string(plan.tasks.size()) + " tasks; store " + path + "\n" + std::to_string(failed) +
      " failed" + (failed > 0 ? " (featreuse status " + path + " lists them)" : "");
  spdlog::info("{}", summary);
  std::printf("%s\n", summary.c_str());
  return failed;
}

// A task whose record still says running was cut off with its process
// (kill -9, out of memory, a node lost): it runs again, up to --max-attempts
// times in all, then it is failed with that reason, so a task that takes its
// job down cannot keep a requeued job from finishing. A task a signal left
// pending was stopped cleanly and is never counted against the bound.
bool out_of_attempts(store::CellRecord& r, int max_attempts) {
  if (r.status != grid::TaskState::running || r.attempts < max_attempts) return false;
  r.status = grid::TaskState::failed;
  r.message = "its process died during each of its " + std::to_string(r.attempts) +
              " attempts (killed, out of memory, or its node lost; see the job's log for attempt " +
              std::to_string(r.attempts) + " on host " + r.host +
              "); --retry-failed runs it again, --max-attempts raises the bound";
  return true;
}

// Rank 0: every task's state at the start of this run, from the store's
// records, after --retry-failed and --max-attempts have been applied.
std::vector<grid::TaskState> start_states(const grid::Plan& plan, store::Store& store,
                                          const RunOptions& opt) {
  std::vector<grid::TaskState> states;
  size_t retried = 0, exhausted = 0;
  for (const auto& t : plan.tasks) {
    store::CellRecord r = store.read_record(t.id);
    if (r.status == grid::TaskState::failed && opt.retry_failed) {
      r.status = grid::TaskState::pending;
      store.write_record(t.id, r);
      ++retried;
    } else if (out_of_attempts(r, opt.max_attempts)) {
      store.write_record(t.id, r);
      spdlog::error("task {} failed: {}", t.id, r.message);
      ++exhausted;
    }
    states.push_back(r.status);
  }
  store.sync();
  const size_t done = std::count(states.begin(), states.end(), grid::TaskState::done);
  const size_t failed = std::count(states.begin(), states.end(), grid::TaskState::failed);
  spdlog::info("{} tasks: {} done before (skipped), {} failed before ({}{}), {} to run", plan.tasks.size(),
               done, failed + retried - exhausted,
               opt.retry_failed ? "retrying" : "kept; --retry-failed retries them",
               exhausted > 0 ? ", and " + std::to_string(exhausted) + " out of attempts now" : std::string(),
               plan.tasks.size() - done - failed);
  return states;
}

// Refuses a job whose store would not fit: preparing it allocates every
// task's datasets at once, and a file system that fills up half-way through
// that, or later, costs more than a refusal now. Every run also appends to the
// file (`growth`: its job text, the results table), so a store whose datasets
// all exist still needs that much free.
void check_free_space(const std::string& path, const store::StoreSize& size, uint64_t growth) {
  const bool exists = std::filesystem::exists(path);
  const uint64_t have = exists ? std::filesystem::file_size(path) : 0;
  const uint64_t datasets = size.total() > have ? size.total() - have : 0;
  const uint64_t needed = datasets + growth, free = store::free_bytes_at(path);
  if (needed > free && exists)
    throw Error("the store " + path + " cannot take this run: it needs about " + store::format_bytes(needed) +
                " more (every run appends about " + store::format_bytes(growth) +
                " to the file: the job's text, the results table and their HDF5 metadata" +
                (datasets > 0
                     ? "; the job's estimated size exceeds the file's by " + store::format_bytes(datasets)
                     : std::string()) +
                ") but " + store::format_bytes(free) +
                " are free on its file system (full?): free space and run again (the store is unchanged)");
  if (needed > free)
    throw Error("the store " + path + " needs about " + store::format_bytes(needed) + " more (" +
                store::format_bytes(size.total()) + " for the whole job; `featreuse plan` itemises it) but " +
                store::format_bytes(free) +
                " are free on its file system: free space, put the store elsewhere, or split the study "
                "into several jobs and stores");
  spdlog::info("store {}: about {} for the job, {} free on its file system", path,
               store::format_bytes(size.total()), store::format_bytes(free));
}

// A store path that exists but cannot be written (a folder, a read-only file
// or file system) is the user's mistake (exit code 2), said with its path
// before the free-space check and before any rank opens it.
void check_writable_store(const std::string& path) {
  if (!std::filesystem::exists(path)) return;
  const int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) {
    const int error = errno;
    const bool read_only = error == EACCES || error == EPERM || error == EROFS;
    throw UserError("the store '" + path + "' cannot be written: " + std::strerror(error) +
                    (read_only
                         ? " (a read-only file or file system; `featreuse status` and `report` read it as "
                           "it is)"
                         : ""));
  }
  ::close(fd);
}

// Under Slurm, which job and which requeue this is (SLURM_RESTART_COUNT is
// how often Slurm has requeued it), so a log shows where a run continued.
std::string slurm_context() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (!job) return "";
  const char* restarts = std::getenv("SLURM_RESTART_COUNT");
  return std::string(", Slurm job ") + job + " (restart " + (restarts ? restarts : "0") + ")";
}

// This rank's topology, device, threads and stop handlers; rank 0 says how the run is laid out.
dist::Topology set_up_rank(const RunOptions& opt, c10::Device& device) {
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  log::set_tag(world_rank, -1);
  dist::Topology topology;
  try {
    topology = dist::make_topology(MPI_COMM_WORLD, opt.ranks_per_task);
  } catch (const Error& e) {
    throw CollectiveError(e);
  }
  log::set_tag(topology.world_rank, topology.group);
  device = pick_device(topology, opt.device);
  const int threads = opt.threads > 0 ? opt.threads : threads_per_rank(topology.world);
  set_compute_threads(threads);
  stop::install_handlers();
  if (world_rank == 0)
    spdlog::info(
        "featreuse run {}: {} ranks in {} groups of {}, {} threads per rank{}, training on {}, store {}{}",
        opt.job, topology.world_size, topology.group_count, topology.group_size, threads, blas_threads_note(),
        device.str(), opt.store, slurm_context());
  return topology;
}

// What rank 0 plans from the job file; every rank gets the same plan, even if
// the files differ between nodes. Rank 0 also keeps the job's text.
grid::Plan agreed_plan(const RunOptions& opt, std::string& job_text, DatasetDescriptions& datasets,
                       PlanningNetworks& networks) {
  return grid::plan_from_json(json::parse(decided_by_rank0(MPI_COMM_WORLD, [&] {
    std::ifstream in(opt.job);
    std::stringstream buffer;
    buffer << in.rdbuf();
    job_text = buffer.str();
    return grid::plan_to_json(plan_job(opt.job, datasets, networks)).dump();
  })));
}

// The store's schema, before the store: a job whose store would not fit, or
// whose store another run holds, is refused before any file is created.
// Rank 0 learns what this run appends to the store file (`growth`).
store::StudySchema agreed_schema(const RunOptions& opt, const grid::Plan& plan, const std::string& job_text,
                                 DatasetDescriptions& datasets, PlanningNetworks& networks,
                                 uint64_t& growth) {
  return store::StudySchema::from_json(json::parse(decided_by_rank0(MPI_COMM_WORLD, [&] {
    Stopwatch clock;
    store::refuse_if_held(opt.store);  // before the schema, which takes seconds for paper jobs
    check_writable_store(opt.store);
    auto s = make_schema(plan, job_text, datasets, networks);
    networks.clear();  // planning is over: their memory goes back before training
    growth = store::run_growth(s);
    check_free_space(opt.store, store::allocated_size(s), growth);
    spdlog::info("planned {} tasks, {} checkpoint layouts in {}", plan.tasks.size(), s.layouts.size(),
                 format_duration(clock.seconds()));
    return s.to_json().dump();
  })));
}

// Rank 0 takes the store's lock, held until the run ends (a second run is
// refused here), and checks an existing file under it.
void lock_store(const RunOptions& opt, uint64_t growth, std::optional<store::RunLock>& lock) {
  decided_by_rank0(MPI_COMM_WORLD, [&] {
    lock.emplace(opt.store);
    // Under the lock, so that no run is writing it: an existing file must be a
    // featreuse store of this schema version (else exit code 2, naming why).
    if (std::filesystem::exists(opt.store)) {
      open_user_store(opt.store);
      store::reserve_growth(opt.store, growth);  // a disk filled since the check refuses the run here
    }
    if (!lock->previous_holder().empty())
      spdlog::warn(
          "the previous run into {} ended without releasing it ({}): its process died; continuing "
          "its tasks",
          opt.store, lock->previous_holder());
    return std::string();
  });
}

// Every rank opens the store; rank 0 refuses a store whose cells another job
// (or this job file before a change) made.
std::unique_ptr<store::Store> open_store_for(const RunOptions& opt, const grid::Plan& plan) {
  std::unique_ptr<store::Store> opened;
  try {
    opened = std::make_unique<store::Store>(opt.store, MPI_COMM_WORLD);
  } catch (const Error& e) {  // opening is collective: every rank sees the same file
    throw CollectiveError(e);
  }
  decided_by_rank0(MPI_COMM_WORLD, [&] {
    const std::string problem = check_against_store(plan, opened->cells());
    if (!problem.empty()) throw UserError(problem);  // the job file changed, or another store was meant
    return std::string();
  });
  return opened;
}

// This group takes tasks from the coordinator until none can run or a stop
// is requested; returns once every group has stopped.
void run_tasks(TaskRunner& runner, const dist::Topology& topology, grid::Scheduler* scheduler,
               const grid::Plan& plan) {
  dist::TaskQueue queue(topology, scheduler, &plan);
  std::optional<size_t> previous;
  dist::Outcome outcome = dist::Outcome::none;
  while (auto assigned = queue.next(previous, outcome, !stop::requested())) {
    outcome = runner.run(assigned->task, assigned->companions);
    previous = assigned->task;
  }
  if (stop::requested())
    spdlog::warn("stop requested (signal {}): this group takes no more tasks", stop::signal_number());
}  // the queue joins the coordinator once every group has stopped

// Rank 0: tasks that cannot run because a task they depend on failed are
// recorded failed, saying which.
void fail_blocked(const grid::Plan& plan, const grid::Scheduler& scheduler, store::Store& store) {
  for (size_t i : scheduler.blocked()) {
    const auto& t = plan.tasks[i];
    store::CellRecord r = store.read_record(t.id);
    r.status = grid::TaskState::failed;
    r.message = "not run: a task it depends on (" + join(t.deps) + ") failed";
    store.write_record(t.id, r);
  }
  store.sync();
}

int run(const RunOptions& opt) {
  c10::Device device(c10::kCPU);
  dist::Topology topology = set_up_rank(opt, device);
  const bool rank0 = topology.world_rank == 0;

  std::string job_text;
  DatasetDescriptions datasets;
  PlanningNetworks networks;
  const grid::Plan plan = agreed_plan(opt, job_text, datasets, networks);
  uint64_t growth = 0;
  const store::StudySchema schema = agreed_schema(opt, plan, job_text, datasets, networks, growth);
  std::optional<store::RunLock> lock;
  lock_store(opt, growth, lock);
  const std::unique_ptr<store::Store> opened = open_store_for(opt, plan);
  store::Store& store = *opened;
  store.prepare(schema);

  // Start states from the store's records (rank 0 owns the scheduler).
  std::unique_ptr<grid::Scheduler> scheduler;
  if (rank0) scheduler = std::make_unique<grid::Scheduler>(plan, start_states(plan, store, opt));
  Stopwatch clock;
  auto reducer = dist::make_reducer(topology.group_comm, device, opt.reducer);
  if (rank0 && topology.group_size > 1)
    spdlog::info("groups average gradients over {}", reducer->description());
  TaskRunner runner(store, plan, topology, *reducer, device);
  run_tasks(runner, topology, scheduler.get(), plan);
  if (rank0) fail_blocked(plan, *scheduler, store);
  dist::barrier_sleeping(MPI_COMM_WORLD);

  // Rank 0 counts; every rank exits with the same code, so mpirun and srun
  // pass it on whichever rank they report.
  const size_t failed = std::stoull(decided_by_rank0(MPI_COMM_WORLD, [&] {
    return std::to_string(print_summary(plan, store, opt.store, clock.seconds()));
  }));
  store.close();
  dist::free_topology(topology);
  return opt.strict && failed > 0 ? kTasksFailed : 0;
}

}  // namespace

int cmd_run(const Args& args) {
  po::options_description options("featreuse run JOB --store S.h5 [options] (under mpirun -np N)");
  RunOptions opt;
  std::string level = "info", device = "auto";
  ReducerArgs reducer_args;
  options.add_options()("help,h", "show this help")("store", po::value(&opt.store),
                                                    "the HDF5 store (created if missing)")(
      "ranks-per-task", po::value(&opt.ranks_per_task)->default_value(1),
      "ranks per group: each task trains data-parallel on G ranks of one node, the recipe's batch split "
      "over them (G must divide it)")("retry-failed", po::bool_switch(&opt.retry_failed),
                                      "run failed tasks again")(
      "max-attempts", po::value(&opt.max_attempts)->default_value(3),
      "a task whose process died (killed, out of memory) during this many attempts is failed instead of "
      "started again; a task stopped by a signal does not count")(
      "strict", po::bool_switch(&opt.strict),
      "exit with code 4 when any task failed (for Slurm afterok and scripts; default: 0)")(
      "threads", po::value(&opt.threads)->default_value(0),
      "compute threads per rank (0: the cores its affinity mask allows / the node's ranks sharing them)")(
      "device", po::value(&device),
      "auto (a GPU per rank by node-local rank when there are GPUs, else the CPU), cpu or cuda")(
      "log-level", po::value(&level),
      "trace, debug, info, warn, error, critical, off (any case; default info, or FEATREUSE_LOG_LEVEL)")(
      "job", po::value(&opt.job), "the job file");
  add_reducer_options(options, reducer_args);
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"job"}, "run");
  if (auto code = help_or_missing(
          vm, options, "run", {{"JOB (the job file)", !opt.job.empty()}, {"--store", !opt.store.empty()}}))
    return *code;
  if (vm.count("log-level")) log::set_level(level);
  if (opt.max_attempts < 1)
    throw UsageError("run --max-attempts: " + std::to_string(opt.max_attempts) +
                     " is not a count of attempts (1 or more)");
  opt.device = device_flag("run", device);
  opt.reducer = reducer_options(reducer_args);

  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
  int code = 1;
  try {
    code = run(opt);
  } catch (const CollectiveError& e) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) std::fprintf(stderr, "featreuse run: error: %s\n", e.what());
    MPI_Finalize();
    return e.exit_code();  // the same on every rank
  } catch (const std::exception& e) {
    // Only this rank may know: stop the whole job rather than leave the
    // others waiting in a collective call. The store stays readable.
    std::fprintf(stderr, "featreuse run: error: %s\n", e.what());
    MPI_Abort(MPI_COMM_WORLD, exit_code_of(e));
  }
  MPI_Finalize();
  return code;
}

}  // namespace featreuse::app
