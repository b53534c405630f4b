// DeiT as timm's VisionTransformer (v0.9.16): the same module tree, so
// state_dict names match timm's and the official DeiT checkpoints, and the
// same forward arithmetic, so outputs match timm on the same weights
// (tests/oracles/timm_parity.py).
#include "featreuse/models/deit.hpp"

#include <ATen/ATen.h>
#include <ATen/ops/_upsample_bicubic2d_aa.h>

#include <algorithm>
#include <cmath>
#include <regex>

#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/models/batched_matmul.hpp"
#include "featreuse/models/families.hpp"
#include "featreuse/models/fused_attention.hpp"
#include "featreuse/models/options.hpp"
#include "featreuse/models/vit_layers.hpp"

namespace featreuse::models {

namespace nn = torch::nn;

namespace detail {

// timm's Attention: fused qkv, scaled dot product, softmax, proj.
class ViTAttentionImpl : public nn::Module {
 public:
  ViTAttentionImpl(int64_t dim, int64_t heads, bool qkv_bias)
      : heads_(heads), scale_(std::pow(static_cast<double>(dim / heads), -0.5)) {
    qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
    proj = register_module("proj", nn::Linear(dim, dim));
  }

  // `attn_out`, when given, receives the softmax weights (B, heads, N, N).
  at::Tensor forward(const at::Tensor& x, at::Tensor* attn_out) {
    const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
    const auto projected = apply_linear(qkv, x);
    if (fused_attention_applies(projected))
      return apply_linear(proj, fused_attention(projected, heads_, scale_, attn_out));
    auto qkv_t = projected.reshape({B, N, 3, heads_, C / heads_}).permute({2, 0, 3, 1, 4});
    auto q = qkv_t[0] * scale_;
    auto attn = batched_matmul(q, qkv_t[1].transpose(-2, -1)).softmax(-1);
    if (attn_out) *attn_out = attn;
    auto out = batched_matmul(attn, qkv_t[2]).transpose(1, 2).reshape({B, N, C});
    return apply_linear(proj, out);
  }

  nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  int64_t heads_;
  double scale_;
};

// Pre-norm block: x = x + attn(norm1(x)), then x = x + mlp(norm2(x)).
class ViTBlockImpl : public nn::Module {
 public:
  ViTBlockImpl(int64_t dim, int64_t heads, int64_t hidden, bool qkv_bias, double drop_path_p)
      : drop_path_p_(drop_path_p) {
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)));
    attn = register_module("attn", std::make_shared<ViTAttentionImpl>(dim, heads, qkv_bias));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)));
    mlp = register_module("mlp", Mlp(dim, hidden));
  }

  // The block's two halves, each a probe step (blocks.i.attn, blocks.i.mlp):
  // the residual stream entering the half is its whole state. `branch`, when
  // given, receives the residual branch's output before the add.
  at::Tensor attention_half(const at::Tensor& x, at::Tensor* branch, at::Tensor* attn_map) {
    auto h = attn->forward(apply_layer_norm(norm1, x), attn_map);
    if (branch) *branch = h;
    return x + drop_path(h, drop_path_p_, is_training());
  }

  at::Tensor mlp_half(const at::Tensor& x, at::Tensor* branch) {
    auto h = mlp->forward(apply_layer_norm(norm2, x));
    if (branch) *branch = h;
    return x + drop_path(h, drop_path_p_, is_training());
  }

  nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<ViTAttentionImpl> attn;
  Mlp mlp{nullptr};

 private:
  double drop_path_p_;
};

}  // namespace detail

DeiTConfig read_deit_config(const std::string& arch, DeiTConfig preset, const nlohmann::json& options) {
  OptionReader r(arch, options);
  DeiTConfig c = preset;
  c.img_size = r.get_int("img_size", preset.img_size);
  c.patch_size = r.get_int("patch_size", preset.patch_size);
  c.embed_dim = r.get_int("embed_dim", preset.embed_dim);
  c.depth = r.get_int("depth", preset.depth);
  c.num_heads = r.get_int("num_heads", preset.num_heads);
  c.mlp_ratio = r.get_double("mlp_ratio", preset.mlp_ratio);
  c.qkv_bias = r.get_bool("qkv_bias", preset.qkv_bias);
  c.drop_path_rate = r.get_double("drop_path_rate", preset.drop_path_rate);
  r.finish();
  const std::string who = "model '" + arch + "': option ";
  if (c.patch_size < 1) throw Error(who + "'patch_size' must be positive");
  if (c.img_size < c.patch_size || c.img_size % c.patch_size != 0)
    throw Error(who + "'img_size' (" + std::to_string(c.img_size) +
                ") must be a positive multiple of patch_size (" + std::to_string(c.patch_size) + ")");
  if (c.depth < 1) throw Error(who + "'depth' must be at least 1");
  if (c.num_heads < 1 || c.embed_dim < 1 || c.embed_dim % c.num_heads != 0)
    throw Error(who + "'embed_dim' (" + std::to_string(c.embed_dim) +
                ") must be a positive multiple of num_heads (" + std::to_string(c.num_heads) + ")");
  if (!(c.mlp_ratio > 0.0)) throw Error(who + "'mlp_ratio' must be positive");
  if (!(c.drop_path_rate >= 0.0 && c.drop_path_rate < 1.0))
    throw Error(who + "'drop_path_rate' must be in [0, 1)");
  return c;
}

