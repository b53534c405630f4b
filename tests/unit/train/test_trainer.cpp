// The trainer on a small synthetic in-memory dataset: it learns, and a run
// stopped part-way (state saved) and resumed ends bit-for-bit where a
// straight run ends.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/data/memory_dataset.hpp"
#include "featreuse/dist/reducer.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/train/trainer.hpp"

using namespace featreuse;

namespace {

// Four classes, 12x12 single-channel images with the class as a bright
// quadrant plus noise. `reversed_val_labels` labels each validation image
// with 3 - its quadrant, so what the model learns scores badly there.
std::unique_ptr<data::Dataset> quadrants(const std::string& target_metric = "accuracy",
                                         bool reversed_val_labels = false) {
  at::manual_seed(123);
  auto split = [](int64_t n, bool reversed = false) {
    at::Tensor labels = at::randint(0, 4, {n}, at::kLong);
    at::Tensor images = at::randint(0, 80, {n, 1, 12, 12}, at::kLong);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = labels[i].item<int64_t>();
      images[i].slice(1, (k / 2) * 6, (k / 2) * 6 + 6).slice(2, (k % 2) * 6, (k % 2) * 6 + 6).add_(150);
    }
    return data::SplitData{images.to(at::kByte), reversed ? 3 - labels : labels};
  };
  data::DatasetInfo info;
  info.name = "quadrants";
  info.reader = "memory";
  info.channels = 1;
  info.image_size = 12;
  info.num_classes = 4;
  info.target_metric = target_metric;
  return std::make_unique<data::InMemoryDataset>(
      info, std::array<data::SplitData, 3>{split(256), split(64, reversed_val_labels), split(64)},
      std::vector<double>{0.3}, std::vector<double>{0.3});
}

nlohmann::json recipe() {
  return {{"optimizer", "auto"},      {"lr", 0.01},
          {"lr_ri", 0.003},           {"weight_decay", 1e-4},
          {"momentum", 0.9},          {"batch_size", 32},
          {"eval_batch_size", 64},    {"epochs", 3},
          {"train_size", 0},          {"train_fraction", 0.0},
          {"val_every", 0.5},         {"log_every", 3},
          {"grad_clip", 1.0},         {"warmup_iters", 5},
          {"warmup", "linear"},       {"warmup_start_lr", 1e-8},
          {"plateau", true},          {"plateau_factor", 0.1},
          {"plateau_patience", 0},    {"plateau_threshold", 1e-4},
          {"plateau_step", "epoch"},  {"min_lr", 0.0},
          {"select_decimals", 3},     {"precision", "fp32"},
          {"checkpoint_every_s", 0.0}};
}

std::shared_ptr<models::Network> tiny_net() {
  models::ModelSpec spec;
  spec.arch = "resnet";
  spec.num_classes = 4;
  spec.in_channels = 1;
  spec.image_size = 12;
  spec.options = {{"layers", {1, 1}}, {"widths", {8, 16}}, {"stem", "small"}};
  at::manual_seed(7);
  return models::registry().create(spec);
}

struct Outcome {
  train::TrainResult result;
  bool interrupted = false;
};

Outcome run(const nlohmann::json& r, train::ResumeSlot* slot, int64_t stop_at_step,
            std::unique_ptr<data::Dataset> dataset = quadrants(), bool random_init = true) {
  auto net = tiny_net();
  auto reducer = dist::make_mpi_reducer(MPI_COMM_SELF);
  int64_t calls = 0;
  train::TrainInputs in;
  in.label = "test";
  in.recipe = train::parse_recipe(r);
  in.seed = 5;
  in.family = models::Family::resnet;
  in.random_init = random_init;
  in.resume = slot;
  in.should_stop = [&] { return stop_at_step >= 0 && calls++ == stop_at_step; };
  Outcome out;
  try {
    out.result = train::train_cell(in, *dataset, *net, *reducer);
  } catch (const Interrupted&) {
    out.interrupted = true;
  }
  return out;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("featreuse_" + std::to_string(getpid()) + "_" + name))
      .string();
}

void expect_identical(const train::TrainResult& a, const train::TrainResult& b) {
  EXPECT_EQ(a.outputs.initial, b.outputs.initial);
  EXPECT_EQ(a.outputs.best, b.outputs.best);
  EXPECT_EQ(a.outputs.test_logits, b.outputs.test_logits);
  ASSERT_EQ(a.outputs.train.size(), b.outputs.train.size());
  for (size_t i = 0; i < a.outputs.train.size(); ++i) {
    EXPECT_EQ(a.outputs.train[i].iteration, b.outputs.train[i].iteration);
    EXPECT_EQ(a.outputs.train[i].loss, b.outputs.train[i].loss);
    EXPECT_EQ(a.outputs.train[i].lr, b.outputs.train[i].lr);
  }
  ASSERT_EQ(a.outputs.val.size(), b.outputs.val.size());
  for (size_t i = 0; i < a.outputs.val.size(); ++i)
    EXPECT_EQ(a.outputs.val[i].target, b.outputs.val[i].target);
  EXPECT_EQ(a.record.best_iteration, b.record.best_iteration);
  EXPECT_EQ(a.record.metrics, b.record.metrics);
}

}  // namespace

