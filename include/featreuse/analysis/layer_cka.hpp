#pragma once
// CKA between the probes of networks of one architecture on a dataset split
// (reference §7(d)): unpooled activations of every probe but the head, per
// view, both estimators of cka.hpp. Views: `all` (the whole activation,
// flattened), and for token sequences with a class token (DeiT blocks) also
// `cls` (the class token) and `patches` (the patch tokens, flattened); a probe
// without a class token is in the `all` view only.
#include <limits>
#include <string>
#include <utility>
#include <vector>

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
