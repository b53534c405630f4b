#pragma once
// One pass over a split for several analyses at once: per batch, each network
// runs one forward that keeps what every reader asked of it (probe outputs,
// the states entering probes, attention maps), then every reader reads the
// batch. Analyses of one cell that read the same test images in the same
// batches (k-NN queries, re-initialisation, CKA, attention distance) share
// the forwards instead of each making its own (docs/analyses.md).
#include <memory>
#include <vector>

#include "featreuse/data/dataset.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::analysis {

// What one analysis reads from each batch.
class SweepReader {
 public:
  virtual ~SweepReader() = default;
  // Adds what it needs from each network (requests[i] is for nets[i]).
  virtual void declare(std::vector<models::TraceRequest>& requests) const = 0;
  // One batch: `passes[i]` is nets[i]'s forward (empty where nothing was asked of it).
  virtual void read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) = 0;
};

// Runs the sweep in eval mode without gradients; the networks are left in
// training mode. A network may be null if no reader asks for it. Batches go to each network's device.
// `subset`: positions of the split (empty: all).
void sweep(const std::vector<models::Network*>& nets, const data::Dataset& dataset, data::Split split,
           int64_t batch_size, const std::vector<int64_t>& subset, const std::vector<SweepReader*>& readers);

}  // namespace featreuse::analysis
