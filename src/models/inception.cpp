// InceptionV3 (Szegedy et al. 2016) laid out exactly as torchvision's
// inception.py (Conv2d_1a_3x3.conv/.bn, Mixed_5b.branch1x1.conv, ..., fc),
// as the paper's code builds it: aux_logits=False, transform_input=False,
// avgpool -> dropout(0.5) -> fc, BatchNorm eps 1e-3. A `width` option scales
// every channel count for small test/demo variants (names stay the same).
// `inception_v3_fid` is the network pytorch-fid builds for FID (TensorFlow's
// inception-2015-12-05 graph): 1008 classes and the pooling of TF's Mixed
// blocks (see BranchPool).
#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/models/families.hpp"
#include "featreuse/models/options.hpp"
#include "featreuse/models/stepwise.hpp"
#include "featreuse/models/vit_layers.hpp"

namespace featreuse::models {

namespace {

namespace nn = torch::nn;
using Pair = std::array<int64_t, 2>;

// conv(bias=False) + BN(eps=1e-3) + ReLU, torchvision's BasicConv2d.
struct BasicConv2d : nn::Module {
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  int64_t out_channels;

  BasicConv2d(int64_t in, int64_t out, Pair kernel, Pair stride = {1, 1}, Pair pad = {0, 0})
      : out_channels(out) {
    conv = register_module(
        "conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad).bias(false)));
    bn = register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-3)));
  }
  // ReLU in place, as torchvision's F.relu(inplace=True).
  at::Tensor forward(const at::Tensor& x) { return bn->forward(conv->forward(x)).relu_(); }
};

using Conv = std::shared_ptr<BasicConv2d>;

// Every Mixed_* block: forward plus its output channel count.
struct Mixed : nn::Module {
  int64_t out_channels = 0;
  virtual at::Tensor forward(const at::Tensor& x) = 0;

 protected:
  Conv add(const std::string& name, int64_t in, int64_t out, Pair k, Pair s = {1, 1}, Pair p = {0, 0}) {
    return register_module(name, std::make_shared<BasicConv2d>(in, out, k, s, p));
  }
};

at::Tensor max3(const at::Tensor& x) { return at::max_pool2d(x, {3, 3}, {2, 2}); }

// The 3x3/1 pooling in front of a Mixed block's branch_pool conv. torchvision
// averages over the padded window; TensorFlow's graph (pytorch-fid's
// FIDInceptionA/C/E_1) leaves the padding out of the average, and its last
// block (FIDInceptionE_2, Mixed_7c) takes the maximum instead.
enum class BranchPool { average, average_without_padding, maximum };

at::Tensor branch_pool(const at::Tensor& x, BranchPool kind) {
  switch (kind) {
    case BranchPool::average_without_padding:
      return at::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/false);
    case BranchPool::maximum:
      return at::max_pool2d(x, {3, 3}, {1, 1}, {1, 1});
    case BranchPool::average:
      break;
  }
  return at::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1});
}

struct InceptionA : Mixed {
  Conv b1, b5_1, b5_2, bd_1, bd_2, bd_3, pool;
  BranchPool pooling;
  InceptionA(int64_t in, int64_t pool_features, const std::function<int64_t(int64_t)>& c, BranchPool pooling)
      : pooling(pooling) {
    b1 = add("branch1x1", in, c(64), {1, 1});
    b5_1 = add("branch5x5_1", in, c(48), {1, 1});
    b5_2 = add("branch5x5_2", c(48), c(64), {5, 5}, {1, 1}, {2, 2});
    bd_1 = add("branch3x3dbl_1", in, c(64), {1, 1});
    bd_2 = add("branch3x3dbl_2", c(64), c(96), {3, 3}, {1, 1}, {1, 1});
    bd_3 = add("branch3x3dbl_3", c(96), c(96), {3, 3}, {1, 1}, {1, 1});
    pool = add("branch_pool", in, pool_features, {1, 1});
    out_channels = c(64) + c(64) + c(96) + pool_features;
  }
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat({b1->forward(x), b5_2->forward(b5_1->forward(x)),
                    bd_3->forward(bd_2->forward(bd_1->forward(x))), pool->forward(branch_pool(x, pooling))},
                   1);
  }
};

struct InceptionB : Mixed {
  Conv b3, bd_1, bd_2, bd_3;
  InceptionB(int64_t in, const std::function<int64_t(int64_t)>& c) {
    b3 = add("branch3x3", in, c(384), {3, 3}, {2, 2});
    bd_1 = add("branch3x3dbl_1", in, c(64), {1, 1});
    bd_2 = add("branch3x3dbl_2", c(64), c(96), {3, 3}, {1, 1}, {1, 1});
    bd_3 = add("branch3x3dbl_3", c(96), c(96), {3, 3}, {2, 2});
    out_channels = c(384) + c(96) + in;
  }
  at::Tensor forward(const at::Tensor& x) override {
    return at::cat({b3->forward(x), bd_3->forward(bd_2->forward(bd_1->forward(x))), max3(x)}, 1);
  }
};

