// The analysis kernels against independent references (tests/oracles/
// analysis_oracle.py: brute-force numpy k-NN, Kornblith et al.'s CKA, Song
// et al.'s HSIC formula, pytorch-fid's scipy sqrtm formula), plus the
// properties they must have and an analytic check of the l2 drift.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "featreuse/analysis/attention_distance.hpp"
#include "featreuse/analysis/cka.hpp"
#include "featreuse/analysis/drift.hpp"
#include "featreuse/analysis/fid.hpp"
#include "featreuse/analysis/frechet.hpp"
#include "featreuse/analysis/knn.hpp"
#include "featreuse/analysis/layer_cka.hpp"
#include "featreuse/analysis/layerwise.hpp"
#include "featreuse/analysis/reinit.hpp"
#include "featreuse/analysis/task.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/json.hpp"
#include "featreuse/data/memory_dataset.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/train/evaluate.hpp"
#include "featreuse/train/metrics.hpp"

using namespace featreuse;
using namespace featreuse::analysis;

namespace {

const nlohmann::json& oracle() {
  static const nlohmann::json cases = [] {
    const char* py = std::getenv("FEATREUSE_ORACLE_PYTHON");
    const std::string cmd = std::string(py ? py : "/usr/bin/python3") + " " + FEATREUSE_SOURCE_DIR +
                            "/tests/oracles/analysis_oracle.py";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::string text;
    char buf[65536];
    size_t n;
    while (pipe && (n = fread(buf, 1, sizeof buf, pipe.get())) > 0) text.append(buf, n);
    return text.empty() ? nlohmann::json() : nlohmann::json::parse(text);
  }();
  return cases;
}

at::Tensor matrix(const nlohmann::json& rows) {
  std::vector<double> flat;
  for (const auto& row : rows)
    for (const auto& v : row) flat.push_back(v.get<double>());
  return at::tensor(flat, at::kDouble).view({int64_t(rows.size()), -1});
}

at::Tensor vector_of(const nlohmann::json& values) {
  return at::tensor(values.get<std::vector<double>>(), at::kDouble);
}

}  // namespace

TEST(Knn, MatchesBruteForceNumpyForSingleAndMultiLabelBanks) {
  const auto& cases = oracle();
  ASSERT_FALSE(cases.is_null())
      << "the numpy oracle did not run (needs /usr/bin/python3 with numpy and scipy)";
  for (const auto& c : cases["knn"]) {
    const bool multi = c["multi"];
    const at::Tensor labels =
        multi ? matrix(c["labels"]) : at::tensor(c["labels"].get<std::vector<int64_t>>(), at::kLong);
    const KnnBank bank(matrix(c["bank"]), labels, c["classes"]);
    KnnOptions options;
    options.k = c["k"];
    options.temperature = c["temperature"];
    // Small chunks: the incremental top-k must give the brute-force answer.
    options.query_chunk = 7;
    options.bank_chunk = 64;
    const at::Tensor got = bank.scores(matrix(c["queries"]), options);
    const at::Tensor want = matrix(c["scores"]);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5)
        << "k " << c["k"] << (multi ? " multi-label" : "");
  }
}

TEST(Knn, RefusesMismatchedInputs) {
  const KnnBank bank(at::randn({10, 4}), at::randint(0, 2, {10}, at::kLong), 2);
  EXPECT_THROW(bank.scores(at::randn({3, 5})), Error);
  EXPECT_THROW(KnnBank(at::randn({10, 4}), at::randint(0, 2, {9}, at::kLong), 2), Error);
}