TEST(Trainer, LearnsAndKeepsTheBestValidationModel) {
  Outcome straight = run(recipe(), nullptr, -1);
  ASSERT_FALSE(straight.interrupted);
  const auto& r = straight.result;
  EXPECT_GT(r.record.metrics.at("accuracy"), 0.6);  // chance is 0.25
  EXPECT_EQ(r.record.iterations, 3 * 8);
  EXPECT_EQ(r.outputs.val.size(), 3u * 2);  // every half epoch; the last at the end
  EXPECT_NE(r.outputs.initial, r.outputs.best);
  // The kept model is the best validation point's.
  double best = -1;
  for (const auto& v : r.outputs.val) best = std::max(best, v.target);
  EXPECT_NEAR(r.record.best_val, best, 1e-12);
  // Warmup: the first logged lr is on the ramp; RI uses lr_ri.
  EXPECT_LT(r.outputs.train.front().lr, 0.003);
  EXPECT_NEAR(r.outputs.train[2].lr, 0.003, 1e-12);
}

TEST(Trainer, ResumingAfterAStopEqualsAStraightRun) {
  const train::TrainResult straight = run(recipe(), nullptr, -1).result;
  for (int64_t stop_at : {8, 12}) {  // after epoch 1; in the middle of epoch 2
    const std::string path = temp_path("resume_" + std::to_string(stop_at) + ".h5");
    train::FileResumeSlot slot(path);
    Outcome first = run(recipe(), &slot, stop_at);
    ASSERT_TRUE(first.interrupted);
    ASSERT_TRUE(std::filesystem::exists(path));
    Outcome second = run(recipe(), &slot, -1);
    ASSERT_FALSE(second.interrupted);
    SCOPED_TRACE("stopped at step " + std::to_string(stop_at));
    expect_identical(straight, second.result);
    slot.clear();
    EXPECT_FALSE(std::filesystem::exists(path));
  }
}

// The first step (1-based) that used a rate below half the post-warmup rate.
int64_t first_reduced_step(const train::TrainResult& r, double lr) {
  for (const auto& p : r.outputs.train)
    if (p.iteration > 5 && p.lr < 0.5 * lr) return p.iteration;
  return -1;
}

TEST(Trainer, PlateauStepsAfterTheEpochOrWhereTheReferenceCodeStepsIt) {
  nlohmann::json r = recipe();
  r["log_every"] = 1;
  r["plateau_threshold"] = 10.0;  // nothing improves: the second plateau step reduces
  // 8 steps per epoch, validation every 4. "epoch": steps after 8 and 16, so
  // step 17 is the first at the reduced rate. "reference": after steps 7 and
  // 15 (the second-to-last of each epoch), so step 16 is.
  EXPECT_EQ(first_reduced_step(run(r, nullptr, -1).result, 0.003), 17);
  r["plateau_step"] = "reference";
  EXPECT_EQ(first_reduced_step(run(r, nullptr, -1).result, 0.003), 16);
}

TEST(Trainer, ResumingBetweenAValidationAndThePlateauStepKeepsItsInput) {
  // 224 images: 7 steps per epoch, validation every 3 steps, so the plateau
  // steps (after 14, or after 13 for "reference") read the validation of
  // step 12; a stop after step 12 or 13 must carry that value over.
  for (const char* placement : {"epoch", "reference"}) {
    nlohmann::json r = recipe();
    r["train_size"] = 224;
    r["plateau_threshold"] = 10.0;
    r["plateau_step"] = placement;
    const train::TrainResult straight = run(r, nullptr, -1).result;
    ASSERT_GT(first_reduced_step(straight, 0.003), 0)
        << "the plateau never reduced; the test would be vacuous";
    for (int64_t stop_at : {12, 13}) {
      SCOPED_TRACE(std::string(placement) + ", stopped after step " + std::to_string(stop_at));
      train::FileResumeSlot slot(
          temp_path(std::string("plateau_") + placement + std::to_string(stop_at) + ".h5"));
      ASSERT_TRUE(run(r, &slot, stop_at).interrupted);
      expect_identical(straight, run(r, &slot, -1).result);
      slot.clear();
    }
  }
}

