#pragma once
// Classification metrics exactly as the paper's code computes them with
// scikit-learn (reference-implementation.md §6). Torch-free.
#include <cstdint>
#include <map>
#include <string>

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
std::map<std::string, double> classification_metrics(const MetricInput& input);

}  // namespace featreuse::train
