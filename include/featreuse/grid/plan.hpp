#pragma once
// Grid expansion: a job's axes -> cells, resolved against the building blocks
// in configs/, with stable ids, dependencies and cost estimates. Pure.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "featreuse/grid/job.hpp"

namespace featreuse::grid {

// An initialisation scheme the init module offers (the app fills these in).
struct InitScheme {
  std::string name;
  bool needs_source = false;     // takes weights from a source task
  json params = json::object();  // parameter defaults, e.g. {"wt_blocks": null}
  bool needs_st = false;         // uses the ST draw of (source, cell seed): an "st" task
};

// An analysis the analysis module offers (the app fills these in).
struct AnalysisScheme {
  std::string name;
  json defaults = json::object();  // every option with its default value
  // Cross-network analyses: the init of the partner cell (the cell with the
  // same axes except this init); empty for analyses of one cell.
  std::string partner_init;
  // Whether the analysis applies to a cell's resolved config (e.g. attention
  // maps exist); unset: every cell.
  std::function<bool(const json& cell_config)> applies;
  // Throws featreuse::Error for option values out of range; unset: any.
  std::function<void(const json& options)> check;
};

// What an analysis task costs: its own work, and the test passes it would
// share with the cell's other analyses (pass -> cost). A plan counts each
// shared pass once per cell, on the first of the cell's analyses that needs it.
struct AnalysisCost {
  double own = 0;
  std::map<std::string, double> shared;
};

// What grid needs to know about the layers above it, injected by the app.
struct Catalog {
  std::vector<InitScheme> init_schemes;
  std::vector<AnalysisScheme> analyses;
  // Throws ConfigError when a model config names an unknown architecture.
  std::function<void(const json& model_config, const std::string& where)> check_model;
  // Relative cost of a task from its resolved config; may throw (cost 0 then).
  std::function<double(const json& config)> estimate_cost;
  // Relative cost of an analysis task of the cell with `cell_config`; may throw.
  std::function<AnalysisCost(const json& analysis_config, const json& cell_config)> estimate_analysis_cost;
  // What expansion does with a source's weight file that does not exist:
  // refuse the job (run), or note it in Plan::missing_weights and go on with
  // a provisional task id (plan: a study can be sized before the files are
  // downloaded; the ids hash the file's bytes).
  enum class MissingWeights { refuse, note };
  MissingWeights missing_weights = MissingWeights::refuse;
};

// What a task does: pretrain a source, import a source from a weight file,
// draw the ST state of a source for one seed, train a grid cell, or analyse
// trained cells.
enum class TaskKind { source, import, st, cell, analysis };
// The kind's name as configs and the store spell it: "source", "import", "st",
// "cell", "analysis".
const char* task_kind_name(TaskKind kind);
// Throws featreuse::Error naming an unknown kind.
TaskKind parse_task_kind(const std::string& name);
// Sources and cells: the tasks that train (the others read or write weights).
inline bool is_training(TaskKind kind) { return kind == TaskKind::source || kind == TaskKind::cell; }

struct Task {
  std::string id;  // stable_id of the identity view of `config`
  TaskKind kind = TaskKind::cell;
  std::string key;                // coordinates, e.g. "model=m dataset=d init=wt seed=0"
  json axes = json::object();     // axis -> value (null where the axis does not apply)
  json config;                    // fully resolved config, as stored
  std::vector<std::string> deps;  // ids of tasks that must be done first
  double cost = 0;                // estimate, relative units
  double priority = 0;            // cost of the longest path from this task to the end
};

struct Plan {
  std::string job_name;
  std::vector<std::string> axis_names;  // model, dataset, init, source, seed, then others
  std::vector<Task> tasks;              // dependencies before dependents
  int64_t grid_points = 0;              // size of the cartesian product
  int64_t filtered = 0;                 // dropped by include/exclude
  int64_t source_mismatch = 0;          // dropped: source of another model
  int64_t duplicates = 0;               // points resolving to an existing cell
  int64_t analyses_skipped = 0;         // (analysis, cell): not applicable or no partner
  // Under Catalog::MissingWeights::note: "file:line: key: no such file 'path'"
  // per missing weight file; the ids of its source and dependents are provisional.
  std::vector<std::string> missing_weights;
  size_t index_of(const std::string& id) const;  // throws if absent
};

Plan expand(const JobSpec& job, const Catalog& catalog);

// The part of a resolved config that decides its id: everything except where
// files live (dataset root/cache, a weight file's path: its content counts),
// so moving data keeps the ids.
json identity_view(const json& config);
std::string task_id(const json& config);

// Canonical one-line text of a config (sorted keys), as hashed and stored.
std::string canonical(const json& config);

}  // namespace featreuse::grid

namespace featreuse::grid {

// A plan as JSON and back, so rank 0 can share the one it expanded.
json plan_to_json(const Plan& plan);
Plan plan_from_json(const json& j);

}  // namespace featreuse::grid
