// The init scheme catalog and its entry point; the work is in st.cpp and wtst.cpp.
#include "featreuse/init/init.hpp"

#include <torch/nn/modules/conv.h>

#include "featreuse/core/error.hpp"
#include "featreuse/core/registry.hpp"
#include "featreuse/models/weights.hpp"

namespace featreuse::init {

using nlohmann::json;

namespace {

// schemes() by name.
const featreuse::Registry<const SchemeInfo*>& scheme_registry() {
  static const featreuse::Registry<const SchemeInfo*> table = [] {
    featreuse::Registry<const SchemeInfo*> t("initialisation scheme");
    for (const auto& s : schemes()) t.add(s.name, &s);
    return t;
  }();
  return table;
}

std::string scheme_of(const json& init) {
  if (!init.is_object()) throw Error("init: expected a mapping with a 'scheme', got " + init.dump());
  if (!init.contains("scheme") || !init["scheme"].is_string())
    throw Error("init: 'scheme' must be a string naming one of ri, st, wt, wtst; got " + init.dump());
  return init["scheme"].get<std::string>();
}

bool given(const json& init, const char* key) { return init.contains(key) && !init[key].is_null(); }

std::string source_label(const json& init) {
  if (!init.contains("source")) return "source ?";
  return "source " + (init["source"].is_string() ? init["source"].get<std::string>() : init["source"].dump());
}

}  // namespace

const std::vector<SchemeInfo>& schemes() {
  static const std::vector<SchemeInfo> list = {
      {"ri", "random initialisation: the architecture's library default, seeded by the cell seed", false,
       json::object()},
      {"st",
       "stats transfer: every Conv2d/Linear weight and bias drawn i.i.d. from N(mean, std) of the source's "
       "tensor, "
       "norm layers reset, embeddings copied (or sampled: st_sample_embeddings), a fresh head",
       true,
       {{"st_sample_embeddings", false}},
       true},
      {"wt", "weight transfer: the source's weights, a fresh head", true, json::object()},
      {"wtst",
       "the source's weights up to block wt_blocks (-2 = ST .. full WT) or wt_fraction (0 = ST .. 1 = WT), "
       "ST for the rest, a fresh head",
       true,
       {{"wt_blocks", nullptr}, {"wt_fraction", nullptr}, {"st_sample_embeddings", false}},
       true},
  };
  return list;
}

void check_init(const json& init) {
  const std::string scheme = scheme_of(init);
  if (!scheme_registry().contains(scheme)) throw Error("init: " + scheme_registry().unknown(scheme));
  const SchemeInfo* info = scheme_registry().get(scheme);
  for (auto it = init.begin(); it != init.end(); ++it) {
    // "source" and "st_state" name the tasks whose outputs the init reads.
    const bool reference = it.key() == "source" || (it.key() == "st_state" && info->needs_st_state);
    if (it.key() == "scheme" || reference || info->params.contains(it.key())) continue;
    std::string known = info->needs_st_state ? "scheme, source, st_state" : "scheme, source";
    for (auto p = info->params.begin(); p != info->params.end(); ++p) known += ", " + p.key();
    throw Error("init " + scheme + ": unknown key '" + it.key() + "'; known: " + known);
  }
  const std::string where = "init " + scheme + ": ";
  if (init.contains("st_sample_embeddings") && !init["st_sample_embeddings"].is_boolean())
    throw Error(where + "st_sample_embeddings must be true or false, got " +
                init["st_sample_embeddings"].dump());
  if (scheme != "wtst") return;
  const bool blocks = given(init, "wt_blocks"), fraction = given(init, "wt_fraction");
  if (blocks == fraction)
    throw Error(where +
                "give exactly one of wt_blocks (a block-map depth, -2 = ST) and wt_fraction (0 = ST .. 1 = "
                "WT); got " +
                std::string(blocks ? "both" : "neither"));
  if (blocks && (!init["wt_blocks"].is_number_integer() || init["wt_blocks"].get<int64_t>() < -2))
    throw Error(where + "wt_blocks must be an integer >= -2, got " + init["wt_blocks"].dump());
  if (fraction) {
    const json& f = init["wt_fraction"];
    if (!f.is_number() || !(f.get<double>() >= 0.0 && f.get<double>() <= 1.0))
      throw Error(where + "wt_fraction must be a number in [0, 1], got " + f.dump());
  }
}

bool is_random_init(const json& init) { return init.value("scheme", std::string()) == "ri"; }

bool needs_st_state(const json& init) {
  const std::string scheme = scheme_of(init);
  return scheme == "st" || scheme == "wtst";
}

StOptions st_options(const json& init) {
  StOptions options;
  if (given(init, "st_sample_embeddings")) {
    if (!init["st_sample_embeddings"].is_boolean())
      throw Error("init: st_sample_embeddings must be true or false, got " +
                  init["st_sample_embeddings"].dump());
    options.sample_embeddings = init["st_sample_embeddings"].get<bool>();
  }
  return options;
}

std::optional<int> transfer_depth(models::Network& net, const json& init) {
  check_init(init);
  const std::string scheme = init["scheme"];
  if (scheme == "ri") return std::nullopt;
  if (scheme == "st") return -2;
  if (scheme == "wt") return full_wt_depth(net);
  if (given(init, "wt_fraction")) return depth_for_fraction(net, init["wt_fraction"].get<double>());
  const int64_t t = init["wt_blocks"].get<int64_t>();
  const int full = full_wt_depth(net);
  if (t > full)
    throw Error("init wtst: wt_blocks " + std::to_string(t) +
                " is beyond this model's block map: -2 (ST) .. " + std::to_string(full) + " (full WT)");
  return static_cast<int>(t);
}

std::vector<EntryOrigin> copied_entries(models::Network& net, const json& init) {
  const std::optional<int> depth = transfer_depth(net, init);  // checks the config
  std::vector<EntryOrigin> out;
  if (!depth) {
    for (const auto& e : models::state_entries(net)) out.push_back({e.name, CopiedFrom::nothing});
    return out;
  }
  for (const auto& p : wtst_plan(net, *depth)) {
    CopiedFrom from = CopiedFrom::nothing;
    if (p.origin == Origin::wt) from = CopiedFrom::source;
    if (p.origin == Origin::st) from = CopiedFrom::st_state;
    out.push_back({p.name, from});
  }
  return out;
}

std::string apply(models::Network& net, const json& init, const ApplyInputs& inputs) {
  check_init(init);
  const std::string scheme = init["scheme"];
  if (scheme == "ri") {
    // The reference rebuilds a 1-channel first conv as a plain nn.Conv2d,
    // so under RI it has PyTorch's default Conv2d init, not the family's.
    const std::string first = net.first_conv_name();
    for (const auto& m : net.named_modules("", /*include_self=*/false)) {
      if (m.key() != first) continue;
      auto* conv = m.value()->as<torch::nn::Conv2d>();
      if (conv && conv->weight.size(1) == 1) {
        conv->reset_parameters();
        return "RI (library default init; the 1-channel " + first + " with PyTorch's default Conv2d init)";
      }
    }
    return "RI (library default init)";
  }
  const std::string what = source_label(init);
  if (!inputs.source) throw Error("init " + scheme + " needs the source's weights");
  if (scheme == "wt") {
    models::LoadOptions options;
    options.source = what;
    const auto report = models::load_weights(net, *inputs.source, options);
    return "WT from " + what + " (" + std::to_string(report.loaded) + " tensors, head kept random)";
  }

  const int t = *transfer_depth(net, init);
  const StOptions options = st_options(init);
  models::TensorList drawn;
  const models::TensorList* st = inputs.st_state;
  if (!st) {
    if (!inputs.st_seed)
      throw Error("init " + scheme + " needs an ST state (the stored draw of " + what +
                  ") or a seed to draw one");
    drawn = sample_st(net, *inputs.source, *inputs.st_seed, options);
    st = &drawn;
  }
  apply_wtst(net, *inputs.source, *st, t, what);
  size_t counts[4] = {0, 0, 0, 0};
  for (const auto& p : wtst_plan(net, t)) ++counts[static_cast<int>(p.origin)];
  std::string out = scheme == "st"
                        ? "ST"
                        : "WT-ST depth " + std::to_string(t) + " of " + std::to_string(full_wt_depth(net));
  if (scheme == "wtst" && given(init, "wt_fraction"))
    out += " (wt_fraction " + init["wt_fraction"].dump() + ")";
  out += " from " + what + (st == &drawn ? " (ST drawn here)" : " (stored ST draw)") + ": " +
         std::to_string(counts[0]) + " tensors WT, " + std::to_string(counts[1]) + " ST, " +
         std::to_string(counts[2]) + " reset; head kept random";
  if (options.sample_embeddings) out += "; embeddings sampled";
  return out;
}

std::string apply(models::Network& net, const json& init, const models::TensorList* source) {
  ApplyInputs inputs;
  inputs.source = source;
  return apply(net, init, inputs);
}

}  // namespace featreuse::init
