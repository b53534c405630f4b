#include "featreuse/train/trainer.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/core/stop.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/metrics.hpp"

namespace featreuse::train {

namespace {

bool multi_label(const data::Dataset& d) { return d.info().labels == data::LabelKind::multi; }

at::Tensor loss_of(const at::Tensor& logits, const at::Tensor& labels, bool multi) {
  return multi ? at::binary_cross_entropy_with_logits(logits, labels.to(at::kFloat))
               : at::cross_entropy_loss(logits, labels);
}

// The reference's optimiser groups: weight decay only on parameters with more
// than one dimension that are not biases.
std::vector<torch::optim::OptimizerParamGroup> parameter_groups(models::Network& net) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : net.named_parameters(true)) {
    if (!p.value().requires_grad()) continue;
    const std::string& name = p.key();
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    (p.value().dim() > 1 && !is_bias ? decay : no_decay).push_back(p.value());
  }
  return {torch::optim::OptimizerParamGroup(decay), torch::optim::OptimizerParamGroup(no_decay)};
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Recipe& r, models::Network& net) {
  auto groups = parameter_groups(net);
  if (r.optimizer == "adam") {
    auto opt = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(r.lr).weight_decay(r.weight_decay));
    static_cast<torch::optim::AdamOptions&>(opt->param_groups()[1].options()).weight_decay(0);
    return opt;
  }
  if (r.optimizer == "adamw") {
    auto opt = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(r.lr).weight_decay(r.weight_decay));
    static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options()).weight_decay(0);
    return opt;
  }
  auto opt = std::make_unique<torch::optim::SGD>(
      groups, torch::optim::SGDOptions(r.lr).momentum(r.momentum).weight_decay(r.weight_decay));
  static_cast<torch::optim::SGDOptions&>(opt->param_groups()[1].options()).weight_decay(0);
  return opt;
}

double current_lr(torch::optim::Optimizer& opt) { return opt.param_groups()[0].options().get_lr(); }

double round3(double x) { return std::round(x * 1000.0) / 1000.0; }

}  // namespace

std::map<std::string, double> Evaluation::metrics() const {
  MetricInput input;
  input.n = n;
  input.num_classes = num_classes;
  input.logits = logits.data();
  if (targets.empty()) input.labels = labels.data();
  else input.targets = targets.data();
  return classification_metrics(input);
}

