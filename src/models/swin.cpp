// Swin Transformer with the official checkpoints' module tree and timm
// v0.9.16's forward arithmetic (tests/oracles/timm_parity.py checks both).
#include "featreuse/models/swin.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <regex>

#include "featreuse/core/error.hpp"
#include "featreuse/models/batched_matmul.hpp"
#include "featreuse/models/families.hpp"
#include "featreuse/models/options.hpp"
#include "featreuse/models/vit_layers.hpp"

namespace featreuse::models {

namespace nn = torch::nn;

namespace detail {

namespace {

// (B, H, W, C) -> (B * nW, ws, ws, C), windows row-major.
at::Tensor window_partition(const at::Tensor& x, int64_t ws) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  return x.view({B, H / ws, ws, W / ws, ws, C})
      .permute({0, 1, 3, 2, 4, 5})
      .contiguous()
      .view({-1, ws, ws, C});
}

// Inverse of window_partition: (B * nW, ws, ws, C) -> (B, H, W, C).
at::Tensor window_reverse(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W) {
  const int64_t C = windows.size(-1);
  return windows.view({-1, H / ws, W / ws, ws, ws, C})
      .permute({0, 1, 3, 2, 4, 5})
      .contiguous()
      .view({-1, H, W, C});
}

// Index into the (2ws-1)^2 bias table for every pair of tokens in a window.
at::Tensor relative_position_index(int64_t ws) {
  auto r = at::arange(ws, at::kLong);
  auto grids = at::meshgrid({r, r}, "ij");
  auto coords = at::stack({grids[0], grids[1]}).flatten(1);                                // 2, N
  auto rel = (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}).contiguous();  // N,N,2
  auto dy = rel.select(2, 0) + (ws - 1);
  auto dx = rel.select(2, 1) + (ws - 1);
  return dy * (2 * ws - 1) + dx;
}

// The SW-MSA mask: 0 within a region of the shifted grid, -100 across.
at::Tensor shifted_window_mask(int64_t H, int64_t W, int64_t ws, int64_t shift) {
  const int64_t Hp = (H + ws - 1) / ws * ws, Wp = (W + ws - 1) / ws * ws;
  auto img = at::zeros({1, Hp, Wp, 1});
  const int64_t hb[4] = {0, Hp - ws, Hp - shift, Hp};
  const int64_t wb[4] = {0, Wp - ws, Wp - shift, Wp};
  double cnt = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      img.slice(1, hb[i], hb[i + 1]).slice(2, wb[j], wb[j + 1]).fill_(cnt);
      cnt += 1;
    }
  auto mw = window_partition(img, ws).view({-1, ws * ws});
  auto mask = mw.unsqueeze(1) - mw.unsqueeze(2);
  return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0);
}

}  // namespace

// Window multi-head self-attention with the relative position bias.
class WindowAttentionImpl : public nn::Module {
 public:
  WindowAttentionImpl(int64_t dim, int64_t ws, int64_t heads, bool qkv_bias)
      : ws_(ws), heads_(heads), scale_(std::pow(static_cast<double>(dim / heads), -0.5)) {
    relative_position_bias_table =
        register_parameter("relative_position_bias_table", at::zeros({(2 * ws - 1) * (2 * ws - 1), heads}));
    index_ = register_buffer("relative_position_index", relative_position_index(ws));
    qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
    proj = register_module("proj", nn::Linear(dim, dim));
  }

  // x: (B*nW, N, C); mask: (nW, N, N) or undefined. `attn_out` receives the
  // softmax weights (B*nW, heads, N, N).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, at::Tensor* attn_out) {
    const int64_t Bn = x.size(0), N = x.size(1), C = x.size(2);
    auto qkv_t = apply_linear(qkv, x).reshape({Bn, N, 3, heads_, C / heads_}).permute({2, 0, 3, 1, 4});
    auto q = qkv_t[0] * scale_;
    auto attn = batched_matmul(q, qkv_t[1].transpose(-2, -1));
    auto bias = relative_position_bias_table.index_select(0, index_.view(-1).to(at::kLong))
                    .view({N, N, -1})
                    .permute({2, 0, 1})
                    .contiguous();
    attn = attn + bias.unsqueeze(0);
    if (mask.defined()) {
      const int64_t nW = mask.size(0);
      attn = attn.view({-1, nW, heads_, N, N}) + mask.unsqueeze(1).unsqueeze(0);
      attn = attn.view({-1, heads_, N, N});
    }
    attn = attn.softmax(-1);
    if (attn_out) *attn_out = attn;
    auto out = batched_matmul(attn, qkv_t[2]).transpose(1, 2).reshape({Bn, N, C});
    return apply_linear(proj, out);
  }

  at::Tensor relative_position_bias_table;
  nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  at::Tensor index_;
  int64_t ws_, heads_;
  double scale_;
};