TEST(Knn, TiesAtTheKthPlaceGoToTheLowerBankRowInEveryChunking) {
  // Rows 0-2 equal the query (labels 0, 1, 1), row 3 is orthogonal (label 0):
  // the 2 nearest are rows 0 and 1, whatever the chunks.
  const at::Tensor features = at::tensor({1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f}).view({4, 2});
  const KnnBank bank(features, at::tensor({0, 1, 1, 0}, at::kLong), 2);
  for (int64_t chunk : {1, 2, 3, 4}) {
    KnnOptions options;
    options.k = 2;
    options.bank_chunk = chunk;
    const at::Tensor scores = bank.scores(at::tensor({1.0f, 0.0f}).view({1, 2}), options);
    EXPECT_DOUBLE_EQ(scores[0][0].item<double>(), 0.5) << "bank chunk " << chunk;
    EXPECT_DOUBLE_EQ(scores[0][1].item<double>(), 0.5) << "bank chunk " << chunk;
  }
}

TEST(Knn, AQueryWithNaNFeaturesScoresNaNAndLeavesTheOthersAlone) {
  const KnnBank bank(at::randn({50, 4}), at::randint(0, 3, {50}, at::kLong), 3);
  at::Tensor queries = at::randn({3, 4});
  const at::Tensor clean = bank.scores(queries);
  queries[1][2] = std::nanf("");
  const at::Tensor scores = bank.scores(queries);
  EXPECT_TRUE(scores[1].isnan().all().item<bool>());
  EXPECT_TRUE(at::equal(scores[0], clean[0]));
  EXPECT_TRUE(at::equal(scores[2], clean[2]));
}

TEST(Cka, BothEstimatorsMatchKornblithAndSongOnRandomData) {
  const auto& cases = oracle();
  ASSERT_FALSE(cases.is_null()) << "the numpy oracle did not run";
  for (const auto& c : cases["cka"]) {
    const at::Tensor x = matrix(c["x"]), y = matrix(c["y"]);
    EXPECT_NEAR(linear_cka(x, y), c["full"].get<double>(), 1e-6);
    CkaAccumulator acc;
    for (const auto& b : c["batches"]) {
      const int64_t from = b[0], to = b[1];
      acc.add(x.slice(0, from, to), y.slice(0, from, to));
    }
    EXPECT_NEAR(acc.reference(), c["reference"].get<double>(), 1e-6);
    EXPECT_NEAR(acc.minibatch(), c["minibatch"].get<double>(), 1e-6);
    // The centred-Gram form over n (n - 3) is Song et al.'s HSIC_1.
    const int64_t first = c["batches"][0][1];
    const at::Tensor xs = x.slice(0, 0, first), ys = y.slice(0, 0, first);
    const double hsic = unbiased_hsic(at::mm(xs, xs.t()), at::mm(ys, ys.t()));
    EXPECT_NEAR(hsic, c["hsic_xy_first"].get<double>(), 1e-9 * std::max(1.0, std::abs(hsic)));
  }
}

TEST(Cka, IsOneUnderAnOrthogonalMapAndForASelfComparison) {
  at::manual_seed(11);
  const at::Tensor x = at::randn({64, 20}, at::kDouble);
  const at::Tensor q = std::get<0>(at::linalg_qr(at::randn({20, 20}, at::kDouble)));
  EXPECT_NEAR(linear_cka(x, at::mm(x, q)), 1.0, 1e-6);
  CkaAccumulator acc;
  for (int64_t start = 0; start < 64; start += 16) {
    const at::Tensor b = x.slice(0, start, start + 16);
    acc.add(b, at::mm(b, q) * 3.0);  // isotropic scaling too
  }
  EXPECT_NEAR(acc.reference(), 1.0, 1e-6);
  EXPECT_NEAR(acc.minibatch(), 1.0, 1e-6);
  EXPECT_THROW(linear_cka(x.slice(0, 0, 3), x.slice(0, 0, 3)), Error);
}

