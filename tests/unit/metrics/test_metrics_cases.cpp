// Hand-computed values and input errors of the metrics (no oracle needed).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "featreuse/train/metrics.hpp"

namespace ft = featreuse::train;

namespace {

// Message of the featreuse::Error thrown by fn, or "" if none.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const featreuse::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Metrics, BinaryAucCountsTiesAsHalf) {
  // Pairs (pos, neg): (0.9, 0.9) tie = 1/2, (0.9, 0.1) = 1, (0.8, 0.9) = 0, (0.8, 0.1) = 1.
  EXPECT_DOUBLE_EQ(ft::binary_roc_auc({1, 0, 1, 0}, {0.9, 0.9, 0.8, 0.1}), 2.5 / 4);
  EXPECT_DOUBLE_EQ(ft::binary_roc_auc({1, 0, 1, 0}, {0.5, 0.5, 0.5, 0.5}), 0.5);
  EXPECT_THROW(ft::binary_roc_auc({1, 1}, {0.2, 0.3}), ft::UndefinedMetric);
}

TEST(Metrics, AveragePrecisionIsStepwise) {
  // Thresholds 0.9: P = 1/2, R = 1/2; 0.8: P = 2/3, R = 1. AP = 1/2 * 1/2 + 1/2 * 2/3.
  EXPECT_DOUBLE_EQ(ft::average_precision({1, 0, 1, 0}, {0.9, 0.9, 0.8, 0.1}), 0.25 + 1.0 / 3);
  EXPECT_EQ(ft::average_precision({0, 0}, {0.9, 0.1}), 0.0);
}

TEST(Metrics, QuadraticKappaByHand) {
  // Confusion (0,0), (1,2), (2,2); observed 1, expected 5 -> 1 - 1/5.
  EXPECT_DOUBLE_EQ(ft::cohen_kappa({0, 1, 2}, {0, 2, 2}, 3, ft::KappaWeights::kQuadratic), 0.8);
  EXPECT_TRUE(std::isnan(ft::cohen_kappa({1, 1}, {1, 1}, 3, ft::KappaWeights::kNone)));
}

TEST(Metrics, MacroScoresUseLabelsOfTruthAndPrediction) {
  // Labels {0, 1, 2}: class 2 is only predicted (P = R = 0).
  const ft::PrecisionRecallF1 prf = ft::macro_precision_recall_f1({0, 0, 1, 1}, {0, 2, 1, 1});
  EXPECT_DOUBLE_EQ(prf.precision, (1.0 + 1.0 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(prf.recall, (0.5 + 1.0 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(prf.f1, (2.0 / 3 + 1.0 + 0.0) / 3);
}

TEST(Metrics, SingleLabelRocAucIsHalfWhenAClassIsMissing) {
  const std::vector<float> logits = {1, 0, 0, 0, 1, 0, 0, 1, 0};
  const std::vector<int64_t> labels = {0, 1, 1};  // class 2 absent
  ft::MetricInput in{3, 3, logits.data(), labels.data(), nullptr};
  EXPECT_EQ(ft::classification_metrics(in).at("roc_auc"), 0.5);
}

TEST(Metrics, NonFiniteLogitsAreNamed) {
  std::vector<float> logits = {0.1f, 0.2f, std::numeric_limits<float>::quiet_NaN(), 0.3f};
  const std::vector<int64_t> labels = {0, 1};
  ft::MetricInput in{2, 2, logits.data(), labels.data(), nullptr};
  const std::string nan_msg = error_of([&] { ft::classification_metrics(in); });
  EXPECT_NE(nan_msg.find("sample 1, class 0 is NaN"), std::string::npos) << nan_msg;
  logits[2] = std::numeric_limits<float>::infinity();
  const std::string inf_msg = error_of([&] { ft::classification_metrics(in); });
  EXPECT_NE(inf_msg.find("infinite"), std::string::npos) << inf_msg;
}

TEST(Metrics, BadInputsAreErrors) {
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f};
  const std::vector<int64_t> bad_labels = {0, 2};
  ft::MetricInput in{2, 2, logits.data(), bad_labels.data(), nullptr};
  EXPECT_NE(error_of([&] { ft::classification_metrics(in); }).find("label 2 of sample 1"), std::string::npos);

  const std::vector<float> bad_targets = {0.f, 0.5f, 1.f, 0.f};
  ft::MetricInput ml{2, 2, logits.data(), nullptr, bad_targets.data()};
  EXPECT_NE(error_of([&] { ft::classification_metrics(ml); }).find("must be 0 or 1"), std::string::npos);

  ft::MetricInput neither{2, 2, logits.data(), nullptr, nullptr};
  EXPECT_THROW(ft::classification_metrics(neither), featreuse::Error);
  ft::MetricInput empty{0, 2, logits.data(), bad_labels.data(), nullptr};
  EXPECT_THROW(ft::classification_metrics(empty), featreuse::Error);
  EXPECT_THROW(ft::accuracy({0, 1}, {0}), featreuse::Error);
}

TEST(Metrics, MultiLabelClassWithoutNegativesIsAnError) {
  // Class 1 is positive everywhere: sklearn raises and the reference does not catch it.
  const std::vector<float> logits = {0.1f, 0.2f, -0.3f, 0.4f};
  const std::vector<float> targets = {1.f, 1.f, 0.f, 1.f};
  ft::MetricInput in{2, 2, logits.data(), nullptr, targets.data()};
  EXPECT_NE(error_of([&] { ft::classification_metrics(in); }).find("class 1 is positive in all"),
            std::string::npos);
}

TEST(Metrics, MultiLabelClassWithoutPositivesCountsHalf) {
  // Class 0 has no positives (AUC 0.5, AP 0); class 1 is ranked perfectly.
  const std::vector<float> logits = {0.1f, 2.0f, -0.3f, -1.0f};
  const std::vector<float> targets = {0.f, 1.f, 0.f, 0.f};
  ft::MetricInput in{2, 2, logits.data(), nullptr, targets.data()};
  const auto m = ft::classification_metrics(in);
  EXPECT_DOUBLE_EQ(m.at("roc_auc"), (0.5 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(m.at("mAP"), (0.0 + 1.0) / 2);
  // Sample 0 predicts {1, 1} (sigmoid(0.1) > 0.5) against {0, 1}; sample 1 matches.
  EXPECT_DOUBLE_EQ(m.at("accuracy"), 0.5);
}
