#pragma once
// Per-block softmax attention of the transformer families, for the
// attention-distance analysis (paper App. E). Only computed on request: the
// maps are large (DeiT-S at 224: 12 x B x 6 x 197 x 197 floats).
#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace featreuse::models {

struct BlockAttention {
  std::string block;  // "blocks.3", "layers.2.blocks.5"
  // DeiT: (B, heads, N, N) over all tokens, N = prefix_tokens + grid_h*grid_w,
  // token order cls, then patches row-major.
  // Swin: (B, nW, heads, window^2, window^2): window w covers rows/cols of the
  // cyclically shifted (by -shift) and bottom/right zero-padded token grid,
  // windows row-major, tokens in a window row-major.
  at::Tensor attn;
  int64_t grid_h = 0, grid_w = 0;  // token grid the block runs on (unpadded)
  int64_t token_px = 0;            // input pixels per token side at this block
  int64_t window = 0;              // 0: global attention (DeiT)
  int64_t shift = 0;               // Swin cyclic shift (0 for W-MSA blocks)
  int64_t prefix_tokens = 0;       // DeiT: 1 (cls); Swin: 0
};

// Implemented by the models that have attention maps; find it with
// dynamic_cast on a Network.
class AttentionMapSource {
 public:
  virtual ~AttentionMapSource() = default;
  // Runs one forward (in the module's current train/eval mode) and returns
  // every block's attention weights in network order.
  virtual std::vector<BlockAttention> attention_maps(const at::Tensor& input) = 0;
};

}  // namespace featreuse::models