TEST(Cka, MatrixOfEveryPairMatchesNumpyBatchByBatch) {
  const auto& cases = oracle();
  ASSERT_FALSE(cases.is_null()) << "the numpy oracle did not run";
  const auto& c = cases["cka_matrix"];
  std::vector<at::Tensor> xs, ys;
  for (const auto& x : c["xs"]) xs.push_back(matrix(x));
  for (const auto& y : c["ys"]) ys.push_back(matrix(y));
  const int64_t batch = c["batch"], n = xs[0].size(0);
  CkaMatrix m;
  for (int64_t from = 0; from < n; from += batch) {
    std::vector<at::Tensor> bx, by;
    for (const auto& x : xs) bx.push_back(x.slice(0, from, from + batch));
    for (const auto& y : ys) by.push_back(y.slice(0, from, from + batch));
    m.add(CkaMatrix::centred_grams(bx), CkaMatrix::centred_grams(by), batch);
  }
  EXPECT_LT((m.reference() - matrix(c["reference"])).abs().max().item<double>(), 1e-6);
  EXPECT_LT((m.minibatch() - matrix(c["minibatch"])).abs().max().item<double>(), 1e-6);
}

TEST(Frechet, MatchesPytorchFidsScipyFormula) {
  const auto& cases = oracle();
  ASSERT_FALSE(cases.is_null()) << "the numpy oracle did not run";
  for (const auto& c : cases["frechet"]) {
    const double got =
        frechet_distance(vector_of(c["mu1"]), matrix(c["sigma1"]), vector_of(c["mu2"]), matrix(c["sigma2"]));
    const double want = c["distance"];
    EXPECT_NEAR(got, want, 1e-8 * std::max(1.0, want)) << "dimension " << c["mu1"].size();
  }
  const at::Tensor s = at::eye(4, at::kDouble);
  EXPECT_NEAR(frechet_distance(at::zeros({4}), s, at::zeros({4}), s), 0.0, 1e-12);
  EXPECT_THROW(frechet_distance(at::zeros({4}), s, at::zeros({3}), at::eye(3)), Error);
}

TEST(FeatureMoments, MatchNumpyMeanAndCovWhateverTheBatches) {
  const auto& cases = oracle();
  ASSERT_FALSE(cases.is_null()) << "the numpy oracle did not run";
  for (const auto& c : cases["moments"]) {
    const at::Tensor x = matrix(c["features"]);
    FeatureMoments moments;
    int64_t row = 0;
    for (int64_t n : c["batches"].get<std::vector<int64_t>>()) {
      moments.add(x.narrow(0, row, n));
      row += n;
    }
    const FeatureStats stats = moments.finish();
    EXPECT_EQ(stats.count, x.size(0));
    EXPECT_TRUE(at::allclose(stats.mu, vector_of(c["mu"]), 1e-12, 1e-12));
    EXPECT_TRUE(at::allclose(stats.sigma, matrix(c["sigma"]), 1e-10, 1e-12));
  }
  FeatureMoments one;
  one.add(at::ones({1, 3}));
  EXPECT_THROW(one.finish(), Error);
}

TEST(FidInput, RepeatsGrayToRgbResizesTo299AndScalesToPlusMinusOne) {
  const at::Tensor gray = at::full({2, 1, 40, 50}, 0.25);
  const at::Tensor x = fid_input(gray);
  EXPECT_EQ(x.sizes(), (at::IntArrayRef{2, 3, 299, 299}));
  EXPECT_TRUE(at::allclose(x, at::full_like(x, -0.5)));
  EXPECT_THROW(fid_input(at::zeros({2, 2, 8, 8})), Error);
}

