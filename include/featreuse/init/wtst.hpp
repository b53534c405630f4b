#pragma once
// WT-ST (reference §2.3): transfer the source's weights up to block t of the
// network's block map (Network::block_map()), ST for the rest.
#include <string>
#include <vector>

#include "featreuse/init/st.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/models/weights.hpp"

namespace featreuse::init {

// Where a tensor's starting value comes from.
enum class Origin {
  wt,     // the source's value (its block's index <= t)
  st,     // the ST state's value: sampled Conv2d/Linear tensors, and for
          // embeddings and other buffers the ST state's copy of the source
          // (sampled embeddings with StOptions::sample_embeddings)
  reset,  // a norm layer of an ST block: BatchNorm weight 1, bias 0,
          // running_mean 0, running_var 1, num_batches_tracked 0; LayerNorm 1/0
  own,    // the head: keeps the network's own random init
};
const char* to_string(Origin origin);

struct PlanEntry {
  std::string name;  // state_dict name
  TensorKind kind;
  int block = 0;  // block-map index of its block (0 for the head)
  Origin origin;
};

// The largest index of net.block_map(): t for full WT. Throws if the model
// has no block map.
int full_wt_depth(models::Network& net);

// For every state_dict entry of `net` (head included, Origin::own), where its
// value comes from at depth t in [-2, full_wt_depth]. Every entry outside the
// head must lie in exactly one block of the map; one in none or in two is an
// error naming it (a block-map bug), as is a t out of range.
std::vector<PlanEntry> wtst_plan(models::Network& net, int t);

// The starting weights at depth t: every entry outside the head, in state_dict
// order, valued per wtst_plan from `source` (source's weights, any checkpoint
// layout: see canonical_weights) and `st_state` (sample_st of that source).
// A 3-channel first conv stays 3-channel: load it with models::load_weights,
// which keeps channel 0 for a 1-channel network (reference §1: after ST).
models::TensorList wtst_weights(models::Network& net, const models::TensorList& source,
                                const models::TensorList& st_state, int t);

// wtst_weights loaded into `net` (head untouched). `what` names the source in
// messages.
models::LoadReport apply_wtst(models::Network& net, const models::TensorList& source,
                              const models::TensorList& st_state, int t, const std::string& what);

// ---- depth by fraction (Figure 2's axis: 0 = ST, 1 = full WT) ----
// The WT-ST "units" of the architecture, as the paper counts blocks
// (ResNet50-WT-ST-1/5: 5 units): the block-map indices holding a Conv2d or
// Linear, each with the norm-only indices that follow it folded in (ResNet's
// bn1 joins conv1; the ViT/Swin final norm joins the last block). Returns
// levels[n] = the depth t that transfers the first n units: levels[0] = -2
// (ST), levels.back() = full_wt_depth (WT). ResNet50: {-2, 0, 1, 2, 3, 4}.
std::vector<int> wt_levels(models::Network& net);

// t for fraction f in [0, 1]: levels[n] with n = floor(f * N + 0.5) (round
// half up, N = levels.size() - 1), f within 1e-9 of a half rounding up.
// Throws for f outside [0, 1] or not finite.
int depth_for_fraction(models::Network& net, double fraction);

}  // namespace featreuse::init
