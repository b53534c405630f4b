#include "featreuse/train/trainer.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cmath>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/core/stop.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/lr_schedule.hpp"
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

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& kind, const Recipe& r, double lr,
                                                        models::Network& net) {
  auto groups = parameter_groups(net);
  if (kind == "adam") {
    auto opt = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(lr).weight_decay(r.weight_decay));
    static_cast<torch::optim::AdamOptions&>(opt->param_groups()[1].options()).weight_decay(0);
    return opt;
  }
  if (kind == "adamw") {
    auto opt = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(lr).weight_decay(r.weight_decay));
    static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options()).weight_decay(0);
    return opt;
  }
  auto opt = std::make_unique<torch::optim::SGD>(
      groups, torch::optim::SGDOptions(lr).momentum(r.momentum).weight_decay(r.weight_decay));
  static_cast<torch::optim::SGDOptions&>(opt->param_groups()[1].options()).weight_decay(0);
  return opt;
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

double rounded(double x, int64_t decimals) {
  const double scale = std::pow(10.0, double(decimals));
  return std::round(x * scale) / scale;
}

std::string optimizer_bytes(torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load_optimizer(torch::optim::Optimizer& opt, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  archive.load_from(in);
  opt.load(archive);
}

std::string generator_bytes() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = gen.get_state();
  return std::string(reinterpret_cast<const char*>(state.data_ptr<uint8_t>()), size_t(state.numel()));
}