// Known changes to known tensors of a small ResNet: conv1 moved by c in every
// element (||dW|| = c sqrt(n), scaled c / sqrt(n)); bn1 moved too but is a
// norm layer; layer1 unchanged.
TEST(Drift, PerModuleMeanOfScaledNormsWithoutNormLayers) {
  models::ModelSpec spec;
  spec.arch = "resnet";
  spec.num_classes = 3;
  spec.in_channels = 1;
  spec.image_size = 16;
  spec.options = {{"layers", {1, 1}}, {"widths", {4, 8}}, {"stem", "small"}};
  auto net = models::registry().create(spec);
  models::TensorList initial, trained;
  for (const auto& e : models::state_entries(*net)) {
    initial.push_back({e.name, e.tensor.clone()});
    at::Tensor t = e.tensor.clone();
    if (e.name == "conv1.weight" || e.name.rfind("bn1.", 0) == 0) t = t + 0.5;
    trained.push_back({e.name, t});
  }
  const auto drift = weight_drift(*net, initial, trained, {"conv1", "bn1", "layer1"});
  ASSERT_EQ(drift.size(), 3u);
  const double n = double(net->named_parameters()["conv1.weight"].numel());
  EXPECT_EQ(drift[0].tensors, 1);  // the small stem's conv has no bias
  // float32 weights: w + 0.5 - w is 0.5 to about 1e-7.
  EXPECT_NEAR(drift[0].frobenius, 0.5 * std::sqrt(n), 1e-6 * std::sqrt(n));
  EXPECT_NEAR(drift[0].mean_scaled, 0.5 * std::sqrt(n) / n, 1e-6 / std::sqrt(n));
  EXPECT_EQ(drift[1].tensors, 0);  // a norm layer: not measured
  EXPECT_TRUE(std::isnan(drift[1].mean_scaled));
  EXPECT_GT(drift[2].tensors, 0);
  EXPECT_EQ(drift[2].frobenius, 0.0);
}

// DeiT-like maps on a 2x2 patch grid with a class token, 16 px patches.
TEST(AttentionDistance, GlobalMapsWithKnownAnswers) {
  models::BlockAttention block;
  block.grid_h = block.grid_w = 2;
  block.token_px = 16;
  block.prefix_tokens = 1;
  at::Tensor attn = at::zeros({1, 3, 5, 5}, at::kDouble);
  for (int64_t q = 1; q < 5; ++q) {
    attn[0][0][q][q] = 1.0;                      // head 0: each patch on itself
    attn[0][1][q].narrow(0, 1, 4).fill_(0.25);   // head 1: uniform over the patches
    attn[0][2][q][0] = 0.5;                      // head 2: half on the class token,
    attn[0][2][q].narrow(0, 1, 4).fill_(0.125);  // the rest uniform (renormalised)
  }
  block.attn = attn;
  AttentionDistance d;
  d.add(block);
  const auto mean = d.mean();
  ASSERT_EQ(mean.size(), 3u);
  const double uniform = 16.0 * (0 + 1 + 1 + std::sqrt(2.0)) / 4;  // every patch is a corner of the 2x2 grid
  EXPECT_NEAR(mean[0], 0.0, 1e-12);
  EXPECT_NEAR(mean[1], uniform, 1e-12);
  EXPECT_NEAR(mean[2], uniform, 1e-12);
}

// Swin-like maps: a 4x4 token grid, windows of 2, uniform attention within
// each window. Unshifted, every window is a 2x2 block; shifted by 1, the
// windows on the wrapped edge span rows (or columns) 3 and 0 of the grid.
TEST(AttentionDistance, WindowedMapsUseTheUnshiftedPositions) {
  models::BlockAttention block;
  block.grid_h = block.grid_w = 4;
  block.token_px = 8;
  block.window = 2;
  block.attn = at::full({2, 4, 1, 4, 4}, 0.25, at::kDouble);
  AttentionDistance plain;
  plain.add(block);
  EXPECT_NEAR(plain.mean()[0], 8.0 * (2 + std::sqrt(2.0)) / 4, 1e-12);
  block.shift = 1;
  AttentionDistance shifted;
  shifted.add(block);
  const double want = 8.0 * ((2 + std::sqrt(2.0)) + 2 * (4 + std::sqrt(10.0)) + (6 + std::sqrt(18.0))) / 16;
  EXPECT_NEAR(shifted.mean()[0], want, 1e-12);
}

