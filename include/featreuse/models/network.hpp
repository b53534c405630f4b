#pragma once
// The model seam: every architecture is a Network (a torch::nn::Module whose
// parameter and buffer names follow torchvision/timm), built from a ModelSpec
// by the registry (registry.hpp).
#include <torch/nn/module.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/models/attention_maps.hpp"

namespace featreuse::models {

// What to build. `options` holds architecture-specific keys (widths, depth,
// drop-path rate, ...) exactly as the model's config file gives them.
struct ModelSpec {
  std::string arch;  // registry name, e.g. "resnet", "resnet50"
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 224;
  nlohmann::json options = nlohmann::json::object();
};

// One named parameter or buffer of a state_dict, in state_dict order.
struct StateEntry {
  std::string name;      // "layer1.0.conv1.weight"
  torch::Tensor tensor;  // shares storage with the module
  bool is_buffer = false;
};

// One unit of a model's WT-ST block map (reference §2.3). With a transfer
// depth t, the block is WT (keeps the source weights) iff `index <= t`;
// otherwise it is ST: every Conv2d/Linear weight and bias under it comes from
// the ST sample and every norm layer under it (BatchNorm incl. running stats,
// LayerNorm) is reset. t = -2 is pure ST; t = max index is full WT.
//
// `modules` are module paths in state_dict naming ("conv1", "layer1",
// "blocks.3", "layers.0.downsample"); a parameter or buffer belongs to the
// block if its name equals a path or starts with path + ".". Parameters that
// the ST rules never touch (cls_token, pos_embed, relative_position_bias_table)
// may still be listed: the init code decides per module type. Blocks are in
// network order; the head (head_name()) is in no block.
//
// Examples: ResNet  {-1,{conv1}} {0,{bn1}} {1,{layer1}} .. {4,{layer4}};
//           Inception {-1,{Conv2d_1a_3x3}} {0,{Conv2d_2a_3x3,Conv2d_2b_3x3}} ..
//                     {5,{Mixed_7a,Mixed_7b,Mixed_7c}};
//           DeiT {-1,{patch_embed,cls_token,pos_embed}} {i,{blocks.i}} {depth,{norm}};
//           Swin {-1,{patch_embed}} {j,{layers.s.blocks.b}}
//                {last_j(s)+1,{layers.s.downsample}} {total_blocks,{norm}}.
struct InitBlock {
  int index = 0;
  std::vector<std::string> modules;
};

// True iff state_dict name `name` lies under module path `path` ("layer1"
// matches "layer1.0.conv1.weight", not "layer10.weight").
bool under_module(const std::string& name, const std::string& path);

// Named tensors in file order (a state_dict as read from a weight file).
using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;

// Logits plus the activations at the requested probe points.
struct ProbedOutput {
  torch::Tensor logits;
  std::map<std::string, torch::Tensor> probes;
};

// What one forward keeps on its way (Network::forward_traced): the outputs
// of probes (as forward_probed), the states entering probes (as
// probe_inputs), and every block's attention maps (as
// AttentionMapSource::attention_maps).
struct TraceRequest {
  std::set<std::string> outputs, inputs;
  bool attention = false;
  bool empty() const { return outputs.empty() && inputs.empty() && !attention; }
};
struct TracedPass {
  torch::Tensor logits;
  std::map<std::string, torch::Tensor> outputs, inputs;
  std::vector<BlockAttention> attention;
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
  virtual ProbedOutput forward_probed(const torch::Tensor& input, const std::vector<std::string>& probes);

  // Running the end of a network, for the re-initialisation analysis:
  // resetting a probe module changes nothing computed before it.
  // probe_inputs: one forward of `input` that returns, for each of `probes`
  // (a subset of probe_points()), the state the network carries into that
  // probe's module, computed without any parameter or buffer under it (an
  // opaque tensor: for CNNs the activation entering the module, for ViTs the
  // token stream entering the block or sub-block). forward_from: the logits
  // of the forward continued from that state with the current weights, so
  // forward_from(p, probe_inputs(x, {p})[p]) equals forward(x), and stays the
  // forward of the network as it is when anything under p changed in between.
  // Default: the state is the input and forward_from runs the whole forward
  // (always right, never cheaper); families override both to skip the front.
  virtual std::map<std::string, at::Tensor> probe_inputs(const at::Tensor& input,
                                                         const std::vector<std::string>& probes);
  virtual at::Tensor forward_from(const std::string& probe, const at::Tensor& state);

  // Everything `request` asks for, from one forward where the family allows
  // (default: one pass per kind asked for; throws for attention maps when the
  // model has none).
  virtual TracedPass forward_traced(const at::Tensor& input, const TraceRequest& request);

  // How many leading tokens of a probe's (B, T, D) activations are not patch
  // tokens (DeiT blocks: 1, the class token). Default: 0.
  virtual int64_t probe_prefix_tokens(const std::string& probe) const {
    (void)probe;
    return 0;
  }

  // Prefix of the classifier head's parameters ("fc" for torchvision,
  // "head" for timm); initialisations never transfer it.
  virtual std::string head_name() const { return "fc"; }

  // Module path of the first conv ("conv1", "Conv2d_1a_3x3.conv",
  // "patch_embed.proj"): for a 1-channel model, weight loading keeps channel 0
  // of a 3-channel source weight there (reference §1).
  virtual std::string first_conv_name() const { return "conv1"; }

  // The WT-ST block map, in network order (see InitBlock). Default: none
  // (the model does not support WT-ST).
  virtual std::vector<InitBlock> block_map() const { return {}; }

  // Called by load_weights (weights.hpp) before names are matched, for
  // families whose checkpoints come in several layouts (e.g. Swin's
  // downsample in official vs recent timm files): rename or reshape entries
  // into this network's layout. Default: leaves them as they are.
  virtual void adapt_weights(TensorList& weights) const { (void)weights; }
};

// Checks that every name in `probes` is one of net.probe_points() (throws
// featreuse::Error naming the unknown ones and listing the valid ones) and
// returns them as a set for quick lookup during a probed forward.
std::set<std::string> checked_probes(const Network& net, const std::vector<std::string>& probes);

// Every parameter and buffer with its state_dict name, module by module in
// registration order (own parameters, then own buffers), as PyTorch's
// state_dict() lists them.
std::vector<StateEntry> state_entries(torch::nn::Module& module);

}  // namespace featreuse::models