DeiT::DeiT(const DeiTConfig& cfg, int64_t num_classes, int64_t in_channels)
    : cfg_(cfg), in_channels_(in_channels) {
  if (num_classes < 1) throw Error("DeiT: num_classes must be positive");
  if (in_channels != 1 && in_channels != 3)
    throw Error("DeiT: in_channels must be 1 or 3, got " + std::to_string(in_channels));
  const int64_t C = cfg.embed_dim;
  const int64_t grid = cfg.img_size / cfg.patch_size;
  auto patch_embed = register_module("patch_embed", std::make_shared<nn::Module>());
  proj = patch_embed->register_module(
      "proj", nn::Conv2d(nn::Conv2dOptions(in_channels, C, cfg.patch_size).stride(cfg.patch_size)));
  cls_token = register_parameter("cls_token", at::zeros({1, 1, C}));
  pos_embed = register_parameter("pos_embed", at::zeros({1, grid * grid + 1, C}));
  nn::ModuleList blocks;
  // timm: drop-path rate rises linearly over the blocks (float32 linspace).
  const auto rates = at::linspace(0.0, cfg.drop_path_rate, cfg.depth, at::kFloat);
  const auto hidden = static_cast<int64_t>(static_cast<double>(C) * cfg.mlp_ratio);
  for (int64_t i = 0; i < cfg.depth; ++i) {
    auto block = std::make_shared<detail::ViTBlockImpl>(C, cfg.num_heads, hidden, cfg.qkv_bias,
                                                        rates[i].item<double>());
    blocks->push_back(block);
    blocks_.push_back(block);
  }
  register_module("blocks", blocks);
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({C}).eps(1e-6)));
  head = register_module("head", nn::Linear(C, num_classes));

  // Reference §2: timm/DeiT init, head and patch conv keep PyTorch defaults.
  init_vit_linear_and_norm(*this, "head");
  trunc_normal_(pos_embed, 0.0, 0.02);
  trunc_normal_(cls_token, 0.0, 0.02);
}

std::vector<std::string> DeiT::probe_points() const {
  std::vector<std::string> out{"patch_embed"};
  for (int64_t i = 0; i < cfg_.depth; ++i) {
    out.push_back("blocks." + std::to_string(i) + ".attn");
    out.push_back("blocks." + std::to_string(i) + ".mlp");
  }
  out.push_back("head");
  return out;
}

int64_t DeiT::probe_prefix_tokens(const std::string& probe) const {
  // The blocks see [cls, patches]; patch_embed runs before the class token is prepended.
  return probe.rfind("blocks.", 0) == 0 ? 1 : 0;
}

std::vector<InitBlock> DeiT::block_map() const {
  std::vector<InitBlock> out{{-1, {"patch_embed", "cls_token", "pos_embed"}}};
  for (int64_t i = 0; i < cfg_.depth; ++i)
    out.push_back({static_cast<int>(i), {"blocks." + std::to_string(i)}});
  out.push_back({static_cast<int>(cfg_.depth), {"norm"}});
  return out;
}

at::Tensor DeiT::pos_embed_for(int64_t gh, int64_t gw) const {
  const int64_t n = cfg_.img_size / cfg_.patch_size;
  if (gh == n && gw == n) return pos_embed;
  const int64_t C = cfg_.embed_dim;
  auto prefix = pos_embed.narrow(1, 0, 1);
  auto grid = pos_embed.narrow(1, 1, n * n).reshape({1, n, n, C}).permute({0, 3, 1, 2});
  // timm's resample_abs_pos_embed: F.interpolate(size, bicubic, antialias=True).
  grid = at::_upsample_bicubic2d_aa(grid.to(at::kFloat), {gh, gw}, /*align_corners=*/false, c10::nullopt,
                                    c10::nullopt)
             .to(pos_embed.scalar_type());
  grid = grid.permute({0, 2, 3, 1}).reshape({1, gh * gw, C});
  return at::cat({prefix, grid}, 1);
}

