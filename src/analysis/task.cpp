#include "featreuse/analysis/task.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

#include "featreuse/analysis/attention_distance.hpp"
#include "featreuse/analysis/drift.hpp"
#include "featreuse/analysis/layer_cka.hpp"
#include "featreuse/analysis/layerwise.hpp"
#include "featreuse/analysis/reinit.hpp"
#include "featreuse/analysis/test_sweep.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/registry.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/models/attention_maps.hpp"
#include "featreuse/models/weights.hpp"
#include "featreuse/store/schema.hpp"

namespace featreuse::analysis {

namespace {

using json = nlohmann::json;
using store::ResultTable;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- table shapes, shared by planning and running ----

std::vector<std::string> with_metrics(std::vector<std::string> columns) {
  for (const auto& m : store::metric_columns()) columns.push_back(m);
  return columns;
}

ResultTable table(std::string name, std::vector<std::string> keys, std::vector<std::string> values) {
  ResultTable t;
  t.name = std::move(name);
  t.key_columns = std::move(keys);
  t.value_columns = std::move(values);
  return t;
}

// The target metric's value, then `after_target` (re-init: the loss), then
// every metric column (NaN where the dataset's metrics have none).
std::vector<double> metric_values(const std::map<std::string, double>& metrics, const std::string& target,
                                  std::vector<double> after_target = {}) {
  auto value = [&](const std::string& name) {
    auto it = metrics.find(name);
    return it == metrics.end() ? kNaN : it->second;
  };
  std::vector<double> out{value(target)};
  out.insert(out.end(), after_target.begin(), after_target.end());
  for (const auto& m : store::metric_columns()) out.push_back(value(m));
  return out;
}

// The test images an analysis uses: all, or `test_images` of them drawn with
// one fixed seed, so every cell and every analysis sees the same ones.
std::vector<int64_t> test_subset(const json& options, const data::Dataset& dataset) {
  const int64_t wanted = options.value("test_images", int64_t(0)), size = dataset.size(data::Split::test);
  if (wanted <= 0 || wanted >= size) return {};
  const auto order = shuffled_range(size, derive_seed(0, "analysis_test_images"));
  std::vector<int64_t> subset(order.begin(), order.begin() + wanted);
  std::sort(subset.begin(), subset.end());
  return subset;
}

// How many test images an analysis with these options reads.
int64_t tested(const json& options, const std::array<int64_t, 3>& sizes) {
  const int64_t wanted = options.value("test_images", int64_t(0));
  return wanted > 0 ? std::min(wanted, sizes[2]) : sizes[2];
}

// `checkpoint`'s pass over the test images these options read, in their batches.
std::pair<std::string, double> test_pass(const std::string& checkpoint, const json& options,
                                         const std::array<int64_t, 3>& sizes) {
  return {checkpoint + " " + options["batch_size"].dump() + " " + std::to_string(tested(options, sizes)),
          double(tested(options, sizes))};
}

void check_test_images(const std::string& name, const json& o) {
  if (o["test_images"].get<int64_t>() < 0)
    throw Error("analysis " + name + ": option test_images must be 0 (all) or positive");
}

void load(models::Network& net, const models::TensorList& weights, const std::string& what) {
  models::LoadOptions options;
  options.keep_head = true;
  options.source = what;
  models::load_weights(net, weights, options);
}

// The networks of a shared test pass, by the checkpoint each holds.
enum SweepNet : size_t { kInitialNet = 0, kBestNet = 1, kPartnerNet = 2 };

std::vector<std::pair<size_t, size_t>> cka_pairs(const json& names) {
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& n : names)
    out.emplace_back(n == "init_init"      ? std::make_pair(kInitialNet, kInitialNet)
                     : n == "trained_init" ? std::make_pair(kBestNet, kInitialNet)
                                           : std::make_pair(kBestNet, kBestNet));
  return out;
}

// ---- the analyses ----

// What an analysis that reads the test split adds to a shared pass: its
// readers, and the tables it makes from what they read once the pass is over.
struct SweepPart {
  std::vector<std::unique_ptr<SweepReader>> readers;
  std::function<std::vector<ResultTable>()> finish;
};

struct Entry {
  AnalysisInfo info;
  std::function<void(const json& options)> check;
  std::function<ForwardPasses(const json& options, const std::array<int64_t, 3>& sizes, int64_t probes)>
      passes;
  std::function<std::vector<ResultTable>(const json& options, models::Network& net,
                                         const at::Tensor& example)>
      plan;
  // Analyses of the test split: their part of a shared pass ...
  std::function<SweepPart(const json& options, const AnalysisInputs& in)> sweep_part;
  // ... the others (l2): the whole analysis.
  std::function<std::vector<ResultTable>(const json& options, const AnalysisInputs& in)> run;
};

void require(bool ok, const std::string& name, const std::string& option, const std::string& what) {
  if (!ok) throw Error("analysis " + name + ": option " + option + " " + what);
}

Entry knn_entry() {
  Entry e;
  e.info = {"knn", {{"k", 200}, {"temperature", 0.1}, {"batch_size", 64}, {"test_images", 0}}, "", false};
  e.check = [](const json& o) {
    check_test_images("knn", o);
    require(o["k"].get<int64_t>() >= 1, "knn", "k", "must be at least 1");
    require(o["temperature"].get<double>() > 0, "knn", "temperature", "must be positive");
    require(o["batch_size"].get<int64_t>() >= 1, "knn", "batch_size", "must be at least 1");
  };
  e.passes = [](const json& o, const std::array<int64_t, 3>& s, int64_t) {
    return ForwardPasses{double(s[0]), {test_pass("best", o, s)}};  // the bank, the queries
  };
  e.plan = [](const json&, models::Network& net, const at::Tensor& example) {
    at::NoGradGuard no_grad;
    net.eval();
    const auto probed = net.forward_probed(example, net.probe_points());
    net.train();
    ResultTable t = table("knn", {"probe", "feature"}, with_metrics({"target"}));
    for (const auto& probe : net.probe_points())
      for (models::Pooling kind : feature_kinds(net, probe))
        t.add_row(
            {probe, models::pooled_as(probed.probes.at(probe).dim(), net.probe_prefix_tokens(probe), kind)});
    return std::vector<ResultTable>{t};
  };
  // The queries come from the shared pass; the bank is the training split's own.
  e.sweep_part = [](const json& o, const AnalysisInputs& in) {
    SweepPart part;
    auto queries = std::make_unique<SplitEmbedder>(*in.best_net, kBestNet, in.best_net->probe_points(),
                                                   tested(o, in.dataset->info().split_sizes));
    part.finish = [o, &in, embedder = queries.get()] {
      KnnOptions options;
      options.k = o["k"];
      options.temperature = o["temperature"];
      ResultTable t = table("knn", {"probe", "feature"}, with_metrics({"target"}));
      const std::string target = in.dataset->info().target_metric;
      for (const auto& r :
           knn_of_queries(*in.best_net, *in.dataset, in.best_net->probe_points(), embedder->finish("test"),
                          options, o["batch_size"], int64_t(2) << 30, in.train_subset))
        t.add_row({r.probe, r.feature}, metric_values(r.metrics, target));
      return std::vector<ResultTable>{t};
    };
    part.readers.push_back(std::move(queries));
    return part;
  };
  return e;
}

Entry reinit_entry() {
  Entry e;
  e.info = {"reinit", {{"batch_size", 64}, {"test_images", 0}}, "", false};
  e.check = [](const json& o) {
    check_test_images("reinit", o);
    require(o["batch_size"].get<int64_t>() >= 1, "reinit", "batch_size", "must be at least 1");
  };
  // One pass capturing the probe inputs, then per probe the rest of the
  // network from it: (probes + 1) / 2 passes if probes spread evenly.
  e.passes = [](const json& o, const std::array<int64_t, 3>& s, int64_t probes) {
    return ForwardPasses{double(probes + 1) / 2.0 * double(tested(o, s)), {test_pass("best", o, s)}};
  };
  e.plan = [](const json&, models::Network& net, const at::Tensor&) {
    ResultTable t = table("reinit", {"probe"}, with_metrics({"target", "loss"}));
    for (const auto& probe : net.probe_points()) t.add_row({probe});
    return std::vector<ResultTable>{t};
  };
  e.sweep_part = [](const json&, const AnalysisInputs& in) {
    SweepPart part;
    auto reader = std::make_unique<ReinitReader>(*in.best_net, kBestNet, in.initial, in.best,
                                                 in.best_net->probe_points(), *in.dataset);
    part.finish = [&in, reinit = reader.get()] {
      ResultTable t = table("reinit", {"probe"}, with_metrics({"target", "loss"}));
      const std::string target = in.dataset->info().target_metric;
      for (const auto& r : reinit->finish()) t.add_row({r.probe}, metric_values(r.metrics, target, {r.loss}));
      return std::vector<ResultTable>{t};
    };
    part.readers.push_back(std::move(reader));
    return part;
  };
  return e;
}

Entry l2_entry() {
  Entry e;
  e.info = {"l2", json::object(), "", false};
  e.check = [](const json&) {};
  e.passes = [](const json&, const std::array<int64_t, 3>&, int64_t) { return ForwardPasses{1.0, {}}; };
  const std::vector<std::string> values = {"mean_scaled", "frobenius", "tensors"};
  e.plan = [values](const json&, models::Network& net, const at::Tensor&) {
    ResultTable t = table("l2", {"probe"}, values);
    for (const auto& probe : net.probe_points()) t.add_row({probe});
    return std::vector<ResultTable>{t};
  };
  e.run = [values](const json&, const AnalysisInputs& in) {
    ResultTable t = table("l2", {"probe"}, values);
    const auto probes = in.best_net->probe_points();
    const auto drifts = weight_drift(*in.best_net, in.initial, in.best, probes);
    for (size_t i = 0; i < probes.size(); ++i)
      t.add_row({probes[i]}, {drifts[i].mean_scaled, drifts[i].frobenius, double(drifts[i].tensors)});
    return std::vector<ResultTable>{t};
  };
  return e;
}

// CKA tables: one row per (pair, view, row probe, column probe).
ResultTable cka_table(const std::string& name, const models::Network& net,
                      const std::vector<std::string>& pairs) {
  ResultTable t = table(name, {"pair", "view", "row", "col"}, {"reference", "minibatch"});
  const CkaLayout layout = cka_layout(net);
  for (const auto& pair : pairs)
    for (const auto& [view, probes] : layout.views)
      for (const auto& r : probes)
        for (const auto& c : probes) t.add_row({pair, view, r, c});
  return t;
}

void add_cka_rows(ResultTable& t, const std::string& pair, const std::vector<CkaEntry>& entries) {
  for (const auto& e : entries) t.add_row({pair, e.view, e.row, e.col}, {e.reference, e.minibatch});
}

void check_cka_batch(const std::string& name, const json& o) {
  check_test_images(name, o);
  require(o["batch_size"].get<int64_t>() >= 4, name, "batch_size", "must be at least 4 (unbiased HSIC)");
}

// A CKA table `name` of the sweep's network pairs, one pair name each.
SweepPart cka_part(const std::string& name, const models::Network& net,
                   std::vector<std::pair<size_t, size_t>> pairs, std::vector<std::string> pair_names) {
  SweepPart part;
  auto reader = std::make_unique<CkaReader>(net, std::move(pairs));
  part.finish = [name, pair_names = std::move(pair_names), cka = reader.get()] {
    const auto results = cka->finish();
    ResultTable t = table(name, {"pair", "view", "row", "col"}, {"reference", "minibatch"});
    for (size_t i = 0; i < pair_names.size(); ++i) add_cka_rows(t, pair_names[i], results[i]);
    return std::vector<ResultTable>{t};
  };
  part.readers.push_back(std::move(reader));
  return part;
}

Entry cka_entry() {
  Entry e;
  e.info = {
      "cka",
      {{"batch_size", 64}, {"pairs", {"init_init", "trained_init", "trained_trained"}}, {"test_images", 0}},
      "",
      false};
  e.check = [](const json& o) {
    check_cka_batch("cka", o);
    require(o["pairs"].is_array() && !o["pairs"].empty(), "cka", "pairs", "must be a non-empty list");
    for (const auto& p : o["pairs"])
      require(p == "init_init" || p == "trained_init" || p == "trained_trained", "cka", "pairs",
              "takes init_init, trained_init, trained_trained; got " + p.dump());
  };
  e.passes = [](const json& o, const std::array<int64_t, 3>& s, int64_t) {
    ForwardPasses p;
    for (const auto& [rows, cols] : cka_pairs(o["pairs"]))
      for (size_t net : {rows, cols})
        p.shared.insert(test_pass(net == kInitialNet ? "initial" : "best", o, s));
    return p;
  };
  e.plan = [](const json& o, models::Network& net, const at::Tensor&) {
    return std::vector<ResultTable>{cka_table("cka", net, o["pairs"].get<std::vector<std::string>>())};
  };
  e.sweep_part = [](const json& o, const AnalysisInputs& in) {
    return cka_part("cka", *in.best_net, cka_pairs(o["pairs"]), o["pairs"].get<std::vector<std::string>>());
  };
  return e;
}

Entry cka_cross_entry() {
  Entry e;
  e.info = {"cka_cross", {{"batch_size", 64}, {"test_images", 0}}, "st", false};
  e.check = [](const json& o) { check_cka_batch("cka_cross", o); };
  e.passes = [](const json& o, const std::array<int64_t, 3>& s, int64_t) {
    return ForwardPasses{0.0, {test_pass("best", o, s), test_pass("partner", o, s)}};
  };
  e.plan = [](const json&, models::Network& net, const at::Tensor&) {
    return std::vector<ResultTable>{cka_table("cka_cross", net, {"trained_partner"})};
  };
  e.sweep_part = [](const json&, const AnalysisInputs& in) {
    if (!in.partner_net || in.partner_best.empty())
      throw Error("analysis cka_cross: the partner cell's network or checkpoint was not given");
    return cka_part("cka_cross", *in.best_net, {{kBestNet, kPartnerNet}}, {"trained_partner"});
  };
  return e;
}

Entry attention_entry() {
  Entry e;
  e.info = {"attention_distance",
            {{"batch_size", 16}, {"checkpoints", {"initial", "best"}}, {"test_images", 0}},
            "",
            true};
  e.check = [](const json& o) {
    require(o["batch_size"].get<int64_t>() >= 1, "attention_distance", "batch_size", "must be at least 1");
    check_test_images("attention_distance", o);
    require(o["checkpoints"].is_array() && !o["checkpoints"].empty(), "attention_distance", "checkpoints",
            "must be a non-empty list");
    for (const auto& c : o["checkpoints"])
      require(c == "initial" || c == "best", "attention_distance", "checkpoints",
              "takes initial and best; got " + c.dump());
  };
  e.passes = [](const json& o, const std::array<int64_t, 3>& s, int64_t) {
    ForwardPasses p;
    for (const auto& checkpoint : o["checkpoints"]) p.shared.insert(test_pass(checkpoint, o, s));
    return p;
  };
  const std::vector<std::string> keys = {"checkpoint", "block", "head"};
  e.plan = [keys](const json& o, models::Network& net, const at::Tensor& example) {
    auto* source = dynamic_cast<models::AttentionMapSource*>(&net);
    if (!source) throw Error("attention_distance: this architecture has no attention maps");
    at::NoGradGuard no_grad;
    net.eval();
    const auto maps = source->attention_maps(example);
    net.train();
    ResultTable t = table("attention_distance", keys, {"distance"});
    for (const auto& checkpoint : o["checkpoints"])
      for (const auto& m : maps) {
        const int64_t heads = m.window > 0 ? m.attn.size(2) : m.attn.size(1);
        for (int64_t h = 0; h < heads; ++h) t.add_row({checkpoint, m.block, std::to_string(h)});
      }
    return std::vector<ResultTable>{t};
  };
  e.sweep_part = [keys](const json& o, const AnalysisInputs& in) {
    if (!dynamic_cast<models::AttentionMapSource*>(in.best_net))
      throw Error("attention_distance: this architecture has no attention maps");
    SweepPart part;
    std::vector<std::pair<std::string, AttentionReader*>> per_checkpoint;
    for (const auto& checkpoint : o["checkpoints"]) {
      auto reader = std::make_unique<AttentionReader>(checkpoint == "initial" ? kInitialNet : kBestNet);
      per_checkpoint.emplace_back(checkpoint.get<std::string>(), reader.get());
      part.readers.push_back(std::move(reader));
    }
    part.finish = [keys, per_checkpoint] {
      ResultTable t = table("attention_distance", keys, {"distance"});
      for (const auto& [checkpoint, reader] : per_checkpoint)
        for (const auto& [block, heads] : reader->finish("test"))
          for (size_t h = 0; h < heads.size(); ++h)
            t.add_row({checkpoint, block, std::to_string(h)}, {heads[h]});
      return std::vector<ResultTable>{t};
    };
    return part;
  };
  return e;
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> all = {knn_entry(), reinit_entry(),    l2_entry(),
                                         cka_entry(), cka_cross_entry(), attention_entry()};
  return all;
}

const Entry& entry(const std::string& name) {
  static const Registry<const Entry*> by_name = [] {
    Registry<const Entry*> r("analysis");
    for (const auto& e : entries()) r.add(e.info.name, &e);
    return r;
  }();
  return *by_name.get(name);
}

// Runs `make`; the error it throws, if any, as the outcome (its message names the analysis' step).
AnalysisOutcome attempt(const std::function<std::vector<ResultTable>()>& make) {
  AnalysisOutcome outcome;
  try {
    outcome.tables = make();
  } catch (const std::exception& e) {
    outcome.error = e.what();
    if (outcome.error.empty()) outcome.error = "an error without a message";
  }
  return outcome;
}

// One pass over the test split for `members` (same batch_size and
// test_images), each of which gets its tables or its error.
void run_shared_pass(const std::vector<AnalysisRequest>& requests, const std::vector<size_t>& members,
                     const AnalysisInputs& in, std::vector<AnalysisOutcome>& out) {
  std::vector<size_t> joined;
  std::vector<SweepPart> parts;
  std::vector<SweepReader*> readers;
  for (size_t i : members) {
    const AnalysisOutcome made = attempt([&] {
      parts.push_back(entry(requests[i].name).sweep_part(requests[i].options, in));
      return std::vector<ResultTable>{};
    });
    if (!made.error.empty()) {
      out[i] = made;
      continue;
    }
    joined.push_back(i);
    for (auto& r : parts.back().readers) readers.push_back(r.get());
  }
  if (joined.empty()) return;
  const json& first = requests[joined[0]].options;
  const AnalysisOutcome swept = attempt([&] {
    sweep({in.initial_net, in.best_net, in.partner_net}, *in.dataset, data::Split::test, first["batch_size"],
          test_subset(first, *in.dataset), readers);
    return std::vector<ResultTable>{};
  });
  for (size_t k = 0; k < joined.size(); ++k) {
    const size_t i = joined[k];
    out[i] = swept.error.empty() ? attempt(parts[k].finish) : swept;
  }
}

}  // namespace

