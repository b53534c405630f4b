// featreuse plan JOB [--ranks N] [--ranks-per-task G]: every task with its
// axes, dependencies and estimated cost, then the order groups would take
// them (a simulation with the run's scheduling policy). Touches nothing.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/grid/scheduler.hpp"
#include "study.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {
std::string short_deps(const grid::Task& t) {
  std::string out;
  for (const auto& d : t.deps) out += (out.empty() ? "" : ",") + d.substr(0, 6);
  return out.empty() ? "-" : out;
}
}  // namespace

int cmd_plan(const Args& args) {
  po::options_description options("featreuse plan JOB [options]");
  int ranks = 1, per_task = 1;
  std::string job;
  options.add_options()("help,h", "show this help")("ranks", po::value(&ranks)->default_value(1),
                                                    "number of MPI ranks to plan for")(
      "ranks-per-task", po::value(&per_task)->default_value(1), "ranks per group (data-parallel width)")(
      "job", po::value(&job), "the job file");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"job"}, "plan");
  if (vm.count("help") || job.empty()) {
    std::cout << options << "\n";
    return job.empty() && !vm.count("help") ? 2 : 0;
  }
  if (ranks < 1 || per_task < 1 || ranks % per_task != 0)
    throw Error("--ranks-per-task " + std::to_string(per_task) + " must divide --ranks " +
                std::to_string(ranks));

  DatasetDescriptions datasets;
  const grid::Plan plan = plan_job(job, datasets);
  std::printf(
      "job %s: %zu tasks (%lld grid points; %lld filtered, %lld with a source of another model, "
      "%lld duplicates; %lld analyses of cells they do not apply to)\n\n",
      plan.job_name.c_str(), plan.tasks.size(), (long long)plan.grid_points, (long long)plan.filtered,
      (long long)plan.source_mismatch, (long long)plan.duplicates, (long long)plan.analyses_skipped);
  std::printf("%4s  %-12s  %-8s  %-13s  %10s  %s\n", "#", "id", "kind", "depends on", "est. cost", "axes");
  double total = 0;
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& t = plan.tasks[i];
    total += t.cost;
    std::printf("%4zu  %-12s  %-8s  %-13s  %10.3g  %s\n", i, t.id.c_str(), grid::task_kind_name(t.kind),
                short_deps(t).c_str(), t.cost, t.key.c_str());
    // A task whose data cannot be found is not an error for the plan, but say so.
    if (t.config.contains("dataset")) try {
        datasets.get(t.config["dataset"]);
      } catch (const std::exception& e) {
        std::printf("      ! %s\n", e.what());
      }
  }

  const int groups = ranks / per_task;
  const auto slots = grid::simulate(plan, groups);
  std::printf(
      "\norder with %d rank%s in %d group%s of %d (longest remaining path first; cost units: GFLOP):\n",
      ranks, ranks == 1 ? "" : "s", groups, groups == 1 ? "" : "s", per_task);
  std::map<int, std::string> per_group;
  double makespan = 0;
  for (const auto& s : slots) {
    per_group[s.group] += (per_group[s.group].empty() ? "" : " ") + std::to_string(s.task);
    makespan = std::max(makespan, s.end);
  }
  for (const auto& [g, list] : per_group) std::printf("  group %d: %s\n", g, list.c_str());
  std::printf("\ntotal estimated cost %.3g; estimated makespan %.3g (%.0f%% of total per group)\n", total,
              makespan, total > 0 ? 100.0 * makespan / total : 0.0);
  return 0;
}

}  // namespace featreuse::app
