#include "featreuse/models/stepwise.hpp"

#include <algorithm>

#include "featreuse/core/error.hpp"

namespace featreuse::models {

namespace {

size_t index_of(const std::vector<std::string>& points, const std::string& probe) {
  return size_t(std::find(points.begin(), points.end(), probe) - points.begin());
}

}  // namespace

at::Tensor StepwiseNetwork::run(size_t first, at::Tensor x, ProbeTrace& trace) {
  const auto points = probe_points();
  if (first == 0 && x.dim() == 4) {
    trace.image_h = x.size(2);
    trace.image_w = x.size(3);
  }
  for (size_t k = first; k < points.size(); ++k) {
    if (trace.inputs_wanted.count(points[k])) trace.inputs[points[k]] = x;
    x = step(k, x, trace);
  }
  return x;
}

at::Tensor StepwiseNetwork::forward(const at::Tensor& input) {
  ProbeTrace none;
  return run(0, input, none);
}

ProbedOutput StepwiseNetwork::forward_probed(const at::Tensor& input,
                                             const std::vector<std::string>& probes) {
  ProbeTrace trace;
  trace.outputs_wanted = checked_probes(*this, probes);
  ProbedOutput out;
  out.logits = run(0, input, trace);
  out.probes = std::move(trace.outputs);
  return out;
}

std::map<std::string, at::Tensor> StepwiseNetwork::probe_inputs(const at::Tensor& input,
                                                                const std::vector<std::string>& probes) {
  const std::set<std::string> wanted = checked_probes(*this, probes);
  const auto points = probe_points();
  std::map<std::string, at::Tensor> out;
  ProbeTrace none;
  at::Tensor x = input;
  // Stops at the last wanted probe: the steps after it are forward_from's.
  for (size_t k = 0; k < points.size() && out.size() < wanted.size(); ++k) {
    if (wanted.count(points[k])) out[points[k]] = x;
    if (out.size() < wanted.size()) x = step(k, x, none);
  }
  return out;
}

at::Tensor StepwiseNetwork::forward_from(const std::string& probe, const at::Tensor& state) {
  checked_probes(*this, {probe});
  ProbeTrace none;
  return run(index_of(probe_points(), probe), state, none);
}

TracedPass StepwiseNetwork::forward_traced(const at::Tensor& input, const TraceRequest& request) {
  TracedPass out;
  ProbeTrace trace;
  trace.outputs_wanted = checked_probes(*this, {request.outputs.begin(), request.outputs.end()});
  trace.inputs_wanted = checked_probes(*this, {request.inputs.begin(), request.inputs.end()});
  if (request.attention) {
    if (!dynamic_cast<AttentionMapSource*>(this)) throw Error("this architecture has no attention maps");
    trace.attention = &out.attention;
  }
  out.logits = run(0, input, trace);
  out.outputs = std::move(trace.outputs);
  out.inputs = std::move(trace.inputs);
  return out;
}

}  // namespace featreuse::models
