// WT-ST by block map (reference §2.3) and the WT fraction -> depth rule.
#include "featreuse/init/wtst.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "featreuse/core/error.hpp"

namespace featreuse::init {

namespace {

std::string leaf(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// Reset value of a norm-layer tensor (BatchNorm2d / LayerNorm reset_parameters).
at::Tensor reset_value(const std::string& name, const at::Tensor& like) {
  const std::string l = leaf(name);
  if (l == "weight" || l == "running_var") return at::ones_like(like);
  return at::zeros_like(like);  // bias, running_mean, num_batches_tracked
}

// Block-map index of every state entry outside the head; entries in no block
// or in two are an error naming them.
std::map<std::string, int> block_of(models::Network& net, const std::vector<KindEntry>& kinds) {
  const auto blocks = net.block_map();
  std::map<std::string, int> out;
  std::vector<std::string> orphans, doubles;
  for (const auto& k : kinds) {
    int hits = 0;
    for (const auto& b : blocks)
      for (const auto& m : b.modules)
        if (models::under_module(k.name, m)) {
          if (hits++ == 0) out[k.name] = b.index;
        }
    if (hits == 0) orphans.push_back(k.name);
    if (hits > 1) doubles.push_back(k.name);
  }
  if (!orphans.empty() || !doubles.empty()) {
    std::string msg = "WT-ST block map of this model is inconsistent:";
    if (!orphans.empty()) {
      msg += " in no block:";
      for (const auto& n : orphans) msg += " " + n;
    }
    if (!doubles.empty()) {
      msg += orphans.empty() ? " in two blocks:" : "; in two blocks:";
      for (const auto& n : doubles) msg += " " + n;
    }
    throw Error(msg);
  }
  return out;
}

}  // namespace

const char* to_string(Origin origin) {
  switch (origin) {
    case Origin::wt:
      return "wt";
    case Origin::st:
      return "st";
    case Origin::reset:
      return "reset";
    case Origin::own:
      return "own";
  }
  return "?";
}

int full_wt_depth(models::Network& net) {
  const auto blocks = net.block_map();
  if (blocks.empty()) throw Error("this model has no WT-ST block map: st and wtst are not available for it");
  int top = blocks.front().index;
  for (const auto& b : blocks) top = std::max(top, b.index);
  return top;
}

std::vector<PlanEntry> wtst_plan(models::Network& net, int t) {
  const int full = full_wt_depth(net);
  if (t < -2 || t > full)
    throw Error("WT-ST depth " + std::to_string(t) + " is out of range for this model: -2 (ST) .. " +
                std::to_string(full) + " (full WT)");
  const auto kinds = tensor_kinds(net);
  const auto blocks = block_of(net, kinds);
  std::map<std::string, TensorKind> kind_of;
  for (const auto& k : kinds) kind_of[k.name] = k.kind;
  std::vector<PlanEntry> out;
  for (const auto& e : models::state_entries(net)) {
    auto k = kind_of.find(e.name);
    if (k == kind_of.end()) {  // the head
      out.push_back({e.name, TensorKind::other, 0, Origin::own});
      continue;
    }
    PlanEntry p{e.name, k->second, blocks.at(e.name), Origin::wt};
    if (p.block > t) {
      const bool norm = p.kind == TensorKind::batch_norm || p.kind == TensorKind::layer_norm;
      p.origin = norm ? Origin::reset : Origin::st;
    }
    out.push_back(std::move(p));
  }
  return out;
}

models::TensorList wtst_weights(models::Network& net, const models::TensorList& source,
                                const models::TensorList& st_state, int t) {
  const auto plan = wtst_plan(net, t);
  const auto src = canonical_weights(net, source, "WT-ST source");
  const auto st = canonical_weights(net, st_state, "ST state");
  std::map<std::string, at::Tensor> own;
  for (const auto& e : models::state_entries(net)) own[e.name] = e.tensor;
  models::TensorList out;
  size_t i = 0;  // src and st list the non-head plan entries in the same order
  for (const auto& p : plan) {
    if (p.origin == Origin::own) continue;
    if (src[i].first != p.name || st[i].first != p.name)
      throw Error("WT-ST: internal order mismatch at '" + p.name + "'");
    switch (p.origin) {
      case Origin::wt:
        out.emplace_back(p.name, src[i].second);
        break;
      case Origin::st:
        out.emplace_back(p.name, st[i].second);
        break;
      case Origin::reset:
        out.emplace_back(p.name, reset_value(p.name, own.at(p.name)));
        break;
      case Origin::own:
        break;
    }
    ++i;
  }
  return out;
}

models::LoadReport apply_wtst(models::Network& net, const models::TensorList& source,
                              const models::TensorList& st_state, int t, const std::string& what) {
  models::LoadOptions options;
  options.source = what;
  return models::load_weights(net, wtst_weights(net, source, st_state, t), options);
}

std::vector<int> wt_levels(models::Network& net) {
  full_wt_depth(net);  // throws without a block map
  const auto kinds = tensor_kinds(net);
  const auto blocks = block_of(net, kinds);
  std::set<int> indices, weighted;
  for (const auto& b : net.block_map()) indices.insert(b.index);
  for (const auto& k : kinds)
    if (k.kind == TensorKind::conv_linear) weighted.insert(blocks.at(k.name));
  std::vector<int> levels{-2};
  for (int index : indices) {
    if (weighted.count(index)) {
      levels.push_back(index);
    } else if (levels.size() > 1) {
      levels.back() = index;  // a norm-only block joins the unit before it
    } else {
      throw Error("WT-ST block map starts with a block without Conv2d/Linear weights (index " +
                  std::to_string(index) + "): no unit to join it to");
    }
  }
  return levels;
}

int depth_for_fraction(models::Network& net, double fraction) {
  if (!std::isfinite(fraction) || fraction < 0.0 || fraction > 1.0)
    throw Error("wt_fraction must be a number in [0, 1] (0 = ST, 1 = full WT), got " +
                std::to_string(fraction));
  const auto levels = wt_levels(net);
  const auto units = static_cast<double>(levels.size() - 1);
  // Round half up; the epsilon keeps e.g. 0.5 * 5 from rounding down through float noise.
  const auto n = static_cast<size_t>(std::floor(fraction * units + 0.5 + 1e-9));
  return levels[std::min(n, levels.size() - 1)];
}

}  // namespace featreuse::init
