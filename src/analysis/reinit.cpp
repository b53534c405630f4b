#include "featreuse/analysis/reinit.hpp"

#include <ATen/ATen.h>

#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/train/evaluate.hpp"

namespace featreuse::analysis {

namespace {

// One module of the analysis: the network's tensors under it with their
// initial and trained values, and the probe point its forward starts from.
struct ModuleReset {
  std::string module;
  std::string start;  // "": no probe point holds the module, run the whole forward
  std::vector<at::Tensor> targets, initial, trained;

  void reset() const {
    for (size_t i = 0; i < targets.size(); ++i) targets[i].copy_(initial[i]);
  }
  void restore() const {
    for (size_t i = 0; i < targets.size(); ++i) targets[i].copy_(trained[i]);
  }
};

std::map<std::string, at::Tensor> by_name(const models::TensorList& tensors) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : tensors) out[name] = tensor;
  return out;
}

const at::Tensor& entry_of(const std::map<std::string, at::Tensor>& values, const std::string& name) {
  auto it = values.find(name);
  if (it == values.end()) throw Error("re-init: the checkpoint has no '" + name + "'");
  return it->second;
}

// The probe point whose module is `module` or holds it ("" if none): by the
// Network contract, the state entering it depends on nothing under it.
std::string start_point(const std::vector<std::string>& probes, const std::string& module) {
  for (const auto& p : probes)
    if (models::under_module(module, p)) return p;
  return "";
}

std::vector<ModuleReset> plan_resets(models::Network& net, const models::TensorList& initial,
                                     const models::TensorList& trained,
                                     const std::vector<std::string>& modules) {
  const auto before = by_name(initial), after = by_name(trained);
  const auto entries = models::state_entries(net);
  const auto probes = net.probe_points();
  std::vector<ModuleReset> out;
  for (const auto& module : modules) {
    ModuleReset r{module, start_point(probes, module), {}, {}, {}};
    for (const auto& e : entries)
      if (models::under_module(e.name, module)) {
        const c10::Device device = e.tensor.device();  // copied there once, not per batch
        r.targets.push_back(e.tensor);
        r.initial.push_back(entry_of(before, e.name).to(device));
        // A copy: `trained` may share storage with the network, which reset() overwrites.
        const at::Tensor& trained_value = entry_of(after, e.name);
        r.trained.push_back(trained_value.to(trained_value.options().device(device), /*non_blocking=*/false,
                                             /*copy=*/true));
      }
    if (r.targets.empty()) throw Error("re-init: no state entry under module '" + module + "'");
    out.push_back(std::move(r));
  }
  return out;
}

// Copies every state entry of `net` from `values` (by name; all must be there).
void assign(models::Network& net, const std::map<std::string, at::Tensor>& values) {
  at::NoGradGuard no_grad;
  for (const auto& e : models::state_entries(net)) e.tensor.copy_(entry_of(values, e.name));
}

std::vector<std::string> start_points(const std::vector<ModuleReset>& resets) {
  std::set<std::string> starts;
  for (const auto& r : resets)
    if (!r.start.empty()) starts.insert(r.start);
  return {starts.begin(), starts.end()};
}

// The logits with `r`'s module reset, from `state` (the state entering its
// start point, or the images); the trained values are back afterwards, even
// after an error, so the network stays the trained one for whoever reads it next.
at::Tensor logits_with_reset(models::Network& net, const ModuleReset& r, const at::Tensor& state) {
  r.reset();
  try {
    at::Tensor logits = r.start.empty() ? net.forward(state) : net.forward_from(r.start, state);
    r.restore();
    return logits;
  } catch (...) {
    r.restore();
    throw;
  }
}

}  // namespace

struct ReinitReader::Plan {
  std::vector<ModuleReset> resets;
  std::vector<std::string> starts;
  std::vector<train::EvaluationBuilder> results;
};

ReinitReader::ReinitReader(models::Network& net, size_t index, const models::TensorList& initial,
                           const models::TensorList& trained, const std::vector<std::string>& modules,
                           const data::Dataset& dataset)
    : net_(net), index_(index), plan_(std::make_unique<Plan>()) {
  plan_->resets = plan_resets(net, initial, trained, modules);
  plan_->starts = start_points(plan_->resets);
  assign(net, by_name(trained));
  plan_->results.assign(plan_->resets.size(),
                        train::EvaluationBuilder(dataset.info().num_classes, train::is_multi_label(dataset)));
}

ReinitReader::~ReinitReader() = default;

void ReinitReader::declare(std::vector<models::TraceRequest>& requests) const {
  requests.at(index_).inputs.insert(plan_->starts.begin(), plan_->starts.end());
}

// One test batch for every module: the trained network's probe inputs (from
// the sweep's forward), then per module its reset, the rest of the network
// from its start point, and its trained values back.
void ReinitReader::read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) {
  const auto& states = passes.at(index_).inputs;
  at::Tensor images;  // only for a module that no probe point holds
  for (size_t m = 0; m < plan_->resets.size(); ++m) {
    const ModuleReset& r = plan_->resets[m];
    if (r.start.empty() && !images.defined()) images = batch.images.to(train::network_device(net_));
    plan_->results[m].add(logits_with_reset(net_, r, r.start.empty() ? images : states.at(r.start)),
                          batch.labels);
  }
}

std::vector<ProbeResult> ReinitReader::finish() {
  std::vector<ProbeResult> out;
  for (size_t m = 0; m < plan_->resets.size(); ++m) {
    const train::Evaluation test = plan_->results[m].finish();
    ProbeResult r;
    r.probe = plan_->resets[m].module;
    r.metrics = test.metrics();
    r.loss = test.loss;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ProbeResult> reinit_robustness(models::Network& net, const models::TensorList& initial,
                                           const models::TensorList& trained, const data::Dataset& dataset,
                                           const std::vector<std::string>& modules, int64_t batch_size,
                                           const std::vector<int64_t>& test_subset) {
  ReinitReader reader(net, 0, initial, trained, modules, dataset);
  sweep({&net}, dataset, data::Split::test, batch_size, test_subset, {&reader});
  return reader.finish();
}

}  // namespace featreuse::analysis
