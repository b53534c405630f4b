#pragma once
// CKA between the probes of networks of one architecture on a dataset split
// (reference §7(d)): unpooled activations of every probe but the head, per
// view, both estimators of cka.hpp. Views: `all` (the whole activation,
// flattened), and for token sequences with a class token (DeiT blocks) also
// `cls` (the class token) and `patches` (the patch tokens, flattened); a probe
// without a class token is in the `all` view only.
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "featreuse/analysis/cka.hpp"
#include "featreuse/analysis/test_sweep.hpp"
#include "featreuse/data/dataset.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::analysis {

// The probes CKA compares (every probe point but the head), and for each
// view the probes that have it, in view then network order.
struct CkaLayout {
  std::vector<std::string> probes;
  std::vector<std::pair<std::string, std::vector<std::string>>> views;  // view -> its probes
};
CkaLayout cka_layout(const models::Network& net);

struct CkaEntry {
  std::string view, row, col;
  double reference = std::numeric_limits<double>::quiet_NaN();
  double minibatch = std::numeric_limits<double>::quiet_NaN();
};

// Accumulates the pairs' CKA batch by batch from a sweep (test_sweep.hpp):
// `pairs` index the sweep's networks, all of `layout`'s architecture.
class CkaReader : public SweepReader {
 public:
  CkaReader(const models::Network& net, std::vector<std::pair<size_t, size_t>> pairs);
  void declare(std::vector<models::TraceRequest>& requests) const override;
  void read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) override;
  // Per pair, the entries in layout order; throws when no batch had 4 inputs.
  std::vector<std::vector<CkaEntry>> finish() const;

 private:
  const models::Network& net_;
  CkaLayout layout_;
  std::vector<std::pair<size_t, size_t>> pairs_;
  std::vector<std::map<std::string, CkaMatrix>> accumulators_;
};

// For each pair (a, b) of indices into `nets`, every probe of nets[a] (rows)
// against every probe of nets[b] (columns) per view, in the order of
// cka_layout (view, row, column). One forward of each network per batch, in
// eval mode; a last batch of fewer than 4 inputs is left out. `subset`:
// positions of the split to use (empty: all).
std::vector<std::vector<CkaEntry>> layer_cka(const std::vector<models::Network*>& nets,
                                             const std::vector<std::pair<size_t, size_t>>& pairs,
                                             const data::Dataset& dataset, data::Split split,
                                             int64_t batch_size, const std::vector<int64_t>& subset = {});

}  // namespace featreuse::analysis
