#pragma once
// Swin Transformer (Liu et al. 2021) laid out as the official Microsoft
// checkpoints (swin_*_patch4_window7_224.pth): patch_embed.{proj,norm},
// layers.s.blocks.b.{norm1, attn.{relative_position_bias_table,
// relative_position_index, qkv, proj}, norm2, mlp.{fc1,fc2}, attn_mask},
// layers.s.downsample.{reduction,norm} at the END of stage s, norm, head.
// Forward arithmetic as timm v0.9.16 (shifted windows with the -100 mask,
// bottom/right padding when a side is not a multiple of the window).
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <string>
#include <vector>

#include "featreuse/models/attention_maps.hpp"
#include "featreuse/models/stepwise.hpp"

namespace featreuse::models {

struct SwinConfig {
  int64_t patch_size = 4;
  int64_t embed_dim = 96;
  std::vector<int64_t> depths{2, 2, 6, 2};
  std::vector<int64_t> num_heads{3, 6, 12, 24};
  int64_t window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path_rate = 0.2;  // linear over all blocks; active in train mode only
};

// `preset` overridden by the model options patch_size, embed_dim, depths,
// num_heads, window_size, mlp_ratio, qkv_bias, drop_path_rate; any other
// option is an error naming it.
SwinConfig read_swin_config(const std::string& arch, SwinConfig preset, const nlohmann::json& options);

namespace detail {
class SwinBlockImpl;
class PatchMergingImpl;
}  // namespace detail

class SwinTransformer : public StepwiseNetwork, public AttentionMapSource {
 public:
  // Built for square inputs of side image_size: image_size / patch_size must
  // be divisible by 2^(stages-1) (patch merging halves the grid). Init as the
  // official code: Linear trunc_normal .02 / bias 0, LN 1/0,
  // relative_position_bias_table trunc_normal .02; the patch conv and the
  // head keep PyTorch's defaults.
  SwinTransformer(const SwinConfig& cfg, int64_t num_classes, int64_t in_channels, int64_t image_size);

  // Probe activations (forward_probed): patch_embed: (B, L, C) after its
  // norm; layers.s.blocks.b.attn: the window-attention branch mapped back to
  // image token order (windows merged, padding cropped, shift undone),
  // (B, L, C), before drop-path and the add; layers.s.blocks.b.mlp: (B, L, C)
  // before the add; head: the logits.
  // Probe inputs (probe_inputs): patch_embed: the image; the attn of a block: its
  // input (after the previous stage's patch merging); its mlp: the stream
  // after the attention residual; head: the last block's output.
  std::vector<std::string> probe_points() const override;
  std::string head_name() const override { return "head"; }
  std::string first_conv_name() const override { return "patch_embed.proj"; }
  // {-1: patch_embed} {j: layers.s.blocks.b} with a global block counter j,
  // {last j of stage s + 1: layers.s.downsample} {total blocks: norm}.
  std::vector<InitBlock> block_map() const override;
  std::vector<BlockAttention> attention_maps(const at::Tensor& input) override;
  // Accepts both checkpoint layouts: timm >= 0.9 names are mapped to the
  // official ones (swin_key_from_timm), and the derived buffers
  // (relative_position_index, attn_mask: functions of the window and input
  // size, absent from timm files) are replaced by this network's own.
  void adapt_weights(TensorList& weights) const override;

  const SwinConfig& config() const { return cfg_; }
  int64_t image_size() const { return image_size_; }

 private:
  struct BlockRef {
    std::string name;  // layers.s.blocks.b
    std::shared_ptr<detail::SwinBlockImpl> block;
    int64_t stage;
  };

  at::Tensor step(size_t k, const at::Tensor& x, ProbeTrace& trace) override;
  at::Tensor attention_step(const BlockRef& b, const at::Tensor& x, ProbeTrace& trace);
  at::Tensor embed(const at::Tensor& input, ProbeTrace& trace);
  at::Tensor classify(const at::Tensor& tokens, ProbeTrace& trace);

  SwinConfig cfg_;
  int64_t in_channels_, image_size_;
  torch::nn::Conv2d proj{nullptr};           // patch_embed.proj
  torch::nn::LayerNorm embed_norm{nullptr};  // patch_embed.norm
  std::vector<BlockRef> blocks_;
  std::vector<std::shared_ptr<detail::PatchMergingImpl>> downsample_;  // per stage but the last
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};

// Maps a key of a timm >= 0.9 Swin state_dict to the official layout used
// here: layers.s.downsample.* -> layers.(s-1).downsample.* (timm moved patch
// merging to the start of the next stage) and head.fc.* -> head.*. Other keys
// are returned unchanged.
std::string swin_key_from_timm(const std::string& key);

// True iff `keys` (a state_dict's names) use timm's >= 0.9 Swin layout: a
// head.fc.* key, or downsample keys none of which sits under stage 0 (the
// official layout always has layers.0.downsample when there are 2+ stages).
bool is_timm_swin_layout(const std::vector<std::string>& keys);

}  // namespace featreuse::models
