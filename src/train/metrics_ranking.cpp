// Score-ranking metrics (ROC-AUC, average precision) as scikit-learn 1.2's
// _binary_clf_curve computes them: samples sorted by decreasing score, one
// curve point per distinct score value, so tied scores move together.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "featreuse/train/metrics.hpp"

namespace featreuse::train {
namespace {

// Cumulative (true positives, false positives) at each distinct threshold,
// highest threshold first. Counts are exact integers held in doubles.
struct Curve {
  std::vector<double> tps, fps;
};

Curve binary_curve(const std::vector<uint8_t>& is_positive, const std::vector<double>& scores,
                   const char* who) {
  if (is_positive.size() != scores.size()) {
    throw Error(std::string(who) + ": " + std::to_string(is_positive.size()) + " targets but " +
                std::to_string(scores.size()) + " scores");
  }
  const size_t n = scores.size();
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(scores[i])) {
      throw Error(std::string(who) + ": score " + std::to_string(i) + " is NaN");
    }
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  Curve curve;
  double tp = 0, fp = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order[k];
    (is_positive[i] ? tp : fp) += 1.0;
    // Close a threshold where the next score differs (exact comparison, as np.diff).
    if (k + 1 == n || scores[order[k + 1]] != scores[i]) {
      curve.tps.push_back(tp);
      curve.fps.push_back(fp);
    }
  }
  return curve;
}

}  // namespace

double binary_roc_auc(const std::vector<uint8_t>& is_positive, const std::vector<double>& scores) {
  const Curve c = binary_curve(is_positive, scores, "binary_roc_auc");
  const double positives = c.tps.empty() ? 0.0 : c.tps.back();
  const double negatives = c.fps.empty() ? 0.0 : c.fps.back();
  if (positives == 0 || negatives == 0) {
    throw UndefinedMetric("binary_roc_auc: only one class present in y_true; ROC AUC is not defined");
  }
  // Trapezoid rule from (0, 0) over the distinct thresholds, on raw counts;
  // twice the area, so every term is an integer.
  double twice_area = 0, prev_tp = 0, prev_fp = 0;
  for (size_t k = 0; k < c.tps.size(); ++k) {
    twice_area += (c.fps[k] - prev_fp) * (c.tps[k] + prev_tp);
    prev_tp = c.tps[k];
    prev_fp = c.fps[k];
  }
  return twice_area / (2.0 * positives * negatives);
}

double average_precision(const std::vector<uint8_t>& is_positive, const std::vector<double>& scores) {
  const Curve c = binary_curve(is_positive, scores, "average_precision");
  const double positives = c.tps.empty() ? 0.0 : c.tps.back();
  // sklearn >= 1.1 sets recall to 1 everywhere without positives, so every
  // recall step is 0 except the final drop to 0, weighted by precision 0.
  if (positives == 0) return 0.0;
  double ap = 0, prev_tp = 0;
  for (size_t k = 0; k < c.tps.size(); ++k) {
    const double precision = c.tps[k] / (c.tps[k] + c.fps[k]);
    ap += (c.tps[k] - prev_tp) / positives * precision;
    prev_tp = c.tps[k];
  }
  return ap;
}