class SwinBlockImpl : public nn::Module {
 public:
  SwinBlockImpl(int64_t dim, int64_t res, int64_t heads, int64_t window, int64_t shift, int64_t hidden,
                bool qkv_bias, double drop_path_p)
      : res_(res), ws_(window), shift_(shift), drop_path_p_(drop_path_p) {
    // A stage no larger than the window runs one unshifted window (official
    // Swin and timm agree on this).
    if (res <= window) {
      ws_ = res;
      shift_ = 0;
    }
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({dim})));
    attn = register_module("attn", std::make_shared<WindowAttentionImpl>(dim, ws_, heads, qkv_bias));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({dim})));
    mlp = register_module("mlp", Mlp(dim, hidden));
    if (shift_ > 0) attn_mask_ = register_buffer("attn_mask", shifted_window_mask(res, res, ws_, shift_));
  }

  // The block's two halves, each a probe step (attn, mlp): the residual
  // stream entering the half, (B, L, C) on the res x res grid, is its whole
  // state. `branch`, when given, receives the residual branch's output (in
  // image token order) before drop-path and the add.
  at::Tensor attention_half(const at::Tensor& x, at::Tensor* branch, at::Tensor* attn_map) {
    const int64_t B = x.size(0), C = x.size(2), H = res_, W = res_;
    auto h = apply_layer_norm(norm1, x).view({B, H, W, C});
    if (shift_ > 0) h = at::roll(h, {-shift_, -shift_}, {1, 2});
    const int64_t pad_h = (ws_ - H % ws_) % ws_, pad_w = (ws_ - W % ws_) % ws_;
    if (pad_h || pad_w) h = at::constant_pad_nd(h, {0, 0, 0, pad_w, 0, pad_h});
    const int64_t Hp = H + pad_h, Wp = W + pad_w;
    auto windows = window_partition(h, ws_).view({-1, ws_ * ws_, C});
    at::Tensor amap;
    windows = attn->forward(windows, attn_mask_, attn_map ? &amap : nullptr);
    h = window_reverse(windows.view({-1, ws_, ws_, C}), ws_, Hp, Wp);
    if (pad_h || pad_w) h = h.slice(1, 0, H).slice(2, 0, W).contiguous();
    if (shift_ > 0) h = at::roll(h, {shift_, shift_}, {1, 2});
    h = h.reshape({B, H * W, C});
    if (branch) *branch = h;
    if (attn_map) *attn_map = amap.view({B, -1, amap.size(1), amap.size(2), amap.size(3)});
    return x + drop_path(h, drop_path_p_, is_training());
  }

  at::Tensor mlp_half(const at::Tensor& x, at::Tensor* branch) {
    auto h = mlp->forward(apply_layer_norm(norm2, x));
    if (branch) *branch = h;
    return x + drop_path(h, drop_path_p_, is_training());
  }

  int64_t window() const { return ws_; }
  int64_t shift() const { return shift_; }

  nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<WindowAttentionImpl> attn;
  Mlp mlp{nullptr};

 private:
  int64_t res_, ws_, shift_;
  double drop_path_p_;
  at::Tensor attn_mask_;
};

// 2x2 neighbourhood concat (x0 = even row/even col, x1 = odd/even, x2 =
// even/odd, x3 = odd/odd) -> LN(4C) -> Linear(4C, 2C, no bias).
class PatchMergingImpl : public nn::Module {
 public:
  PatchMergingImpl(int64_t dim, int64_t res) : res_(res) {
    reduction = register_module("reduction", nn::Linear(nn::LinearOptions(4 * dim, 2 * dim).bias(false)));
    norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({4 * dim})));
  }

  at::Tensor forward(const at::Tensor& x) {
    const int64_t B = x.size(0), C = x.size(2);
    // (B, H/2, 2, W/2, 2, C) -> (B, H/2, W/2, [w, h], C): x0, x1, x2, x3.
    auto y = x.view({B, res_ / 2, 2, res_ / 2, 2, C}).permute({0, 1, 3, 4, 2, 5}).reshape({B, -1, 4 * C});
    return apply_linear(reduction, apply_layer_norm(norm, y));
  }

  nn::Linear reduction{nullptr};
  nn::LayerNorm norm{nullptr};

 private:
  int64_t res_;
};

}  // namespace detail