TEST(Trainer, StopsOnceTheLearningRateFallsBelowMinLr) {
  nlohmann::json r = recipe();
  r["epochs"] = 20;
  r["min_lr"] = 1e-4;             // 0.003 -> 3e-4 -> 3e-5: below after the second reduction
  r["plateau_threshold"] = 10.0;  // nothing counts as an improvement
  Outcome out = run(r, nullptr, -1);
  EXPECT_LT(out.result.record.iterations, 20 * 8);
  EXPECT_NE(out.result.record.message.find("lr below min_lr"), std::string::npos);
}

// configs/recipes/paper.yaml on 250 images (3 steps per epoch) for a WT cell:
// the warm-up ramp (1e-8 to 1e-4 over 1000 steps) is below min_lr (1e-6) for
// the first epochs, which must not end training. (RI's 3e-4 ramp is above
// 1e-6 after one epoch: only transfer cells were cut short.)
TEST(Trainer, PaperRecipeOnASmallTrainingSetTrainsPastTheFirstEpoch) {
  nlohmann::json r =
      featreuse::load_yaml_file(std::string(FEATREUSE_SOURCE_DIR) + "/configs/recipes/paper.yaml").value;
  ASSERT_DOUBLE_EQ(r["min_lr"].get<double>(), 1e-6);
  ASSERT_EQ(r["warmup_iters"].get<int64_t>(), 1000);
  r["train_size"] = 250;
  r["epochs"] = 4;
  const Outcome out = run(r, nullptr, -1, quadrants(), /*random_init=*/false);
  ASSERT_FALSE(out.interrupted);
  EXPECT_EQ(out.result.record.iterations, 4 * 3);
  EXPECT_EQ(out.result.record.message.find("min_lr"), std::string::npos) << out.result.record.message;
}

// As the reference: the best validation starts at 0 with the initial weights,
// so a target that never rises above 0 keeps the initial weights as the best
// checkpoint. Reversed validation labels make the quadratic kappa of what
// the model learns negative.
TEST(Trainer, ATargetNeverAboveZeroKeepsTheInitialWeights) {
  nlohmann::json r = recipe();
  r["val_every"] = 3.0;  // one validation, after the model has learned the (training) quadrants
  const Outcome out = run(r, nullptr, -1, quadrants("quadratic_kappa", true));
  ASSERT_EQ(out.result.outputs.val.size(), 1u);
  ASSERT_FALSE(out.interrupted);
  for (const auto& v : out.result.outputs.val)
    ASSERT_TRUE(!std::isnan(v.target) && std::round(v.target * 1000) < 0)
        << "the premise fails: " << v.target;
  EXPECT_EQ(out.result.record.best_iteration, 0);
  EXPECT_EQ(out.result.record.best_val, 0);
  EXPECT_EQ(out.result.outputs.best, out.result.outputs.initial);
}

TEST(Trainer, BadRecipesAreNamed) {
  nlohmann::json r = recipe();
  r["train_size"] = 10;
  r["train_fraction"] = 0.5;
  EXPECT_THROW(run(r, nullptr, -1), Error);
  r = recipe();
  r["warmup"] = "cosine";
  try {
    run(r, nullptr, -1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("key 'warmup'"), std::string::npos);
  }
}

// A GPU's generator state travels in the resume file beside the CPU's; a file
// without it (saved on the CPU, or by an older featreuse) reads as none.
TEST(Trainer, TheResumeFileKeepsTheDeviceGeneratorState) {
  const std::string path = temp_path("device_generator.h5");
  train::FileResumeSlot slot(path);
  train::TrainState state;
  state.model = {1, 2, 3};
  state.generator = std::string("cpu\0state", 9);
  state.device_generator = std::string("gpu\0state\xff", 10);
  state.schedule = nlohmann::json::object();
  slot.save(state);
  auto loaded = slot.load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->generator, state.generator);
  EXPECT_EQ(loaded->device_generator, state.device_generator);
  state.device_generator.clear();
  slot.save(state);
  EXPECT_EQ(slot.load()->device_generator, "");
  slot.clear();
}

float largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// channels_last changes how convolutions lay out their weights and batches,
// not what they compute: the same training up to float rounding (the NHWC
// kernels sum in another order), checkpoints in the same logical order, and a
// resumed run bit-identical to a straight one in the same format.
TEST(Trainer, ChannelsLastTrainsAsContiguousAndResumesExactly) {
  // SGD: Adam's normalised step turns rounding noise in near-zero gradients
  // into whole learning-rate steps, which would hide a real difference.
  nlohmann::json nchw = recipe();
  nchw["optimizer"] = "sgd";
  nlohmann::json nhwc = nchw;
  nhwc["memory_format"] = "channels_last";
  const train::TrainResult plain = run(nchw, nullptr, -1).result;
  const train::TrainResult straight = run(nhwc, nullptr, -1).result;
  EXPECT_EQ(plain.outputs.initial, straight.outputs.initial);
  ASSERT_EQ(plain.outputs.best.size(), straight.outputs.best.size());
  float largest = 0;
  for (float v : plain.outputs.best) largest = std::max(largest, std::abs(v));
  // 24 steps of float rounding differences: a wrong layout would be O(1).
  EXPECT_LT(largest_difference(plain.outputs.best, straight.outputs.best), 1e-4f * largest);
  EXPECT_EQ(plain.record.best_iteration, straight.record.best_iteration);

  const std::string path = temp_path("resume_nhwc.h5");
  train::FileResumeSlot slot(path);
  ASSERT_TRUE(run(nhwc, &slot, 12).interrupted);
  Outcome resumed = run(nhwc, &slot, -1);
  ASSERT_FALSE(resumed.interrupted);
  expect_identical(straight, resumed.result);
  slot.clear();
}

