#include "featreuse/analysis/drift.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/init/st.hpp"

namespace featreuse::analysis {

namespace {

std::map<std::string, at::Tensor> by_name(const models::TensorList& tensors) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : tensors) out[name] = tensor;
  return out;
}

// The parameters the drift counts: not buffers, not norm layers.
std::vector<std::string> measured_parameters(models::Network& net) {
  std::set<std::string> norms;
  for (const auto& k : init::tensor_kinds(net))
    if (k.kind == init::TensorKind::batch_norm || k.kind == init::TensorKind::layer_norm)
      norms.insert(k.name);
  std::vector<std::string> out;
  for (const auto& e : models::state_entries(net))
    if (!e.is_buffer && !norms.count(e.name)) out.push_back(e.name);
  return out;
}

}  // namespace

std::vector<Drift> weight_drift(models::Network& net, const models::TensorList& initial,
                                const models::TensorList& trained, const std::vector<std::string>& modules) {
  const auto before = by_name(initial), after = by_name(trained);
  const std::vector<std::string> parameters = measured_parameters(net);
  std::vector<Drift> out;
  for (const auto& module : modules) {
    Drift d;
    double scaled_sum = 0, squares = 0;
    for (const auto& name : parameters) {
      if (!models::under_module(name, module)) continue;
      auto a = before.find(name), b = after.find(name);
      if (a == before.end() || b == after.end())
        throw Error("l2 drift: checkpoint without '" + name + "' (module " + module + ")");
      if (a->second.sizes() != b->second.sizes()) throw Error("l2 drift: '" + name + "' changed shape");
      const double norm = (b->second.to(at::kDouble) - a->second.to(at::kDouble)).norm().item<double>();
      scaled_sum += norm / double(a->second.numel());
      squares += norm * norm;
      ++d.tensors;
    }
    if (d.tensors > 0) {
      d.mean_scaled = scaled_sum / double(d.tensors);
      d.frobenius = std::sqrt(squares);
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace featreuse::analysis