SwinConfig read_swin_config(const std::string& arch, SwinConfig preset, const nlohmann::json& options) {
  OptionReader r(arch, options);
  SwinConfig c = preset;
  c.patch_size = r.get_int("patch_size", preset.patch_size);
  c.embed_dim = r.get_int("embed_dim", preset.embed_dim);
  c.depths = r.get_int_list("depths", preset.depths);
  c.num_heads = r.get_int_list("num_heads", preset.num_heads);
  c.window_size = r.get_int("window_size", preset.window_size);
  c.mlp_ratio = r.get_double("mlp_ratio", preset.mlp_ratio);
  c.qkv_bias = r.get_bool("qkv_bias", preset.qkv_bias);
  c.drop_path_rate = r.get_double("drop_path_rate", preset.drop_path_rate);
  r.finish();
  const std::string who = "model '" + arch + "': option ";
  if (c.patch_size < 1) throw Error(who + "'patch_size' must be positive");
  if (c.embed_dim < 1) throw Error(who + "'embed_dim' must be positive");
  if (c.window_size < 1) throw Error(who + "'window_size' must be positive");
  if (c.depths.empty()) throw Error(who + "'depths' must not be empty");
  if (c.depths.size() != c.num_heads.size())
    throw Error(who + "'num_heads' must have one entry per stage (" + std::to_string(c.depths.size()) +
                "), got " + std::to_string(c.num_heads.size()));
  for (size_t s = 0; s < c.depths.size(); ++s) {
    if (c.depths[s] < 1) throw Error(who + "'depths' needs at least one block per stage");
    const int64_t dim = c.embed_dim << s;
    if (c.num_heads[s] < 1 || dim % c.num_heads[s] != 0)
      throw Error(who + "'num_heads' [" + std::to_string(s) + "] = " + std::to_string(c.num_heads[s]) +
                  " must divide the stage width " + std::to_string(dim));
  }
  if (!(c.mlp_ratio > 0.0)) throw Error(who + "'mlp_ratio' must be positive");
  if (!(c.drop_path_rate >= 0.0 && c.drop_path_rate < 1.0))
    throw Error(who + "'drop_path_rate' must be in [0, 1)");
  return c;
}

SwinTransformer::SwinTransformer(const SwinConfig& cfg, int64_t num_classes, int64_t in_channels,
                                 int64_t image_size)
    : cfg_(cfg), in_channels_(in_channels), image_size_(image_size) {
  if (num_classes < 1) throw Error("Swin: num_classes must be positive");
  if (in_channels != 1 && in_channels != 3)
    throw Error("Swin: in_channels must be 1 or 3, got " + std::to_string(in_channels));
  const auto stages = static_cast<int64_t>(cfg.depths.size());
  const int64_t grid = image_size / cfg.patch_size;
  if (image_size % cfg.patch_size != 0 || grid < 1 || grid % (int64_t{1} << (stages - 1)) != 0)
    throw Error("Swin: image size " + std::to_string(image_size) + " / patch " +
                std::to_string(cfg.patch_size) + " must give a token grid divisible by " +
                std::to_string(int64_t{1} << (stages - 1)) + " (" + std::to_string(stages) +
                " stages halve it)");

  auto patch_embed = register_module("patch_embed", std::make_shared<nn::Module>());
  proj = patch_embed->register_module(
      "proj",
      nn::Conv2d(nn::Conv2dOptions(in_channels, cfg.embed_dim, cfg.patch_size).stride(cfg.patch_size)));
  embed_norm = patch_embed->register_module("norm", nn::LayerNorm(nn::LayerNormOptions({cfg.embed_dim})));

  int64_t total = 0;
  for (auto d : cfg.depths) total += d;
  const auto rates = at::linspace(0.0, cfg.drop_path_rate, total, at::kFloat);
  nn::ModuleList layers;
  int64_t j = 0, res = grid, dim = cfg.embed_dim;
  for (int64_t s = 0; s < stages; ++s) {
    auto stage = std::make_shared<nn::Module>();
    nn::ModuleList blocks;
    const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * cfg.mlp_ratio);
    for (int64_t b = 0; b < cfg.depths[s]; ++b, ++j) {
      auto block = std::make_shared<detail::SwinBlockImpl>(dim, res, cfg.num_heads[s], cfg.window_size,
                                                           b % 2 == 0 ? 0 : cfg.window_size / 2, hidden,
                                                           cfg.qkv_bias, rates[j].item<double>());
      blocks->push_back(block);
      blocks_.push_back({"layers." + std::to_string(s) + ".blocks." + std::to_string(b), block, s});
    }
    stage->register_module("blocks", blocks);
    if (s + 1 < stages) {
      auto merge = std::make_shared<detail::PatchMergingImpl>(dim, res);
      stage->register_module("downsample", merge);
      downsample_.push_back(merge);
      res /= 2;
      dim *= 2;
    }
    layers->push_back(stage);
  }
  register_module("layers", layers);
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({dim})));
  head = register_module("head", nn::Linear(dim, num_classes));

  init_vit_linear_and_norm(*this, "head");
  for (auto& b : blocks_) trunc_normal_(b.block->attn->relative_position_bias_table, 0.0, 0.02);
}

