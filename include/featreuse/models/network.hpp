#pragma once
// The model seam: every architecture is a Network (a torch::nn::Module whose
// parameter and buffer names follow torchvision/timm), built from a ModelSpec
// by the registry (registry.hpp).
#include <torch/nn/module.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace featreuse::models {

// What to build. `options` holds architecture-specific keys (widths, depth,
// drop-path rate, ...) exactly as the model's config file gives them.
struct ModelSpec {
  std::string arch;            // registry name, e.g. "resnet", "resnet50"
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 224;
  nlohmann::json options = nlohmann::json::object();
};

// One named parameter or buffer of a state_dict, in state_dict order.
struct StateEntry {
  std::string name;            // "layer1.0.conv1.weight"
  torch::Tensor tensor;        // shares storage with the module
  bool is_buffer = false;
};

// Logits plus the activations at the requested probe points.
struct ProbedOutput {
  torch::Tensor logits;
  std::map<std::string, torch::Tensor> probes;
};

class Network : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;

  // Probe points by module path in the torchvision/timm model ("layer4.2",
  // "blocks.3.attn"), in network order. Default: none.
  virtual std::vector<std::string> probe_points() const { return {}; }
  // Forward that also returns the activations at `probes` (a subset of
  // probe_points()), keeping no others. Default: logits only; throws if
  // probes were asked for.
  virtual ProbedOutput forward_probed(const torch::Tensor& input,
                                      const std::vector<std::string>& probes);

  // Prefix of the classifier head's parameters ("fc" for torchvision,
  // "head" for timm); initialisations never transfer it.
  virtual std::string head_name() const { return "fc"; }
};

// Every parameter and buffer with its state_dict name, module by module in
// registration order (own parameters, then own buffers), as PyTorch's
// state_dict() lists them.
std::vector<StateEntry> state_entries(torch::nn::Module& module);

}  // namespace featreuse::models
