#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "featreuse/train/lr_schedule.hpp"

using namespace featreuse::train;

namespace {
Recipe base() {
  Recipe r;
  r.lr = 1e-4;
  r.warmup_iters = 0;
  return r;
}

std::string run_python(const std::string& script) {
  const char* py = std::getenv("FEATREUSE_ORACLE_PYTHON");
  const std::string cmd = std::string(py ? py : "/usr/bin/python3") + " " + script;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  return out;
}
}  // namespace

nlohmann::json oracle() {
  static const nlohmann::json cases = [] {
    const std::string text = run_python(std::string(FEATREUSE_SOURCE_DIR) + "/tests/oracles/lr_oracle.py");
    return text.empty() ? nlohmann::json() : nlohmann::json::parse(text);
  }();
  return cases;
}

TEST(LrSchedule, PlateauMatchesPyTorchReduceLROnPlateauOnRoundedValues) {
  const auto cases = oracle();
  ASSERT_FALSE(cases.is_null()) << "the PyTorch oracle did not run (needs /usr/bin/python3 with torch)";
  ASSERT_GT(cases["plateau"].size(), 10u);
  for (const auto& c : cases["plateau"]) {
    Recipe r = base();
    r.plateau = true;
    r.plateau_factor = c["factor"];
    r.plateau_patience = c["patience"];
    r.plateau_threshold = c["threshold"];
    r.select_decimals = c["decimals"];
    LrSchedule s(r, c["lr"]);
    for (size_t i = 0; i < c["values"].size(); ++i) {
      s.step_plateau(c["values"][i]);
      EXPECT_NEAR(s.lr(), c["lrs"][i].get<double>(), 1e-18) << c.dump() << " at epoch " << i;
    }
  }
}

// Warm-up, plateau and min_lr together over whole runs, driven in the order
// the trainer uses with plateau_step "reference" (the step, the plateau on
// the latest validation, the validation, the end rule after each epoch),
// against the oracle's model of the reference code's schedule.
TEST(LrSchedule, WarmupPlateauAndMinLrFollowAModelOfTheReferenceSchedule) {
  const auto cases = oracle();
  ASSERT_FALSE(cases.is_null()) << "the PyTorch oracle did not run (needs /usr/bin/python3 with torch)";
  ASSERT_GE(cases["reference"].size(), 4u);
  for (const auto& c : cases["reference"]) {
    Recipe r = base();
    r.warmup = Warmup::additive;
    r.warmup_iters = c["warmup_iters"];
    r.warmup_start_lr = c["warmup_start_lr"];
    r.plateau = true;
    r.plateau_factor = c["factor"];
    r.plateau_patience = c["patience"];
    r.plateau_threshold = c["threshold"];
    r.select_decimals = c["decimals"];
    r.min_lr = c["min_lr"];
    const int64_t spe = c["steps_per_epoch"], val_interval = c["val_interval"], epochs = c["epochs"];
    LrSchedule s(r, c["lr"]);
    std::vector<double> used;
    double latest = 0;
    size_t next_validation = 0;
    for (int64_t step = 1; step <= epochs * spe; ++step) {
      used.push_back(s.lr());
      s.after_step();
      if ((step + 1) % spe == 0) s.step_plateau(latest);
      if (step % val_interval == 0) latest = c["values"][next_validation++];
      if (step % spe == 0 && s.below_min_lr()) break;
    }
    const std::string label = "spe " + std::to_string(spe) + ", warm-up " + c["warmup_iters"].dump() +
                              ", decimals " + c["decimals"].dump();
    ASSERT_EQ(int64_t(used.size()), c["steps"].get<int64_t>()) << label;
    for (size_t i = 0; i < used.size(); ++i)
      ASSERT_NEAR(used[i], c["lrs"][i].get<double>(), 1e-15) << label << ", step " << i + 1;
  }
}

TEST(LrSchedule, LinearWarmupReachesTheRateAfterItsSteps) {
  Recipe r = base();
  r.warmup_iters = 1000;
  LrSchedule s(r, 1e-4);
  const double d = (1e-4 - 1e-8) / 1000;
  EXPECT_DOUBLE_EQ(s.lr(), 1e-8 + d);  // the first step
  for (int i = 0; i < 999; ++i) s.after_step();
  EXPECT_DOUBLE_EQ(s.lr(), 1e-4);  // step 1000
  for (int i = 0; i < 50; ++i) s.after_step();
  EXPECT_DOUBLE_EQ(s.lr(), 1e-4);
}