std::vector<std::string> SwinTransformer::probe_points() const {
  std::vector<std::string> out{"patch_embed"};
  for (const auto& b : blocks_) {
    out.push_back(b.name + ".attn");
    out.push_back(b.name + ".mlp");
  }
  out.push_back("head");
  return out;
}

std::vector<InitBlock> SwinTransformer::block_map() const {
  std::vector<InitBlock> out{{-1, {"patch_embed"}}};
  int j = 0;
  for (size_t s = 0; s < cfg_.depths.size(); ++s) {
    for (int64_t b = 0; b < cfg_.depths[s]; ++b, ++j)
      out.push_back({j, {"layers." + std::to_string(s) + ".blocks." + std::to_string(b)}});
    // ST while t <= the stage's last block (reference §2.3).
    if (s + 1 < cfg_.depths.size()) out.push_back({j, {"layers." + std::to_string(s) + ".downsample"}});
  }
  out.push_back({j, {"norm"}});
  return out;
}

// Steps: patch_embed, two per block (attn, mlp; a stage's patch merging ends
// its last mlp step, so a block is entered with its own input), the head
// (final norm, mean over tokens).
at::Tensor SwinTransformer::step(size_t k, const at::Tensor& x, ProbeTrace& trace) {
  if (k == 0) return embed(x, trace);
  const size_t j = (k - 1) / 2;
  if (j == blocks_.size()) return classify(x, trace);
  const BlockRef& b = blocks_[j];
  if ((k - 1) % 2 == 0) return attention_step(b, x, trace);
  at::Tensor branch;
  at::Tensor* keep = trace.wants(b.name + ".mlp") ? &branch : nullptr;
  auto out = b.block->mlp_half(x, keep);
  if (keep) trace.output(b.name + ".mlp", branch);
  const bool stage_ends = j + 1 < blocks_.size() && blocks_[j + 1].stage != b.stage;
  return stage_ends ? downsample_[size_t(b.stage)]->forward(out) : out;
}

at::Tensor SwinTransformer::attention_step(const BlockRef& b, const at::Tensor& x, ProbeTrace& trace) {
  at::Tensor branch, amap;
  at::Tensor* keep = trace.wants(b.name + ".attn") ? &branch : nullptr;
  auto out = b.block->attention_half(x, keep, trace.attention ? &amap : nullptr);
  if (keep) trace.output(b.name + ".attn", branch);
  if (trace.attention) {
    const int64_t res = (image_size_ / cfg_.patch_size) >> b.stage, token_px = cfg_.patch_size << b.stage;
    trace.attention->push_back({b.name, amap, res, res, token_px, b.block->window(), b.block->shift(), 0});
  }
  return out;
}

at::Tensor SwinTransformer::embed(const at::Tensor& input, ProbeTrace& trace) {
  if (input.dim() != 4 || input.size(1) != in_channels_ || input.size(2) != image_size_ ||
      input.size(3) != image_size_)
    throw Error("Swin: expected input (B, " + std::to_string(in_channels_) + ", " +
                std::to_string(image_size_) + ", " + std::to_string(image_size_) +
                ") (the model is built for one input size), got " + c10::str(input.sizes()));
  auto x = proj->forward(input).flatten(2).transpose(1, 2);  // (B, L, C)
  x = apply_layer_norm(embed_norm, x);
  trace.output("patch_embed", x);
  return x;
}

