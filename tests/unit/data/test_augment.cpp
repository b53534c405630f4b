// Augmentation ops against torchvision.transforms.functional (tensor path) for
// fixed parameters, and the crop sampler against torchvision's get_params.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data_test_util.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/data/augment.hpp"

using namespace featreuse::data;

namespace {

class TorchvisionOracle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!data_test::python_has("torch, torchvision, h5py, PIL")) return;
    dir_ = new data_test::TempDir("augment");
    ASSERT_EQ(data_test::run_python("oracle_augment.py", *dir_ / "augment.h5"), 0);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "/usr/bin/python3 lacks torch/torchvision/h5py";
    file_ = featreuse::h5::open_serial(*dir_ / "augment.h5", featreuse::h5::Access::read_only);
  }
  at::Tensor get(const std::string& name) {
    std::vector<hsize_t> shape;
    auto v = data_test::read_h5<float>(file_, name, H5T_NATIVE_FLOAT, &shape);
    std::vector<int64_t> sizes(shape.begin(), shape.end());
    return at::tensor(v).view(sizes);
  }
  template <typename T>
  std::vector<T> values(const std::string& name, hid_t type) {
    return data_test::read_h5<T>(file_, name, type);
  }
  static void expect_close(const at::Tensor& ours, const at::Tensor& theirs, const std::string& what,
                           double tol = 1e-5) {
    ASSERT_EQ(ours.sizes(), theirs.sizes()) << what;
    const double diff = (ours - theirs).abs().max().item<double>();
    EXPECT_LE(diff, tol) << what;
  }
  static data_test::TempDir* dir_;
  featreuse::h5::Handle file_;
};
data_test::TempDir* TorchvisionOracle::dir_ = nullptr;

}  // namespace

TEST_F(TorchvisionOracle, ResizedCropAndResizeMatchAntialiasedBilinear) {
  const at::Tensor rgb = get("rgb");
  const auto boxes = values<int64_t>("boxes", H5T_NATIVE_INT64);
  for (size_t k = 0; k < boxes.size() / 4; ++k) {
    CropBox box{boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]};
    expect_close(resized_crop(rgb, box, 224), get("resized_crop/" + std::to_string(k)),
                 "resized_crop " + std::to_string(k));
  }
  expect_close(resize(get("small"), 256), get("resize_small"), "resize 96 -> 256");
  expect_close(center_crop(rgb, 224), get("center_crop"), "center_crop");
  expect_close(hflip(rgb), get("hflip"), "hflip", 0);
  expect_close(vflip(rgb), get("vflip"), "vflip", 0);
  expect_close(rgb_to_grayscale(rgb, 3), get("grayscale3"), "rgb_to_grayscale");
  expect_close(normalize(rgb, {0.415, 0.221, 0.073}, {0.275, 0.150, 0.081}), get("normalize"), "normalize");
}

TEST_F(TorchvisionOracle, ColorJitterOpsMatch) {
  const at::Tensor rgb = get("rgb"), gray = get("gray");
  struct Op {
    const char* name;
    at::Tensor (*fn)(const at::Tensor&, double);
  };
  for (const Op& op : {Op{"brightness", adjust_brightness}, Op{"contrast", adjust_contrast},
                       Op{"saturation", adjust_saturation}, Op{"hue", adjust_hue}}) {
    const auto factors = values<double>(std::string(op.name) + "/factors", H5T_NATIVE_DOUBLE);
    for (size_t k = 0; k < factors.size(); ++k) {
      expect_close(op.fn(rgb, factors[k]), get(std::string(op.name) + "/rgb/" + std::to_string(k)),
                   std::string(op.name) + " rgb " + std::to_string(factors[k]));
      expect_close(op.fn(gray, factors[k]), get(std::string(op.name) + "/gray/" + std::to_string(k)),
                   std::string(op.name) + " gray " + std::to_string(factors[k]));
    }
  }
}

