#include "task_runner.hpp"

#include <ATen/Context.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <optional>

#include "featreuse/analysis/task.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/hash.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/core/stop.hpp"
#include "featreuse/data/registry.hpp"
#include "featreuse/init/init.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/models/weights.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/recipe.hpp"
#include "study.hpp"

namespace featreuse::app {

namespace {
constexpr size_t kOpenDatasets = 2;
// How long a rank whose task failed waits for the rest of its group to fail
// with it before it aborts the job (the others are then stuck in a collective).
constexpr double kGroupFailureWait_s = 30;

models::TensorList stored_weights(const store::Store& store, const std::string& id,
                                  store::CheckpointKind which = store::CheckpointKind::best) {
  const store::Checkpoint checkpoint = store.checkpoint(id, which);
  return train::to_tensors(checkpoint.layout, checkpoint.values);
}

// A task whose output is one set of weights (no curves, no predictions).
train::TrainResult weights_only(models::Network& net, std::string message) {
  train::TrainResult r;
  r.outputs.initial = train::flatten(net);
  r.outputs.best = r.outputs.initial;
  r.record.message = std::move(message);
  return r;
}
}  // namespace

TaskRunner::TaskRunner(store::Store& store, const grid::Plan& plan, const dist::Topology& topology,
                       dist::GradientReducer& reducer, c10::Device device)
    : store_(store), plan_(plan), topology_(topology), reducer_(reducer), device_(device) {}

// One rank of a data-parallel group failed alone: the others wait inside a
// collective that will never complete, so the whole job ends. The task's
// record still says running, and the next run redoes it from its saved state.
void TaskRunner::abort_group(const grid::Task& task, const std::string& message) const {
  spdlog::critical(
      "task {} failed on rank {} of group {} while the other ranks of the group went on: {}. Aborting the "
      "job so that no rank waits for ever; rerun the same command to continue (done tasks are kept, this "
      "one resumes from its saved state)",
      task.id, topology_.group_rank, topology_.group, message);
  MPI_Abort(MPI_COMM_WORLD, 3);
  std::abort();  // MPI_Abort does not return
}

// After a failure is recorded: a process left unable to train again stops the
// run (cmd_run.cpp aborts the job). A group decides together, once its leader
// has written the record (before that an abort could cut the write short).
void TaskRunner::stop_if_unusable(const std::exception& e, bool whole_group) const {
  int unusable = dynamic_cast<const ProcessUnusable*>(&e) != nullptr ? 1 : 0;
  if (whole_group) MPI_Allreduce(MPI_IN_PLACE, &unusable, 1, MPI_INT, MPI_MAX, topology_.failure_comm);
  if (unusable) throw ProcessUnusable(e.what());
}

const data::Dataset& TaskRunner::dataset(const json& config) {
  const std::string key = config.dump();
  auto it = open_.find(key);
  if (it != open_.end()) return *it->second;
  if (open_.size() >= kOpenDatasets) open_.clear();
  Stopwatch clock;
  auto opened = data::open_dataset(config);
  spdlog::info("opened dataset {} in {}", config.value("name", std::string("?")),
               format_duration(clock.seconds()));
  return *open_.emplace(key, std::move(opened)).first->second;
}

std::shared_ptr<models::Network> TaskRunner::source_network(const grid::Task& source) {
  if (source.kind == grid::TaskKind::import) return build_import_network(source.config);
  return build_network(source.config, data::describe_dataset(source.config["dataset"]));
}

train::TrainResult TaskRunner::import_weights(const grid::Task& task) {
  const std::string path = task.config["weights"]["path"];
  if (file_id(path) != task.config["weights"]["content"])
    throw Error("weight file '" + path + "' changed since the job was planned; plan the job again");
  auto net = build_import_network(task.config);
  models::LoadOptions options;
  options.source = path;
  const auto report = models::load_weights(*net, models::read_weights(path), options);
  return weights_only(*net, "imported " + std::to_string(report.loaded) + " tensors from " + path);
}

train::TrainResult TaskRunner::draw_st(const grid::Task& task) {
  const grid::Task& source = plan_.tasks[plan_.index_of(task.config["source"])];
  auto net = source_network(source);
  init::StOptions options;
  options.sample_embeddings = task.config["sample_embeddings"];
  const uint64_t seed = derive_seed(task.config["seed"].get<uint64_t>(), "st");
  const models::TensorList st = init::sample_st(*net, stored_weights(store_, source.id), seed, options);
  models::LoadOptions load;
  load.source = "ST draw of " + source.key;
  models::load_weights(*net, st, load);
  return weights_only(*net, "ST draw of " + source.key + " for seed " + task.config["seed"].dump());
}

std::vector<const grid::Task*> TaskRunner::analysed_together(const grid::Task& task,
                                                             const std::vector<size_t>& companions) const {
  const json& cells = task.config["cells"];
  json partner = cells.size() > 1 ? cells[1] : json();
  std::vector<const grid::Task*> out{&task};
  for (size_t index : companions) {
    const grid::Task& other = plan_.tasks[index];
    const json& theirs = other.config["cells"];
    if (other.kind != grid::TaskKind::analysis || theirs[0] != cells[0] || made_earlier_.count(other.id))
      continue;
    if (theirs.size() > 1) {
      if (partner.is_null()) partner = theirs[1];
      if (theirs[1] != partner) continue;
    }
    out.push_back(&other);
  }
  return out;
}

// The analysed cell's networks (on the rank's device, as training: the
// analyses' forward passes follow the parameters there) and checkpoints, for
// `together` (analyses of that cell; the partner's best if one compares with it).
TaskRunner::PreparedAnalysis TaskRunner::prepare_analysis(const grid::Task& cell,
                                                          const std::vector<const grid::Task*>& together) {
  PreparedAnalysis p;
  const data::Dataset& data = dataset(cell.config["dataset"]);
  auto network = [&] {
    // run_analyses loads every entry from the cell's checkpoints.
    std::shared_ptr<models::Network> net = build_network_to_fill(cell.config, data.info());
    net->to(device_);
    return net;
  };
  p.initial_net = network();
  p.best_net = network();
  p.in.initial_net = p.initial_net.get();
  p.in.best_net = p.best_net.get();
  p.in.dataset = &data;
  p.in.initial = stored_weights(store_, cell.id, store::CheckpointKind::initial);
  p.in.best = stored_weights(store_, cell.id);
  const train::Recipe recipe = train::parse_recipe(cell.config["recipe"]);
  p.in.train_subset = train::training_subset(data, recipe, cell.config["seed"].get<uint64_t>());
  for (const grid::Task* t : together) {
    p.requests.push_back({t->config["analysis"], t->config["options"]});
    if (t->config["cells"].size() > 1 && !p.partner_net) {
      p.partner_net = network();
      p.in.partner_net = p.partner_net.get();
      p.in.partner_best = stored_weights(store_, t->config["cells"][1]);
    }
  }
  return p;
}

train::TrainResult TaskRunner::analyse(const grid::Task& task, const std::vector<size_t>& companions) {
  const std::string name = task.config["analysis"];
  const grid::Task& cell = plan_.tasks[plan_.index_of(task.config["cells"][0])];
  // Said in the record: the analysis saw weights rounded to the stored precision.
  const std::string precision =
      store::checkpoint_dtype_name(train::parse_recipe(cell.config["recipe"]).checkpoint_dtype);
  auto message = [&](const std::vector<store::ResultTable>& tables) {
    size_t rows = 0;
    for (const auto& t : tables) rows += t.keys.size();
    return name + ": " + std::to_string(rows) + " rows, from checkpoints stored as " + precision;
  };
  train::TrainResult result;
  if (auto made = made_earlier_.find(task.id); made != made_earlier_.end()) {
    result.outputs.tables = std::move(made->second.tables);
    result.record.message =
        message(result.outputs.tables) + "; made in the test passes of task " + made->second.by;
    made_earlier_.erase(made);
    return result;
  }
  const auto together = analysed_together(task, companions);
  PreparedAnalysis prepared = prepare_analysis(cell, together);
  auto outcomes = analysis::run_analyses(prepared.requests, prepared.in);
  for (size_t i = 1; i < together.size(); ++i)
    if (outcomes[i].error.empty())  // a companion that failed runs again on its own
      made_earlier_[together[i]->id] = {std::move(outcomes[i].tables), task.id};
  if (!outcomes[0].error.empty()) throw Error(outcomes[0].error);
  result.outputs.tables = std::move(outcomes[0].tables);
  result.record.message = message(result.outputs.tables);
  if (together.size() > 1)
    result.record.message +=
        "; its test passes also made " + std::to_string(together.size() - 1) + " more of the cell's analyses";
  return result;
}

train::TrainResult TaskRunner::train(const grid::Task& task, train::ResumeSlot* resume,
                                     Heartbeat* heartbeat) {
  const data::Dataset& data = dataset(task.config["dataset"]);
  auto net = build_network(task.config, data.info());
  const json& init = task.config["init"];
  models::TensorList source, st;
  init::ApplyInputs inputs;
  if (init.contains("source")) {
    source = stored_weights(store_, init["source"]);
    inputs.source = &source;
  }
  if (init.contains("st_state")) {
    st = stored_weights(store_, init["st_state"]);
    inputs.st_state = &st;
  }
  spdlog::info("task {} init: {}", task.id, init::apply(*net, init, inputs));
  net->to(device_);

  train::TrainInputs in;
  in.label = task.id;
  in.recipe = train::parse_recipe(task.config["recipe"]);
  in.seed = task.config["seed"].get<uint64_t>();
  in.family = models::registry().info(task.config["model"]["arch"]).family;
  in.random_init = init::is_random_init(init);
  in.resume = resume;
  in.shard_rank = topology_.group_rank;
  in.shard_count = topology_.group_size;
  if (heartbeat)
    in.on_step = [heartbeat](int64_t step, int64_t total, int64_t epoch, int64_t epochs) {
      heartbeat->training(step, total, epoch, epochs);
    };
  return train::train_cell(in, data, *net, reducer_);
}

// The leader writes the record and syncs it; a group's other ranks write nothing.
void TaskRunner::save_record(const grid::Task& task, const store::CellRecord& record) {
  if (!topology_.leader()) return;
  store_.write_record(task.id, record);
  store_.sync();
}

// The task's record says running, one attempt more, on this host, from now.
store::CellRecord TaskRunner::mark_running(const grid::Task& task) {
  store::CellRecord record = store_.read_record(task.id);
  record.status = grid::TaskState::running;
  record.attempts += 1;
  record.host = host_name();
  record.start_time = unix_time();
  record.end_time = record.wall_s = store::kNaN;
  record.message.clear();
  save_record(task, record);
  // A member may read the record before or after its leader wrote it: only the leader knows the attempt.
  if (topology_.leader())
    spdlog::info("task {} start: {} (attempt {})", task.id, task.key, record.attempts);
  else
    spdlog::info("task {} start: {} (rank {} of group {})", task.id, task.key, topology_.group_rank,
                 topology_.group);
  return record;
}

// The task's work, by its kind.
train::TrainResult TaskRunner::perform(const grid::Task& task, const std::vector<size_t>& companions,
                                       train::ResumeSlot* resume, Heartbeat* heartbeat) {
  switch (task.kind) {
    case grid::TaskKind::import:
      return import_weights(task);
    case grid::TaskKind::st:
      return draw_st(task);
    case grid::TaskKind::analysis:
      return analyse(task, companions);
    case grid::TaskKind::source:
    case grid::TaskKind::cell:
      return train(task, resume, heartbeat);
  }
  throw Error("task " + task.id + ": a kind this build cannot run");
}

// Outputs first, synced, then the record that says done: a crash between
// them leaves a running record, which the next run redoes.
void TaskRunner::record_done(const grid::Task& task, train::TrainResult& result,
                             const store::CellRecord& started, double seconds) {
  if (topology_.leader()) {
    if (task.kind == grid::TaskKind::analysis)
      store_.write_analysis(task.id, result.outputs.tables);
    else
      store_.write_outputs(task.id, result.outputs);
    store_.sync();
  }
  result.record.status = grid::TaskState::done;
  result.record.attempts = started.attempts;
  result.record.host = started.host;
  result.record.start_time = started.start_time;
  result.record.end_time = unix_time();
  result.record.wall_s = seconds;
  save_record(task, result.record);
  if (grid::is_training(task.kind))
    spdlog::info("task {} done in {}: test {} {:.4f}, best val {:.4f} at step {}, {:.1f} img/s", task.id,
                 format_duration(seconds), result.record.target_metric, result.record.target,
                 result.record.best_val, result.record.best_iteration, result.record.images_per_s);
  else
    spdlog::info("task {} done in {}: {}", task.id, format_duration(seconds), result.record.message);
}

// A stop request: pending, and not an attempt of its own (the next run
// continues the task from its saved state).
void TaskRunner::record_interrupted(const grid::Task& task, store::CellRecord record, double seconds) {
  record.status = grid::TaskState::pending;
  record.attempts -= 1;
  record.end_time = unix_time();
  record.wall_s = seconds;
  record.message = "interrupted by signal " + std::to_string(stop::signal_number()) + " after " +
                   format_duration(seconds) + "; rerun to continue from its saved state";
  save_record(task, record);
  spdlog::warn("task {} interrupted: left pending", task.id);
}

void TaskRunner::record_failed(const grid::Task& task, store::CellRecord record, const std::string& message,
                               double seconds) {
  record.status = grid::TaskState::failed;
  record.end_time = unix_time();
  record.wall_s = seconds;
  record.message = message;
  save_record(task, record);
  spdlog::error("task {} failed after {}: {}", task.id, format_duration(seconds), message);
}

dist::Outcome TaskRunner::run(size_t index, const std::vector<size_t>& companions) {
  const grid::Task& task = plan_.tasks[index];
  const bool writer = topology_.leader();
  // Only training is data-parallel: the group's other ranks would repeat an
  // import, ST draw or analysis on the same cores for nothing.
  const bool leader_only = !grid::is_training(task.kind);
  if (leader_only && !writer) return dist::Outcome::done;  // the leader reports the outcome
  const store::CellRecord started = mark_running(task);
  // Beats until the task's record is written (it is destroyed after that).
  std::optional<Heartbeat> heartbeat;
  if (writer) heartbeat.emplace(store_.path(), task.id);
  // A training task's saved state lives beside the store until it is done.
  train::FileResumeSlot resume(store_.path() + ".resume/" + task.id + ".h5");
  train::ReadOnlyResumeSlot group_member_resume(resume);  // every rank of a group resumes, the leader saves
  Stopwatch clock;
  try {
    train::TrainResult result =
        perform(task, companions, writer ? static_cast<train::ResumeSlot*>(&resume) : &group_member_resume,
                heartbeat ? &*heartbeat : nullptr);
    record_done(task, result, started, clock.seconds());
    if (writer) resume.clear();  // the task is done: its saved training state is no longer needed
    return dist::Outcome::done;
  } catch (const store::StoreNotSynced&) {
    throw;  // the disk, not the task: the run stops (cmd_run.cpp), the record still says running
  } catch (const Interrupted&) {
    record_interrupted(task, started, clock.seconds());
    return dist::Outcome::interrupted;
  } catch (const std::exception& e) {
    const bool whole_group = topology_.group_size > 1 && !leader_only;
    if (whole_group && !dist::all_arrive_within(topology_.failure_comm, kGroupFailureWait_s))
      abort_group(task, e.what());
    record_failed(task, started, e.what(), clock.seconds());
    if (writer)
      resume.clear();  // a retry starts over: the failure belongs to the task, not to where it stopped
    stop_if_unusable(e, whole_group);
    return dist::Outcome::failed;
  }
}

}  // namespace featreuse::app