// The real models' maps: every head of every block gives a finite distance
// within the image.
TEST(AttentionDistance, RealDeiTAndSwinMaps) {
  for (const char* arch : {"deit", "swin"}) {
    models::ModelSpec spec;
    spec.arch = arch;
    spec.num_classes = 3;
    spec.image_size = 32;
    spec.options = std::string(arch) == "deit" ? nlohmann::json{{"img_size", 32},
                                                                {"patch_size", 8},
                                                                {"embed_dim", 16},
                                                                {"depth", 2},
                                                                {"num_heads", 2}}
                                               : nlohmann::json{{"patch_size", 2},
                                                                {"embed_dim", 8},
                                                                {"depths", {2, 2}},
                                                                {"num_heads", {1, 2}},
                                                                {"window_size", 4}};
    auto net = models::registry().create(spec);
    net->eval();
    auto* source = dynamic_cast<models::AttentionMapSource*>(net.get());
    ASSERT_NE(source, nullptr) << arch;
    for (const auto& block : source->attention_maps(at::randn({2, 3, 32, 32}))) {
      AttentionDistance d;
      d.add(block);
      for (double m : d.mean()) {
        EXPECT_TRUE(std::isfinite(m)) << arch << " " << block.block;
        EXPECT_GE(m, 0.0);
        EXPECT_LE(m, 32 * std::sqrt(2.0));
      }
    }
  }
}

namespace {

// Three classes of 16x16 single-channel images: a bright horizontal band in
// the top, middle or bottom third, plus noise.
std::unique_ptr<data::Dataset> bands() {
  at::manual_seed(5);
  auto split = [](int64_t n) {
    const at::Tensor labels = at::randint(0, 3, {n}, at::kLong);
    at::Tensor images = at::randint(0, 60, {n, 1, 16, 16}, at::kLong);
    for (int64_t i = 0; i < n; ++i) images[i].narrow(1, 5 * labels[i].item<int64_t>(), 5).add_(170);
    return data::SplitData{images.to(at::kByte), labels};
  };
  data::DatasetInfo info;
  info.name = "bands";
  info.reader = "memory";
  info.channels = 1;
  info.image_size = 16;
  info.num_classes = 3;
  info.target_metric = "accuracy";
  return std::make_unique<data::InMemoryDataset>(
      info, std::array<data::SplitData, 3>{split(96), split(24), split(40)}, std::vector<double>{0.3},
      std::vector<double>{0.3});
}

std::shared_ptr<models::Network> small(const std::string& arch) {
  models::ModelSpec spec;
  spec.arch = arch;
  spec.num_classes = 3;
  spec.in_channels = 1;
  spec.image_size = 16;
  spec.options =
      arch == "resnet"
          ? nlohmann::json{{"layers", {1, 1}}, {"widths", {4, 8}}, {"stem", "small"}}
          : nlohmann::json{
                {"img_size", 16}, {"patch_size", 4}, {"embed_dim", 16}, {"depth", 2}, {"num_heads", 2}};
  at::manual_seed(3);
  return models::registry().create(spec);
}

models::TensorList state_of(models::Network& net) {
  models::TensorList out;
  for (const auto& e : models::state_entries(net)) out.push_back({e.name, e.tensor.clone()});
  return out;
}

}  // namespace

// The head's k-NN, from the probed forward, equals a k-NN on the logits that
// train::evaluate computes; splitting the probes into groups changes nothing.
TEST(LayerwiseKnn, HeadMatchesEvaluateLogitsAndGroupsDoNotMatter) {
  auto dataset = bands();
  auto net = small("resnet");
  KnnOptions options;
  options.k = 10;
  const auto probes = net->probe_points();
  const auto all = layerwise_knn(*net, *dataset, probes, options, 32);
  ASSERT_EQ(all.size(), probes.size());  // a CNN: one feature per probe
  const auto one_by_one = layerwise_knn(*net, *dataset, probes, options, 32, /*max_bank_bytes=*/1);
  ASSERT_EQ(one_by_one.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].probe, one_by_one[i].probe);
    EXPECT_EQ(all[i].metrics, one_by_one[i].metrics) << all[i].probe;
  }
  const train::Evaluation bank = train::evaluate(*net, *dataset, data::Split::train, 32);
  const train::Evaluation test = train::evaluate(*net, *dataset, data::Split::test, 32);
  const KnnBank knn(at::tensor(bank.logits).view({bank.n, -1}), at::tensor(bank.labels), 3);
  const at::Tensor scores = knn.scores(at::tensor(test.logits).view({test.n, -1}), options).to(at::kFloat);
  train::MetricInput input;
  input.n = test.n;
  input.num_classes = 3;
  input.logits = scores.data_ptr<float>();
  input.labels = test.labels.data();
  const auto want = train::classification_metrics(input);
  ASSERT_EQ(all.back().probe, net->head_name());
  EXPECT_EQ(all.back().feature, "as is");
  for (const auto& [name, value] : want) EXPECT_NEAR(all.back().metrics.at(name), value, 1e-9) << name;
}

