#include "task_runner.hpp"

#include <ATen/Context.h>
#include <spdlog/spdlog.h>

#include "featreuse/core/error.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/core/stop.hpp"
#include "featreuse/data/registry.hpp"
#include "featreuse/init/init.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/trainer.hpp"
#include "study.hpp"

namespace featreuse::app {

namespace {
constexpr size_t kOpenDatasets = 2;
}

TaskRunner::TaskRunner(store::Store& store, const grid::Plan& plan, const dist::Topology& topology,
                       dist::GradientReducer& reducer)
    : store_(store), plan_(plan), topology_(topology), reducer_(reducer) {}

const data::Dataset& TaskRunner::dataset(const json& config) {
  const std::string key = config.dump();
  auto it = open_.find(key);
  if (it != open_.end()) return *it->second;
  if (open_.size() >= kOpenDatasets) open_.clear();
  Stopwatch clock;
  auto opened = data::open_dataset(config);
  spdlog::info("opened dataset {} in {}", config.value("name", std::string("?")), format_duration(clock.seconds()));
  return *open_.emplace(key, std::move(opened)).first->second;
}

dist::Outcome TaskRunner::run(size_t index) {
  const grid::Task& task = plan_.tasks[index];
  const bool writer = topology_.leader();
  store::CellRecord record = store_.read_record(task.id);
  record.status = grid::TaskState::running;
  record.attempts += 1;
  record.host = host_name();
  record.start_time = unix_time();
  record.end_time = record.wall_s = store::kNaN;
  record.message.clear();
  if (writer) {
    store_.write_record(task.id, record);
    store_.sync();
  }
  spdlog::info("task {} start: {} (attempt {})", task.id, task.key, record.attempts);
  // The task's saved training state lives beside the store until it is done.
  train::FileResumeSlot resume(store_.path() + ".resume/" + task.id + ".h5");
  Stopwatch clock;
  try {
    const data::Dataset& data = dataset(task.config["dataset"]);
    auto net = build_network(task.config, data.info());
    models::TensorList source;
    const json& init = task.config["init"];
    if (init.contains("source")) {
      auto [layout, flat] = store::read_checkpoint(store_.file(), init["source"], "best");
      source = train::to_tensors(layout, flat);
    }
    const std::string how = init::apply(*net, init, init.contains("source") ? &source : nullptr);
    spdlog::info("task {} init: {}", task.id, how);

    train::TrainInputs inputs;
    inputs.label = task.id;
    inputs.recipe = &task.config["recipe"];
    inputs.seed = task.config["seed"].get<uint64_t>();
    inputs.family = models::registry().info(task.config["model"]["arch"]).family;
    inputs.init_scheme = init.value("scheme", std::string());
    inputs.resume = writer ? &resume : nullptr;
    inputs.dataset = &data;
    inputs.net = net.get();
    inputs.reducer = &reducer_;
    inputs.shard_rank = topology_.group_rank;
    inputs.shard_count = topology_.group_size;
    train::TrainResult result = train::train_cell(inputs);

    if (writer) {
      store_.write_outputs(task.id, result.outputs);
      store_.sync();  // data on disk before the record says done
    }
    result.record.status = grid::TaskState::done;
    result.record.attempts = record.attempts;
    result.record.host = record.host;
    result.record.start_time = record.start_time;
    result.record.end_time = unix_time();
    result.record.wall_s = clock.seconds();
    if (writer) {
      store_.write_record(task.id, result.record);
      store_.sync();
      resume.clear();  // the task is done: its saved training state is no longer needed
    }
    spdlog::info("task {} done in {}: test {} {:.4f}, best val {:.4f} at step {}, {:.1f} img/s", task.id,
                 format_duration(clock.seconds()), result.record.target_metric, result.record.target,
                 result.record.best_val, result.record.best_iteration, result.record.images_per_s);
    return dist::Outcome::done;
  } catch (const Interrupted&) {
    record.status = grid::TaskState::pending;
    record.end_time = unix_time();
    record.wall_s = clock.seconds();
    record.message = "interrupted by signal " + std::to_string(stop::signal_number()) + " after " +
                     format_duration(clock.seconds()) + "; rerun to continue from its saved state";
    if (writer) {
      store_.write_record(task.id, record);
      store_.sync();
    }
    spdlog::warn("task {} interrupted: left pending", task.id);
    return dist::Outcome::interrupted;
  } catch (const std::exception& e) {
    record.status = grid::TaskState::failed;
    record.end_time = unix_time();
    record.wall_s = clock.seconds();
    record.message = e.what();
    if (writer) {
      store_.write_record(task.id, record);
      store_.sync();
      resume.clear();  // a retry starts over: the failure belongs to the task, not to where it stopped
    }
    spdlog::error("task {} failed after {}: {}", task.id, format_duration(clock.seconds()), e.what());
    return dist::Outcome::failed;
  }
}

}  // namespace featreuse::app
