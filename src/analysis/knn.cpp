#include "featreuse/analysis/knn.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "featreuse/core/error.hpp"

namespace featreuse::analysis {

namespace {

at::Tensor unit_rows(const at::Tensor& x) {
  const at::Tensor f = x.to(at::kFloat).flatten(1);
  return f / f.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

struct Neighbour {
  float similarity;
  int64_t row;  // in the bank
};

// The order of the k nearest: larger similarity first, then the lower bank row,
// so ties at the k-th place are broken the same way on every run.
bool nearer(const Neighbour& a, const Neighbour& b) {
  return a.similarity > b.similarity || (a.similarity == b.similarity && a.row < b.row);
}

// Writes `write(slot, i)` for each i < n that `keep(i)`, into consecutive
// slots from 0, and returns how many: without a branch per value (a tenth or
// so pass, unpredictably), by writing every i and advancing only past those
// kept, so the slots must have room for n.
template <class Keep, class Write>
int64_t gather_where(int64_t n, Keep keep, Write write) {
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    write(kept, i);
    kept += keep(i);
  }
  return kept;
}

// Copies the values >= bound to `out` (room for n), in order, and returns how many.
int64_t keep_at_least(const float* values, int64_t n, float bound, float* out) {
  return gather_where(
      n, [&](int64_t i) { return values[i] >= bound; },
      [&](int64_t slot, int64_t i) { out[slot] = values[i]; });
}

// The k-th largest of the n `values` (no NaN; 0 < k <= n). Most rows hold
// many more values than k, so a bound at or below the k-th largest comes
// first from every 8th value, checked by counting; the exact selection then
// runs on the few values at or above it (on a copy of all of them when the
// check fails). `values` is left as it is.
float kth_largest(const float* values, int64_t n, int64_t k, std::vector<float>& selection) {
  constexpr int64_t stride = 8;
  if (n >= 4 * k) {
    selection.clear();
    for (int64_t i = 0; i < n; i += stride) selection.push_back(values[i]);
    // About k / stride sampled values lie above the k-th largest: go a few spreads deeper.
    const int64_t expected = k / stride;
    const int64_t rank =
        std::min<int64_t>(int64_t(selection.size()), expected + 4 * int64_t(std::sqrt(double(expected))) + 4);
    std::nth_element(selection.begin(), selection.begin() + (rank - 1), selection.end(),
                     std::greater<float>());
    const float bound = selection[size_t(rank - 1)];
    selection.resize(size_t(n));
    selection.resize(size_t(keep_at_least(values, n, bound, selection.data())));
    if (int64_t(selection.size()) >= k) {
      std::nth_element(selection.begin(), selection.begin() + (k - 1), selection.end(),
                       std::greater<float>());
      return selection[size_t(k - 1)];
    }
  }
  selection.assign(values, values + n);
  std::nth_element(selection.begin(), selection.begin() + (k - 1), selection.end(), std::greater<float>());
  return selection[size_t(k - 1)];
}

// The k nearest bank rows of each query of a chunk, kept across bank chunks:
// only the chunk's similarities and queries x k neighbours exist at once.
class RunningNearest {
 public:
  RunningNearest(int64_t queries, int64_t k)
      : k_(k), held_(size_t(queries), 0), best_(size_t(queries * k)), poisoned_(size_t(queries), false) {}

  // `similarities` (queries x n, float32, contiguous): bank rows first_row..first_row+n.
  void add(const at::Tensor& similarities, int64_t first_row) {
    const int64_t n = similarities.size(1);
    const float* sims = similarities.data_ptr<float>();
    at::parallel_for(0, int64_t(held_.size()), 8, [&](int64_t begin, int64_t end) {
      Scratch scratch;
      for (int64_t q = begin; q < end; ++q) merge(q, sims + q * n, n, first_row, scratch);
    });
  }

