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

// One test batch for every module: the trained network's probe inputs once,
// then per module its reset, the rest of the network from its start point,
// and its trained values back.
void evaluate_batch(models::Network& net, const std::vector<ModuleReset>& resets,
                    const std::vector<std::string>& starts, const data::Batch& batch,
                    std::vector<train::EvaluationBuilder>& results) {
  const at::Tensor images = batch.images.to(train::network_device(net));
  const auto states = net.probe_inputs(images, starts);
  for (size_t m = 0; m < resets.size(); ++m) {
    const ModuleReset& r = resets[m];
    r.reset();
    const at::Tensor logits =
        r.start.empty() ? net.forward(images) : net.forward_from(r.start, states.at(r.start));
    r.restore();
    results[m].add(logits, batch.labels);
  }
}

}  // namespace

std::vector<ProbeResult> reinit_robustness(models::Network& net, const models::TensorList& initial,
                                           const models::TensorList& trained, const data::Dataset& dataset,
                                           const std::vector<std::string>& modules, int64_t batch_size,
                                           const std::vector<int64_t>& test_subset) {
  const auto resets = plan_resets(net, initial, trained, modules);
  const auto starts = start_points(resets);
  assign(net, by_name(trained));
  std::vector<train::EvaluationBuilder> results(
      resets.size(), train::EvaluationBuilder(dataset.info().num_classes, train::is_multi_label(dataset)));
  {
    at::NoGradGuard no_grad;
    net.eval();
    auto stream = dataset.evaluation_stream(data::Split::test, batch_size, test_subset);
    ProgressLog progress("re-init", (long long)stream->num_batches(), "images");
    long long batches = 0, images = 0;
    data::Batch batch;
    while (stream->next(batch)) {
      evaluate_batch(net, resets, starts, batch, results);
      images += batch.labels.size(0);
      progress.update(++batches, "", images);
    }
    net.train();
  }
  std::vector<ProbeResult> out;
  for (size_t m = 0; m < resets.size(); ++m) {
    const train::Evaluation test = results[m].finish();
    ProbeResult r;
    r.probe = resets[m].module;
    r.metrics = test.metrics();
    r.loss = test.loss;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace featreuse::analysis