// Steps: patch_embed (the image to the token stream with the class token and
// positions), two per block (attn, mlp), the head (final norm, class token).
at::Tensor DeiT::step(size_t k, const at::Tensor& x, ProbeTrace& trace) {
  if (k == 0) return embed(x, trace);
  const size_t block = (k - 1) / 2;
  if (block == blocks_.size()) return classify(x, trace);
  const std::string name = "blocks." + std::to_string(block);
  const bool attention = (k - 1) % 2 == 0;
  const std::string probe = name + (attention ? ".attn" : ".mlp");
  at::Tensor branch, amap;
  at::Tensor* keep = trace.wants(probe) ? &branch : nullptr;
  auto out = attention ? blocks_[block]->attention_half(x, keep, trace.attention ? &amap : nullptr)
                       : blocks_[block]->mlp_half(x, keep);
  if (keep) trace.output(probe, branch);
  if (attention && trace.attention)
    trace.attention->push_back({name, amap, trace.image_h / cfg_.patch_size, trace.image_w / cfg_.patch_size,
                                cfg_.patch_size, 0, 0, 1});
  return out;
}

at::Tensor DeiT::embed(const at::Tensor& input, ProbeTrace& trace) {
  const int64_t p = cfg_.patch_size;
  if (input.dim() != 4 || input.size(1) != in_channels_)
    throw Error("DeiT: expected input (B, " + std::to_string(in_channels_) + ", H, W), got " +
                std::to_string(input.dim()) + "-d " + c10::str(input.sizes()));
  if (input.size(2) % p != 0 || input.size(3) % p != 0 || input.size(2) < p || input.size(3) < p)
    throw Error("DeiT: input " + std::to_string(input.size(2)) + "x" + std::to_string(input.size(3)) +
                " is not a multiple of the patch size " + std::to_string(p));
  auto x = proj->forward(input);  // (B, C, gh, gw)
  const int64_t B = x.size(0), gh = x.size(2), gw = x.size(3);
  x = x.flatten(2).transpose(1, 2);
  trace.output("patch_embed", x);
  return at::cat({cls_token.expand({B, -1, -1}), x}, 1) + pos_embed_for(gh, gw);
}

at::Tensor DeiT::classify(const at::Tensor& tokens, ProbeTrace& trace) {
  auto x = apply_linear(head, apply_layer_norm(norm, tokens).select(1, 0));
  trace.output("head", x);
  return x;
}

std::vector<BlockAttention> DeiT::attention_maps(const at::Tensor& input) {
  TraceRequest request;
  request.attention = true;
  return forward_traced(input, request).attention;
}

void DeiT::adapt_weights(TensorList& weights) const {
  static const std::regex block(R"(^blocks\.(\d+)\..*$)");
  int64_t deepest = -1;
  bool has_last = false;
  for (const auto& w : weights) {
    std::smatch m;
    if (!std::regex_match(w.first, m, block)) continue;
    const int64_t i = std::stoll(m[1].str());
    deepest = std::max(deepest, i);
    has_last = has_last || i == cfg_.depth - 1;
  }
  if (deepest < cfg_.depth || !has_last) return;
  TensorList kept;
  for (auto& w : weights) {
    std::smatch m;
    if (std::regex_match(w.first, m, block) && std::stoll(m[1].str()) >= cfg_.depth) continue;
    kept.push_back(std::move(w));
  }
  spdlog::info("DeiT with {} blocks: dropped blocks {}..{} of the weights (truncated DeiT)", cfg_.depth,
               cfg_.depth, deepest);
  weights = std::move(kept);
}

void register_deit_models(Registry& registry) {
  struct Preset {
    const char* name;
    int64_t dim, heads;
  };
  for (const Preset& p : {Preset{"deit_tiny_patch16_224", 192, 3}, Preset{"deit_small_patch16_224", 384, 6},
                          Preset{"deit_base_patch16_224", 768, 12}}) {
    DeiTConfig preset;
    preset.embed_dim = p.dim;
    preset.num_heads = p.heads;
    registry.add({p.name, Family::deit,
                  std::string("timm ") + p.name + " (option depth < 12: the truncated DeiT)", 224},
                 [preset](const ModelSpec& spec) -> std::shared_ptr<Network> {
                   return std::make_shared<DeiT>(read_deit_config(spec.arch, preset, spec.options),
                                                 spec.num_classes, spec.in_channels);
                 });
  }
  registry.add({"deit", Family::deit,
                "configurable DeiT/ViT (options: img_size, patch_size, embed_dim, depth, "
                "num_heads, mlp_ratio, qkv_bias, drop_path_rate); defaults are deit_small's "
                "with img_size = the input size",
                224},
               [](const ModelSpec& spec) -> std::shared_ptr<Network> {
                 DeiTConfig preset;
                 preset.img_size = spec.image_size;
                 return std::make_shared<DeiT>(read_deit_config(spec.arch, preset, spec.options),
                                               spec.num_classes, spec.in_channels);
               });
}

}  // namespace featreuse::models
