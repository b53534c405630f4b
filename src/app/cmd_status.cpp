// featreuse status S.h5: counts of done/running/failed/pending tasks, every
// failure with its message, attempts, host and time, what is running where,
// and the time done tasks took. Opens the store read-only without file
// locking, so it works beside a running job without disturbing it.
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/store/reader.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {
std::string when(double unix_seconds) {
  if (std::isnan(unix_seconds)) return "-";
  std::time_t t = std::time_t(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}
}  // namespace

int cmd_status(const Args& args) {
  po::options_description options("featreuse status STORE [options]");
  std::string path;
  bool all = false;
  options.add_options()("help,h", "show this help")(
      "all", po::bool_switch(&all), "list every task, not just problems")("store", po::value(&path),
                                                                          "the HDF5 store");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"store"}, "status");
  if (vm.count("help") || path.empty()) {
    std::cout << options << "\n";
    return vm.count("help") ? 0 : 2;
  }

  const auto cells = store::StoreReader(path).cells();

  std::map<grid::TaskState, size_t> counts;
  double done_seconds = 0;
  for (const auto& c : cells) {
    counts[c.record.status] += 1;
    if (c.record.status == grid::TaskState::done && !std::isnan(c.record.wall_s))
      done_seconds += c.record.wall_s;
  }
  std::printf("%s: %zu tasks: %zu done, %zu running, %zu failed, %zu pending\n", path.c_str(), cells.size(),
              counts[grid::TaskState::done], counts[grid::TaskState::running],
              counts[grid::TaskState::failed], counts[grid::TaskState::pending]);
  // Per kind, e.g. "by kind: 12/12 cell, 40/58 analysis" (done of total).
  std::map<std::string, std::pair<size_t, size_t>> by_kind;
  for (const auto& c : cells) {
    auto& [done, total] = by_kind[grid::task_kind_name(c.kind)];
    done += c.record.status == grid::TaskState::done;
    ++total;
  }
  std::string kinds;
  for (const auto& [kind, n] : by_kind)
    kinds +=
        (kinds.empty() ? "" : ", ") + std::to_string(n.first) + "/" + std::to_string(n.second) + " " + kind;
  std::printf("done by kind: %s\n", kinds.empty() ? "none" : kinds.c_str());
  std::printf("done tasks took %s of compute (sum of wall times)\n", format_duration(done_seconds).c_str());

  auto print_section = [&](grid::TaskState state, const char* title) {
    if (counts[state] == 0) return;
    std::printf("\n%s:\n", title);
    for (const auto& c : cells) {
      if (c.record.status != state) continue;
      std::printf("  %s  %s\n", c.id.c_str(), c.key.c_str());
      std::printf("      attempts %lld, host %s, started %s", (long long)c.record.attempts,
                  c.record.host.empty() ? "-" : c.record.host.c_str(), when(c.record.start_time).c_str());
      if (!std::isnan(c.record.end_time)) std::printf(", ended %s", when(c.record.end_time).c_str());
      std::printf("\n");
      if (!c.record.message.empty()) std::printf("      %s\n", c.record.message.c_str());
    }
  };
  print_section(grid::TaskState::failed, "failed");
  // A crashed job leaves "running" records behind: the next run redoes them.
  print_section(grid::TaskState::running, "running (or left running by a job that died)");
  if (all) {
    print_section(grid::TaskState::pending, "pending");
    std::printf("\ndone:\n");
    for (const auto& c : cells)
      if (c.record.status == grid::TaskState::done)
        std::printf("  %s  %-50s  %s %.4f  %s\n", c.id.c_str(), c.key.c_str(), c.record.target_metric.c_str(),
                    c.record.target, format_duration(c.record.wall_s).c_str());
  } else {
    for (const auto& c : cells)
      if (c.record.status == grid::TaskState::pending && !c.record.message.empty()) {
        print_section(grid::TaskState::pending, "pending");
        break;
      }
  }
  return 0;
}

}  // namespace featreuse::app
