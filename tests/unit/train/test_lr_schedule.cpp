#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

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

TEST(LrSchedule, PlateauMatchesPyTorchReduceLROnPlateau) {
  const std::string text = run_python(std::string(FEATREUSE_SOURCE_DIR) + "/tests/oracles/lr_oracle.py");
  ASSERT_FALSE(text.empty()) << "the PyTorch oracle did not run (needs /usr/bin/python3 with torch)";
  const auto cases = nlohmann::json::parse(text);
  ASSERT_GT(cases.size(), 10u);
  for (const auto& c : cases) {
    Recipe r = base();
    r.plateau = true;
    r.plateau_factor = c["factor"];
    r.plateau_patience = c["patience"];
    r.plateau_threshold = c["threshold"];
    LrSchedule s(r, c["lr"]);
    for (size_t i = 0; i < c["values"].size(); ++i) {
      s.step_plateau(c["values"][i]);
      EXPECT_NEAR(s.lr(), c["lrs"][i].get<double>(), 1e-18) << c.dump() << " at epoch " << i;
    }
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
  r.warmup = "additive";
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
  EXPECT_TRUE(s.below_min_lr());   // 1e-7
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