TEST(LayerwiseKnn, DeiTBlocksGiveTheThreeEmbeddings) {
  auto dataset = bands();
  auto net = small("deit");
  KnnOptions options;
  options.k = 5;
  const auto rows =
      layerwise_knn(*net, *dataset, {"patch_embed", "blocks.0.attn", "blocks.1.mlp"}, options, 32);
  std::vector<std::string> got;
  for (const auto& r : rows) got.push_back(r.probe + "/" + r.feature);
  EXPECT_EQ(got, (std::vector<std::string>{"patch_embed/mean", "blocks.0.attn/cls", "blocks.0.attn/patches",
                                           "blocks.0.attn/concat", "blocks.1.mlp/cls", "blocks.1.mlp/patches",
                                           "blocks.1.mlp/concat"}));
  for (const auto& r : rows) EXPECT_TRUE(r.metrics.count("accuracy")) << r.probe;
}

TEST(Reinit, UnchangedModulesGiveTheTrainedResultAndTheNetworkKeepsItsWeights) {
  auto dataset = bands();
  auto net = small("resnet");
  const models::TensorList initial = state_of(*net);
  // "Fine-tuned": layer2 moved, the rest as at initialisation.
  {
    at::NoGradGuard no_grad;
    for (const auto& e : models::state_entries(*net))
      if (models::under_module(e.name, "layer2") && !e.is_buffer) e.tensor.add_(0.3);
  }
  const models::TensorList trained = state_of(*net);
  const train::Evaluation plain = train::evaluate(*net, *dataset, data::Split::test, 32);
  const auto rows =
      reinit_robustness(*net, initial, trained, *dataset, {"conv1", "layer1", "layer2", "fc"}, 32);
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i : {0u, 1u, 3u}) {
    EXPECT_EQ(rows[i].metrics, plain.metrics()) << rows[i].probe;
    EXPECT_DOUBLE_EQ(rows[i].loss, plain.loss) << rows[i].probe;
  }
  // layer2 reset: the whole network is its initial state.
  const train::Evaluation at_init = [&] {
    auto fresh = small("resnet");
    return train::evaluate(*fresh, *dataset, data::Split::test, 32);
  }();
  EXPECT_EQ(rows[2].metrics, at_init.metrics());
  EXPECT_DOUBLE_EQ(rows[2].loss, at_init.loss);
  for (const auto& e : models::state_entries(*net))
    for (const auto& [name, t] : trained)
      if (name == e.name) EXPECT_TRUE(at::equal(e.tensor, t)) << name;
  EXPECT_THROW(reinit_robustness(*net, initial, trained, *dataset, {"nope"}, 32), Error);
}