const std::vector<AnalysisInfo>& analyses() {
  static const std::vector<AnalysisInfo> infos = [] {
    std::vector<AnalysisInfo> out;
    for (const auto& e : entries()) out.push_back(e.info);
    return out;
  }();
  return infos;
}

const AnalysisInfo& analysis_info(const std::string& name) { return entry(name).info; }

void check_options(const std::string& name, const json& options) { entry(name).check(options); }

double ForwardPasses::alone() const {
  double total = own;
  for (const auto& [pass, images] : shared) total += images;
  return total;
}

ForwardPasses forward_passes(const std::string& name, const json& options,
                             const std::array<int64_t, 3>& split_sizes, int64_t probes) {
  return entry(name).passes(options, split_sizes, probes);
}

std::vector<ResultTable> plan_tables(const std::string& name, const json& options, models::Network& net,
                                     const at::Tensor& example) {
  return entry(name).plan(options, net, example);
}

std::vector<ResultTable> run_analysis(const std::string& name, const json& options,
                                      const AnalysisInputs& in) {
  AnalysisOutcome outcome = run_analyses({{name, options}}, in).at(0);
  if (!outcome.error.empty()) throw Error(outcome.error);
  return std::move(outcome.tables);
}

std::vector<AnalysisOutcome> run_analyses(const std::vector<AnalysisRequest>& requests,
                                          const AnalysisInputs& in) {
  if (!in.initial_net || !in.best_net || !in.dataset)
    throw Error("analyses: their networks or dataset were not given");
  load(*in.initial_net, in.initial, "initial checkpoint");
  load(*in.best_net, in.best, "best checkpoint");
  if (in.partner_net && !in.partner_best.empty())
    load(*in.partner_net, in.partner_best, "the partner's best checkpoint");
  std::vector<AnalysisOutcome> out(requests.size());
  // Requests that read the same test images in the same batches share a pass.
  std::map<std::pair<int64_t, int64_t>, std::vector<size_t>> passes;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Entry& e = entry(requests[i].name);
    const json& o = requests[i].options;
    if (e.sweep_part)
      passes[{o["batch_size"].get<int64_t>(), o.value("test_images", int64_t(0))}].push_back(i);
    else
      out[i] = attempt([&] { return e.run(o, in); });
  }
  for (const auto& [key, members] : passes) run_shared_pass(requests, members, in, out);
  return out;
}

}  // namespace featreuse::analysis
