#include "featreuse/grid/scheduler.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "featreuse/core/error.hpp"

namespace featreuse::grid {

const char* state_name(TaskState state) {
  switch (state) {
    case TaskState::pending:
      return "pending";
    case TaskState::running:
      return "running";
    case TaskState::done:
      return "done";
    case TaskState::failed:
      return "failed";
  }
  return "?";
}

Scheduler::Scheduler(const Plan& plan, std::vector<TaskState> start) : states_(std::move(start)) {
  if (states_.size() != plan.tasks.size()) throw Error("scheduler: one start state per task needed");
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < plan.tasks.size(); ++i) index[plan.tasks[i].id] = i;
  for (const auto& t : plan.tasks) {
    std::vector<size_t> deps;
    for (const auto& d : t.deps) deps.push_back(index.at(d));
    deps_.push_back(std::move(deps));
    priority_.push_back(t.priority);
    shares_with_.push_back(t.kind == TaskKind::analysis ? t.config.at("cells").at(0).get<std::string>() : "");
  }
  reserved_for_.assign(plan.tasks.size(), -1);
  for (auto& s : states_)
    if (s == TaskState::running) s = TaskState::pending;
}

bool Scheduler::is_blocked(size_t task) const {
  for (size_t d : deps_[task])
    if (states_[d] == TaskState::failed || (states_[d] == TaskState::pending && is_blocked(d))) return true;
  return false;
}

bool Scheduler::is_ready(size_t task) const {
  if (states_[task] != TaskState::pending) return false;
  for (size_t d : deps_[task])
    if (states_[d] != TaskState::done) return false;
  return true;
}

std::optional<size_t> Scheduler::take(int group) {
  std::optional<size_t> best;
  // Kept for this group first, then by priority; ties stay in plan order.
  auto rank = [&](size_t i) { return std::make_pair(reserved_for_[i] == group, priority_[i]); };
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!is_ready(i) || (reserved_for_[i] >= 0 && reserved_for_[i] != group)) continue;
    if (!best || rank(i) > rank(*best)) best = i;
  }
  if (!best) return best;
  states_[*best] = TaskState::running;
  reserved_for_[*best] = -1;
  if (!shares_with_[*best].empty())
    for (size_t i = 0; i < states_.size(); ++i)
      if (shares_with_[i] == shares_with_[*best] && is_ready(i) && reserved_for_[i] < 0)
        reserved_for_[i] = group;
  return best;
}

std::vector<size_t> Scheduler::reserved(int group, size_t task) const {
  std::vector<size_t> out;
  if (shares_with_[task].empty()) return out;
  for (size_t i = 0; i < states_.size(); ++i)
    if (i != task && reserved_for_[i] == group && states_[i] == TaskState::pending &&
        shares_with_[i] == shares_with_[task])
      out.push_back(i);
  return out;
}

void Scheduler::release_reservations(int group) {
  for (auto& holder : reserved_for_)
    if (holder == group) holder = -1;
}

void Scheduler::complete(size_t task, bool ok) { states_[task] = ok ? TaskState::done : TaskState::failed; }

void Scheduler::release(size_t task) { states_[task] = TaskState::pending; }

std::vector<size_t> Scheduler::blocked() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i] == TaskState::pending && is_blocked(i)) out.push_back(i);
  return out;
}

size_t Scheduler::running() const {
  return size_t(std::count(states_.begin(), states_.end(), TaskState::running));
}

bool Scheduler::finished() const {
  if (running() > 0) return false;
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i] == TaskState::pending && !is_blocked(i)) return false;
  return true;
}

std::vector<Slot> simulate(const Plan& plan, int groups) {
  if (groups < 1) throw Error("need at least one group");
  Scheduler scheduler(plan, std::vector<TaskState>(plan.tasks.size(), TaskState::pending));
  std::vector<double> free_at(groups, 0.0);
  std::vector<Slot> slots;
  std::vector<Slot> running;
  double now = 0;
  while (!scheduler.finished()) {
    // Give every idle group a ready task, lowest group number first.
    bool assigned = true;
    while (assigned) {
      assigned = false;
      for (int g = 0; g < groups; ++g) {
        if (free_at[g] > now) continue;
        auto task = scheduler.take(g);
        if (!task) continue;
        const double cost = std::max(plan.tasks[*task].cost, 1e-9);
        running.push_back({*task, g, now, now + cost});
        free_at[g] = now + cost;
        assigned = true;
      }
    }
    if (running.empty()) break;
    auto first = std::min_element(running.begin(), running.end(),
                                  [](const Slot& a, const Slot& b) { return a.end < b.end; });
    now = first->end;
    scheduler.complete(first->task, true);
    slots.push_back(*first);
    running.erase(first);
  }
  std::sort(slots.begin(), slots.end(), [](const Slot& a, const Slot& b) {
    return a.start < b.start || (a.start == b.start && a.group < b.group);
  });
  return slots;
}

}  // namespace featreuse::grid