at::Tensor SwinTransformer::classify(const at::Tensor& tokens, ProbeTrace& trace) {
  auto x = apply_linear(head, apply_layer_norm(norm, tokens).mean(1));
  trace.output("head", x);
  return x;
}

std::vector<BlockAttention> SwinTransformer::attention_maps(const at::Tensor& input) {
  TraceRequest request;
  request.attention = true;
  return forward_traced(input, request).attention;
}

void SwinTransformer::adapt_weights(TensorList& weights) const {
  auto derived = [](const std::string& k) {
    auto ends = [&](const std::string& suffix) {
      return k.size() >= suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return k.rfind("layers.", 0) == 0 && (ends(".relative_position_index") || ends(".attn_mask"));
  };
  std::vector<std::string> keys;
  for (const auto& w : weights) keys.push_back(w.first);
  const bool timm = is_timm_swin_layout(keys);
  TensorList out;
  for (auto& w : weights)
    if (!derived(w.first)) out.emplace_back(timm ? swin_key_from_timm(w.first) : w.first, w.second);
  for (const auto& b : named_buffers()) out.emplace_back(b.key(), b.value());
  weights = std::move(out);
}

std::string swin_key_from_timm(const std::string& key) {
  static const std::regex downsample(R"(^layers\.(\d+)\.downsample\.(.*)$)");
  std::smatch m;
  if (std::regex_match(key, m, downsample)) {
    const int s = std::stoi(m[1].str());
    if (s > 0) return "layers." + std::to_string(s - 1) + ".downsample." + m[2].str();
  }
  if (key.rfind("head.fc.", 0) == 0) return "head." + key.substr(8);
  return key;
}

bool is_timm_swin_layout(const std::vector<std::string>& keys) {
  static const std::regex downsample(R"(^layers\.(\d+)\.downsample\..*$)");
  bool any_downsample = false;
  for (const auto& k : keys) {
    if (k.rfind("head.fc.", 0) == 0) return true;
    std::smatch m;
    if (std::regex_match(k, m, downsample)) {
      if (m[1].str() == "0") return false;
      any_downsample = true;
    }
  }
  return any_downsample;
}

void register_swin_models(Registry& registry) {
  struct Preset {
    const char* name;
    int64_t dim;
    std::vector<int64_t> depths, heads;
    double drop_path;
  };
  const std::vector<Preset> presets = {
      {"swin_tiny_patch4_window7_224", 96, {2, 2, 6, 2}, {3, 6, 12, 24}, 0.2},
      {"swin_small_patch4_window7_224", 96, {2, 2, 18, 2}, {3, 6, 12, 24}, 0.3},
      {"swin_base_patch4_window7_224", 128, {2, 2, 18, 2}, {4, 8, 16, 32}, 0.5}};
  for (const auto& p : presets) {
    SwinConfig preset;
    preset.embed_dim = p.dim;
    preset.depths = p.depths;
    preset.num_heads = p.heads;
    preset.drop_path_rate = p.drop_path;
    registry.add({p.name, Family::swin,
                  std::string("official Swin ") + p.name + " (drop-path " +
                      std::to_string(p.drop_path).substr(0, 3) + ")",
                  224},
                 [preset](const ModelSpec& spec) -> std::shared_ptr<Network> {
                   return std::make_shared<SwinTransformer>(read_swin_config(spec.arch, preset, spec.options),
                                                            spec.num_classes, spec.in_channels,
                                                            spec.image_size);
                 });
  }
  registry.add({"swin", Family::swin,
                "configurable Swin (options: patch_size, embed_dim, depths, num_heads, "
                "window_size, mlp_ratio, qkv_bias, drop_path_rate); defaults are swin_tiny's",
                224},
               [](const ModelSpec& spec) -> std::shared_ptr<Network> {
                 return std::make_shared<SwinTransformer>(read_swin_config(spec.arch, {}, spec.options),
                                                          spec.num_classes, spec.in_channels,
                                                          spec.image_size);
               });
}

}  // namespace featreuse::models