// The reference crops PIL images (uint8 after resampling); we stay in float.
TEST_F(TorchvisionOracle, ResizedCropIsWithinOneLevelOfPil) {
  std::vector<hsize_t> shape;
  const auto raw = data_test::read_h5<uint8_t>(file_, "u8", H5T_NATIVE_UINT8, &shape);
  const at::Tensor u8 =
      at::tensor(std::vector<int64_t>(raw.begin(), raw.end())).to(at::kFloat).view({3, 256, 256});
  const auto boxes = values<int64_t>("boxes", H5T_NATIVE_INT64);
  for (size_t k = 0; k < boxes.size() / 4; ++k) {
    CropBox box{boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]};
    const at::Tensor ours = resized_crop(u8 / 255.0, box, 224) * 255.0;
    const auto pil_raw =
        data_test::read_h5<uint8_t>(file_, "pil_resized_crop/" + std::to_string(k), H5T_NATIVE_UINT8);
    const at::Tensor pil = at::tensor(std::vector<int64_t>(pil_raw.begin(), pil_raw.end()))
                               .to(at::kFloat)
                               .view({224, 224, 3})
                               .permute({2, 0, 1});
    const double max_diff = (ours - pil).abs().max().item<double>();
    const double mean_diff = (ours - pil).abs().mean().item<double>();
    std::printf("[ measure  ] resized_crop box %zu vs PIL: max |diff| %.3f, mean %.4f levels\n", k, max_diff,
                mean_diff);
    EXPECT_LE(max_diff, 1.5);
  }
}

TEST_F(TorchvisionOracle, CropSamplerMatchesTorchvisionStatistics) {
  const auto draws = values<int64_t>("rrc_draws", H5T_NATIVE_INT64);
  const size_t n = draws.size() / 4;
  double th = 0, tw = 0, tfall = 0;
  for (size_t i = 0; i < n; ++i) {
    th += double(draws[4 * i + 2]);
    tw += double(draws[4 * i + 3]);
    tfall += draws[4 * i + 2] == 256 && draws[4 * i + 3] == 256;
  }
  double oh = 0, ow = 0, ofall = 0;
  AugmentOptions options;
  for (size_t i = 0; i < n; ++i) {
    const CropBox b = sample_augment(256, 256, options, featreuse::derive_seed(5, "sample", i)).crop;
    ASSERT_GE(b.top, 0);
    ASSERT_LE(b.top + b.height, 256);
    ASSERT_LE(b.left + b.width, 256);
    oh += double(b.height);
    ow += double(b.width);
    ofall += b.height == 256 && b.width == 256;
  }
  EXPECT_NEAR(oh / n, th / n, 0.6);
  EXPECT_NEAR(ow / n, tw / n, 0.6);
  EXPECT_NEAR(ofall / n, tfall / n, 0.015);
}

TEST(Augment, FallbackCropClampsToTheRatioRange) {
  AugmentOptions options;
  options.scale_min = options.scale_max = 4.0;  // never fits: always the fallback
  auto half = [] { return 0.5; };
  const CropBox wide = random_resized_crop_box(100, 300, options, half);
  EXPECT_EQ(wide.height, 100);
  EXPECT_EQ(wide.width, 133);  // round(100 * 4/3)
  EXPECT_EQ(wide.left, (300 - 133) / 2);
  const CropBox tall = random_resized_crop_box(300, 100, options, half);
  EXPECT_EQ(tall.width, 100);
  EXPECT_EQ(tall.height, 133);  // round(100 / (3/4))
  const CropBox square = random_resized_crop_box(256, 256, options, half);
  EXPECT_EQ(square.height, 256);
  EXPECT_EQ(square.top, 0);
}

