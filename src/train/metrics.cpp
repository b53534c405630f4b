// The reference's metric dict (utils/metrics.py, §6): activations from the
// logits, input validation, and the choice of metrics per task kind.
#include "featreuse/train/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace featreuse::train {
namespace {

void check_logits(const float* logits, int64_t n, int64_t num_classes, const char* who) {
  if (logits == nullptr) throw Error(std::string(who) + ": logits are missing");
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < num_classes; ++j) {
      const float v = logits[i * num_classes + j];
      if (!std::isfinite(v)) {
        throw Error(std::string(who) + ": logit of sample " + std::to_string(i) + ", class " +
                    std::to_string(j) + " is " + (std::isnan(v) ? "NaN" : "infinite") +
                    " (did training diverge?)");
      }
    }
  }
}

std::map<std::string, double> single_label(const MetricInput& in) {
  const int64_t n = in.n, c = in.num_classes;
  std::vector<int64_t> y_true(in.labels, in.labels + n);
  for (int64_t i = 0; i < n; ++i) {
    if (y_true[i] < 0 || y_true[i] >= c) {
      throw Error("classification_metrics: label " + std::to_string(y_true[i]) + " of sample " +
                  std::to_string(i) + " is outside [0, " + std::to_string(c) + ")");
    }
  }
  const std::vector<int64_t> y_pred = argmax_rows(in.logits, n, c);
  const std::vector<double> probs = softmax_rows(in.logits, n, c);

  std::map<std::string, double> out;
  out["accuracy"] = accuracy(y_true, y_pred);
  const PrecisionRecallF1 prf = macro_precision_recall_f1(y_true, y_pred);
  out["precision"] = prf.precision;
  out["recall"] = prf.recall;
  out["f1"] = prf.f1;
  out["cohen_kappa"] = cohen_kappa(y_true, y_pred, c, KappaWeights::kNone);
  out["quadratic_kappa"] = cohen_kappa(y_true, y_pred, c, KappaWeights::kQuadratic);
  // The reference catches sklearn's exception (a class missing from y_true)
  // and reports 0.5.
  try {
    if (c == 2) {
      std::vector<uint8_t> positive(n);
      std::vector<double> score(n);
      for (int64_t i = 0; i < n; ++i) {
        positive[i] = y_true[i] == 1;
        score[i] = probs[i * 2 + 1];
      }
      out["roc_auc"] = binary_roc_auc(positive, score);
    } else {
      out["roc_auc"] = ovo_macro_roc_auc(y_true, probs, c);
    }
  } catch (const UndefinedMetric&) {
    out["roc_auc"] = 0.5;
  }
  return out;
}

std::map<std::string, double> multi_label(const MetricInput& in) {
  const int64_t n = in.n, c = in.num_classes;
  std::vector<uint8_t> targets(n * c);
  for (int64_t k = 0; k < n * c; ++k) {
    const float t = in.targets[k];
    if (t != 0.0f && t != 1.0f) {
      throw Error("classification_metrics: multi-label target of sample " + std::to_string(k / c) +
                  ", class " + std::to_string(k % c) + " is " + std::to_string(t) +
                  "; targets must be 0 or 1");
    }
    targets[k] = t == 1.0f;
  }
  const std::vector<double> scores = sigmoid(in.logits, n * c);
  std::vector<uint8_t> predicted(n * c);
  for (int64_t k = 0; k < n * c; ++k) predicted[k] = scores[k] > 0.5;

  std::map<std::string, double> out;
  out["mAP"] = multilabel_macro_average_precision(targets, scores, c);
  out["roc_auc"] = multilabel_mean_roc_auc(targets, scores, c);
  out["accuracy"] = multilabel_exact_match(targets, predicted, c);
  const PrecisionRecallF1 prf = multilabel_macro_precision_recall_f1(targets, predicted, c);
  out["precision"] = prf.precision;
  out["recall"] = prf.recall;
  out["f1"] = prf.f1;
  return out;
}

}  // namespace

std::vector<double> softmax_rows(const float* logits, int64_t n, int64_t num_classes) {
  check_logits(logits, n, num_classes, "softmax_rows");
  std::vector<double> out(n * num_classes), sorted;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * num_classes;
    double* p = out.data() + i * num_classes;
    double max = row[0];
    for (int64_t j = 1; j < num_classes; ++j) max = std::fmax(max, row[j]);
    for (int64_t j = 0; j < num_classes; ++j) p[j] = std::exp(static_cast<double>(row[j]) - max);
    // Sum in ascending order, so rows that are permutations of each other get
    // bit-identical probabilities: mathematically tied scores stay tied for
    // the AUC, whatever order the other classes come in.
    sorted.assign(p, p + num_classes);
    std::sort(sorted.begin(), sorted.end());
    double sum = 0;
    for (double e : sorted) sum += e;
    for (int64_t j = 0; j < num_classes; ++j) p[j] /= sum;
  }
  return out;
}

std::vector<double> sigmoid(const float* logits, int64_t count) {
  check_logits(logits, 1, count, "sigmoid");
  std::vector<double> out(count);
  for (int64_t k = 0; k < count; ++k) out[k] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[k])));
  return out;
}

std::vector<int64_t> argmax_rows(const float* logits, int64_t n, int64_t num_classes) {
  check_logits(logits, n, num_classes, "argmax_rows");
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * num_classes;
    int64_t best = 0;
    for (int64_t j = 1; j < num_classes; ++j) {
      if (row[j] > row[best]) best = j;  // strict: the first maximum wins
    }
    out[i] = best;
  }
  return out;
}

std::map<std::string, double> classification_metrics(const MetricInput& input) {
  if (input.n < 1) throw Error("classification_metrics: no samples (n = " + std::to_string(input.n) + ")");
  if (input.num_classes < 2) {
    throw Error("classification_metrics: num_classes must be >= 2, got " + std::to_string(input.num_classes));
  }
  if ((input.labels == nullptr) == (input.targets == nullptr)) {
    throw Error(
        "classification_metrics: set exactly one of labels (single-label) and targets "
        "(multi-label)");
  }
  check_logits(input.logits, input.n, input.num_classes, "classification_metrics");
  return input.labels != nullptr ? single_label(input) : multi_label(input);
}

}  // namespace featreuse::train
