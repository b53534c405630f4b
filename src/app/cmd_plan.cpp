// featreuse plan JOB [--ranks N] [--ranks-per-task G] [--store S.h5]: every
// task with its axes, dependencies and estimated cost, then the order groups
// would take them (a simulation with the run's scheduling policy). With a
// store: what each task is there (done, pending, failed, new, or refused
// because the job changes its config) and the time each would take at the
// speed the store's done tasks ran at. Touches nothing.
#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/grid/scheduler.hpp"
#include "featreuse/store/size.hpp"
#include "plan_store.hpp"
#include "study.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

std::string short_deps(const grid::Task& t) {
  std::string out;
  for (const auto& d : t.deps) out += (out.empty() ? "" : ",") + d.substr(0, 6);
  return out.empty() ? "-" : out;
}

std::string duration_or_dash(double seconds) { return std::isnan(seconds) ? "-" : format_duration(seconds); }

// The store's view of the plan, or nothing when there is no store to compare with.
std::optional<StoreComparison> compare(const grid::Plan& plan, const std::string& store_path) {
  if (store_path.empty()) return std::nullopt;
  if (!std::filesystem::exists(store_path)) {
    std::printf("store %s does not exist yet: every task is new\n\n", store_path.c_str());
    return std::nullopt;
  }
  const auto stored = open_user_store(store_path).cells();
  StoreComparison c = compare_with_store(plan, stored);
  std::map<StoredState, size_t> counts;
  for (auto s : c.states) counts[s] += 1;
  std::printf(
      "against store %s: %zu done, %zu pending, %zu running (or left by a job that died), %zu failed "
      "(rerun only with --retry-failed), %zu new, %zu refused\n",
      store_path.c_str(), counts[StoredState::done], counts[StoredState::pending],
      counts[StoredState::running], counts[StoredState::failed], counts[StoredState::new_task],
      counts[StoredState::refused]);
  const std::string refusal = check_against_store(plan, stored);
  if (!refusal.empty()) std::printf("run would refuse this job: %s\n", refusal.c_str());
  std::printf("est. time: wall time per cost unit of the %zu done tasks of this plan in the store%s\n\n",
              c.timed, c.timed == 0 ? " (none: no estimate)" : "");
  return c;
}

// Weight files a source names but that are not there yet: the plan goes on
// (costs do not need them), `run` would refuse.
void print_missing_weights(const grid::Plan& plan) {
  if (plan.missing_weights.empty()) return;
  std::printf("missing weight files (run refuses the job until they exist; docs/reproduce.md saves them):\n");
  for (const auto& m : plan.missing_weights) std::printf("  ! %s\n", m.c_str());
  std::printf(
      "  the ids of these sources and of the tasks that use them are provisional: an id hashes the "
      "file's bytes\n\n");
}

void print_tasks(const grid::Plan& plan, const std::optional<StoreComparison>& stored) {
  std::printf("%4s  %-12s  %-8s  %-13s  %10s", "#", "id", "kind", "depends on", "est. cost");
  if (stored) std::printf("  %-8s  %9s", "state", "est. time");
  std::printf("  %s\n", "axes");
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& t = plan.tasks[i];
    std::printf("%4zu  %-12s  %-8s  %-13s  %10.3g", i, t.id.c_str(), grid::task_kind_name(t.kind),
                short_deps(t).c_str(), t.cost);
    if (stored)
      std::printf("  %-8s  %9s", stored_state_name(stored->states[i]),
                  duration_or_dash(stored->seconds[i]).c_str());
    std::printf("  %s\n", t.key.c_str());
  }
}

// Datasets whose prepared cache cannot be found are not an error for the plan
// (costs come from the configs' split_sizes), but say so once each, with how
// many tasks wait for it: a paper job has hundreds of tasks per dataset.
void print_missing_datasets(const grid::Plan& plan, DatasetDescriptions& datasets) {
  std::vector<std::pair<std::string, size_t>> missing;  // message, tasks; in the plan's order
  for (const auto& t : plan.tasks) {
    if (!t.config.contains("dataset")) continue;
    try {
      datasets.get(t.config["dataset"]);
    } catch (const std::exception& e) {
      auto it =
          std::find_if(missing.begin(), missing.end(), [&](const auto& m) { return m.first == e.what(); });
      if (it == missing.end()) it = missing.insert(missing.end(), {e.what(), 0});
      it->second += 1;
    }
  }
  if (missing.empty()) return;
  std::printf("missing datasets (run fails the tasks that use them until they exist):\n");
  for (const auto& [message, tasks] : missing)
    std::printf("  ! %s (%zu task%s)\n", message.c_str(), tasks, tasks == 1 ? "" : "s");
  std::printf("\n");
}

// Task numbers in their order, each run of consecutive numbers as "first-last"
// (a paper job's group takes hundreds of tasks, most of them in runs).
std::string with_ranges(const std::vector<size_t>& order) {
  std::string out;
  for (size_t i = 0; i < order.size();) {
    size_t last = i;
    while (last + 1 < order.size() && order[last + 1] == order[last] + 1) ++last;
    out += (out.empty() ? "" : " ") + std::to_string(order[i]);
    if (last > i) out += (last == i + 1 ? " " : "-") + std::to_string(order[last]);
    i = last + 1;
  }
  return out;
}

