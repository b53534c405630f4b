// featreuse status S.h5 [--all] [--json]: counts of done/running/failed/pending
// tasks, every failure with its message, attempts, host and time, what is
// running where with its progress (epoch, percent, ETA) and heartbeat, and
// the time done tasks took. Opens the store read-only without file locking,
// so it works beside a running job without disturbing it; the progress comes
// from the files the running ranks keep beside the store (store/progress.hpp).
#include <signal.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/grid/scheduler.hpp"
#include "featreuse/store/progress.hpp"
#include "featreuse/store/reader.hpp"
#include "featreuse/store/run_lock.hpp"
#include "plan_store.hpp"

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

// A running task as status sees it: its record and, when the rank running it
// beats, its progress.
struct Running {
  std::optional<store::TaskProgress> progress;
  double silent_s = 0;        // since the last heartbeat
  bool process_gone = false;  // the writing process no longer exists (same host only)
  bool stale() const { return progress && (process_gone || silent_s > progress->stale_after_s()); }
};

bool process_exists(int64_t pid) { return ::kill(pid_t(pid), 0) == 0 || errno == EPERM; }

Running running_view(const std::map<std::string, store::TaskProgress>& progress, const std::string& id) {
  Running r;
  auto it = progress.find(id);
  if (it == progress.end()) return r;
  r.progress = it->second;
  r.silent_s = std::max(0.0, unix_time() - it->second.heartbeat);
  r.process_gone = it->second.host == host_name() && it->second.pid > 0 && !process_exists(it->second.pid);
  return r;
}

std::string progress_text(const Running& r) {
  if (!r.progress) return "no heartbeat yet (just started, or run by a featreuse without heartbeats)";
  const store::TaskProgress& p = *r.progress;
  std::string out;
  if (p.total_steps > 0) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "epoch %lld/%lld, step %lld/%lld (%.0f%%)", (long long)p.epoch,
                  (long long)p.epochs, (long long)p.step, (long long)p.total_steps,
                  100.0 * double(p.step) / double(p.total_steps));
    out = buf;
    if (p.eta_s >= 0) out += ", ETA " + format_duration(p.eta_s);
    out += "; ";
  }
  if (r.stale())
    return out + "STALE: no heartbeat for " + format_duration(r.silent_s) +
           (r.process_gone ? " and its process is gone" : "") + ": its job died (the next run redoes it)";
  return out + "heartbeat " + format_duration(r.silent_s) + " ago";
}

json task_json(const store::StoredCell& c, const std::map<std::string, store::TaskProgress>& progress) {
  const store::CellRecord& r = c.record;
  json t = {{"id", c.id},          {"kind", grid::task_kind_name(c.kind)}, {"key", c.key},
            {"axes", c.axes},      {"status", grid::state_name(r.status)}, {"attempts", r.attempts},
            {"host", r.host},      {"start_time", r.start_time},           {"end_time", r.end_time},
            {"wall_s", r.wall_s},  {"target_metric", r.target_metric},     {"target", r.target},
            {"message", r.message}};
  if (r.status != grid::TaskState::running) return t;
  const Running view = running_view(progress, c.id);
  t["stale"] = view.stale();
  if (!view.progress) return t;
  const store::TaskProgress& p = *view.progress;
  t["progress"] = p.to_json();
  t["progress"]["seconds_since_heartbeat"] = view.silent_s;
  t["progress"]["percent"] =
      p.total_steps > 0 ? json(100.0 * double(p.step) / double(p.total_steps)) : json();
  return t;
}

// Which run writes the store now (its lock, store/run_lock.hpp), or which
// died while it did.
void print_writer(const std::string& path) {
  const store::LockState lock = store::read_lock_state(path);
  if (lock.held)
    std::printf("being written by a run: %s\n", lock.holder.c_str());
  else if (!lock.holder.empty())
    std::printf("no run is writing it; the last one died while it did (%s): rerun it to continue\n",
                lock.holder.c_str());
  else
    std::printf("no run is writing it\n");
}

