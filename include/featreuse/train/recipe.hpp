#pragma once
// A training recipe (configs/recipes/*.yaml after overrides), checked and
// typed, plus what follows from it: iterations, curve sizes, cost estimates.
// docs/recipe.md documents every key.
#include <array>
#include <cstdint>
#include <string>

#include "featreuse/core/json.hpp"
#include "featreuse/models/family.hpp"
#include "featreuse/store/checkpoint_dtype.hpp"

namespace featreuse::train {

// `automatic` is the recipe's `auto`: Adam for CNNs, AdamW for ViTs.
enum class Optimizer { adam, adamw, sgd, automatic };
// linear: the paper's ramp; additive: the reference code's increments (lr_schedule.hpp).
enum class Warmup { linear, additive };
// epoch: after each epoch's last step, with that epoch's last validation
// value; reference: the paper code's placement, after the epoch's
// second-to-last step, with the latest value (0 before the first).
enum class PlateauStep { epoch, reference };
enum class Precision { fp32, bf16 };
// How 4-D weights and training batches lie in memory: PyTorch's default, or
// NHWC (what GPU tensor cores and oneDNN's convolutions prefer).
enum class MemoryFormat { contiguous, channels_last };

// With cuda_graphs, each batch shape's first steps run eagerly (cuBLAS and
// cuDNN set up outside any capture); the next one is captured.
constexpr int kEagerStepsBeforeGraphCapture = 3;

struct Recipe {
  Optimizer optimizer = Optimizer::adam;
  double lr = 1e-3;
  double lr_ri = 0;  // 0: same as lr
  double weight_decay = 0, momentum = 0.9;
  int64_t batch_size = 64, eval_batch_size = 256, epochs = 3, train_size = 0;
  double train_fraction = 0;
  double val_every = 0.5;
  int64_t log_every = 25;
  double grad_clip = 1.0;
  int64_t warmup_iters = 0;
  Warmup warmup = Warmup::linear;
  double warmup_start_lr = 1e-8;
  bool plateau = false;
  double plateau_factor = 0.1;
  int64_t plateau_patience = 3;
  double plateau_threshold = 1e-4;
  PlateauStep plateau_step = PlateauStep::epoch;
  double min_lr = 0;
  int64_t select_decimals = 3;
  Precision precision = Precision::fp32;
  MemoryFormat memory_format = MemoryFormat::contiguous;
  bool cuda_graphs = false;  // forward and backward as replayed CUDA graphs (graphed_step.hpp)
  double checkpoint_every_s = 600;
  // The precision the store keeps `initial` and `best` in (training is float32 regardless).
  store::CheckpointDtype checkpoint_dtype = store::CheckpointDtype::float32;

  // The optimiser for a model family: `auto` is Adam for CNNs and AdamW for
  // vision transformers (never returns `automatic`).
  Optimizer optimizer_for(models::Family family) const;
  // The peak learning rate: lr_ri for randomly initialised cells (when set), else lr.
  double lr_for(bool random_init) const;
  // A validation metric as the reference compares it (every reference metric
  // is round(x, 3)): rounded to select_decimals. Model selection and the
  // plateau both see this value.
  double rounded(double metric) const;
};

// Throws featreuse::Error naming the key for missing or invalid values.
Recipe parse_recipe(const nlohmann::json& recipe);

// The training schedule for a training split of `split_size` images.
struct Schedule {
  int64_t train_images = 0;     // after train_size / train_fraction
  int64_t steps_per_epoch = 0;  // whole batches (the last partial batch is dropped)
  int64_t total_steps = 0;      // at most (training may stop early at min_lr)
  int64_t val_interval = 0;     // steps between validations
  int64_t train_points = 0;     // capacity of the training-loss curve
  int64_t val_points = 0;       // capacity of the validation curve
};
Schedule make_schedule(const Recipe& recipe, int64_t split_size);

// Relative cost of a training task (GFLOP): forward+backward over the
// training images, validations and the test pass, at the most epochs.
double estimate_cost(const Recipe& recipe, double gflops, const std::array<int64_t, 3>& split_sizes);

}  // namespace featreuse::train