double ovo_macro_roc_auc(const std::vector<int64_t>& y_true, const std::vector<double>& probs,
                         int64_t num_classes) {
  if (num_classes < 2) {
    throw Error("ovo_macro_roc_auc: num_classes must be >= 2, got " + std::to_string(num_classes));
  }
  const size_t n = y_true.size();
  if (probs.size() != n * static_cast<size_t>(num_classes)) {
    throw Error("ovo_macro_roc_auc: " + std::to_string(n) + " labels need " +
                std::to_string(n * num_classes) + " probabilities, got " + std::to_string(probs.size()));
  }
  std::vector<int64_t> count(num_classes, 0);
  for (size_t i = 0; i < n; ++i) {
    if (y_true[i] < 0 || y_true[i] >= num_classes) {
      throw Error("ovo_macro_roc_auc: label " + std::to_string(y_true[i]) + " of sample " +
                  std::to_string(i) + " is outside [0, " + std::to_string(num_classes) + ")");
    }
    ++count[y_true[i]];
  }
  // sklearn requires as many classes in y_true as probability columns.
  for (int64_t c = 0; c < num_classes; ++c) {
    if (count[c] == 0) {
      throw UndefinedMetric("ovo_macro_roc_auc: class " + std::to_string(c) +
                            " is absent from y_true; the number of classes in y_true must "
                            "equal the number of probability columns");
    }
  }
  double sum = 0;
  int64_t pairs = 0;
  std::vector<uint8_t> is_a;
  std::vector<double> score_a, score_b;
  for (int64_t a = 0; a < num_classes; ++a) {
    for (int64_t b = a + 1; b < num_classes; ++b) {
      is_a.clear();
      score_a.clear();
      score_b.clear();
      for (size_t i = 0; i < n; ++i) {
        if (y_true[i] != a && y_true[i] != b) continue;
        is_a.push_back(y_true[i] == a);
        score_a.push_back(probs[i * num_classes + a]);
        score_b.push_back(probs[i * num_classes + b]);
      }
      std::vector<uint8_t> is_b(is_a.size());
      for (size_t i = 0; i < is_a.size(); ++i) is_b[i] = !is_a[i];
      sum += (binary_roc_auc(is_a, score_a) + binary_roc_auc(is_b, score_b)) / 2.0;
      ++pairs;
    }
  }
  return sum / static_cast<double>(pairs);
}

namespace {

// Column j of an n x c row-major indicator/score matrix.
template <typename T>
std::vector<T> column(const std::vector<T>& m, size_t n, size_t c, size_t j) {
  std::vector<T> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = m[i * c + j];
  return out;
}

size_t rows_of(const std::vector<uint8_t>& targets, const std::vector<double>& scores, int64_t num_classes,
               const char* who) {
  if (num_classes < 1 || targets.size() != scores.size() ||
      targets.size() % static_cast<size_t>(num_classes) != 0 || targets.empty()) {
    throw Error(std::string(who) + ": targets (" + std::to_string(targets.size()) + ") and scores (" +
                std::to_string(scores.size()) + ") must both be n x " + std::to_string(num_classes) +
                " with n >= 1");
  }
  return targets.size() / static_cast<size_t>(num_classes);
}

}  // namespace

double multilabel_macro_average_precision(const std::vector<uint8_t>& targets,
                                          const std::vector<double>& scores, int64_t num_classes) {
  const size_t n = rows_of(targets, scores, num_classes, "multilabel_macro_average_precision");
  const size_t c = static_cast<size_t>(num_classes);
  double sum = 0;
  for (size_t j = 0; j < c; ++j) {
    sum += average_precision(column(targets, n, c, j), column(scores, n, c, j));
  }
  return sum / static_cast<double>(c);
}

double multilabel_mean_roc_auc(const std::vector<uint8_t>& targets, const std::vector<double>& scores,
                               int64_t num_classes) {
  const size_t n = rows_of(targets, scores, num_classes, "multilabel_mean_roc_auc");
  const size_t c = static_cast<size_t>(num_classes);
  double sum = 0;
  for (size_t j = 0; j < c; ++j) {
    std::vector<uint8_t> t = column(targets, n, c, j);
    size_t positives = 0;
    for (uint8_t v : t) positives += (v != 0);
    if (positives == 0) {  // the reference skips sklearn here and counts 0.5
      sum += 0.5;
      continue;
    }
    if (positives == n) {
      // sklearn raises ("Only one class present in y_true") and the
      // reference's mean_roc_auc does not catch it.
      throw Error("multilabel_mean_roc_auc: class " + std::to_string(j) + " is positive in all " +
                  std::to_string(n) +
                  " samples; ROC AUC is undefined without negatives (scikit-learn raises, "
                  "and so does the reference code)");
    }
    // The reference weights samples by t^2 + 1e-6; with 0/1 targets that is
    // one weight per class, which cancels in the normalised curve.
    sum += binary_roc_auc(t, column(scores, n, c, j));
  }
  return sum / static_cast<double>(c);
}

}  // namespace featreuse::train
