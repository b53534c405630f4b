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

// One of `choices` by its name in the recipe file.
template <typename Enum>
Enum choice(const nlohmann::json& j, const char* key,
            std::initializer_list<std::pair<const char*, Enum>> choices) {
  const std::string value = get<std::string>(j, key);
  for (const auto& [name, option] : choices)
    if (value == name) return option;
  std::string names;
  size_t i = 0;
  for (const auto& c : choices)
    names += std::string(i++ == 0 ? "" : i == choices.size() ? " or " : ", ") + c.first;
  throw Error("recipe: key '" + std::string(key) + "' must be " + names + ", not '" + value + "'");
}
}  // namespace

Optimizer Recipe::optimizer_for(models::Family family) const {
  if (optimizer != Optimizer::automatic) return optimizer;
  return models::is_vision_transformer(family) ? Optimizer::adamw : Optimizer::adam;
}

double Recipe::lr_for(bool random_init) const { return random_init && lr_ri > 0 ? lr_ri : lr; }

double Recipe::rounded(double metric) const {
  const double scale = std::pow(10.0, double(select_decimals));
  return std::round(metric * scale) / scale;
}

Recipe parse_recipe(const nlohmann::json& j) {
  Recipe r;
  r.optimizer = choice<Optimizer>(j, "optimizer",
                                  {{"adam", Optimizer::adam},
                                   {"adamw", Optimizer::adamw},
                                   {"sgd", Optimizer::sgd},
                                   {"auto", Optimizer::automatic}});
  r.lr = get<double>(j, "lr");
  require(r.lr > 0, "lr", "must be positive");
  if (!j.value("lr_ri", nlohmann::json()).is_null()) {
    r.lr_ri = get<double>(j, "lr_ri");
    require(r.lr_ri > 0, "lr_ri", "must be positive (or null: the same as lr)");
  }
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
  r.train_fraction = get<double>(j, "train_fraction");
  require(r.train_fraction >= 0 && r.train_fraction <= 1, "train_fraction", "must be in [0, 1] (0: unused)");
  require(r.train_fraction == 0 || r.train_size == 0, "train_fraction", "and train_size cannot both be set");
  r.val_every = get<double>(j, "val_every");
  require(r.val_every > 0, "val_every", "must be positive");
  r.log_every = get<int64_t>(j, "log_every");
  require(r.log_every > 0, "log_every", "must be positive");
  r.grad_clip = get<double>(j, "grad_clip");
  require(r.grad_clip >= 0, "grad_clip", "must be 0 (off) or positive");
  r.warmup_iters = get<int64_t>(j, "warmup_iters");
  require(r.warmup_iters >= 0, "warmup_iters", "must not be negative");
  r.warmup = choice<Warmup>(j, "warmup", {{"linear", Warmup::linear}, {"additive", Warmup::additive}});
  r.warmup_start_lr = get<double>(j, "warmup_start_lr");
  require(r.warmup_start_lr >= 0, "warmup_start_lr", "must not be negative");
  r.plateau = get<bool>(j, "plateau");
  r.plateau_factor = get<double>(j, "plateau_factor");
  require(r.plateau_factor > 0 && r.plateau_factor < 1, "plateau_factor", "must be in (0, 1)");
  r.plateau_patience = get<int64_t>(j, "plateau_patience");
  require(r.plateau_patience >= 0, "plateau_patience", "must not be negative");
  r.plateau_threshold = get<double>(j, "plateau_threshold");
  require(r.plateau_threshold >= 0, "plateau_threshold", "must not be negative");
  r.plateau_step = choice<PlateauStep>(
      j, "plateau_step", {{"epoch", PlateauStep::epoch}, {"reference", PlateauStep::reference}});
  r.min_lr = get<double>(j, "min_lr");
  require(r.min_lr >= 0, "min_lr", "must not be negative");
  r.select_decimals = get<int64_t>(j, "select_decimals");
  require(r.select_decimals >= 0 && r.select_decimals <= 15, "select_decimals", "must be in 0..15");
  r.precision = choice<Precision>(j, "precision", {{"fp32", Precision::fp32}, {"bf16", Precision::bf16}});
  r.checkpoint_every_s = get<double>(j, "checkpoint_every_s");
  require(r.checkpoint_every_s >= 0, "checkpoint_every_s", "must not be negative");
  // Optional: recipes from before them keep their meaning (and their cells' ids).
  if (j.contains("memory_format"))
    r.memory_format = choice<MemoryFormat>(
        j, "memory_format",
        {{"contiguous", MemoryFormat::contiguous}, {"channels_last", MemoryFormat::channels_last}});
  if (j.contains("cuda_graphs")) r.cuda_graphs = get<bool>(j, "cuda_graphs");
  if (j.contains("checkpoint_dtype"))
    r.checkpoint_dtype = choice<store::CheckpointDtype>(j, "checkpoint_dtype",
                                                        {{"float32", store::CheckpointDtype::float32},
                                                         {"bfloat16", store::CheckpointDtype::bfloat16},
                                                         {"float16", store::CheckpointDtype::float16}});
  return r;
}

Schedule make_schedule(const Recipe& r, int64_t split_size) {
  Schedule s;
  if (r.train_size > split_size)
    throw Error("recipe: train_size " + std::to_string(r.train_size) + " exceeds the training split (" +
                std::to_string(split_size) + " images)");
  s.train_images = r.train_size > 0 ? r.train_size
                   : r.train_fraction > 0
                       ? std::max<int64_t>(1, int64_t(std::llround(r.train_fraction * double(split_size))))
                       : split_size;
  s.steps_per_epoch = s.train_images / r.batch_size;
  if (s.steps_per_epoch == 0)
    throw Error("the training set (" + std::to_string(s.train_images) +
                " images) is smaller than one batch (" + std::to_string(r.batch_size) + ")");
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