TEST(Augment, BatchPipelinesAreDeterministicPerSample) {
  at::manual_seed(1);
  const at::Tensor images = at::randint(0, 256, {4, 3, 256, 256}, at::kByte);
  const at::Tensor mean = at::tensor({0.5f, 0.4f, 0.3f}), std = at::tensor({0.2f, 0.25f, 0.3f});
  AugmentOptions options;
  std::vector<SampleAugment> params;
  for (int i = 0; i < 4; ++i)
    params.push_back(sample_augment(256, 256, options, featreuse::derive_seed(9, "s", i)));
  const at::Tensor a = augment_batch(images, params, 256, 224, mean, std);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{4, 3, 224, 224}));
  // The same sample alone gives the same result: no cross-sample state.
  const at::Tensor one = augment_batch(images.narrow(0, 2, 1), {params[2]}, 256, 224, mean, std);
  EXPECT_TRUE(at::allclose(one[0], a[2], 0, 0));
  // A hand-built sample: vertical flip only, full crop -> resize 256 -> 224.
  SampleAugment flip;
  flip.crop = {0, 0, 256, 256};
  flip.vflip = true;
  const at::Tensor f = augment_batch(images.narrow(0, 0, 1), {flip}, 256, 224, mean, std);
  const at::Tensor expect =
      normalize(vflip(resize(images[0].to(at::kFloat) / 255.0, 224)), {0.5, 0.4, 0.3}, {0.2, 0.25, 0.3});
  EXPECT_LE((f[0] - expect).abs().max().item<double>(), 1e-5);
  // Evaluation: centre crop of the normalised image.
  const at::Tensor e = eval_batch(images, 256, 224, mean, std);
  const at::Tensor expect_eval =
      normalize(center_crop(images.to(at::kFloat) / 255.0, 224), {0.5, 0.4, 0.3}, {0.2, 0.25, 0.3});
  EXPECT_LE((e - expect_eval).abs().max().item<double>(), 1e-5);
  // Stored smaller than the resize side (PCam): resized first.
  const at::Tensor small = at::randint(0, 256, {2, 3, 96, 96}, at::kByte);
  const at::Tensor es = eval_batch(small, 256, 224, mean, std);
  EXPECT_EQ(es.sizes(), (std::vector<int64_t>{2, 3, 224, 224}));
  const at::Tensor expect_small = normalize(center_crop(resize(small.to(at::kFloat) / 255.0, 256), 224),
                                            {0.5, 0.4, 0.3}, {0.2, 0.25, 0.3});
  EXPECT_LE((es - expect_small).abs().max().item<double>(), 1e-5);
}

// The fused CPU kernel against the ATen path (itself checked against
// torchvision above), over random parameters including every jitter order.
TEST(Augment, FusedCpuPathMatchesAtenPath) {
  at::manual_seed(2);
  const at::Tensor mean = at::tensor({0.45f, 0.4f, 0.35f}), std = at::tensor({0.22f, 0.25f, 0.3f});
  AugmentOptions always;
  always.jitter = 1.0;  // exercise the jitter ops on every sample
  always.grayscale = 0.3;
  for (int channels : {3, 1}) {
    const at::Tensor images = at::randint(0, 256, {24, channels, 256, 256}, at::kByte);
    std::vector<SampleAugment> params;
    for (int i = 0; i < 24; ++i)
      params.push_back(
          sample_augment(256, 256, i % 2 ? always : AugmentOptions{}, featreuse::derive_seed(4, "s", i)));
    const at::Tensor m = mean.narrow(0, 0, channels), s = std.narrow(0, 0, channels);
    const at::Tensor fused = augment_batch(images, params, 256, 224, m, s);
    const at::Tensor aten = augment_batch_aten(images, params, 256, 224, m, s);
    EXPECT_LE((fused - aten).abs().max().item<double>(), 2e-4) << channels << " channel(s)";
    // Stored at 96 (PCam): resized to 256 first on both paths.
    const at::Tensor small = at::randint(0, 256, {4, channels, 96, 96}, at::kByte);
    const std::vector<SampleAugment> few(params.begin(), params.begin() + 4);
    EXPECT_LE((augment_batch(small, few, 256, 224, m, s) - augment_batch_aten(small, few, 256, 224, m, s))
                  .abs()
                  .max()
                  .item<double>(),
              2e-4);
  }
}
