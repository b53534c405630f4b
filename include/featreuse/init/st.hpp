#pragma once
// ST (stats transfer, reference §2.1): the reference's get_wt_state. From the
// source's weights, every Conv2d/Linear weight and bias is replaced by i.i.d.
// normal draws with that tensor's mean and unbiased std; LayerNorms are reset
// to 1/0; everything else (BatchNorm parameters and running statistics,
// cls_token, pos_embed, relative_position_bias_table, buffers) is copied.
// BatchNorms are reset later, per ST block, by WT-ST (wtst.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "featreuse/models/network.hpp"

namespace featreuse::init {

// What a parameter or buffer is, by the type of the module that owns it.
enum class TensorKind {
  conv_linear,  // weight or bias of a Conv2d or Linear
  batch_norm,   // BatchNorm2d weight, bias, running_mean, running_var, num_batches_tracked
  layer_norm,   // LayerNorm weight, bias
  embedding,    // cls_token, pos_embed, relative_position_bias_table (and dist_token, absolute_pos_embed)
  other,        // any other parameter or buffer (relative_position_index, attn_mask, ...)
};
const char* to_string(TensorKind kind);

struct KindEntry {
  std::string name;  // state_dict name
  TensorKind kind;
};

// Every parameter and buffer of `net` outside its head, in state_dict order,
// with its kind. The same for every input-channel count and head size of an
// architecture.
std::vector<KindEntry> tensor_kinds(models::Network& net);

struct StOptions {
  // Also sample cls_token, pos_embed and relative_position_bias_table (the
  // paper's "all weights sampled", reference §10.1). Off: they are copied
  // from the source, as the reference code does (the default).
  bool sample_embeddings = false;
};

// What the ST state holds for a tensor of a kind.
enum class StRole { sampled, reset, copied };
const char* to_string(StRole role);
StRole st_role(TensorKind kind, const StOptions& options);

// The source's weights in `net`'s naming: a "module." prefix on every key is
// stripped and net.adapt_weights() applied (as load_weights does), head
// entries dropped, and the remaining entries checked against the network:
// every parameter and buffer outside the head present, nothing extra, shapes
// equal except the input-channel dimension of the first conv (a 3-channel
// source for a 1-channel network). Throws featreuse::Error listing every
// problem, naming `what` (e.g. "source 1a2b").
models::TensorList canonical_weights(models::Network& net, const models::TensorList& weights,
                                     const std::string& what);

// The ST state of `source` for networks of `net`'s architecture: every entry
// of tensor_kinds(net), in state_dict order, with its value per st_role. The
// tensors take the source's shapes (a 3-channel first conv stays 3-channel:
// WT-ST slices channel 0 after sampling, reference §1) and dtypes; they share
// no storage with `source`. `net` is only read for names and module types.
//
// The draw is a pure function of (source tensors, seed, options): a CPU
// generator seeded with `seed` draws the Conv2d/Linear tensors first, in
// state_dict order (weight, then bias), then, if sample_embeddings, the
// embeddings in state_dict order; so the Conv2d/Linear draws are the same
// with and without the option. It does not depend on the network's input
// channels or head, nor on the global torch RNG. For the same (source, seed,
// options) it is bit-identical across runs, and equal to PyTorch's
//   g = torch.Generator().manual_seed(seed)
//   torch.normal(W.mean().item(), W.std().item(), W.shape, generator=g)
// over the same tensors in the same order (tests/oracles/init_oracle.py).
//
// Edge cases: a one-element tensor has no unbiased std (torch gives NaN, so
// the reference would write NaN): it is drawn with std 0, i.e. set to its
// own value. An empty tensor stays empty. A source tensor whose mean or std
// is not finite is an error naming it.
models::TensorList sample_st(models::Network& net, const models::TensorList& source, uint64_t seed,
                             const StOptions& options = {});

}  // namespace featreuse::init