  // Scores (queries x classes, float64): sum over the k nearest of w y_c over
  // sum w, w = exp(s / temperature); NaN for a query with a NaN similarity.
  at::Tensor vote(const at::Tensor& labels, double temperature) const {
    const int64_t classes = labels.size(1);
    at::Tensor out = at::zeros({int64_t(held_.size()), classes}, at::kDouble);
    const double* y = labels.data_ptr<double>();
    double* scores = out.data_ptr<double>();
    at::parallel_for(0, int64_t(held_.size()), 64, [&](int64_t begin, int64_t end) {
      for (int64_t q = begin; q < end; ++q) vote_one(q, y, classes, temperature, scores + q * classes);
    });
    return out;
  }

 private:
  // Per worker: the candidates' similarities, and the neighbours kept.
  struct Scratch {
    std::vector<float> similarities;
    std::vector<float> selection;
    std::vector<Neighbour> kept, ties;
    std::vector<int64_t> rows;
  };

  // Once k are held, a similarity enters only above the worst held one: an
  // equal one loses the tie, its bank row being later. The k-th largest
  // similarity comes from a selection over plain floats (no sort, no pairs);
  // before anything is held (the first bank chunk) it runs on `sims` itself.
  void merge(int64_t q, const float* sims, int64_t n, int64_t first_row, Scratch& s) {
    if (poisoned_[size_t(q)]) return;
    if (has_nan(sims, n)) {
      poisoned_[size_t(q)] = true;  // NaN has no place in the order: the query scores NaN
      return;
    }
    Neighbour* held = best_.data() + q * k_;
    const int64_t count = held_[size_t(q)];
    const float floor = worst_held(held, count, s.similarities);
    const float* candidates = sims;
    int64_t candidate_count = n;
    if (count > 0) {
      for (int64_t j = 0; j < n; ++j)
        if (sims[j] > floor) s.similarities.push_back(sims[j]);
      candidates = s.similarities.data();
      candidate_count = int64_t(s.similarities.size());
    }
    if (candidate_count <= k_) {
      for (int64_t j = 0; j < n; ++j)
        if (sims[j] > floor) held[held_[size_t(q)]++] = {sims[j], first_row + j};
      return;
    }
    const float kth = kth_largest(candidates, candidate_count, k_, s.selection);
    s.kept.clear();
    s.ties.clear();
    for (int64_t i = 0; i < count; ++i) sort_in(held[i], kth, s);
    // The new rows at or above the k-th (and above the floor), gathered
    // without a branch per row, then sorted in.
    s.rows.resize(size_t(n));
    const int64_t entering = gather_where(
        n, [&](int64_t j) { return (sims[j] >= kth) & (sims[j] > floor); },
        [&](int64_t slot, int64_t j) { s.rows[size_t(slot)] = j; });
    for (int64_t e = 0; e < entering; ++e) {
      const int64_t j = s.rows[size_t(e)];
      sort_in({sims[j], first_row + j}, kth, s);
    }
    std::sort(s.ties.begin(), s.ties.end(), nearer);
    for (size_t t = 0; int64_t(s.kept.size()) < k_; ++t) s.kept.push_back(s.ties[t]);
    std::copy(s.kept.begin(), s.kept.end(), held);
    held_[size_t(q)] = k_;
  }

  // Fills `similarities` with the held neighbours' and returns the bound a
  // new one must pass: the worst held one's once k are held, else -inf.
  float worst_held(const Neighbour* held, int64_t count, std::vector<float>& similarities) const {
    similarities.resize(size_t(count));
    for (int64_t i = 0; i < count; ++i) similarities[size_t(i)] = held[i].similarity;
    return count == k_ ? *std::min_element(similarities.begin(), similarities.end())
                       : -std::numeric_limits<float>::infinity();
  }

  static void sort_in(const Neighbour& c, float kth, Scratch& s) {
    if (c.similarity > kth)
      s.kept.push_back(c);
    else if (c.similarity == kth)
      s.ties.push_back(c);
  }