json writer_json(const std::string& path) {
  const store::LockState lock = store::read_lock_state(path);
  return {{"running", lock.held}, {"holder", lock.holder.empty() ? json() : json(lock.holder)}};
}

int print_json(const std::string& path, const std::vector<store::StoredCell>& cells,
               const std::map<std::string, store::TaskProgress>& progress) {
  std::map<std::string, int> counts = {
      {"done", 0}, {"running", 0}, {"failed", 0}, {"pending", 0}, {"stale", 0}};
  json tasks = json::array();
  for (const auto& c : cells) {
    tasks.push_back(task_json(c, progress));
    counts[grid::state_name(c.record.status)] += 1;
    if (tasks.back().value("stale", false)) counts["stale"] += 1;
  }
  std::printf("%s\n", json({{"store", path},
                            {"tasks_total", cells.size()},
                            {"counts", counts},
                            {"writer", writer_json(path)},
                            {"tasks", tasks}})
                          .dump(2)
                          .c_str());
  return 0;
}

// One study in several stores: each task once (the copy done, if any), in one line.
void print_study_line(const store::StudyReader& study) {
  std::map<grid::TaskState, size_t> counts;
  const auto cells = study.cells();
  for (const auto& c : cells) counts[c.record.status] += 1;
  std::printf("study of %zu stores: %zu tasks: %zu done, %zu running, %zu failed, %zu pending\n\n",
              study.stores().size(), cells.size(), counts[grid::TaskState::done],
              counts[grid::TaskState::running], counts[grid::TaskState::failed],
              counts[grid::TaskState::pending]);
}

int print_store_status(const std::string& path, const std::vector<store::StoredCell>& cells, bool all) {
  const auto progress = store::read_progress(path);
  std::map<grid::TaskState, size_t> counts;
  double done_seconds = 0;
  size_t stale = 0;
  for (const auto& c : cells) {
    counts[c.record.status] += 1;
    if (c.record.status == grid::TaskState::done && !std::isnan(c.record.wall_s))
      done_seconds += c.record.wall_s;
    if (c.record.status == grid::TaskState::running && running_view(progress, c.id).stale()) ++stale;
  }
  std::printf("%s: %zu tasks: %zu done, %zu running, %zu failed, %zu pending\n", path.c_str(), cells.size(),
              counts[grid::TaskState::done], counts[grid::TaskState::running],
              counts[grid::TaskState::failed], counts[grid::TaskState::pending]);
  if (stale > 0)
    std::printf("%zu of the running tasks are stale (heartbeat stopped): their job died\n", stale);
  print_writer(path);
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
      if (state == grid::TaskState::running)
        std::printf("      %s\n", progress_text(running_view(progress, c.id)).c_str());
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

}  // namespace

int cmd_status(const Args& args) {
  po::options_description options("featreuse status STORE [STORE...] [options]");
  std::vector<std::string> paths;
  bool all = false, as_json = false;
  options.add_options()("help,h", "show this help")("all", po::bool_switch(&all),
                                                    "list every task, not just problems")(
      "json", po::bool_switch(&as_json), "print every task as JSON (for scripts; one store)")(
      "store", po::value(&paths)->multitoken(), "the HDF5 store, or several stores of one study");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"store*"}, "status");
  if (auto code = help_or_missing(vm, options, "status", {{"STORE (the .h5 store)", !paths.empty()}}))
    return *code;
  if (as_json && paths.size() > 1) throw UsageError("status --json reads one store; run it once per store");

  if (as_json) return print_json(paths[0], open_user_store(paths[0]).cells(), store::read_progress(paths[0]));
  const store::StudyReader study = open_study(paths);
  if (paths.size() > 1) print_study_line(study);
  for (size_t i = 0; i < study.stores().size(); ++i) {
    if (i > 0) std::printf("\n");
    print_store_status(paths[i], study.stores()[i].cells(), all);
  }
  return 0;
}

}  // namespace featreuse::app