// The forward from each probe's input (one trained pass per batch, then the
// rest of the network per module) gives what one whole test pass per module
// with that module reset gives, for every probe of a CNN and of a ViT.
TEST(Reinit, FromProbeInputsEqualsAWholePassPerModule) {
  auto dataset = bands();
  for (const std::string arch : {"resnet", "deit"}) {
    SCOPED_TRACE(arch);
    auto net = small(arch);
    const models::TensorList initial = state_of(*net);
    {
      at::NoGradGuard no_grad;  // "fine-tuned": every parameter moved
      for (const auto& e : models::state_entries(*net))
        if (!e.is_buffer) e.tensor.add_(at::randn_like(e.tensor) * 0.1);
    }
    const models::TensorList trained = state_of(*net);
    const auto modules = net->probe_points();
    const auto rows = reinit_robustness(*net, initial, trained, *dataset, modules, 16);
    ASSERT_EQ(rows.size(), modules.size());
    auto reference = small(arch);
    for (size_t i = 0; i < modules.size(); ++i) {
      {
        at::NoGradGuard no_grad;
        for (const auto& e : models::state_entries(*reference))
          for (const auto& [name, t] : models::under_module(e.name, modules[i]) ? initial : trained)
            if (name == e.name) e.tensor.copy_(t);
      }
      const train::Evaluation whole = train::evaluate(*reference, *dataset, data::Split::test, 16);
      EXPECT_EQ(rows[i].probe, modules[i]);
      EXPECT_NEAR(rows[i].loss, whole.loss, 1e-5) << modules[i];
      for (const auto& [metric, value] : whole.metrics())
        EXPECT_NEAR(rows[i].metrics.at(metric), value, 1e-5) << modules[i] << " " << metric;
    }
  }
}

// A network against itself: every view's diagonal is 1 under both
// estimators; DeiT's patch_embed (no class token) is in the `all` view only.
TEST(LayerCka, ANetworkAgainstItselfHasAUnitDiagonal) {
  auto dataset = bands();
  auto a = small("deit"), b = small("deit");  // same seed: same weights
  const CkaLayout layout = cka_layout(*a);
  ASSERT_EQ(layout.views.size(), 3u);
  EXPECT_EQ(layout.views[0].first, "all");
  EXPECT_EQ(layout.views[0].second.front(), "patch_embed");
  EXPECT_EQ(layout.views[1].second.front(), "blocks.0.attn");
  for (const auto& [view, probes] : layout.views)
    for (const auto& p : probes) EXPECT_NE(p, a->head_name());
  const auto result = layer_cka({a.get(), b.get()}, {{0, 1}, {0, 0}}, *dataset, data::Split::test, 16);
  ASSERT_EQ(result.size(), 2u);
  size_t diagonal = 0;
  for (const auto& pair : result)
    for (const auto& e : pair) {
      EXPECT_TRUE(std::isfinite(e.reference) && std::isfinite(e.minibatch)) << e.row << " " << e.col;
      if (e.row != e.col) continue;
      ++diagonal;
      EXPECT_NEAR(e.reference, 1.0, 1e-9) << e.view << " " << e.row;
      EXPECT_NEAR(e.minibatch, 1.0, 1e-9) << e.view << " " << e.row;
    }
  EXPECT_EQ(diagonal, 2 * (layout.views[0].second.size() + 2 * layout.views[1].second.size()));
  // A last batch under 4 inputs (40 = 3 x 13 + 1) is left out, not an error.
  EXPECT_NO_THROW(layer_cka({a.get()}, {{0, 0}}, *dataset, data::Split::test, 13));
}

namespace {

// An analysed cell of `arch` for the task-level tests: networks for its
// checkpoints, an initial checkpoint, and best ones a little away from it.
struct TestCell {
  std::shared_ptr<models::Network> initial_net, best_net, partner_net;
  AnalysisInputs in;

  TestCell(const std::string& arch, const data::Dataset& dataset, uint64_t seed)
      : initial_net(small(arch)), best_net(small(arch)), partner_net(small(arch)) {
    in.initial_net = initial_net.get();
    in.best_net = best_net.get();
    in.partner_net = partner_net.get();
    in.initial = state_of(*initial_net);
    at::manual_seed(seed);
    in.best = moved_away(arch);
    in.partner_best = moved_away(arch);
    in.dataset = &dataset;
  }

