#include "featreuse/train/trainer.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "autocast.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/core/stop.hpp"
#include "featreuse/dist/overlap.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/lr_schedule.hpp"
#include "generator_state.hpp"
#include "graphed_step.hpp"
#include "optimizer.hpp"

namespace featreuse::train {

namespace {

// The recipe's channels_last: every 4-D parameter and buffer (the
// convolutions' weights) laid out NHWC. Values, names and the optimiser's
// references stay; flat checkpoints are read and written in logical order.
void to_channels_last(models::Network& net) {
  at::NoGradGuard no_grad;
  for (auto& t : net.parameters())
    if (t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
  for (auto& t : net.buffers())
    if (t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
}

// One cell's training run, step by step; `run` is the whole of it.
class CellTrainer {
 public:
  CellTrainer(const TrainInputs& in, const data::Dataset& dataset, models::Network& net,
              dist::GradientReducer& reducer);
  TrainResult run();

 private:
  void start_or_resume();
  void share_leader_state(bool parameters);
  bool group_agrees(bool mine);
  Evaluation evaluate_split(data::Split split);
  data::StreamOptions epoch_stream() const;
  void train_epoch();
  void stop_if_requested();
  void step(const data::Batch& batch);
  double forward_backward(const data::Batch& batch);
  at::Tensor loss_of_batch(const at::Tensor& images, const at::Tensor& labels);
  double group_loss(const at::Tensor& loss);
  std::unique_ptr<GraphedStep> start_graphs();
  at::Tensor as_input(const at::Tensor& images) const;
  void average_gradients();
  double averaged_forward_backward(const data::Batch& batch);
  void advance_schedule();
  void record_loss(double loss, double used_lr);
  void after_epoch();
  double plateau_input(double before_any) const;
  void validate();
  Error diverged(const std::string& what, int64_t step) const;
  bool save_state();
  TrainResult finish();

  const TrainInputs& in_;
  const Recipe& recipe_;
  const data::Dataset& dataset_;
  models::Network& net_;
  const c10::Device device_;
  dist::GradientReducer& reducer_;
  const bool multi_label_;
  const std::string target_metric_;
  const Schedule schedule_;
  const std::vector<int64_t> subset_;
  const double base_lr_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  LrSchedule lr_schedule_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<GraphedStep> graphed_;              // null: eager steps
  std::unique_ptr<dist::OverlappedAverage> overlap_;  // null: averaged after backward (or one rank)
  TrainState st_;
  ProgressLog progress_;
  Stopwatch clock_, since_save_;
  double seconds_before_ = 0;  // training and evaluation time of earlier runs of this task
  int64_t first_step_ = 0;     // the step this run started at
  bool stopped_early_ = false;
};

CellTrainer::CellTrainer(const TrainInputs& in, const data::Dataset& dataset, models::Network& net,
                         dist::GradientReducer& reducer)
    : in_(in),
      recipe_(in.recipe),
      dataset_(dataset),
      net_(net),
      device_(network_device(net)),  // where the task runner put it
      reducer_(reducer),
      multi_label_(is_multi_label(dataset)),
      target_metric_(dataset.info().target_metric),
      schedule_(make_schedule(in.recipe, dataset.size(data::Split::train))),
      subset_(training_subset(dataset, in.recipe, in.seed)),
      base_lr_(in.recipe.lr_for(in.random_init)),
      optimizer_(make_optimizer(in.recipe.optimizer_for(in.family), in.recipe, base_lr_, net)),
      lr_schedule_(in.recipe, base_lr_),
      progress_("train " + in.label, schedule_.total_steps, "img", in.progress_interval_s) {
  if (dataset.size(data::Split::val) == 0)
    throw Error("dataset '" + dataset.info().name + "' has no validation images");
  if (in.shard_count > 1 && recipe_.batch_size % in.shard_count != 0)
    throw Error("batch_size " + std::to_string(recipe_.batch_size) + " cannot be split over a group of " +
                std::to_string(in.shard_count) + " ranks: the global batch stays the recipe's, so " +
                "--ranks-per-task must divide it");
  if (recipe_.precision == Precision::bf16 && !device_.is_cuda())
    spdlog::warn("{}: precision bf16 is autocast on GPUs only; training in fp32 on this CPU", in.label);
  if (recipe_.memory_format == MemoryFormat::channels_last) to_channels_last(net_);
  net_.train();
  for (const auto& p : net_.parameters()) params_.push_back(p);
  if (recipe_.cuda_graphs) graphed_ = start_graphs();
  // A replayed graph runs no host code, so no gradient hook either: a graphed
  // group averages after backward.
  if (!graphed_) overlap_ = reducer_.overlapped(params_);
  // Training randomness (dropout, drop path) from its own stream of the cell seed.
  at::manual_seed(derive_seed(in.seed, "train"));
  start_or_resume();
  share_leader_state(/*parameters=*/true);
}

// A data-parallel group starts from its leader's weights, and evaluates with
// the leader's BatchNorm running statistics, as DDP's broadcast_buffers does
// (each rank's own statistics drift apart, like DDP without SyncBN). Only
// float tensors travel (num_batches_tracked is the same count everywhere).
void CellTrainer::share_leader_state(bool parameters) {
  if (reducer_.size() <= 1) return;
  std::vector<at::Tensor> tensors;
  for (const auto& entry : models::state_entries(net_))
    if ((parameters || entry.is_buffer) && entry.tensor.scalar_type() == at::kFloat)
      tensors.push_back(entry.tensor);
  at::NoGradGuard no_grad;
  reducer_.broadcast(tensors);
}

// True on every rank of the group iff it is true on any: decisions that end
// a step (a stop request, a diverged loss) must be taken together or the
// others wait in the next collective for ever.
bool CellTrainer::group_agrees(bool mine) {
  if (reducer_.size() <= 1) return mine;
  std::vector<double> votes{mine ? 1.0 : 0.0};
  reducer_.sum(votes);
  return votes[0] > 0;
}

// A split evaluated by the whole group: each rank takes its share of the
// images and the group sums the pieces, so every rank sees the same result
// and takes the same schedule decisions.
Evaluation CellTrainer::evaluate_split(data::Split split) {
  if (reducer_.size() <= 1) return evaluate(net_, dataset_, split, recipe_.eval_batch_size);
  share_leader_state(/*parameters=*/false);
  return evaluate_in_group(net_, dataset_, split, recipe_.eval_batch_size, reducer_, in_.shard_rank);
}

void CellTrainer::start_or_resume() {
  // As the reference: the best validation starts at 0 with the initial
  // weights, so only a target above 0 (after rounding) replaces them.
  st_.initial = flatten(net_);
  st_.best = st_.initial;
  st_.best_val = 0;
  st_.best_iteration = 0;
  if (in_.resume) {
    if (auto saved = in_.resume->load()) {
      st_ = std::move(*saved);
      unflatten_into(net_, st_.model);
      load_optimizer(*optimizer_, st_.optimizer);
      set_generator(st_.generator);
      set_device_generator(device_, st_.device_generator);
      lr_schedule_.restore(st_.schedule);
      spdlog::info("train {}: resuming at step {} (epoch {}, step {} of it)", in_.label, st_.step,
                   st_.epoch + 1, st_.steps_in_epoch);
    }
  }
  set_lr(*optimizer_, lr_schedule_.lr());
  seconds_before_ = st_.train_seconds + st_.eval_seconds;
  first_step_ = st_.step;
  clock_.restart();
  since_save_.restart();
}

TrainResult CellTrainer::run() {
  for (; st_.epoch < recipe_.epochs && !stopped_early_; ++st_.epoch, st_.steps_in_epoch = 0) {
    train_epoch();
    after_epoch();
  }
  if (st_.val_curve.empty() || st_.val_curve.back().iteration != st_.step) validate();
  st_.train_seconds = clock_.seconds() + seconds_before_ - st_.eval_seconds;
  return finish();
}

data::StreamOptions CellTrainer::epoch_stream() const {
  data::StreamOptions options;
  options.batch_size = recipe_.batch_size / in_.shard_count;  // the group's batch is the recipe's
  options.shuffle = true;
  options.seed = in_.seed;
  options.epoch = st_.epoch;
  options.drop_last = true;
  options.augment = true;
  options.shard_rank = in_.shard_rank;
  options.shard_count = in_.shard_count;
  options.subset = subset_;
  options.first_batch = st_.steps_in_epoch;
  options.device = device_;
  return options;
}

// The epoch's remaining steps, validating at the schedule's interval (the
// last step's validation comes after training).
void CellTrainer::train_epoch() {
  auto stream = dataset_.stream(data::Split::train, epoch_stream());
  data::Batch batch;
  while (st_.steps_in_epoch < schedule_.steps_per_epoch && stream->next(batch)) {
    stop_if_requested();
    step(batch);
    if (st_.step % schedule_.val_interval == 0 && st_.step != schedule_.total_steps) validate();
  }
  if (st_.steps_in_epoch < schedule_.steps_per_epoch)
    throw Error("the training stream ended after " + std::to_string(st_.steps_in_epoch) + " of " +
                std::to_string(schedule_.steps_per_epoch) + " batches");
}

void CellTrainer::stop_if_requested() {
  if (!group_agrees(in_.should_stop ? in_.should_stop() : stop::requested())) return;
  st_.train_seconds = clock_.seconds() + seconds_before_ - st_.eval_seconds;
  if (!save_state())
    spdlog::warn(
        "train {}: stopped at step {} without saving: the next run continues from the state saved "
        "before (or from the start if none was)",
        in_.label, st_.step);
  throw Interrupted();
}

std::unique_ptr<GraphedStep> CellTrainer::start_graphs() {
  if (!device_.is_cuda()) {
    spdlog::warn("{}: cuda_graphs is for GPUs; training eagerly on this CPU", in_.label);
    return nullptr;
  }
  if (reducer_.size() > 1)
    spdlog::info("{}: with cuda_graphs the group averages gradients after backward", in_.label);
  return make_graphed_step(
      [this](const at::Tensor& images, const at::Tensor& labels) { return loss_of_batch(images, labels); },
      params_, kEagerStepsBeforeGraphCapture);
}

void CellTrainer::step(const data::Batch& batch) {
  const double loss = averaged_forward_backward(batch);
  if (recipe_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params_, recipe_.grad_clip);
  optimizer_->step();
  const double used_lr = lr_schedule_.lr();
  advance_schedule();
  ++st_.steps_in_epoch;
  record_loss(loss, used_lr);
}

// forward_backward and the group's averaging. A failure between them that
// leaves averages in flight ends the process, not just the task.
double CellTrainer::averaged_forward_backward(const data::Batch& batch) {
  try {
    const double loss = forward_backward(batch);
    average_gradients();
    return loss;
  } catch (const std::exception& e) {
    if (!overlap_ || !overlap_->in_flight()) throw;
    throw ProcessUnusable(std::string(e.what()) +
                          " (with the group's gradient averages in flight: this process stops)");
  }
}

// A training batch in the recipe's memory format (evaluation batches stay as
// the loader gives them: a convolution with NHWC weights gives NHWC either way).
at::Tensor CellTrainer::as_input(const at::Tensor& images) const {
  if (recipe_.memory_format != MemoryFormat::channels_last || images.dim() != 4) return images;
  return images.contiguous(at::MemoryFormat::ChannelsLast);
}

// Zeroes the gradients, then forward and backward; returns the group's loss.
// A graphed step checks the loss after its backward, an eager one before:
// either way a non-finite loss stops the task before the optimiser steps.
double CellTrainer::forward_backward(const data::Batch& batch) {
  if (graphed_) return group_loss(graphed_->forward_backward(as_input(batch.images), batch.labels));
  optimizer_->zero_grad();
  if (overlap_) overlap_->begin_step();
  const at::Tensor loss = loss_of_batch(as_input(batch.images), batch.labels);
  const double value = group_loss(loss);
  loss.backward();
  return value;
}

// Backward runs outside autocast, as torch.autocast asks.
at::Tensor CellTrainer::loss_of_batch(const at::Tensor& images, const at::Tensor& labels) {
  AutocastScope autocast(recipe_.precision == Precision::bf16, device_);
  return loss_of(net_.forward(images), labels, multi_label_);
}

double CellTrainer::group_loss(const at::Tensor& loss) {
  double value = loss.item<double>();
  if (reducer_.size() > 1) {  // the group's loss: the mean of equal shards' means
    std::vector<double> sum{value};
    reducer_.sum(sum);
    value = sum[0] / reducer_.size();
  }
  if (!std::isfinite(value)) throw diverged("loss is " + std::to_string(value) + " at step", st_.step + 1);
  return value;
}

void CellTrainer::average_gradients() {
  if (overlap_) {
    overlap_->finish();
    return;
  }
  if (reducer_.size() <= 1) return;
  std::vector<at::Tensor> grads;
  for (auto& p : params_) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  reducer_.average(grads);
}

void CellTrainer::advance_schedule() {
  lr_schedule_.after_step();
  ++st_.step;
  // The reference code steps its scheduler with global iteration it
  // (1-based) when (it + 1) % steps_per_epoch == 0, i.e. after the
  // second-to-last step of each epoch, with a target that starts at 0.
  if (recipe_.plateau_step == PlateauStep::reference && (st_.step + 1) % schedule_.steps_per_epoch == 0)
    lr_schedule_.step_plateau(plateau_input(0.0));
  set_lr(*optimizer_, lr_schedule_.lr());
}

// The training-loss curve (a point per log_every steps) and the progress line.
void CellTrainer::record_loss(double loss, double used_lr) {
  st_.window_loss += loss;
  ++st_.window_steps;
  if (st_.step % recipe_.log_every == 0 || st_.step == schedule_.total_steps) {
    st_.train_curve.push_back({st_.step, double(st_.step) / double(schedule_.steps_per_epoch),
                               st_.window_loss / double(st_.window_steps), used_lr});
    st_.window_loss = 0;
    st_.window_steps = 0;
  }
  char extra[96];
  std::snprintf(extra, sizeof extra, "epoch %lld/%lld loss %.4f lr %.2e", (long long)st_.epoch + 1,
                (long long)recipe_.epochs, loss, used_lr);
  progress_.update(st_.step, extra, (st_.step - first_step_) * recipe_.batch_size);
  if (in_.on_step) in_.on_step(st_.step, schedule_.total_steps, st_.epoch + 1, recipe_.epochs);
}

// The plateau at the epoch's end (unless it steps where the reference does)
// and the min_lr rule.
void CellTrainer::after_epoch() {
  if (recipe_.plateau_step == PlateauStep::epoch) lr_schedule_.step_plateau(plateau_input(std::nan("")));
  if (lr_schedule_.below_min_lr()) {
    spdlog::info("train {}: learning rate {:.2e} fell below min_lr {:.2e} after epoch {}: training ends",
                 in_.label, lr_schedule_.lr(), recipe_.min_lr, st_.epoch + 1);
    stopped_early_ = true;
  }
  set_lr(*optimizer_, lr_schedule_.lr());
}

// The plateau's input: the latest validation, the curve's last point, which a
// resume restores.
double CellTrainer::plateau_input(double before_any) const {
  return st_.val_curve.empty() ? before_any : st_.val_curve.back().target;
}

// The error of a diverged cell: where it happened and with which learning rate.
Error CellTrainer::diverged(const std::string& what, int64_t step) const {
  char lr[64];
  std::snprintf(lr, sizeof lr, "%.3g (recipe lr %.3g)", lr_schedule_.lr(), base_lr_);
  return Error("training diverged: " + what + " " + std::to_string(step) + " (epoch " +
               std::to_string(st_.epoch + 1) + ") with learning rate " + lr);
}

void CellTrainer::validate() {
  Stopwatch eval_clock;
  Evaluation val = evaluate_split(data::Split::val);
  // Weights made non-finite by a step whose own loss was still finite.
  if (!std::isfinite(val.loss))
    throw diverged("the validation loss is " + std::to_string(val.loss) + " after step", st_.step);
  auto metrics = val.metrics();
  auto it = metrics.find(target_metric_);
  if (it == metrics.end())
    throw Error("dataset target metric '" + target_metric_ + "' is not a known metric");
  const double target = it->second;
  const double epoch = double(st_.step) / double(schedule_.steps_per_epoch);
  st_.val_curve.push_back({st_.step, epoch, val.loss, target, metrics});
  // Strict improvement on the rounded value, as the reference selects models.
  if (!std::isnan(target) && recipe_.rounded(target) > recipe_.rounded(st_.best_val)) {
    st_.best_val = target;
    st_.best_iteration = st_.step;
    st_.best = flatten(net_);
  }
  st_.eval_seconds += eval_clock.seconds();
  spdlog::info("val {} epoch {:.2f} step {}: loss {:.4f} {} {:.4f} (best {:.4f} at step {}) lr {:.2e}",
               in_.label, epoch, st_.step, val.loss, target_metric_, target, st_.best_val, st_.best_iteration,
               lr_schedule_.lr());
  if (recipe_.checkpoint_every_s > 0 && since_save_.seconds() >= recipe_.checkpoint_every_s) {
    save_state();
    since_save_.restart();
  }
}

// False when the slot could not save (a full disk): that is logged and the
// caller goes on. The slot keeps its previous state, the task itself loses
// nothing, and only a stop before the next good save costs the steps since.
bool CellTrainer::save_state() {
  if (!in_.resume) return true;
  Stopwatch clock;
  st_.model = flatten(net_);
  st_.optimizer = optimizer_bytes(*optimizer_);
  st_.generator = generator_bytes();
  st_.device_generator = device_generator_bytes(device_);
  st_.schedule = lr_schedule_.state();
  try {
    in_.resume->save(st_);
  } catch (const StateNotSaved& e) {
    spdlog::warn("train {}: step {}: {}", in_.label, st_.step, e.what());
    return false;
  }
  spdlog::info("train {}: saved the training state at step {} in {}", in_.label, st_.step,
               format_duration(clock.seconds()));
  return true;
}

// The record and outputs, with the test split evaluated by the best-validation model.
TrainResult CellTrainer::finish() {
  TrainResult result;
  store::CellRecord& record = result.record;
  record.target_metric = target_metric_;
  record.iterations = st_.step;
  record.best_val = st_.best_val;
  record.best_iteration = st_.best_iteration;
  record.images_per_s = double(st_.step * recipe_.batch_size) / std::max(st_.train_seconds, 1e-9);
  if (stopped_early_)
    record.message = "stopped after epoch " + std::to_string(st_.epoch) + ": lr below min_lr";

  unflatten_into(net_, st_.best);
  Evaluation test = evaluate_split(data::Split::test);
  record.metrics = test.metrics();
  record.test_loss = test.loss;
  record.target = record.metrics.count(target_metric_) ? record.metrics[target_metric_] : std::nan("");
  result.outputs.initial = std::move(st_.initial);
  result.outputs.best = std::move(st_.best);
  result.outputs.train = std::move(st_.train_curve);
  result.outputs.val = std::move(st_.val_curve);
  result.outputs.test_logits = std::move(test.logits);
  result.outputs.test_labels = std::move(test.labels);
  result.outputs.test_targets = std::move(test.targets);
  return result;
}

}  // namespace

std::vector<int64_t> training_subset(const data::Dataset& dataset, const Recipe& recipe, uint64_t seed) {
  const int64_t split = dataset.size(data::Split::train);
  const Schedule schedule = make_schedule(recipe, split);
  if (schedule.train_images >= split) return {};
  auto order = shuffled_range(split, derive_seed(seed, "train_subset"));
  std::vector<int64_t> subset(order.begin(), order.begin() + schedule.train_images);
  std::sort(subset.begin(), subset.end());
  return subset;
}

TrainResult train_cell(const TrainInputs& inputs, const data::Dataset& dataset, models::Network& net,
                       dist::GradientReducer& reducer) {
  return CellTrainer(inputs, dataset, net, reducer).run();
}

}  // namespace featreuse::train
