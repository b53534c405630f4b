// Metrics on hard predictions (accuracy, macro precision/recall/F1, Cohen's
// kappa), following scikit-learn 1.2's formulas term by term.
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "featreuse/train/metrics.hpp"

namespace featreuse::train {
namespace {

void check_same_size(size_t a, size_t b, const char* who) {
  if (a != b) {
    throw Error(std::string(who) + ": y_true has " + std::to_string(a) + " entries but y_pred has " +
                std::to_string(b));
  }
  if (a == 0) throw Error(std::string(who) + ": no samples");
}

// sklearn's _prf_divide with zero_division=0.
double divide_or_zero(double num, double den) { return den == 0 ? 0.0 : num / den; }

// F1 as sklearn 1.2: 2PR / (P + R), 0 where P + R == 0.
double f1_of(double precision, double recall) {
  double denom = precision + recall;
  if (denom == 0.0) denom = 1.0;
  return 2.0 * precision * recall / denom;
}

struct Counts {
  double tp = 0, pred = 0, truth = 0;
};

PrecisionRecallF1 macro_average(const std::vector<Counts>& per_label) {
  PrecisionRecallF1 out;
  for (const Counts& c : per_label) {
    const double p = divide_or_zero(c.tp, c.pred);
    const double r = divide_or_zero(c.tp, c.truth);
    out.precision += p;
    out.recall += r;
    out.f1 += f1_of(p, r);
  }
  const double k = static_cast<double>(per_label.size());
  out.precision /= k;
  out.recall /= k;
  out.f1 /= k;
  return out;
}

void check_indicator(const std::vector<uint8_t>& targets, const std::vector<uint8_t>& predictions,
                     int64_t num_classes, const char* who) {
  if (num_classes < 1) {
    throw Error(std::string(who) + ": num_classes must be >= 1, got " + std::to_string(num_classes));
  }
  if (targets.size() != predictions.size() || targets.size() % num_classes != 0) {
    throw Error(std::string(who) + ": targets (" + std::to_string(targets.size()) + ") and predictions (" +
                std::to_string(predictions.size()) + ") must both be n x " + std::to_string(num_classes));
  }
  if (targets.empty()) throw Error(std::string(who) + ": no samples");
}

}  // namespace

double accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred) {
  check_same_size(y_true.size(), y_pred.size(), "accuracy");
  double correct = 0;
  for (size_t i = 0; i < y_true.size(); ++i) correct += (y_true[i] == y_pred[i]);
  return correct / static_cast<double>(y_true.size());
}

PrecisionRecallF1 macro_precision_recall_f1(const std::vector<int64_t>& y_true,
                                            const std::vector<int64_t>& y_pred) {
  check_same_size(y_true.size(), y_pred.size(), "macro_precision_recall_f1");
  std::map<int64_t, Counts> by_label;  // labels = sorted union of y_true and y_pred
  for (size_t i = 0; i < y_true.size(); ++i) {
    by_label[y_true[i]].truth += 1;
    by_label[y_pred[i]].pred += 1;
    if (y_true[i] == y_pred[i]) by_label[y_true[i]].tp += 1;
  }
  std::vector<Counts> per_label;
  for (const auto& [label, counts] : by_label) per_label.push_back(counts);
  return macro_average(per_label);
}

double cohen_kappa(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                   int64_t num_classes, KappaWeights weights) {
  check_same_size(y_true.size(), y_pred.size(), "cohen_kappa");
  if (num_classes < 1) {
    throw Error("cohen_kappa: num_classes must be >= 1, got " + std::to_string(num_classes));
  }
  const size_t c = static_cast<size_t>(num_classes);
  std::vector<double> confusion(c * c, 0.0);  // [true][pred]
  for (size_t i = 0; i < y_true.size(); ++i) {
    for (int64_t v : {y_true[i], y_pred[i]}) {
      if (v < 0 || v >= num_classes) {
        throw Error("cohen_kappa: label " + std::to_string(v) + " of sample " + std::to_string(i) +
                    " is outside [0, " + std::to_string(num_classes) + ")");
      }
    }
    confusion[y_true[i] * c + y_pred[i]] += 1;
  }
  std::vector<double> sum0(c, 0.0), sum1(c, 0.0);  // column sums, row sums
  for (size_t i = 0; i < c; ++i) {
    for (size_t j = 0; j < c; ++j) {
      sum0[j] += confusion[i * c + j];
      sum1[i] += confusion[i * c + j];
    }
  }
  const double total = static_cast<double>(y_true.size());
  double observed = 0, expected = 0;
  for (size_t i = 0; i < c; ++i) {
    for (size_t j = 0; j < c; ++j) {
      const double d = static_cast<double>(i) - static_cast<double>(j);
      double w = 0;
      switch (weights) {
        case KappaWeights::kNone:
          w = (i == j) ? 0.0 : 1.0;
          break;
        case KappaWeights::kLinear:
          w = std::fabs(d);
          break;
        case KappaWeights::kQuadratic:
          w = d * d;
          break;
      }
      observed += w * confusion[i * c + j];
      // sklearn's expected = outer(sum0, sum1) / total (transposed vs the
      // confusion matrix; the weights are symmetric, so it does not matter).
      expected += w * (sum0[i] * sum1[j] / total);
    }
  }
  // Both raters put everything in one class: sklearn's 0/0 gives NaN.
  if (expected == 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - observed / expected;
}

double multilabel_exact_match(const std::vector<uint8_t>& targets, const std::vector<uint8_t>& predictions,
                              int64_t num_classes) {
  check_indicator(targets, predictions, num_classes, "multilabel_exact_match");
  const size_t c = static_cast<size_t>(num_classes), n = targets.size() / c;
  double exact = 0;
  for (size_t i = 0; i < n; ++i) {
    bool same = true;
    for (size_t j = 0; j < c; ++j) same = same && (!targets[i * c + j] == !predictions[i * c + j]);
    exact += same;
  }
  return exact / static_cast<double>(n);
}

PrecisionRecallF1 multilabel_macro_precision_recall_f1(const std::vector<uint8_t>& targets,
                                                       const std::vector<uint8_t>& predictions,
                                                       int64_t num_classes) {
  check_indicator(targets, predictions, num_classes, "multilabel_macro_precision_recall_f1");
  const size_t c = static_cast<size_t>(num_classes), n = targets.size() / c;
  std::vector<Counts> per_label(c);  // labels = range(c), every class counts
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < c; ++j) {
      const bool t = targets[i * c + j] != 0, p = predictions[i * c + j] != 0;
      per_label[j].truth += t;
      per_label[j].pred += p;
      per_label[j].tp += (t && p);
    }
  }
  return macro_average(per_label);
}

}  // namespace featreuse::train
