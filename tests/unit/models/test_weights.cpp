// Weight files: torch.save fixtures (zip, legacy, wrapped) against the values
// torch wrote (tests/oracles/make_weight_fixtures.py), safetensors round trips,
// hostile inputs, the fuzz seed corpus, and the strict load into a network.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "../../fuzz/safetensors_target.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/json.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/models/weights.hpp"

using namespace featreuse::models;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(FEATREUSE_SOURCE_DIR) / "tests/data/weights";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

SafetensorsFile parse(const std::string& bytes) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test");
}

TensorList parse_pth(const std::string& bytes) {
  return parse_torch_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test");
}

// A safetensors file from a raw header and data block.
std::string st_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(uint64_t(header.size()) >> (8 * i));
  return out + header + data;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const featreuse::Error& e) {
    return e.what();
  }
  return "";
}

void expect_matches_torch(const TensorList& got) {
  const auto expected = nlohmann::ordered_json::parse(slurp(kData / "tiny_expected.json"));
  ASSERT_EQ(got.size(), expected.size());
  size_t i = 0;
  for (auto it = expected.begin(); it != expected.end(); ++it, ++i) {
    const auto& [name, t] = got[i];
    EXPECT_EQ(name, it.key());
    EXPECT_EQ(t.sizes().vec(), (*it)["shape"].get<std::vector<int64_t>>()) << name;
    const std::string dtype = (*it)["dtype"];
    const std::map<std::string, c10::ScalarType> types = {{"float32", c10::kFloat},
                                                          {"float16", c10::kHalf},
                                                          {"bfloat16", c10::kBFloat16},
                                                          {"int64", c10::kLong},
                                                          {"bool", c10::kBool}};
    EXPECT_EQ(t.scalar_type(), types.at(dtype)) << name;
    const auto values = (*it)["values"];
    const auto flat = t.reshape(-1).to(c10::kDouble);
    ASSERT_EQ(flat.numel(), static_cast<int64_t>(values.size())) << name;
    for (int64_t j = 0; j < flat.numel(); ++j)
      EXPECT_EQ(flat[j].item<double>(), values[j].get<double>()) << name << "[" << j << "]";
  }
}

}  // namespace

TEST(Weights, ReadsTorchZipLegacyAndWrappedCheckpoints) {
  expect_matches_torch(read_torch_checkpoint((kData / "tiny_zip.pth").string()));
  expect_matches_torch(read_torch_checkpoint((kData / "tiny_legacy.pth").string()));
  expect_matches_torch(read_torch_checkpoint((kData / "tiny_wrapped.pth").string()));
  expect_matches_torch(read_weights((kData / "tiny_zip.pth").string()));
}

// What `featreuse weights export --out W.pth` writes: libtorch's pickle_save
// of a {name: tensor} dict, which wraps the dict in restore_type_tag.
TEST(Weights, ReadsLibtorchPickleSaveOfADict) {
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("conv.weight", at::arange(6, at::kFloat).reshape({2, 3}));
  dict.insert("bn.num_batches_tracked", at::scalar_tensor(7, at::kLong));
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  const auto read =
      parse_torch_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "pickle_save");
  ASSERT_EQ(read.size(), 2u);
  std::map<std::string, at::Tensor> by_name(read.begin(), read.end());
  EXPECT_TRUE(at::equal(by_name.at("conv.weight"), dict.at("conv.weight")));
  EXPECT_EQ(by_name.at("bn.num_batches_tracked").scalar_type(), at::kLong);
  EXPECT_EQ(by_name.at("bn.num_batches_tracked").item<int64_t>(), 7);
}

TEST(Weights, RejectsEveryTruncationOfACheckpoint) {
  for (const char* file : {"tiny_zip.pth", "tiny_legacy.pth"}) {
    const std::string bytes = slurp(kData / file);
    for (size_t n = 0; n < bytes.size(); ++n)
      EXPECT_THROW(parse_pth(bytes.substr(0, n)), featreuse::Error) << file << " cut at " << n;
  }
}