  // On the bits (exponent all ones, mantissa not zero), which the compiler
  // vectorises; a float comparison it keeps scalar.
  static bool has_nan(const float* v, int64_t n) {
    uint32_t nan = 0;
    for (int64_t j = 0; j < n; ++j) {
      uint32_t bits;
      std::memcpy(&bits, v + j, sizeof bits);
      nan |= (bits & 0x7fffffffu) > 0x7f800000u;
    }
    return nan != 0;
  }

  void vote_one(int64_t q, const double* y, int64_t classes, double temperature, double* score) const {
    if (poisoned_[size_t(q)]) {
      std::fill(score, score + classes, std::nan(""));
      return;
    }
    const Neighbour* held = best_.data() + q * k_;
    double total = 0.0;
    for (int64_t i = 0; i < held_[size_t(q)]; ++i) {
      const double w = std::exp(double(held[i].similarity) / temperature);
      total += w;
      const double* label = y + held[i].row * classes;
      for (int64_t c = 0; c < classes; ++c) score[c] += w * label[c];
    }
    for (int64_t c = 0; c < classes; ++c) score[c] /= total;
  }

  int64_t k_;
  std::vector<int64_t> held_;  // per query: how many of its k slots are filled
  std::vector<Neighbour> best_;
  std::vector<char> poisoned_;  // per query: saw a NaN similarity
};

}  // namespace

KnnBank::KnnBank(const at::Tensor& features, const at::Tensor& labels, int64_t num_classes) {
  if (features.dim() < 2 || features.size(0) == 0) throw Error("k-NN: the bank needs N x D features, N > 0");
  if (labels.size(0) != features.size(0))
    throw Error("k-NN: " + std::to_string(labels.size(0)) + " labels for " +
                std::to_string(features.size(0)) + " bank features");
  bank_ = unit_rows(features).contiguous();
  labels_ = labels.dim() == 1 ? at::one_hot(labels.to(at::kLong), num_classes).to(at::kDouble)
                              : labels.to(at::kDouble).contiguous();
  if (labels_.size(1) != num_classes)
    throw Error("k-NN: labels have " + std::to_string(labels_.size(1)) + " classes");
}

at::Tensor KnnBank::scores(const at::Tensor& queries, const KnnOptions& options) const {
  if (options.k < 1 || options.temperature <= 0 || options.query_chunk < 1 || options.bank_chunk < 1)
    throw Error("k-NN: k, temperature and chunk sizes must be positive");
  const at::Tensor q = unit_rows(queries);
  if (q.size(1) != bank_.size(1))
    throw Error("k-NN: queries have " + std::to_string(q.size(1)) + " features, the bank " +
                std::to_string(bank_.size(1)));
  const int64_t k = std::min(options.k, bank_.size(0));
  // Both allocated once: a similarity block per bank chunk, or a small
  // result per query chunk that outlives the next block, fragments the heap
  // (freed blocks are kept for reuse) and raised the peak by up to a block
  // per query chunk, from run to run.
  at::Tensor out = at::empty({q.size(0), labels_.size(1)}, at::kDouble);
  at::Tensor block = at::empty(
      {std::min(options.query_chunk, q.size(0)) * std::min(options.bank_chunk, bank_.size(0))}, at::kFloat);
  for (int64_t start = 0; start < q.size(0); start += options.query_chunk) {
    const at::Tensor chunk = q.narrow(0, start, std::min(options.query_chunk, q.size(0) - start));
    RunningNearest nearest(chunk.size(0), k);
    for (int64_t row = 0; row < bank_.size(0); row += options.bank_chunk) {
      const int64_t count = std::min(options.bank_chunk, bank_.size(0) - row);
      at::Tensor similarities = block.narrow(0, 0, chunk.size(0) * count).view({chunk.size(0), count});
      at::mm_out(similarities, chunk, bank_.narrow(0, row, count).t());
      nearest.add(similarities, row);
    }
    out.narrow(0, start, chunk.size(0)).copy_(nearest.vote(labels_, options.temperature));
  }
  return out;
}

}  // namespace featreuse::analysis
