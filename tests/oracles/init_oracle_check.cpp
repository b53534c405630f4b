// The C++ side of tests/oracles/init_oracle.py: runs featreuse's init
// functions on weights the oracle wrote and writes what they produce.
//
//   init_oracle_check apply  --model ARCH --channels C --source S --st ST --depth T
//                            --out STATE.safetensors --plan PLAN.json
//       WT-ST at depth T with the given ST state; writes the network's
//       parameters and buffers outside the head and, per tensor, its origin
//       (wt / st / reset) from wtst_plan.
//   init_oracle_check sample --model ARCH --source S --seed N --out ST.safetensors
//       [--sample-embeddings]
//       featreuse's own ST draw of the source.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "featreuse/core/json.hpp"
#include "featreuse/init/st.hpp"
#include "featreuse/init/wtst.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/models/weights.hpp"

using namespace featreuse;

namespace {

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument " + key);
    if (key == "--sample-embeddings") {
      args[key] = "1";
    } else {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + key);
      args[key] = argv[++i];
    }
  }
  return args;
}

std::string need(const std::map<std::string, std::string>& args, const std::string& key) {
  auto it = args.find(key);
  if (it == args.end()) throw std::runtime_error("missing " + key);
  return it->second;
}

std::shared_ptr<models::Network> build(const std::string& arch, int64_t channels) {
  models::ModelSpec spec;
  spec.arch = arch;
  spec.num_classes = 10;
  spec.in_channels = channels;
  return models::registry().create(spec);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) throw std::runtime_error("usage: init_oracle_check apply|sample ...");
  const std::string mode = argv[1];
  const auto args = parse(argc, argv);
  const auto source = models::read_weights(need(args, "--source"));
  if (mode == "sample") {
    auto net = build(need(args, "--model"), 3);
    init::StOptions options;
    options.sample_embeddings = args.count("--sample-embeddings") > 0;
    const auto st = init::sample_st(*net, source, std::stoull(need(args, "--seed")), options);
    models::write_safetensors(need(args, "--out"), st);
    return 0;
  }
  if (mode != "apply") throw std::runtime_error("unknown mode " + mode);
  auto net = build(need(args, "--model"), std::stoll(need(args, "--channels")));
  const auto st = models::read_weights(need(args, "--st"));
  const int t = std::stoi(need(args, "--depth"));
  init::apply_wtst(*net, source, st, t, "oracle source");
  models::write_safetensors(need(args, "--out"), models::network_weights(*net, /*with_head=*/false));
  nlohmann::json plan = nlohmann::json::object();
  for (const auto& p : init::wtst_plan(*net, t))
    if (p.origin != init::Origin::own) plan[p.name] = init::to_string(p.origin);
  std::ofstream(need(args, "--plan")) << plan.dump(1) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "init_oracle_check: " << e.what() << "\n";
  return 1;
}