void set_generator(const std::string& bytes) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  at::Tensor state = at::empty({int64_t(bytes.size())}, at::kByte);
  std::memcpy(state.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  gen.set_state(state);
}

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
  if (recipe.precision == "bf16")
    spdlog::warn("{}: precision bf16 is autocast on GPUs only; training in fp32 on this CPU", in.label);

  // The training subset: the same images for every epoch, drawn by the cell seed.
  std::vector<int64_t> subset;
  if (schedule.train_images < dataset.size(data::Split::train)) {
    auto order = shuffled_range(dataset.size(data::Split::train), derive_seed(in.seed, "train_subset"));
    subset.assign(order.begin(), order.begin() + schedule.train_images);
    std::sort(subset.begin(), subset.end());
  }

  net.train();
  const double base_lr = recipe.lr_for(in.init_scheme);
  auto optimizer = make_optimizer(recipe.optimizer_for(in.family), recipe, base_lr, net);
  LrSchedule lr_schedule(recipe, base_lr);
  std::vector<at::Tensor> params;
  for (const auto& p : net.parameters()) params.push_back(p);
  // Training randomness (dropout, drop path) from its own stream of the cell seed.
  at::manual_seed(derive_seed(in.seed, "train"));

  TrainState st;
  st.initial = flatten(net);
  st.best = st.initial;
  st.best_val = -std::numeric_limits<double>::infinity();
  if (in.resume) {
    if (auto saved = in.resume->load()) {
      st = std::move(*saved);
      unflatten_into(net, st.model);
      load_optimizer(*optimizer, st.optimizer);
      set_generator(st.generator);
      lr_schedule.restore(st.schedule);
      spdlog::info("train {}: resuming at step {} (epoch {}, step {} of it)", in.label, st.step, st.epoch + 1,
                   st.steps_in_epoch);
    }
  }
  set_lr(*optimizer, lr_schedule.lr());

  auto save_state = [&] {
    if (!in.resume) return;
    Stopwatch clock;
    st.model = flatten(net);
    st.optimizer = optimizer_bytes(*optimizer);
    st.generator = generator_bytes();
    st.schedule = lr_schedule.state();
    in.resume->save(st);
    spdlog::info("train {}: saved the training state at step {} in {}", in.label, st.step,
                 format_duration(clock.seconds()));
  };

  ProgressLog progress("train " + in.label, schedule.total_steps, "img", in.progress_interval_s);
  Stopwatch clock, since_save;
  const double seconds_before = st.train_seconds + st.eval_seconds;
  const int64_t first_step = st.step;
  // The latest validation is the curve's last point, which a resume restores.
  auto latest_target = [&](double before_any) {
    return st.val_curve.empty() ? before_any : st.val_curve.back().target;
  };
  const bool plateau_at_reference_step = recipe.plateau_step == "reference";

  auto validate = [&] {
    Stopwatch eval_clock;
    Evaluation val = evaluate(net, dataset, data::Split::val, recipe.eval_batch_size);
    auto metrics = val.metrics();
    auto it = metrics.find(target_metric);
    if (it == metrics.end()) throw Error("dataset target metric '" + target_metric + "' is not a known metric");
    const double target = it->second;
    const double epoch = double(st.step) / double(schedule.steps_per_epoch);
    st.val_curve.push_back({st.step, epoch, val.loss, target, metrics});
    // Strict improvement on the rounded value, as the reference selects models.
    if (!std::isnan(target) &&
        (st.best_iteration < 0 ||
         rounded(target, recipe.select_decimals) > rounded(st.best_val, recipe.select_decimals))) {
      st.best_val = target;
      st.best_iteration = st.step;
      st.best = flatten(net);
    }
    st.eval_seconds += eval_clock.seconds();
    spdlog::info("val {} epoch {:.2f} step {}: loss {:.4f} {} {:.4f} (best {:.4f} at step {}) lr {:.2e}", in.label,
                 epoch, st.step, val.loss, target_metric, target, st.best_val, st.best_iteration, lr_schedule.lr());
    if (recipe.checkpoint_every_s > 0 && since_save.seconds() >= recipe.checkpoint_every_s) {
      save_state();
      since_save.restart();
    }
  };

  bool stopped_early = false;
  for (; st.epoch < recipe.epochs && !stopped_early; ++st.epoch, st.steps_in_epoch = 0) {
    data::StreamOptions options;
    options.batch_size = recipe.batch_size;
    options.shuffle = true;
    options.seed = in.seed;
    options.epoch = st.epoch;
    options.drop_last = true;
    options.augment = true;
    options.shard_rank = in.shard_rank;
    options.shard_count = in.shard_count;
    options.subset = subset;
    options.first_batch = st.steps_in_epoch;
    auto stream = dataset.stream(data::Split::train, options);
    data::Batch batch;
    while (st.steps_in_epoch < schedule.steps_per_epoch && stream->next(batch)) {
      if (in.should_stop ? in.should_stop() : stop::requested()) {
        st.train_seconds = clock.seconds() + seconds_before - st.eval_seconds;
        save_state();
        throw Interrupted();
      }
      optimizer->zero_grad();
      at::Tensor logits = net.forward(batch.images);
      at::Tensor loss = loss_of(logits, batch.labels, multi);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value))
        throw Error("training diverged: loss is " + std::to_string(loss_value) + " at step " +
                    std::to_string(st.step + 1) + " (epoch " + std::to_string(st.epoch + 1) + ")");
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
      const double used_lr = lr_schedule.lr();
      lr_schedule.after_step();
      ++st.step;
      // The reference code steps its scheduler with global iteration it
      // (1-based) when (it + 1) % steps_per_epoch == 0, i.e. after the
      // second-to-last step of each epoch, with a target that starts at 0.
      if (plateau_at_reference_step && (st.step + 1) % schedule.steps_per_epoch == 0)
        lr_schedule.step_plateau(latest_target(0.0));
      set_lr(*optimizer, lr_schedule.lr());
      ++st.steps_in_epoch;
      st.window_loss += loss_value;
      ++st.window_steps;
      if (st.step % recipe.log_every == 0 || st.step == schedule.total_steps) {
        st.train_curve.push_back({st.step, double(st.step) / double(schedule.steps_per_epoch),
                                  st.window_loss / double(st.window_steps), used_lr});
        st.window_loss = 0;
        st.window_steps = 0;
      }
      char extra[96];
      std::snprintf(extra, sizeof extra, "epoch %lld/%lld loss %.4f lr %.2e", (long long)st.epoch + 1,
                    (long long)recipe.epochs, loss_value, used_lr);
      progress.update(st.step, extra, (st.step - first_step) * recipe.batch_size * in.shard_count);
      if (st.step % schedule.val_interval == 0 && st.step != schedule.total_steps) validate();
    }
    if (st.steps_in_epoch < schedule.steps_per_epoch)
      throw Error("the training stream ended after " + std::to_string(st.steps_in_epoch) + " of " +
                  std::to_string(schedule.steps_per_epoch) + " batches");
    if (!plateau_at_reference_step) lr_schedule.step_plateau(latest_target(std::nan("")));
    if (lr_schedule.below_min_lr()) {
      spdlog::info("train {}: learning rate {:.2e} fell below min_lr {:.2e} after epoch {}: training ends",
                   in.label, lr_schedule.lr(), recipe.min_lr, st.epoch + 1);
      stopped_early = true;
    }
    set_lr(*optimizer, lr_schedule.lr());
  }
  if (st.val_curve.empty() || st.val_curve.back().iteration != st.step) validate();
  st.train_seconds = clock.seconds() + seconds_before - st.eval_seconds;

  TrainResult result;
  result.record.target_metric = target_metric;
  result.record.iterations = st.step;
  result.record.best_val = st.best_val;
  result.record.best_iteration = st.best_iteration;
  result.record.images_per_s =
      double(st.step * recipe.batch_size * in.shard_count) / std::max(st.train_seconds, 1e-9);
  if (stopped_early)
    result.record.message = "stopped after epoch " + std::to_string(st.epoch) + ": lr below min_lr";

  // Test with the best-validation model.
  unflatten_into(net, st.best);
  Evaluation test = evaluate(net, dataset, data::Split::test, recipe.eval_batch_size);
  result.record.metrics = test.metrics();
  result.record.test_loss = test.loss;
  result.record.target =
      result.record.metrics.count(target_metric) ? result.record.metrics[target_metric] : std::nan("");
  result.outputs.initial = std::move(st.initial);
  result.outputs.best = std::move(st.best);
  result.outputs.train = std::move(st.train_curve);
  result.outputs.val = std::move(st.val_curve);
  result.outputs.test_logits = std::move(test.logits);
  result.outputs.test_labels = std::move(test.labels);
  result.outputs.test_targets = std::move(test.targets);
  return result;
}

}  // namespace featreuse::train