struct InceptionC : Mixed {
  Conv b1, b7_1, b7_2, b7_3, bd_1, bd_2, bd_3, bd_4, bd_5, pool;
  BranchPool pooling;
  InceptionC(int64_t in, int64_t c7, const std::function<int64_t(int64_t)>& c, BranchPool pooling)
      : pooling(pooling) {
    b1 = add("branch1x1", in, c(192), {1, 1});
    b7_1 = add("branch7x7_1", in, c7, {1, 1});
    b7_2 = add("branch7x7_2", c7, c7, {1, 7}, {1, 1}, {0, 3});
    b7_3 = add("branch7x7_3", c7, c(192), {7, 1}, {1, 1}, {3, 0});
    bd_1 = add("branch7x7dbl_1", in, c7, {1, 1});
    bd_2 = add("branch7x7dbl_2", c7, c7, {7, 1}, {1, 1}, {3, 0});
    bd_3 = add("branch7x7dbl_3", c7, c7, {1, 7}, {1, 1}, {0, 3});
    bd_4 = add("branch7x7dbl_4", c7, c7, {7, 1}, {1, 1}, {3, 0});
    bd_5 = add("branch7x7dbl_5", c7, c(192), {1, 7}, {1, 1}, {0, 3});
    pool = add("branch_pool", in, c(192), {1, 1});
    out_channels = 4 * c(192);
  }
  at::Tensor forward(const at::Tensor& x) override {
    auto b7 = b7_3->forward(b7_2->forward(b7_1->forward(x)));
    auto bd = bd_1->forward(x);
    bd = bd_5->forward(bd_4->forward(bd_3->forward(bd_2->forward(bd))));
    return at::cat({b1->forward(x), b7, bd, pool->forward(branch_pool(x, pooling))}, 1);
  }
};

struct InceptionD : Mixed {
  Conv b3_1, b3_2, b7_1, b7_2, b7_3, b7_4;
  InceptionD(int64_t in, const std::function<int64_t(int64_t)>& c) {
    b3_1 = add("branch3x3_1", in, c(192), {1, 1});
    b3_2 = add("branch3x3_2", c(192), c(320), {3, 3}, {2, 2});
    b7_1 = add("branch7x7x3_1", in, c(192), {1, 1});
    b7_2 = add("branch7x7x3_2", c(192), c(192), {1, 7}, {1, 1}, {0, 3});
    b7_3 = add("branch7x7x3_3", c(192), c(192), {7, 1}, {1, 1}, {3, 0});
    b7_4 = add("branch7x7x3_4", c(192), c(192), {3, 3}, {2, 2});
    out_channels = c(320) + c(192) + in;
  }
  at::Tensor forward(const at::Tensor& x) override {
    auto b7 = b7_4->forward(b7_3->forward(b7_2->forward(b7_1->forward(x))));
    return at::cat({b3_2->forward(b3_1->forward(x)), b7, max3(x)}, 1);
  }
};

struct InceptionE : Mixed {
  Conv b1, b3_1, b3_2a, b3_2b, bd_1, bd_2, bd_3a, bd_3b, pool;
  BranchPool pooling;
  InceptionE(int64_t in, const std::function<int64_t(int64_t)>& c, BranchPool pooling) : pooling(pooling) {
    b1 = add("branch1x1", in, c(320), {1, 1});
    b3_1 = add("branch3x3_1", in, c(384), {1, 1});
    b3_2a = add("branch3x3_2a", c(384), c(384), {1, 3}, {1, 1}, {0, 1});
    b3_2b = add("branch3x3_2b", c(384), c(384), {3, 1}, {1, 1}, {1, 0});
    bd_1 = add("branch3x3dbl_1", in, c(448), {1, 1});
    bd_2 = add("branch3x3dbl_2", c(448), c(384), {3, 3}, {1, 1}, {1, 1});
    bd_3a = add("branch3x3dbl_3a", c(384), c(384), {1, 3}, {1, 1}, {0, 1});
    bd_3b = add("branch3x3dbl_3b", c(384), c(384), {3, 1}, {1, 1}, {1, 0});
    pool = add("branch_pool", in, c(192), {1, 1});
    out_channels = c(320) + 4 * c(384) + c(192);
  }
  at::Tensor forward(const at::Tensor& x) override {
    auto b3 = b3_1->forward(x);
    b3 = at::cat({b3_2a->forward(b3), b3_2b->forward(b3)}, 1);
    auto bd = bd_2->forward(bd_1->forward(x));
    bd = at::cat({bd_3a->forward(bd), bd_3b->forward(bd)}, 1);
    return at::cat({b1->forward(x), b3, bd, pool->forward(branch_pool(x, pooling))}, 1);
  }
};