TEST(Weights, CorruptCheckpointBytesNeverCrash) {
  // Every single-byte change either still parses or raises featreuse::Error;
  // flips inside a zip entry's data fail its CRC.
  for (const char* file : {"tiny_zip.pth", "tiny_legacy.pth"}) {
    const std::string bytes = slurp(kData / file);
    for (size_t i = 0; i < bytes.size(); ++i)
      for (uint8_t flip : {0x01, 0x80, 0xff}) {
        std::string mutated = bytes;
        mutated[i] = static_cast<char>(mutated[i] ^ flip);
        try {
          parse_pth(mutated);
        } catch (const featreuse::Error&) {
        }
      }
  }
  // A flip inside data.pkl's bytes (just after its local header) fails the CRC.
  const std::string bytes = slurp(kData / "tiny_zip.pth");
  std::string m = bytes;
  m[m.find("tiny_zip/data.pkl") + 100] ^= 0x55;
  EXPECT_NE(error_of([&] { parse_pth(m); }).find("CRC"), std::string::npos);
}

TEST(Weights, SafetensorsRoundTripKeepsDtypesShapesAndMetadata) {
  TensorList tensors = {{"a", torch::randn({2, 3})},
                        {"b", torch::randn({4}).to(torch::kHalf)},
                        {"c", torch::randn({2, 2}).to(torch::kBFloat16)},
                        {"d", torch::tensor({int64_t{5}, int64_t{-3}})},
                        {"e", torch::tensor({true, false})},
                        {"f", torch::zeros({0, 7})},
                        {"g", torch::tensor(2.5)},
                        {"h", torch::randn({3, 4}).t()}};  // non-contiguous
  const auto path =
      fs::temp_directory_path() / ("featreuse_st_" + std::to_string(::getpid()) + ".safetensors");
  write_safetensors(path.string(), tensors, {{"format", "pt"}, {"note", "x"}});
  const auto back = read_safetensors(path.string());
  fs::remove(path);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  EXPECT_EQ(back.metadata.at("note"), "x");
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_EQ(back.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    EXPECT_TRUE(back.tensors[i].second.equal(tensors[i].second)) << tensors[i].first;
  }
  EXPECT_THROW(serialize_safetensors({{"x", torch::zeros({1}, torch::kComplexFloat)}}), featreuse::Error);
  EXPECT_THROW(serialize_safetensors({{"x", torch::zeros({1})}, {"x", torch::zeros({1})}}), featreuse::Error);
}

TEST(Weights, SafetensorsRejectsHostileFiles) {
  const std::string ok_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  EXPECT_NO_THROW(parse(st_file(ok_header, data)));

  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "shorter than"},
      {std::string("\x05\x00\x00", 3), "shorter than"},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10), "exceeds the 100 MiB"},
      {std::string("\x40\x00\x00\x00\x00\x00\x00\x00{}", 10), "exceeds the file size"},
      {st_file(ok_header, data).substr(0, 30), "exceeds the file size"},
      {st_file(ok_header, data.substr(0, 4)), "reach past the data"},
      {st_file(ok_header, data + "xx"), "after the last tensor"},
      {st_file("[1,2]", ""), "does not start with a JSON object"},
      {st_file("{\"w\":", ""), "not valid JSON"},
      {st_file(R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", "xx"), "unsupported dtype"},
      {st_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data), "shape and dtype need"},
      {st_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "non-negative"},
      {st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "end before"},
      {st_file(
           R"({"w":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]}})",
           data),
       "shape and dtype need"},
      {st_file(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
           data),
       "overlaps"},
      {st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data), "unused bytes"},
      {st_file(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
           data),
       "twice"},
      {st_file(R"({"a":{"dtype":"F32","shape":[[[[2]]]],"data_offsets":[0,8]}})", data), "nests deeper"},
      {st_file(R"({"a":{"dtype":"F32","shape":[2]}})", data), "needs dtype, shape and data_offsets"},
      {st_file(R"({"a":{"dtype":"BOOL","shape":[8],"data_offsets":[0,8]}})", std::string(8, '\x07')),
       "neither 0 nor 1"},
      {st_file(R"({"__metadata__":{"k":1}})", ""), "not a string"},
  };
  for (const auto& [bytes, expected] : cases) {
    const std::string msg = error_of([&] { parse(bytes); });
    EXPECT_NE(msg.find(expected), std::string::npos) << "want '" << expected << "', got '" << msg << "'";
  }
  // A very deep JSON array must not recurse the parser into a crash.
  EXPECT_THROW(parse(st_file("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}", "")),
               featreuse::Error);
}

