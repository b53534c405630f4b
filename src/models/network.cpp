#include "featreuse/models/network.hpp"

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::models {

ProbedOutput Network::forward_probed(const torch::Tensor& input, const std::vector<std::string>& probes) {
  checked_probes(*this, probes);
  if (!probes.empty()) throw Error("this model has no probed forward");
  return {forward(input), {}};
}

std::map<std::string, at::Tensor> Network::probe_inputs(const at::Tensor& input,
                                                        const std::vector<std::string>& probes) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : checked_probes(*this, probes)) out[p] = input;
  return out;
}

at::Tensor Network::forward_from(const std::string& probe, const at::Tensor& state) {
  checked_probes(*this, {probe});
  return forward(state);
}

TracedPass Network::forward_traced(const at::Tensor& input, const TraceRequest& request) {
  TracedPass out;
  auto probed = forward_probed(input, {request.outputs.begin(), request.outputs.end()});
  out.logits = probed.logits;
  out.outputs = std::move(probed.probes);
  if (!request.inputs.empty())
    out.inputs = probe_inputs(input, {request.inputs.begin(), request.inputs.end()});
  if (request.attention) {
    auto* source = dynamic_cast<AttentionMapSource*>(this);
    if (!source) throw Error("this architecture has no attention maps");
    out.attention = source->attention_maps(input);
  }
  return out;
}

bool under_module(const std::string& name, const std::string& path) {
  if (name.size() < path.size() || name.compare(0, path.size(), path) != 0) return false;
  return name.size() == path.size() || name[path.size()] == '.';
}

std::set<std::string> checked_probes(const Network& net, const std::vector<std::string>& probes) {
  const auto points = net.probe_points();
  const std::set<std::string> valid(points.begin(), points.end());
  std::string unknown;
  for (const auto& p : probes)
    if (!valid.count(p)) unknown += (unknown.empty() ? "'" : ", '") + p + "'";
  if (!unknown.empty()) {
    const std::string list = join(points);
    throw Error("unknown probe point " + unknown + "; this model has: " + (list.empty() ? "none" : list));
  }
  return std::set<std::string>(probes.begin(), probes.end());
}

std::vector<StateEntry> state_entries(torch::nn::Module& module) {
  std::vector<StateEntry> out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      out.push_back({prefix + p.key(), p.value(), false});
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false))
      out.push_back({prefix + b.key(), b.value(), true});
  }
  return out;
}

}  // namespace featreuse::models
