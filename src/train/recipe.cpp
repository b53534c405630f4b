#include "featreuse/train/recipe.hpp"

#include <algorithm>
#include <cmath>

#include "featreuse/core/error.hpp"

namespace featreuse::train {

namespace {
template <typename T>
T get(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) throw Error("recipe: missing key '" + std::string(key) + "'");
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error("recipe: key '" + std::string(key) + "' has the wrong type: " + j[key].dump());
  }
}

void require(bool ok, const char* key, const std::string& what) {
  if (!ok) throw Error("recipe: key '" + std::string(key) + "' " + what);
}
}  // namespace

Recipe parse_recipe(const nlohmann::json& j) {
  Recipe r;
  r.optimizer = get<std::string>(j, "optimizer");
  require(r.optimizer == "adam" || r.optimizer == "adamw" || r.optimizer == "sgd", "optimizer",
          "must be adam, adamw or sgd, not '" + r.optimizer + "'");
  r.lr = get<double>(j, "lr");
  require(r.lr > 0, "lr", "must be positive");
  r.weight_decay = get<double>(j, "weight_decay");
  require(r.weight_decay >= 0, "weight_decay", "must not be negative");
  r.momentum = get<double>(j, "momentum");
  r.batch_size = get<int64_t>(j, "batch_size");
  require(r.batch_size > 0, "batch_size", "must be positive");
  r.eval_batch_size = get<int64_t>(j, "eval_batch_size");
  require(r.eval_batch_size > 0, "eval_batch_size", "must be positive");
  r.epochs = get<int64_t>(j, "epochs");
  require(r.epochs > 0, "epochs", "must be positive");
  r.train_size = get<int64_t>(j, "train_size");
  require(r.train_size >= 0, "train_size", "must be 0 (all) or positive");
  r.val_every = get<double>(j, "val_every");
  require(r.val_every > 0, "val_every", "must be positive");
  r.log_every = get<int64_t>(j, "log_every");
  require(r.log_every > 0, "log_every", "must be positive");
  r.grad_clip = get<double>(j, "grad_clip");
  require(r.grad_clip >= 0, "grad_clip", "must be 0 (off) or positive");
  return r;
}

Schedule make_schedule(const Recipe& r, int64_t split_size) {
  Schedule s;
  s.train_images = r.train_size > 0 ? std::min(r.train_size, split_size) : split_size;
  if (r.train_size > split_size)
    throw Error("recipe: train_size " + std::to_string(r.train_size) + " exceeds the training split (" +
                std::to_string(split_size) + " images)");
  s.steps_per_epoch = s.train_images / r.batch_size;
  if (s.steps_per_epoch == 0)
    throw Error("the training set (" + std::to_string(s.train_images) + " images) is smaller than one batch (" +
                std::to_string(r.batch_size) + ")");
  s.total_steps = s.steps_per_epoch * r.epochs;
  s.val_interval = std::max<int64_t>(1, int64_t(std::floor(r.val_every * double(s.steps_per_epoch))));
  s.train_points = (s.total_steps + r.log_every - 1) / r.log_every + 1;
  s.val_points = s.total_steps / s.val_interval + 1;
  return s;
}

double estimate_cost(const Recipe& r, double gflops, const std::array<int64_t, 3>& sizes) {
  const Schedule s = make_schedule(r, sizes[0]);
  const double train = 3.0 * double(s.total_steps * r.batch_size);  // forward + backward
  const double val = double(s.val_points) * double(sizes[1]);
  return std::max(gflops, 1e-6) * (train + val + double(sizes[2]));
}

}  // namespace featreuse::train
