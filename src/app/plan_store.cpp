#include "plan_store.hpp"

#include <cmath>
#include <map>

#include "featreuse/core/config.hpp"
#include "featreuse/core/enum_names.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/grid/scheduler.hpp"

namespace featreuse::app {

store::StoreReader open_user_store(const std::string& path) {
  try {
    return store::StoreReader(path);
  } catch (const UserError&) {
    throw;
  } catch (const Error& e) {
    throw UserError(e.what());
  }
}

store::StudyReader open_study(const std::vector<std::string>& paths) {
  std::vector<store::StoreReader> stores;
  for (const auto& p : paths) stores.push_back(open_user_store(p));
  try {
    return store::StudyReader(std::move(stores));
  } catch (const UserError&) {
    throw;
  } catch (const Error& e) {
    throw UserError(e.what());
  }
}

namespace {

StoredState from_record(grid::TaskState state) {
  switch (state) {
    case grid::TaskState::pending:
      return StoredState::pending;
    case grid::TaskState::running:
      return StoredState::running;
    case grid::TaskState::done:
      return StoredState::done;
    case grid::TaskState::failed:
      return StoredState::failed;
  }
  return StoredState::pending;
}

// Tasks whose speeds are comparable: training (source, cell) shares one cost model.
std::string speed_family(grid::TaskKind kind) {
  return grid::is_training(kind) ? "train" : grid::task_kind_name(kind);
}

}  // namespace

const char* stored_state_name(StoredState state) {
  static const EnumNames<StoredState> names("stored state", {{StoredState::new_task, "new"},
                                                             {StoredState::pending, "pending"},
                                                             {StoredState::running, "running"},
                                                             {StoredState::done, "done"},
                                                             {StoredState::failed, "failed"},
                                                             {StoredState::refused, "refused"}});
  return names.name(state);
}

std::string check_against_store(const grid::Plan& plan, const std::vector<store::StoredCell>& stored) {
  std::map<std::string, const store::StoredCell*> by_key;
  for (const auto& c : stored) by_key[c.key] = &c;
  std::string problems;
  size_t count = 0;
  for (const auto& t : plan.tasks) {
    if (t.kind == grid::TaskKind::analysis) continue;
    auto it = by_key.find(t.key);
    if (it == by_key.end() || it->second->id == t.id) continue;
    if (++count > 5) continue;
    const json before = json::parse(it->second->config);
    problems += "\n  cell " + t.key + " (stored as " + it->second->id + ", now " + t.id +
                "): " + describe_differences(grid::identity_view(before), grid::identity_view(t.config));
  }
  if (count == 0) return "";
  return "the job changes the config of " + std::to_string(count) + " cell" + (count == 1 ? "" : "s") +
         " already in the store:" + problems + (count > 5 ? "\n  ..." : "") +
         "\nUse a new store, or make the change a grid axis so the old and new cells can live side by side.";
}

StoreComparison compare_with_store(const grid::Plan& plan, const std::vector<store::StoredCell>& stored) {
  std::map<std::string, const store::StoredCell*> by_id, by_key;
  for (const auto& c : stored) {
    by_id[c.id] = &c;
    by_key[c.key] = &c;
  }
  StoreComparison out;
  std::map<std::string, std::pair<double, double>> measured;  // family -> (seconds, cost) of done tasks
  for (const auto& t : plan.tasks) {
    auto same = by_id.find(t.id);
    if (same != by_id.end()) {
      out.states.push_back(from_record(same->second->record.status));
      const double wall = same->second->record.wall_s;
      if (out.states.back() == StoredState::done && std::isfinite(wall) && t.cost > 0) {
        measured[speed_family(t.kind)].first += wall;
        measured[speed_family(t.kind)].second += t.cost;
        ++out.timed;
      }
    } else {
      const bool changed = t.kind != grid::TaskKind::analysis && by_key.count(t.key);
      out.states.push_back(changed ? StoredState::refused : StoredState::new_task);
    }
  }
  for (size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& t = plan.tasks[i];
    auto speed = measured.find(speed_family(t.kind));
    if (out.states[i] == StoredState::done)
      out.seconds.push_back(0.0);
    else if (speed != measured.end() && speed->second.second > 0)
      out.seconds.push_back(t.cost * speed->second.first / speed->second.second);
    else
      out.seconds.push_back(std::nan(""));
  }
  return out;
}

}  // namespace featreuse::app
