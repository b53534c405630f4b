#pragma once
// Initialisation schemes (reference §2, docs/recipe.md "Initialisations"):
// how a freshly built network (its library-default random init, seeded by
// the cell seed) gets its starting weights. The job axis `init` names one:
//   ri    library default init (nothing to do here)
//   st    stats transfer: WT-ST at depth -2
//   wt    weight transfer: the source's weights, a fresh head
//   wtst  the source's weights up to block `wt_blocks` (the reference's
//         transfer_up_to_layer t, -2..full) or `wt_fraction` (0 = ST .. 1 =
//         WT, wtst.hpp), exactly one of the two; ST for the rest
// st and wtst take `st_sample_embeddings` (default false: cls_token,
// pos_embed and relative position tables copied as the reference code does).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/init/st.hpp"
#include "featreuse/init/wtst.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::init {

struct SchemeInfo {
  std::string name, description;
  bool needs_source = false;
  nlohmann::json params =
      nlohmann::json::object();  // parameter defaults (typed by value; null: given or not)
  bool needs_st_state = false;   // uses the ST draw of (source, cell seed)
};

const std::vector<SchemeInfo>& schemes();

// Checks an init config ({"scheme": name, params..., "source": id}) without a
// network: a known scheme, no unknown keys, typed parameters, exactly one of
// wt_blocks (integer >= -2) and wt_fraction (number in [0, 1]) for wtst.
// Throws featreuse::Error naming the key and value.
void check_init(const nlohmann::json& init);

// True for RI: the network keeps its library-default init (the recipe's lr_ri
// applies). An init config without a scheme is not RI.
bool is_random_init(const nlohmann::json& init);

// Whether `init` needs an ST state (st, wtst), and the options it is drawn
// with. One ST draw per (source, seed, st_options) serves every dataset and
// every depth: sample_st is a pure function of them.
bool needs_st_state(const nlohmann::json& init);
StOptions st_options(const nlohmann::json& init);

// The WT-ST depth t that `init` means for `net`: st -2, wt full_wt_depth,
// wtst its wt_blocks or depth_for_fraction(wt_fraction); nullopt for ri.
// wt_blocks above full_wt_depth is an error.
std::optional<int> transfer_depth(models::Network& net, const nlohmann::json& init);

// Which stored checkpoint each state_dict entry of `net`'s starting weights
// is copied from under `init`, known from the network alone (no weights):
// the store keeps those entries of a transfer cell's `initial` as references
// (docs/store.md). ri: none; wt: every entry outside the head from the
// source; st and wtst: per wtst_plan (wt from the source, st from the ST
// draw; reset norms and the head are the cell's own). Only names are
// promised: a copied tensor can still differ (a 3-channel source conv for a
// 1-channel network), so the store compares shapes and values.
enum class CopiedFrom { nothing, source, st_state };
struct EntryOrigin {
  std::string name;  // state_dict name
  CopiedFrom from = CopiedFrom::nothing;
};
std::vector<EntryOrigin> copied_entries(models::Network& net, const nlohmann::json& init);

struct ApplyInputs {
  // The source's weights (any checkpoint layout) for st, wt, wtst.
  const models::TensorList* source = nullptr;
  // The stored ST draw of that source: sample_st(net, *source, seed,
  // st_options(init)). If null, st/wtst draw it here from st_seed.
  const models::TensorList* st_state = nullptr;
  std::optional<uint64_t> st_seed;
};

// Applies `init` to `net`; the head keeps the network's own init. Returns a
// one-line description for the log. Errors (featreuse::Error): bad config
// (check_init), a missing source, no ST state and no seed, weights that do
// not fit the network.
std::string apply(models::Network& net, const nlohmann::json& init, const ApplyInputs& inputs);

// Shorthand for ri and wt (st/wtst need an ST state or seed: an error here).
std::string apply(models::Network& net, const nlohmann::json& init, const models::TensorList* source);

}  // namespace featreuse::init
