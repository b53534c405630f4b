#pragma once
// DeiT / ViT (Touvron et al. 2021) laid out as timm's VisionTransformer
// (v0.9.16): patch_embed.proj, cls_token, pos_embed, blocks.i.{norm1,
// attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head. Pre-norm blocks,
// LayerNorm eps 1e-6, CLS-token pooling after the final norm.
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

struct DeiTConfig {
  int64_t img_size = 224;  // input size pos_embed is laid out for
  int64_t patch_size = 16;
  int64_t embed_dim = 384;
  int64_t depth = 12;  // < the preset's: the truncated DeiT (paper App. I)
  int64_t num_heads = 6;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_path_rate = 0.0;  // linear over blocks, as timm; DeiT in the paper: 0
};

// `preset` overridden by the model options img_size, patch_size, embed_dim,
// depth, num_heads, mlp_ratio, qkv_bias, drop_path_rate; any other option is
// an error naming it. Checks the values (e.g. heads divide embed_dim).
DeiTConfig read_deit_config(const std::string& arch, DeiTConfig preset, const nlohmann::json& options);

namespace detail {
class ViTBlockImpl;
}

class DeiT : public StepwiseNetwork, public AttentionMapSource {
 public:
  // num_classes >= 1; in_channels 1 or 3. Weights get the timm/DeiT default
  // init (trunc_normal .02 Linear and cls/pos tokens, LN 1/0, default Conv2d
  // and head), drawn from torch's default generator.
  DeiT(const DeiTConfig& cfg, int64_t num_classes, int64_t in_channels);

  // Forward: any input whose sides are multiples of patch_size; pos_embed is resampled
  // (bicubic, antialiased, as timm's resample_abs_pos_embed) when the token
  // grid differs from img_size / patch_size.
  //
  // Probe activations (forward_probed): patch_embed: (B, gh*gw, C) tokens
  // before cls/pos; blocks.i.attn and blocks.i.mlp: the residual-branch
  // outputs before the add, (B, N, C); head: the logits.
  // Probe inputs (probe_inputs): patch_embed: the image; blocks.i.attn: the
  // block's input x (the block computes x + attn(norm1(x)), then the mlp
  // half); blocks.i.mlp: x after the attention residual; head: the last
  // block's output.
  std::vector<std::string> probe_points() const override;
  int64_t probe_prefix_tokens(const std::string& probe) const override;
  std::string head_name() const override { return "head"; }
  std::string first_conv_name() const override { return "patch_embed.proj"; }
  // {-1: patch_embed, cls_token, pos_embed} {i: blocks.i} {depth: norm}.
  std::vector<InitBlock> block_map() const override;
  std::vector<BlockAttention> attention_maps(const at::Tensor& input) override;
  // The truncated DeiT (paper App. I) loads a deeper DeiT's weights: when the
  // weights hold blocks 0..depth-1 and more, blocks >= depth are dropped (as
  // the reference's deit_small5b does), with a log line. Otherwise unchanged.
  void adapt_weights(TensorList& weights) const override;

  const DeiTConfig& config() const { return cfg_; }
  // pos_embed for a token grid of gh x gw (itself when it is the native grid).
  at::Tensor pos_embed_for(int64_t gh, int64_t gw) const;

 private:
  at::Tensor step(size_t k, const at::Tensor& x, ProbeTrace& trace) override;
  at::Tensor embed(const at::Tensor& input, ProbeTrace& trace);
  at::Tensor classify(const at::Tensor& tokens, ProbeTrace& trace);

  DeiTConfig cfg_;
  int64_t in_channels_;
  at::Tensor cls_token, pos_embed;
  torch::nn::Conv2d proj{nullptr};  // patch_embed.proj
  std::vector<std::shared_ptr<detail::ViTBlockImpl>> blocks_;
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};

}  // namespace featreuse::models