  static models::TensorList moved_away(const std::string& arch) {
    auto trained = small(arch);
    for (const auto& e : models::state_entries(*trained))
      if (e.tensor.is_floating_point()) e.tensor.detach().add_(0.01 * at::randn_like(e.tensor));
    return state_of(*trained);
  }
};

// Every analysis with small options for the test set (24 of its 40 test images).
std::vector<AnalysisRequest> small_requests() {
  std::vector<AnalysisRequest> requests;
  for (const auto& info : analyses()) {
    nlohmann::json options = info.defaults;
    if (options.contains("batch_size")) options["batch_size"] = 16;
    if (options.contains("k")) options["k"] = 5;
    if (options.contains("test_images")) options["test_images"] = 24;  // of 40: a fixed draw
    requests.push_back({info.name, options});
  }
  return requests;
}

void expect_same_values(const store::ResultTable& a, const store::ResultTable& b, const std::string& what) {
  ASSERT_EQ(a.keys, b.keys) << what;
  ASSERT_EQ(a.values.size(), b.values.size()) << what;
  for (size_t r = 0; r < a.values.size(); ++r)
    for (size_t c = 0; c < a.values[r].size(); ++c)
      if (!(std::isnan(a.values[r][c]) && std::isnan(b.values[r][c])))
        EXPECT_EQ(a.values[r][c], b.values[r][c]) << what << " row " << r << " col " << c;
}

}  // namespace

// Analyses run together share their test passes and give each the numbers
// it gives alone, bit for bit; one that cannot run fails alone.
TEST(AnalysisTasks, RunTogetherTheNumbersOfEachAlone) {
  auto dataset = bands();
  for (const std::string arch : {"resnet", "deit"}) {
    TestCell cell(arch, *dataset, 7);
    const auto requests = small_requests();
    const auto together = run_analyses(requests, cell.in);
    ASSERT_EQ(together.size(), requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      const std::string& name = requests[i].name;
      if (name == "attention_distance" && arch != "deit") {
        EXPECT_NE(together[i].error.find("no attention maps"), std::string::npos) << together[i].error;
        continue;
      }
      ASSERT_EQ(together[i].error, "") << arch << " " << name;
      const auto alone = run_analysis(name, requests[i].options, cell.in);
      ASSERT_EQ(alone.size(), together[i].tables.size());
      for (size_t t = 0; t < alone.size(); ++t)
        expect_same_values(alone[t], together[i].tables[t], arch + " " + name);
    }
  }
}

// What an analysis task writes has exactly the rows its plan created.
TEST(AnalysisTasks, RunWritesThePlannedRowsForEveryAnalysis) {
  auto dataset = bands();
  for (const std::string arch : {"resnet", "deit"}) {
    TestCell cell(arch, *dataset, 5);
    const at::Tensor example = at::zeros({1, 1, 16, 16});
    for (const auto& [name, options] : small_requests()) {
      if (analysis_info(name).needs_attention_maps && arch != "deit") continue;
      const auto planned = plan_tables(name, options, *cell.initial_net, example);
      const auto ran = run_analysis(name, options, cell.in);
      ASSERT_EQ(planned.size(), ran.size()) << name;
      for (size_t t = 0; t < planned.size(); ++t) {
        EXPECT_NO_THROW(planned[t].check_same_rows(ran[t])) << arch << " " << name;
        EXPECT_EQ(ran[t].values.size(), ran[t].keys.size());
      }
    }
  }
  EXPECT_THROW(analysis_info("knnn"), Error);
  EXPECT_THROW(check_options("reinit", {{"batch_size", 64}, {"test_images", -1}}), Error);
  EXPECT_THROW(check_options("cka", {{"batch_size", 3}, {"pairs", {"init_init"}}, {"test_images", 0}}),
               Error);
  EXPECT_THROW(check_options("cka", {{"batch_size", 64}, {"pairs", {"init_to_init"}}, {"test_images", 0}}),
               Error);
}