// The committed seed corpus through the fuzz entry point (CI runs this with gcc).
TEST(Weights, FuzzCorpusReplay) {
  const fs::path corpus = fs::path(FEATREUSE_SOURCE_DIR) / "tests/fuzz/corpus/safetensors";
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    const std::string bytes = slurp(entry.path());
    EXPECT_NO_THROW(
        featreuse::fuzz::safetensors_one_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
        << entry.path();
    // Each prefix too: truncations are the commonest corruption.
    for (size_t n = 0; n < bytes.size(); ++n)
      featreuse::fuzz::safetensors_one_input(reinterpret_cast<const uint8_t*>(bytes.data()), n);
    ++files;
  }
  EXPECT_GE(files, 8u);
  const std::string valid = slurp(corpus / "valid_all_dtypes");
  EXPECT_EQ(parse(valid).tensors.size(), 9u);
}

namespace {

std::shared_ptr<Network> small_resnet(int64_t classes, int64_t channels) {
  ModelSpec spec;
  spec.arch = "resnet";
  spec.num_classes = classes;
  spec.in_channels = channels;
  spec.options = {{"block", "basic"}, {"layers", {1, 1}}, {"widths", {4, 8}}, {"stem", "small"}};
  return registry().create(spec);
}

}  // namespace

TEST(Weights, LoadIsStrictAndReportsEveryProblem) {
  auto src = small_resnet(5, 3);
  auto dst = small_resnet(7, 3);
  auto weights = network_weights(*src, /*with_head=*/true);
  // Without keep_head the 5-class head is ignored and the 7-class head kept.
  const auto before = dst->named_parameters()["fc.weight"].clone();
  auto report = load_weights(*dst, weights);
  EXPECT_EQ(report.skipped.size(), 2u);
  EXPECT_TRUE(dst->named_parameters()["fc.weight"].equal(before));
  EXPECT_TRUE(dst->named_parameters()["layer2.0.conv1.weight"].equal(
      src->named_parameters()["layer2.0.conv1.weight"]));
  EXPECT_TRUE(dst->named_buffers()["bn1.running_var"].equal(src->named_buffers()["bn1.running_var"]));

  // keep_head with a different head size: a mismatch.
  EXPECT_THROW(load_weights(*dst, weights, {true}), featreuse::Error);

  // Every problem in one message; the network untouched.
  TensorList broken;
  for (auto& [k, t] : weights) {
    if (k == "layer1.0.bn2.running_mean") continue;                    // missing
    if (k == "layer2.0.conv2.weight") t = torch::zeros({8, 8, 1, 1});  // mismatched
    broken.emplace_back(k, t);
  }
  broken.emplace_back("layer3.0.conv1.weight", torch::zeros({1}));  // unexpected
  const auto snapshot = dst->named_parameters()["conv1.weight"].clone();
  const std::string msg = error_of([&] { load_weights(*dst, broken, {false, true, "ckpt.pth"}); });
  EXPECT_NE(msg.find("ckpt.pth"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 missing: layer1.0.bn2.running_mean"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 unexpected: layer3.0.conv1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer2.0.conv2.weight (file [8, 8, 1, 1], model [8, 8, 3, 3])"), std::string::npos)
      << msg;
  EXPECT_TRUE(dst->named_parameters()["conv1.weight"].equal(snapshot));
}

TEST(Weights, OneChannelModelTakesChannelZeroAndPrefixIsStripped) {
  auto src = small_resnet(5, 3);
  auto dst = small_resnet(5, 1);
  TensorList weights;
  for (auto& [k, t] : network_weights(*src, true))
    weights.emplace_back("module." + k, t.is_floating_point() ? t.to(torch::kHalf) : t);
  const auto report = load_weights(*dst, weights, {true});
  EXPECT_TRUE(report.first_conv_sliced);
  EXPECT_TRUE(report.stripped_module_prefix);
  const auto w3 = src->named_parameters()["conv1.weight"];
  const auto w1 = dst->named_parameters()["conv1.weight"];
  EXPECT_EQ(w1.sizes(), (c10::IntArrayRef{4, 1, 3, 3}));
  EXPECT_TRUE(w1.equal(w3.narrow(1, 0, 1).to(torch::kHalf).to(torch::kFloat)));
  // A 2-channel source is not silently adapted.
  TensorList odd = network_weights(*src, true);
  for (auto& [k, t] : odd)
    if (k == "conv1.weight") t = t.narrow(1, 0, 2);
  EXPECT_THROW(load_weights(*dst, odd, {true}), featreuse::Error);
}
