// ResNet (He et al. 2016) laid out exactly as torchvision's resnet.py, so its
// state_dict names (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc) and
// its forward match torchvision's; plus a configurable `resnet` arch for
// narrow, shallow or small-input variants.
#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/models/families.hpp"
#include "featreuse/models/initial_draws.hpp"
#include "featreuse/models/options.hpp"
#include "featreuse/models/stepwise.hpp"

namespace featreuse::models {

namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

struct Block : nn::Module {
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

// The projection shortcut: downsample.0 (1x1 conv) and downsample.1 (BN).
nn::Sequential make_downsample(int64_t in, int64_t out, int64_t stride) {
  return nn::Sequential(conv(in, out, 1, stride, 0), nn::BatchNorm2d(out));
}

struct BasicBlock : Block {
  static constexpr int64_t expansion = 1;
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};

  BasicBlock(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    if (stride != 1 || in != planes)
      downsample = register_module("downsample", make_downsample(in, planes, stride));
  }

  // ReLU in place, as torchvision's ReLU(inplace=True): BN's backward does
  // not need its output, so no copy is kept.
  at::Tensor forward(const at::Tensor& x) override {
    auto out = bn1->forward(conv1->forward(x)).relu_();
    out = bn2->forward(conv2->forward(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }
};

// torchvision's "ResNet V1.5": the stride sits on the 3x3 conv.
struct Bottleneck : Block {
  static constexpr int64_t expansion = 4;
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};

  Bottleneck(int64_t in, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
    bn1 = register_module("bn1", nn::BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
    bn2 = register_module("bn2", nn::BatchNorm2d(planes));
    conv3 = register_module("conv3", conv(planes, planes * expansion, 1, 1, 0));
    bn3 = register_module("bn3", nn::BatchNorm2d(planes * expansion));
    if (stride != 1 || in != planes * expansion)
      downsample = register_module("downsample", make_downsample(in, planes * expansion, stride));
  }

  at::Tensor forward(const at::Tensor& x) override {
    auto out = bn1->forward(conv1->forward(x)).relu_();
    out = bn2->forward(conv2->forward(out)).relu_();
    out = bn3->forward(conv3->forward(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }
};

struct ResNetConfig {
  bool bottleneck = true;
  std::vector<int64_t> layers{3, 4, 6, 3};
  std::vector<int64_t> widths{64, 128, 256, 512};
  bool small_stem = false;  // 3x3/1 conv, no max-pool: for 28-64 px inputs
};

class ResNet : public StepwiseNetwork {
 public:
  ResNet(const ResNetConfig& cfg, int64_t num_classes, int64_t in_channels) : small_stem_(cfg.small_stem) {
    const int64_t stem = cfg.widths.front();
    conv1 = register_module(
        "conv1", cfg.small_stem ? conv(in_channels, stem, 3, 1, 1) : conv(in_channels, stem, 7, 2, 3));
    bn1 = register_module("bn1", nn::BatchNorm2d(stem));
    int64_t in = stem;
    const int64_t expansion = cfg.bottleneck ? Bottleneck::expansion : BasicBlock::expansion;
    for (size_t s = 0; s < cfg.layers.size(); ++s) {
      nn::ModuleList stage;
      for (int64_t i = 0; i < cfg.layers[s]; ++i) {
        const int64_t stride = (s > 0 && i == 0) ? 2 : 1;
        std::shared_ptr<Block> block;
        if (cfg.bottleneck)
          block = std::make_shared<Bottleneck>(in, cfg.widths[s], stride);
        else
          block = std::make_shared<BasicBlock>(in, cfg.widths[s], stride);
        in = cfg.widths[s] * expansion;
        stage->push_back(block);
        blocks_.push_back(block);
        block_names_.push_back("layer" + std::to_string(s + 1) + "." + std::to_string(i));
      }
      register_module("layer" + std::to_string(s + 1), stage);
    }
    num_stages_ = static_cast<int>(cfg.layers.size());
    fc = register_module("fc", nn::Linear(in, num_classes));
    init_weights();
  }

  std::vector<std::string> probe_points() const override {
    std::vector<std::string> out{"conv1"};
    out.insert(out.end(), block_names_.begin(), block_names_.end());
    out.push_back("fc");
    return out;
  }

  std::vector<InitBlock> block_map() const override {
    std::vector<InitBlock> out{{-1, {"conv1"}}, {0, {"bn1"}}};
    for (int k = 1; k <= num_stages_; ++k) out.push_back({k, {"layer" + std::to_string(k)}});
    return out;
  }

 private:
  // torchvision's _resnet init: conv kaiming_normal(fan_out, relu), BN 1/0;
  // the Linear keeps PyTorch's default, which nn::Linear already applied.
  void init_weights() {
    if (!draws_initial_weights()) return;
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* c = m->as<nn::Conv2d>()) {
        nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
      } else if (auto* b = m->as<nn::BatchNorm2d>()) {
        nn::init::ones_(b->weight);
        nn::init::zeros_(b->bias);
      }
    }
  }

  // Steps: the stem (probe conv1), each block, the head (probe fc, entered
  // with the last block's map: pooling is part of the head's step).
  at::Tensor step(size_t k, const at::Tensor& x, ProbeTrace& trace) override {
    if (k == 0) return stem(x, trace);
    if (k <= blocks_.size()) {
      auto out = blocks_[k - 1]->forward(x);
      trace.output(block_names_[k - 1], out);
      return out;
    }
    auto logits = fc->forward(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
    trace.output("fc", logits);
    return logits;
  }

  at::Tensor stem(const at::Tensor& input, ProbeTrace& trace) {
    auto x = conv1->forward(input);
    trace.output("conv1", x);  // pre-BN, as a forward hook on conv1 sees it
    x = bn1->forward(x).relu_();
    if (!small_stem_) x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    return x;
  }

  bool small_stem_;
  int num_stages_ = 0;
  nn::Conv2d conv1{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  nn::Linear fc{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  std::vector<std::string> block_names_;
};

ResNetConfig read_config(const std::string& arch, const ResNetConfig& preset, const nlohmann::json& options) {
  OptionReader r(arch, options);
  ResNetConfig cfg = preset;
  cfg.bottleneck = r.get_string("block", preset.bottleneck ? "bottleneck" : "basic",
                                {"basic", "bottleneck"}) == "bottleneck";
  cfg.layers = r.get_int_list("layers", preset.layers);
  cfg.widths = r.get_int_list("widths", preset.widths);
  cfg.small_stem =
      r.get_string("stem", preset.small_stem ? "small" : "imagenet", {"imagenet", "small"}) == "small";
  r.finish();
  const std::string who = "model '" + arch + "': ";
  if (cfg.layers.empty()) throw Error(who + "option 'layers' must not be empty");
  if (cfg.layers.size() != cfg.widths.size())
    throw Error(who + "options 'layers' and 'widths' must have the same length (" +
                std::to_string(cfg.layers.size()) + " vs " + std::to_string(cfg.widths.size()) + ")");
  for (auto v : cfg.layers)
    if (v < 1) throw Error(who + "option 'layers' needs at least one block per stage");
  for (auto v : cfg.widths)
    if (v < 1) throw Error(who + "option 'widths' must be positive");
  return cfg;
}

void check_spec(const ModelSpec& spec) {
  if (spec.num_classes < 1) throw Error("model '" + spec.arch + "': num_classes must be positive");
  if (spec.in_channels != 1 && spec.in_channels != 3)
    throw Error("model '" + spec.arch + "': in_channels must be 1 or 3, got " +
                std::to_string(spec.in_channels));
}

}  // namespace

void register_resnet_models(Registry& registry) {
  struct Preset {
    const char* name;
    bool bottleneck;
    std::vector<int64_t> layers;
  };
  const std::vector<Preset> presets = {{"resnet18", false, {2, 2, 2, 2}},
                                       {"resnet34", false, {3, 4, 6, 3}},
                                       {"resnet50", true, {3, 4, 6, 3}},
                                       {"resnet101", true, {3, 4, 23, 3}},
                                       {"resnet152", true, {3, 8, 36, 3}}};
  for (const auto& p : presets) {
    ResNetConfig preset;
    preset.bottleneck = p.bottleneck;
    preset.layers = p.layers;
    registry.add({p.name, Family::resnet, std::string("torchvision ") + p.name, 224},
                 [preset](const ModelSpec& spec) -> std::shared_ptr<Network> {
                   check_spec(spec);
                   return std::make_shared<ResNet>(read_config(spec.arch, preset, spec.options),
                                                   spec.num_classes, spec.in_channels);
                 });
  }
  registry.add({"resnet", Family::resnet,
                "configurable ResNet (options: block basic|bottleneck, layers, widths, "
                "stem imagenet|small); defaults are resnet50's",
                224},
               [](const ModelSpec& spec) -> std::shared_ptr<Network> {
                 check_spec(spec);
                 return std::make_shared<ResNet>(read_config(spec.arch, {}, spec.options), spec.num_classes,
                                                 spec.in_channels);
               });
}

}  // namespace featreuse::models