Evaluation evaluate(models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size) {
  at::NoGradGuard no_grad;
  net.eval();
  Evaluation out;
  out.num_classes = dataset.info().num_classes;
  const bool multi = multi_label(dataset);
  data::StreamOptions options;
  options.batch_size = batch_size;
  auto stream = dataset.stream(split, options);
  data::Batch batch;
  double loss_sum = 0;
  while (stream->next(batch)) {
    at::Tensor logits = net.forward(batch.images).to(at::kFloat).contiguous();
    loss_sum += loss_of(logits, batch.labels, multi).item<double>() * double(batch.labels.size(0));
    const float* p = logits.data_ptr<float>();
    out.logits.insert(out.logits.end(), p, p + logits.numel());
    if (multi) {
      at::Tensor t = batch.labels.to(at::kFloat).contiguous();
      out.targets.insert(out.targets.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    } else {
      at::Tensor l = batch.labels.to(at::kLong).contiguous();
      out.labels.insert(out.labels.end(), l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
    }
    out.n += batch.labels.size(0);
  }
  out.loss = out.n > 0 ? loss_sum / double(out.n) : std::nan("");
  net.train();
  return out;
}

TrainResult train_cell(const TrainInputs& in) {
  if (!in.recipe || !in.dataset || !in.net || !in.reducer) throw Error("train_cell: incomplete inputs");
  const Recipe recipe = parse_recipe(*in.recipe);
  const data::Dataset& dataset = *in.dataset;
  models::Network& net = *in.net;
  const bool multi = multi_label(dataset);
  const std::string target_metric = dataset.info().target_metric;
  const Schedule schedule = make_schedule(recipe, dataset.size(data::Split::train));
  if (dataset.size(data::Split::val) == 0) throw Error("dataset '" + dataset.info().name + "' has no validation images");

  TrainResult result;
  result.record.target_metric = target_metric;
  result.outputs.initial = flatten(net);
  std::vector<float> best = result.outputs.initial;

  // The training subset: the same images for every epoch, drawn by the cell seed.
  std::vector<int64_t> subset;
  if (recipe.train_size > 0) {
    auto order = shuffled_range(dataset.size(data::Split::train), derive_seed(in.seed, "train_subset"));
    subset.assign(order.begin(), order.begin() + schedule.train_images);
    std::sort(subset.begin(), subset.end());
  }

  net.train();
  auto optimizer = make_optimizer(recipe, net);
  std::vector<at::Tensor> params;
  for (const auto& p : net.parameters()) params.push_back(p);

  double best_val = -std::numeric_limits<double>::infinity();
  ProgressLog progress("train " + in.label, schedule.total_steps, "img", in.progress_interval_s);
  Stopwatch train_clock;
  double eval_seconds = 0;
  int64_t step = 0;
  double window_loss = 0;
  int64_t window_steps = 0;

  auto validate = [&](int64_t epoch_index) {
    Stopwatch clock;
    Evaluation val = evaluate(net, dataset, data::Split::val, recipe.eval_batch_size);
    auto metrics = val.metrics();
    auto it = metrics.find(target_metric);
    if (it == metrics.end()) throw Error("dataset target metric '" + target_metric + "' is not a known metric");
    const double target = it->second;
    const double epoch = double(step) / double(schedule.steps_per_epoch);
    result.outputs.val.push_back({step, epoch, val.loss, target, metrics});
    // Strict improvement on the 3-decimal value, as the reference selects models.
    if (!std::isnan(target) && (result.record.best_iteration < 0 || round3(target) > round3(best_val))) {
      best_val = target;
      result.record.best_iteration = step;
      best = flatten(net);
    }
    eval_seconds += clock.seconds();
    spdlog::info("val {} epoch {:.2f} step {}: loss {:.4f} {} {:.4f} (best {:.4f} at step {})", in.label, epoch, step,
                 val.loss, target_metric, target, best_val, result.record.best_iteration);
    (void)epoch_index;
  };

  for (int64_t epoch = 0; epoch < recipe.epochs; ++epoch) {
    data::StreamOptions options;
    options.batch_size = recipe.batch_size;
    options.shuffle = true;
    options.seed = in.seed;
    options.epoch = epoch;
    options.drop_last = true;
    options.augment = true;
    options.shard_rank = in.shard_rank;
    options.shard_count = in.shard_count;
    options.subset = subset;
    auto stream = dataset.stream(data::Split::train, options);
    data::Batch batch;
    int64_t steps_this_epoch = 0;
    while (steps_this_epoch < schedule.steps_per_epoch && stream->next(batch)) {
      stop::throw_if_requested();
      optimizer->zero_grad();
      at::Tensor logits = net.forward(batch.images);
      at::Tensor loss = loss_of(logits, batch.labels, multi);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        throw Error("training diverged: loss is " + std::to_string(loss_value) + " at step " + std::to_string(step + 1) +
                    " (epoch " + std::to_string(epoch + 1) + ")");
      loss.backward();
      if (in.reducer->size() > 1) {
        for (auto& p : params)
          if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
        std::vector<at::Tensor> grads;
        for (auto& p : params) grads.push_back(p.grad());
        in.reducer->average(grads);
      }
      if (recipe.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, recipe.grad_clip);
      optimizer->step();
      ++step;
      ++steps_this_epoch;
      window_loss += loss_value;
      ++window_steps;
      if (step % recipe.log_every == 0 || step == schedule.total_steps) {
        result.outputs.train.push_back(
            {step, double(step) / double(schedule.steps_per_epoch), window_loss / double(window_steps), current_lr(*optimizer)});
        window_loss = 0;
        window_steps = 0;
      }
      char extra[96];
      std::snprintf(extra, sizeof extra, "epoch %lld/%lld loss %.4f lr %.2e", (long long)epoch + 1,
                    (long long)recipe.epochs, loss_value, current_lr(*optimizer));
      progress.update(step, extra, step * recipe.batch_size * in.shard_count);
      if (step % schedule.val_interval == 0 && step != schedule.total_steps) validate(epoch);
    }
    if (steps_this_epoch < schedule.steps_per_epoch)
      throw Error("the training stream ended after " + std::to_string(steps_this_epoch) + " of " +
                  std::to_string(schedule.steps_per_epoch) + " batches");
  }
  validate(recipe.epochs);
  const double train_seconds = train_clock.seconds() - eval_seconds;
  result.record.iterations = step;
  result.record.best_val = best_val;
  result.record.images_per_s = double(step * recipe.batch_size * in.shard_count) / std::max(train_seconds, 1e-9);

  // Test with the best-validation model.
  result.outputs.best = best;
  unflatten_into(net, best);
  Evaluation test = evaluate(net, dataset, data::Split::test, recipe.eval_batch_size);
  result.record.metrics = test.metrics();
  result.record.test_loss = test.loss;
  result.record.target = result.record.metrics.count(target_metric) ? result.record.metrics[target_metric] : std::nan("");
  result.outputs.test_logits = std::move(test.logits);
  result.outputs.test_labels = std::move(test.labels);
  result.outputs.test_targets = std::move(test.targets);
  return result;
}

}  // namespace featreuse::train