TEST(LrSchedule, AdditiveWarmupFollowsTheReferenceArithmetic) {
  Recipe r = base();
  r.warmup_iters = 1000;
  r.warmup = Warmup::additive;
  r.plateau = true;
  r.plateau_patience = 0;
  LrSchedule s(r, 1e-4);
  const double d = (1e-4 - 1e-8) / 1000;
  EXPECT_DOUBLE_EQ(s.lr(), 1e-8 + d);
  for (int i = 0; i < 1000; ++i) s.after_step();
  EXPECT_NEAR(s.lr(), 1e-8 + 1001 * d, 1e-15);  // the ~0.1% overshoot
  for (int i = 0; i < 10; ++i) s.after_step();
  EXPECT_NEAR(s.lr(), 1e-8 + 1001 * d, 1e-15);  // then constant

  // A reduction during warmup is mostly undone by the later increments.
  LrSchedule early(r, 1e-4);
  for (int i = 0; i < 100; ++i) early.after_step();
  early.step_plateau(0.5);
  early.step_plateau(0.5);  // no improvement, patience 0: reduce
  EXPECT_EQ(early.reductions(), 1);
  for (int i = 0; i < 900; ++i) early.after_step();
  EXPECT_GT(early.lr(), 0.9e-4);
}

TEST(LrSchedule, MinLrEndsTraining) {
  Recipe r = base();
  r.plateau = true;
  r.plateau_patience = 0;
  r.min_lr = 1e-6;
  LrSchedule s(r, 1e-4);
  s.step_plateau(0.5);
  EXPECT_FALSE(s.below_min_lr());
  s.step_plateau(0.5);
  EXPECT_FALSE(s.below_min_lr());  // 1e-5
  s.step_plateau(0.5);
  EXPECT_FALSE(s.below_min_lr());  // 1e-6 (up to rounding) is not below 1e-6: train on
  s.step_plateau(0.5);
  EXPECT_TRUE(s.below_min_lr());  // 1e-7
}

// The paper's recipe (1000 warm-up steps from 1e-8 to 1e-4, min_lr 1e-6) on
// a small training set: 3 steps per epoch spend many epochs with the ramp far
// below min_lr, which must not end training.
TEST(LrSchedule, MinLrNeverEndsTrainingDuringWarmup) {
  for (Warmup arithmetic : {Warmup::linear, Warmup::additive}) {
    Recipe r = base();
    r.warmup_iters = 1000;
    r.warmup = arithmetic;
    r.plateau = true;
    r.min_lr = 1e-6;
    LrSchedule s(r, 1e-4);
    for (int i = 0; i < 3; ++i) s.after_step();
    EXPECT_LT(s.lr(), 1e-6) << int(arithmetic) << ": the premise (the ramp is below min_lr) no longer holds";
    EXPECT_TRUE(s.in_warmup());
    EXPECT_FALSE(s.below_min_lr()) << int(arithmetic);
    // Once warm-up is over the rule applies to the rate itself.
    for (int i = 3; i < 1000; ++i) s.after_step();
    EXPECT_FALSE(s.in_warmup());
    for (int i = 0; i < 6; ++i) s.step_plateau(0.5);  // patience 3: one reduction, to ~1e-5
    EXPECT_FALSE(s.below_min_lr()) << int(arithmetic);
    for (int i = 0; i < 8; ++i) s.step_plateau(0.5);  // two more: ~1e-7
    EXPECT_TRUE(s.below_min_lr()) << int(arithmetic);
  }
}

TEST(LrSchedule, PostWarmupRateCountsTheReductionsSoFar) {
  Recipe r = base();
  r.warmup_iters = 100;
  r.plateau = true;
  r.plateau_patience = 0;
  LrSchedule linear(r, 1e-4);
  for (int i = 0; i < 10; ++i) linear.after_step();
  linear.step_plateau(0.5);
  linear.step_plateau(0.5);  // a reduction: the target is scaled
  EXPECT_NEAR(linear.post_warmup_lr(), 1e-5, 1e-18);
  r.warmup = Warmup::additive;
  LrSchedule additive(r, 1e-4);
  for (int i = 0; i < 10; ++i) additive.after_step();
  additive.step_plateau(0.5);
  additive.step_plateau(0.5);
  const double d = (1e-4 - 1e-8) / 100;
  const double reduced = 0.1 * (1e-8 + 11 * d);  // the rate after 10 steps, reduced
  EXPECT_NEAR(additive.post_warmup_lr(), reduced + 90 * d, 1e-15);
  for (int i = 10; i < 100; ++i) additive.after_step();
  EXPECT_NEAR(additive.lr(), reduced + 90 * d, 1e-15);
}

TEST(LrSchedule, StateRoundTrips) {
  Recipe r = base();
  r.warmup_iters = 10;
  r.plateau = true;
  r.plateau_patience = 1;
  LrSchedule a(r, 1e-3);
  for (int i = 0; i < 4; ++i) a.after_step();
  a.step_plateau(0.4);
  a.step_plateau(0.3);
  LrSchedule b(r, 1e-3);
  b.restore(nlohmann::json::parse(a.state().dump()));
  for (int i = 0; i < 3; ++i) {
    a.after_step();
    b.after_step();
    a.step_plateau(0.3);
    b.step_plateau(0.3);
    EXPECT_EQ(a.lr(), b.lr());
  }
}
