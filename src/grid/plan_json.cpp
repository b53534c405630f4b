#include "featreuse/grid/plan.hpp"

namespace featreuse::grid {

json plan_to_json(const Plan& plan) {
  json tasks = json::array();
  for (const auto& t : plan.tasks)
    tasks.push_back({{"id", t.id},
                     {"kind", task_kind_name(t.kind)},
                     {"key", t.key},
                     {"axes", t.axes},
                     {"config", t.config},
                     {"deps", t.deps},
                     {"cost", t.cost},
                     {"priority", t.priority}});
  return {{"job_name", plan.job_name},
          {"axis_names", plan.axis_names},
          {"grid_points", plan.grid_points},
          {"filtered", plan.filtered},
          {"source_mismatch", plan.source_mismatch},
          {"duplicates", plan.duplicates},
          {"analyses_skipped", plan.analyses_skipped},
          {"tasks", tasks}};
}

Plan plan_from_json(const json& j) {
  Plan plan;
  plan.job_name = j["job_name"];
  plan.axis_names = j["axis_names"].get<std::vector<std::string>>();
  plan.grid_points = j["grid_points"];
  plan.filtered = j["filtered"];
  plan.source_mismatch = j["source_mismatch"];
  plan.duplicates = j["duplicates"];
  plan.analyses_skipped = j.value("analyses_skipped", int64_t(0));
  for (const auto& t : j["tasks"]) {
    Task task;
    task.id = t["id"];
    task.kind = parse_task_kind(t["kind"]);
    task.key = t["key"];
    task.axes = t["axes"];
    task.config = t["config"];
    task.deps = t["deps"].get<std::vector<std::string>>();
    task.cost = t["cost"];
    task.priority = t["priority"];
    plan.tasks.push_back(std::move(task));
  }
  return plan;
}

}  // namespace featreuse::grid