class Inception3 : public StepwiseNetwork {
 public:
  Inception3(int64_t num_classes, int64_t in_channels, double width, double dropout, const std::string& init,
             bool tensorflow_pooling)
      : dropout_(dropout) {
    auto c = [width](int64_t n) {
      return std::max<int64_t>(1, static_cast<int64_t>(std::lround(n * width)));
    };
    auto stem = [&](const std::string& name, int64_t in, int64_t out, Pair k, Pair s = {1, 1},
                    Pair p = {0, 0}) {
      auto m = register_module(name, std::make_shared<BasicConv2d>(in, out, k, s, p));
      step_starts_.push_back(stages_.size());
      stages_.push_back({name, [m](const at::Tensor& x) { return m->forward(x); }});
      return out;
    };
    auto pool = [&] {  // torchvision's maxpool1/maxpool2 (3x3/2), not probe points
      stages_.push_back({"", [](const at::Tensor& x) { return max3(x); }});
    };
    int64_t ch = stem("Conv2d_1a_3x3", in_channels, c(32), {3, 3}, {2, 2});
    ch = stem("Conv2d_2a_3x3", ch, c(32), {3, 3});
    ch = stem("Conv2d_2b_3x3", ch, c(64), {3, 3}, {1, 1}, {1, 1});
    pool();
    ch = stem("Conv2d_3b_1x1", ch, c(80), {1, 1});
    ch = stem("Conv2d_4a_3x3", ch, c(192), {3, 3});
    pool();
    auto mixed = [&](const std::string& name, std::shared_ptr<Mixed> m) {
      register_module(name, m);
      step_starts_.push_back(stages_.size());
      stages_.push_back({name, [m](const at::Tensor& x) { return m->forward(x); }});
      ch = m->out_channels;
    };
    const BranchPool avg = tensorflow_pooling ? BranchPool::average_without_padding : BranchPool::average;
    const BranchPool last = tensorflow_pooling ? BranchPool::maximum : BranchPool::average;
    mixed("Mixed_5b", std::make_shared<InceptionA>(ch, c(32), c, avg));
    mixed("Mixed_5c", std::make_shared<InceptionA>(ch, c(64), c, avg));
    mixed("Mixed_5d", std::make_shared<InceptionA>(ch, c(64), c, avg));
    mixed("Mixed_6a", std::make_shared<InceptionB>(ch, c));
    mixed("Mixed_6b", std::make_shared<InceptionC>(ch, c(128), c, avg));
    mixed("Mixed_6c", std::make_shared<InceptionC>(ch, c(160), c, avg));
    mixed("Mixed_6d", std::make_shared<InceptionC>(ch, c(160), c, avg));
    mixed("Mixed_6e", std::make_shared<InceptionC>(ch, c(192), c, avg));
    mixed("Mixed_7a", std::make_shared<InceptionD>(ch, c));
    mixed("Mixed_7b", std::make_shared<InceptionE>(ch, c, avg));
    mixed("Mixed_7c", std::make_shared<InceptionE>(ch, c, last));
    fc = register_module("fc", nn::Linear(ch, num_classes));
    init_weights(init);
  }

  std::vector<std::string> probe_points() const override {
    std::vector<std::string> out;
    for (const auto& s : stages_)
      if (!s.name.empty()) out.push_back(s.name);
    out.push_back("fc");
    return out;
  }

  std::string first_conv_name() const override { return "Conv2d_1a_3x3.conv"; }

  // torchvision's ImageNet file (inception_v3_google-*.pth) holds the
  // auxiliary head, which the paper's network does not have: torchvision
  // itself loads it with aux_logits and then drops it, so it is dropped here.
  void adapt_weights(TensorList& weights) const override {
    weights.erase(std::remove_if(weights.begin(), weights.end(),
                                 [](const auto& entry) { return entry.first.rfind("AuxLogits.", 0) == 0; }),
                  weights.end());
  }

  std::vector<InitBlock> block_map() const override {
    return {{-1, {"Conv2d_1a_3x3"}},
            {0, {"Conv2d_2a_3x3", "Conv2d_2b_3x3"}},
            {1, {"Conv2d_3b_1x1"}},
            {2, {"Conv2d_4a_3x3"}},
            {3, {"Mixed_5b", "Mixed_5c", "Mixed_5d"}},
            {4, {"Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"}},
            {5, {"Mixed_7a", "Mixed_7b", "Mixed_7c"}}};
  }