// The order `groups` groups would take the tasks, and the makespan in cost
// units; with a store's speeds also in time, done tasks taking none.
void print_order(const grid::Plan& plan, const std::optional<StoreComparison>& stored, int ranks,
                 int per_task) {
  const int groups = ranks / per_task;
  const auto slots = grid::simulate(plan, groups);
  std::printf(
      "\norder with %d rank%s in %d group%s of %d (longest remaining path first; cost units: GFLOP):\n",
      ranks, ranks == 1 ? "" : "s", groups, groups == 1 ? "" : "s", per_task);
  std::map<int, std::vector<size_t>> per_group;
  double makespan = 0, total = 0;
  for (const auto& s : slots) {
    per_group[s.group].push_back(s.task);
    makespan = std::max(makespan, s.end);
  }
  for (const auto& t : plan.tasks) total += t.cost;
  for (const auto& [g, order] : per_group) std::printf("  group %d: %s\n", g, with_ranges(order).c_str());
  std::printf("\ntotal estimated cost %.3g; estimated makespan %.3g (%.0f%% of total per group)\n", total,
              makespan, total > 0 ? 100.0 * makespan / total : 0.0);
  if (!stored) return;
  grid::Plan timed = plan;
  double seconds = 0;
  bool all_known = true;
  for (size_t i = 0; i < timed.tasks.size(); ++i) {
    all_known = all_known && !std::isnan(stored->seconds[i]);
    timed.tasks[i].cost = std::isnan(stored->seconds[i]) ? 0.0 : stored->seconds[i];
    seconds += timed.tasks[i].cost;
  }
  double wall = 0;
  for (const auto& s : grid::simulate(timed, groups)) wall = std::max(wall, s.end);
  std::printf("estimated time left at the store's speed: %s of compute, %s with %d group%s%s\n",
              format_duration(seconds).c_str(), format_duration(wall).c_str(), groups, groups == 1 ? "" : "s",
              all_known ? "" : " (tasks without an estimate, '-', not counted)");
}

// What preparing a store for the job allocates, per task kind: the number to
// check against a quota or a file system before submitting.
void print_store_size(const grid::Plan& plan, DatasetDescriptions& datasets, PlanningNetworks& networks,
                      const std::string& store_path) {
  const store::StudySchema schema = make_schema(plan, "", datasets, networks, DatasetSizes::expected);
  const store::StoreSize size = store::allocated_size(schema);
  std::string parts;
  for (const auto& [kind, bytes] : size.bytes_by_kind)
    parts += std::string(parts.empty() ? "" : ", ") + std::to_string(size.tasks_by_kind.at(kind)) + " " +
             grid::task_kind_name(kind) + " " + store::format_bytes(bytes);
  std::printf(
      "\nstore size: preparing the store allocates about %s (%s)%s\n",
      store::format_bytes(size.total()).c_str(), parts.c_str(),
      size.unsized > 0 ? "; tasks that cannot be set up (their datasets, above) allocate nothing" : "");
  if (!store_path.empty() && std::filesystem::exists(store_path))
    std::printf(
        "the store %s is %s now; run needs the difference, and about %s for what each run appends (its "
        "job text, the results table), free on its file system\n",
        store_path.c_str(), store::format_bytes(std::filesystem::file_size(store_path)).c_str(),
        store::format_bytes(store::run_growth(schema)).c_str());
}

}  // namespace

int cmd_plan(const Args& args) {
  po::options_description options("featreuse plan JOB [options]");
  int ranks = 1, per_task = 1;
  std::string job, store_path;
  options.add_options()("help,h", "show this help")("ranks", po::value(&ranks)->default_value(1),
                                                    "number of MPI ranks to plan for")(
      "ranks-per-task", po::value(&per_task)->default_value(1), "ranks per group (data-parallel width)")(
      "store", po::value(&store_path),
      "a store to compare with: each task's state there, and times from its done tasks' speed")(
      "job", po::value(&job), "the job file");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"job"}, "plan");
  if (auto code = help_or_missing(vm, options, "plan", {{"JOB (the job file)", !job.empty()}})) return *code;
  if (ranks < 1 || per_task < 1 || ranks % per_task != 0)
    throw UsageError("--ranks-per-task " + std::to_string(per_task) + " must divide --ranks " +
                     std::to_string(ranks));

  DatasetDescriptions datasets;
  PlanningNetworks networks;
  const grid::Plan plan = plan_job(job, datasets, networks, grid::Catalog::MissingWeights::note);
  std::printf(
      "job %s: %zu tasks (%lld grid points; %lld filtered, %lld with a source of another model, "
      "%lld duplicates; %lld analyses of cells they do not apply to)\n\n",
      plan.job_name.c_str(), plan.tasks.size(), (long long)plan.grid_points, (long long)plan.filtered,
      (long long)plan.source_mismatch, (long long)plan.duplicates, (long long)plan.analyses_skipped);
  print_missing_weights(plan);
  print_missing_datasets(plan, datasets);
  const auto stored = compare(plan, store_path);
  print_tasks(plan, stored);
  print_order(plan, stored, ranks, per_task);
  print_store_size(plan, datasets, networks, store_path);
  return 0;
}

}  // namespace featreuse::app
