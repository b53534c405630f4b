#pragma once
// A network whose forward is one step per probe point, in probe order: step k
// starts from the state entering probe k's module and ends with the state
// entering probe k + 1's (the last step ends with the logits). Every family
// (ResNet, Inception, DeiT, Swin) is written this way, so the probed
// forward, the capture of probe inputs and the forward from a probe point
// are one loop over the same steps and cannot drift apart.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "featreuse/models/attention_maps.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::models {

// What one pass over the steps keeps on its way.
struct ProbeTrace {
  std::set<std::string> outputs_wanted;              // probe activations (forward_probed)
  std::map<std::string, at::Tensor> outputs;         // filled by the steps through output()
  std::set<std::string> inputs_wanted;               // states entering probes (probe_inputs)
  std::map<std::string, at::Tensor> inputs;          // filled by run()
  std::vector<BlockAttention>* attention = nullptr;  // families with attention maps fill it when set
  int64_t image_h = 0, image_w = 0;                  // the input image's size, when run from the first step

  bool wants(const std::string& probe) const { return outputs_wanted.count(probe) > 0; }
  // Keeps `activation` as probe `probe`'s output if it was asked for.
  void output(const std::string& probe, const at::Tensor& activation) {
    if (wants(probe)) outputs[probe] = activation;
  }
};

class StepwiseNetwork : public Network {
 public:
  using Network::Network;

  at::Tensor forward(const at::Tensor& input) override;
  ProbedOutput forward_probed(const at::Tensor& input, const std::vector<std::string>& probes) override;
  std::map<std::string, at::Tensor> probe_inputs(const at::Tensor& input,
                                                 const std::vector<std::string>& probes) override;
  at::Tensor forward_from(const std::string& probe, const at::Tensor& state) override;
  TracedPass forward_traced(const at::Tensor& input, const TraceRequest& request) override;

 protected:
  // Step k of the forward (k indexes probe_points()). A step must not change
  // its input in place: captured states are reused.
  virtual at::Tensor step(size_t k, const at::Tensor& x, ProbeTrace& trace) = 0;
  // The steps from `first` on, from the state entering probe `first`.
  at::Tensor run(size_t first, at::Tensor x, ProbeTrace& trace);
};

}  // namespace featreuse::models
