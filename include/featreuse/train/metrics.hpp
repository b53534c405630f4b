#pragma once
// Classification metrics exactly as the paper's code computes them with
// scikit-learn (docs/reference-code.md §6). Torch-free.
//
// Checked against scikit-learn 1.2 to 1e-9 by tests/oracles/metrics_oracle.py.
// Probabilities are computed in float64 from the float32 logits (the reference
// applies softmax/sigmoid in float32, which saturates to exact 0/1 ties earlier;
// this only changes results where float32 rounding creates or breaks ties).
// The softmax sums a row's exponentials in ascending order, so probabilities
// that are mathematically equal (permuted or shifted rows) compare equal and
// count as ties in the AUC, independent of any summation order.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "featreuse/core/error.hpp"

namespace featreuse::train {

// Predictions for n samples and c classes. Single-label: `labels` holds class
// indices. Multi-label: `targets` holds 0/1 per class (n x c, row-major).
struct MetricInput {
  int64_t n = 0;
  int64_t num_classes = 0;
  const float* logits = nullptr;    // n x c, row-major
  const int64_t* labels = nullptr;  // single-label
  const float* targets = nullptr;   // multi-label
};

// The full metric dict of the reference code, unrounded: for single-label
// "accuracy", "precision", "recall", "f1" (macro, zero_division 0),
// "cohen_kappa", "quadratic_kappa", "roc_auc" (binary, or one-vs-one macro);
// for multi-label "accuracy" (exact match), "precision", "recall", "f1",
// "roc_auc" (mean per-class AUC, 0.5 for a class without positives), "mAP".
//
// Exactly one of `labels` / `targets` must be set; n >= 1, num_classes >= 2.
// Edge cases, as the reference (sklearn inside utils/metrics.py) behaves:
//  - single-label roc_auc: where sklearn raises (a class absent from y_true:
//    for 2 classes only one class present, for C > 2 any class missing) the
//    reference catches it and reports 0.5; so do we.
//  - cohen_kappa / quadratic_kappa are NaN when undefined (y_true and y_pred
//    all the same single class: 0/0 in sklearn).
//  - multi-label roc_auc: a class without positives counts 0.5 (reference).
//    A class with positives but no negatives makes sklearn raise and the
//    reference does not catch it (its whole metric call fails): we throw
//    featreuse::Error naming the class.
//  - multi-label mAP: a class without positives contributes AP 0 (sklearn >= 1.1
//    sets recall to 1; sklearn 0.24.2, used by the reference, gives NaN).
// Throws featreuse::Error for non-finite logits, labels outside [0, c),
// targets other than 0/1, or missing inputs.
std::map<std::string, double> classification_metrics(const MetricInput& input);

// ---- Individual metrics (scikit-learn 1.2 semantics) ----------------------

// Where sklearn raises ValueError because a metric is undefined for the input
// (e.g. ROC-AUC with one class in y_true).
class UndefinedMetric : public Error {
 public:
  using Error::Error;
};

// Row-wise softmax / element-wise sigmoid in float64 (max-subtracted softmax,
// sigmoid = 1 / (1 + exp(-x))). Throw Error on non-finite logits.
std::vector<double> softmax_rows(const float* logits, int64_t n, int64_t num_classes);
std::vector<double> sigmoid(const float* logits, int64_t count);
// First index of the row maximum, as torch.max(dim=1) / numpy argmax.
std::vector<int64_t> argmax_rows(const float* logits, int64_t n, int64_t num_classes);

// accuracy_score: fraction of equal entries.
double accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred);

struct PrecisionRecallF1 {
  double precision = 0, recall = 0, f1 = 0;
};
// precision/recall/f1_score(average='macro', zero_division=0) over the labels
// present in y_true ∪ y_pred.
PrecisionRecallF1 macro_precision_recall_f1(const std::vector<int64_t>& y_true,
                                            const std::vector<int64_t>& y_pred);

enum class KappaWeights { kNone, kLinear, kQuadratic };
// cohen_kappa_score(y_true, y_pred, labels=range(num_classes), weights).
// NaN when undefined (sklearn's 0/0).
double cohen_kappa(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                   int64_t num_classes, KappaWeights weights);

// roc_auc_score for a binary problem (is_positive[i] != 0 is the positive
// class): trapezoid over distinct score thresholds, so tied scores count 1/2.
// Throws UndefinedMetric unless both classes are present.
double binary_roc_auc(const std::vector<uint8_t>& is_positive, const std::vector<double>& scores);

// roc_auc_score(y, probs, average='macro', multi_class='ovo') for num_classes
// > 2 (probs n x c, row-major): Hand & Till, mean over class pairs of the two
// one-vs-one AUCs. Throws UndefinedMetric if a class is missing from y_true.
double ovo_macro_roc_auc(const std::vector<int64_t>& y_true, const std::vector<double>& probs,
                         int64_t num_classes);

// average_precision_score for a binary problem: step-wise sum over distinct
// thresholds of (R_k - R_{k-1}) * P_k, no interpolation. 0 without positives.
double average_precision(const std::vector<uint8_t>& is_positive, const std::vector<double>& scores);

// Multi-label (targets/scores/predictions n x c, row-major, targets 0/1):
// average_precision_score(average='macro').
double multilabel_macro_average_precision(const std::vector<uint8_t>& targets,
                                          const std::vector<double>& scores, int64_t num_classes);
// The reference's mean_roc_auc: per-class binary AUC, 0.5 for a class without
// positives, mean over all classes. Throws Error for a class without negatives.
double multilabel_mean_roc_auc(const std::vector<uint8_t>& targets, const std::vector<double>& scores,
                               int64_t num_classes);
// accuracy_score on indicator matrices: fraction of rows matching exactly.
double multilabel_exact_match(const std::vector<uint8_t>& targets, const std::vector<uint8_t>& predictions,
                              int64_t num_classes);
// precision/recall/f1_score(average='macro', labels=range(c), zero_division=0).
PrecisionRecallF1 multilabel_macro_precision_recall_f1(const std::vector<uint8_t>& targets,
                                                       const std::vector<uint8_t>& predictions,
                                                       int64_t num_classes);

}  // namespace featreuse::train
