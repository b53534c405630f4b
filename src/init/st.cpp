// ST sampling (reference §2.1, get_wt_state) and the name/kind bookkeeping WT-ST shares.
#include "featreuse/init/st.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>
#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::init {

namespace {

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string leaf(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Learned embeddings of the transformer families: the reference copies them
// into the ST state (never sampled) and treats them as neither weights nor norms.
bool is_embedding(const std::string& leaf_name) {
  static const std::set<std::string> names = {"cls_token", "dist_token", "pos_embed", "absolute_pos_embed",
                                              "relative_position_bias_table"};
  return names.count(leaf_name) > 0;
}

TensorKind module_kind(torch::nn::Module& m) {
  if (m.as<torch::nn::Conv2d>() || m.as<torch::nn::Linear>()) return TensorKind::conv_linear;
  if (m.as<torch::nn::BatchNorm2d>()) return TensorKind::batch_norm;
  if (m.as<torch::nn::LayerNorm>()) return TensorKind::layer_norm;
  return TensorKind::other;
}

// i.i.d. N(mean, std^2) of `t`'s own (per-tensor, unbiased) statistics.
at::Tensor sample_like(const std::string& name, const at::Tensor& t, at::Generator& gen) {
  if (!t.is_floating_point()) throw Error("ST: cannot sample '" + name + "': not a floating-point tensor");
  if (t.numel() == 0) return t.clone();
  const at::Tensor f = t.to(at::kFloat);
  const double mean = f.mean().item<double>();
  // One element: no unbiased std (torch: NaN); draw with std 0, i.e. keep the value.
  const double std = t.numel() > 1 ? f.std().item<double>() : 0.0;
  if (!std::isfinite(mean) || !std::isfinite(std))
    throw Error("ST: source tensor '" + name + "' has a non-finite mean or std (mean " +
                std::to_string(mean) + ", std " + std::to_string(std) + ")");
  return at::normal(mean, std, t.sizes(), gen, at::TensorOptions().dtype(at::kFloat)).to(t.scalar_type());
}

}  // namespace

const char* to_string(TensorKind kind) {
  switch (kind) {
    case TensorKind::conv_linear:
      return "conv_linear";
    case TensorKind::batch_norm:
      return "batch_norm";
    case TensorKind::layer_norm:
      return "layer_norm";
    case TensorKind::embedding:
      return "embedding";
    case TensorKind::other:
      return "other";
  }
  return "?";
}

const char* to_string(StRole role) {
  switch (role) {
    case StRole::sampled:
      return "sampled";
    case StRole::reset:
      return "reset";
    case StRole::copied:
      return "copied";
  }
  return "?";
}

std::vector<KindEntry> tensor_kinds(models::Network& net) {
  std::map<std::string, TensorKind> kinds;
  auto add_own = [&](torch::nn::Module& m, const std::string& path) {
    const std::string prefix = path.empty() ? "" : path + ".";
    const TensorKind owner = module_kind(m);
    auto add = [&](const std::string& name) {
      kinds[prefix + name] = owner == TensorKind::other && is_embedding(name) ? TensorKind::embedding : owner;
    };
    for (const auto& p : m.named_parameters(/*recurse=*/false)) add(p.key());
    for (const auto& b : m.named_buffers(/*recurse=*/false)) add(b.key());
  };
  add_own(net, "");
  for (const auto& item : net.named_modules("", /*include_self=*/false)) add_own(*item.value(), item.key());
  std::vector<KindEntry> out;
  const std::string head = net.head_name();
  for (const auto& e : models::state_entries(net))
    if (!models::under_module(e.name, head)) out.push_back({e.name, kinds.at(e.name)});
  return out;
}

StRole st_role(TensorKind kind, const StOptions& options) {
  switch (kind) {
    case TensorKind::conv_linear:
      return StRole::sampled;
    case TensorKind::layer_norm:
      return StRole::reset;
    case TensorKind::embedding:
      return options.sample_embeddings ? StRole::sampled : StRole::copied;
    case TensorKind::batch_norm:  // reset per ST block by WT-ST, copied here (reference §2.1 step 3)
    case TensorKind::other:
      return StRole::copied;
  }
  return StRole::copied;
}

models::TensorList canonical_weights(models::Network& net, const models::TensorList& weights,
                                     const std::string& what) {
  models::TensorList adapted = weights;
  if (!adapted.empty()) {
    bool all = true;
    for (const auto& kv : adapted) all = all && kv.first.rfind("module.", 0) == 0;
    if (all)
      for (auto& kv : adapted) kv.first.erase(0, 7);
  }
  net.adapt_weights(adapted);

  std::map<std::string, at::Tensor> by_name;
  std::vector<std::string> repeated, missing, mismatched, unexpected;
  for (const auto& [k, t] : adapted)
    if (!by_name.emplace(k, t).second) repeated.push_back(k);
  const std::string head = net.head_name();
  const std::string first_conv = net.first_conv_name() + ".weight";
  models::TensorList out;
  std::set<std::string> used;
  for (const auto& e : models::state_entries(net)) {
    if (models::under_module(e.name, head)) continue;
    auto it = by_name.find(e.name);
    if (it == by_name.end()) {
      missing.push_back(e.name);
      continue;
    }
    used.insert(e.name);
    const at::Tensor& t = it->second;
    bool fits = t.sizes() == e.tensor.sizes();
    if (!fits && e.name == first_conv && t.dim() == 4 && e.tensor.dim() == 4) {
      // Input channels may differ (a 3-channel source for a 1-channel network).
      fits = t.size(0) == e.tensor.size(0) && t.size(2) == e.tensor.size(2) && t.size(3) == e.tensor.size(3);
    }
    if (!fits) {
      mismatched.push_back(e.name + " (weights " + shape_str(t.sizes()) + ", model " +
                           shape_str(e.tensor.sizes()) + ")");
      continue;
    }
    out.emplace_back(e.name, t);
  }
  for (const auto& [k, t] : adapted)
    if (!used.count(k) && !models::under_module(k, head)) unexpected.push_back(k);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || !repeated.empty()) {
    std::string msg = what + ": weights do not fit the model";
    if (!missing.empty()) msg += "; " + std::to_string(missing.size()) + " missing: " + join(missing);
    if (!unexpected.empty())
      msg += "; " + std::to_string(unexpected.size()) + " unexpected: " + join(unexpected);
    if (!mismatched.empty())
      msg += "; " + std::to_string(mismatched.size()) + " mismatched: " + join(mismatched);
    if (!repeated.empty()) msg += "; repeated: " + join(repeated);
    throw Error(msg);
  }
  return out;
}

models::TensorList sample_st(models::Network& net, const models::TensorList& source, uint64_t seed,
                             const StOptions& options) {
  const models::TensorList canon = canonical_weights(net, source, "ST source");
  const std::vector<KindEntry> kinds = tensor_kinds(net);  // same entries, same order as canon
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  models::TensorList out(canon.size());
  // Conv2d/Linear first, embeddings after: the option does not move the other draws.
  for (size_t pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < canon.size(); ++i) {
      const auto& [name, t] = canon[i];
      const bool this_pass = (kinds[i].kind == TensorKind::conv_linear) == (pass == 0);
      if (!this_pass || st_role(kinds[i].kind, options) != StRole::sampled) continue;
      out[i] = {name, sample_like(name, t, gen)};
    }
  }
  for (size_t i = 0; i < canon.size(); ++i) {
    const auto& [name, t] = canon[i];
    const StRole role = st_role(kinds[i].kind, options);
    if (role == StRole::copied) {
      out[i] = {name, t.clone()};
    } else if (role == StRole::reset) {  // LayerNorm: weight 1, bias 0
      out[i] = {name, leaf(name) == "weight" ? at::ones_like(t) : at::zeros_like(t)};
    }
  }
  return out;
}

}  // namespace featreuse::init