// cuda_graphs is a GPU option: on the CPU the trainer says so and trains
// eagerly, step for step the same training.
TEST(Trainer, CudaGraphsOnTheCpuTrainEagerlyAndTheSame) {
  nlohmann::json graphed = recipe();
  graphed["cuda_graphs"] = true;
  EXPECT_TRUE(train::parse_recipe(graphed).cuda_graphs);
  EXPECT_FALSE(train::parse_recipe(recipe()).cuda_graphs);
  expect_identical(run(recipe(), nullptr, -1).result, run(graphed, nullptr, -1).result);
  graphed["cuda_graphs"] = "yes";
  try {
    train::parse_recipe(graphed);
    ADD_FAILURE() << "accepted cuda_graphs \"yes\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda_graphs"), std::string::npos) << e.what();
  }
}

TEST(Trainer, AnUnknownMemoryFormatIsNamed) {
  nlohmann::json r = recipe();
  r["memory_format"] = "nhwc";
  try {
    train::parse_recipe(r);
    ADD_FAILURE() << "accepted memory_format nhwc";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("memory_format"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("channels_last"), std::string::npos) << e.what();
  }
}

namespace {
// A slot whose next save meets a full disk: its temporary file is a link to
// /dev/full, where every write fails with ENOSPC, as on a full file system.
void fill_disk_under(const std::string& slot_path) {
  std::filesystem::remove(slot_path + ".tmp");
  std::filesystem::create_symlink("/dev/full", slot_path + ".tmp");
}

std::uintmax_t size_or_zero(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}
}  // namespace

// A save on a full disk throws StateNotSaved naming the state file, removes
// its partial file and leaves the previous state whole and loadable.
TEST(Trainer, ASaveOnAFullDiskKeepsThePreviousStateAndNamesTheFile) {
  const std::string path = temp_path("full_disk.h5");
  train::FileResumeSlot slot(path);
  ASSERT_TRUE(run(recipe(), &slot, 8).interrupted);  // a good state at step 8
  const auto before = slot.load();
  ASSERT_TRUE(before.has_value());
  const std::uintmax_t size_before = size_or_zero(path);

  train::TrainState later = *before;
  later.step += 4;
  fill_disk_under(path);
  try {
    slot.save(later);
    FAIL() << "a save on a full disk did not throw";
  } catch (const train::StateNotSaved& e) {
    EXPECT_NE(std::string(e.what()).find("'" + path + "'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path + ".tmp")))
      << "the partial state was left behind";
  EXPECT_EQ(size_or_zero(path), size_before);
  const auto after = slot.load();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->step, before->step);
  EXPECT_EQ(after->model, before->model);
  slot.clear();
}

// A save that fails mid-training costs the task nothing: it trains on and ends
// as a straight run. A stop whose save fails still leaves the task interrupted
// (pending), and the rerun continues from the state saved before, exactly.
TEST(Trainer, FailedSavesNeitherStopTrainingNorChangeItsResult) {
  const train::TrainResult straight = run(recipe(), nullptr, -1).result;
  nlohmann::json r = recipe();
  r["checkpoint_every_s"] = 1e-9;  // a save at every validation
  const std::string path = temp_path("full_disk_training.h5");
  train::FileResumeSlot slot(path);
  fill_disk_under(path);  // the first save fails; the link goes with it, so the later ones succeed
  Outcome full = run(r, &slot, -1);
  ASSERT_FALSE(full.interrupted);
  expect_identical(straight, full.result);
  slot.clear();

  ASSERT_TRUE(run(recipe(), &slot, 8).interrupted);  // a good state at step 8
  fill_disk_under(path);
  ASSERT_TRUE(run(recipe(), &slot, 4).interrupted);  // resumed at 8, stopped at 12: not saved
  EXPECT_EQ(slot.load()->step, 8);
  std::filesystem::remove(path + ".tmp");
  expect_identical(straight, run(recipe(), &slot, -1).result);
  slot.clear();
}