 private:
  // "paper" (the reference: torchvision 0.9.1 under the paper's Classifier):
  // every Conv2d weight ~ scipy truncnorm(-2, 2, scale=0.1), i.e. clipped at
  // +-0.2; the head is a fresh nn.Linear with PyTorch's default init; BN 1/0.
  // "torchvision" (0.14): Conv2d and Linear weights ~ trunc_normal_(std=0.1,
  // a=-2, b=2) (absolute bounds: effectively untruncated), Linear bias default.
  void init_weights(const std::string& init) {
    const bool paper = init == "paper";
    const double bound = paper ? 0.2 : 2.0;
    for (auto& m : modules(/*include_self=*/false)) {
      if (auto* conv = m->as<nn::Conv2d>()) {
        trunc_normal_(conv->weight, 0.0, 0.1, -bound, bound);
      } else if (auto* lin = m->as<nn::Linear>()) {
        if (!paper) trunc_normal_(lin->weight, 0.0, 0.1, -bound, bound);
      } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
        nn::init::ones_(bn->weight);
        nn::init::zeros_(bn->bias);
      }
    }
  }

  // Steps: each named stage with the max-pools that follow it (probe output
  // before the pools, as a hook on the module sees it), then the head (probe
  // fc, entered with Mixed_7c's map).
  at::Tensor step(size_t k, const at::Tensor& x, ProbeTrace& trace) override {
    if (k == 0) check_input(x);
    if (k == step_starts_.size()) return classify(x, trace);
    const Stage& named = stages_[step_starts_[k]];
    auto out = named.fn(x);
    trace.output(named.name, out);
    for (size_t s = step_starts_[k] + 1; s < stages_.size() && stages_[s].name.empty(); ++s)
      out = stages_[s].fn(out);
    return out;
  }

  static void check_input(const at::Tensor& input) {
    if (input.dim() != 4 || input.size(2) < 75 || input.size(3) < 75)
      throw Error("inception_v3 needs input of at least 75x75 pixels, got shape " + c10::str(input.sizes()));
  }

  at::Tensor classify(const at::Tensor& features, ProbeTrace& trace) {
    auto x = at::adaptive_avg_pool2d(features, {1, 1});
    x = at::dropout(x, dropout_, is_training()).flatten(1);
    x = fc->forward(x);
    trace.output("fc", x);
    return x;
  }

  struct Stage {
    std::string name;  // empty: a max-pool between named modules
    std::function<at::Tensor(const at::Tensor&)> fn;
  };
  std::vector<Stage> stages_;
  std::vector<size_t> step_starts_;  // per step but the head's, its named stage in stages_
  double dropout_;
  nn::Linear fc{nullptr};
};

// Options shared by both variants, checked; builds the network.
std::shared_ptr<Network> build_inception(const ModelSpec& spec, bool tensorflow_pooling) {
  OptionReader r(spec.arch, spec.options);
  const double width = r.get_double("width", 1.0);
  const double dropout = r.get_double("dropout", 0.5);
  const auto init = r.get_string("init", "paper", {"paper", "torchvision"});
  r.finish();
  const std::string who = "model '" + spec.arch + "': ";
  if (!(width > 0.0 && width <= 4.0)) throw Error(who + "option 'width' must be in (0, 4]");
  if (!(dropout >= 0.0 && dropout < 1.0)) throw Error(who + "option 'dropout' must be in [0, 1)");
  if (spec.num_classes < 1) throw Error(who + "num_classes must be positive");
  if (spec.in_channels != 1 && spec.in_channels != 3) throw Error(who + "in_channels must be 1 or 3");
  return std::make_shared<Inception3>(spec.num_classes, spec.in_channels, width, dropout, init,
                                      tensorflow_pooling);
}

}  // namespace

void register_inception_models(Registry& registry) {
  registry.add({"inception_v3", Family::inception,
                "torchvision inception_v3 without aux head, transform_input off (options: width, "
                "dropout, init paper|torchvision)",
                224},
               [](const ModelSpec& spec) { return build_inception(spec, /*tensorflow_pooling=*/false); });
  registry.add({"inception_v3_fid", Family::inception,
                "pytorch-fid's FID Inception (TensorFlow's 2015-12-05 graph: 1008 classes, TF pooling in "
                "the Mixed blocks); weights pt_inception-2015-12-05; used by `featreuse fid`",
                299},
               [](const ModelSpec& spec) { return build_inception(spec, /*tensorflow_pooling=*/true); });
}

}  // namespace featreuse::models
