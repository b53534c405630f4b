// featreuse bench KIND [options]: throughput measurements (not tests). Each
// kind lives in cmd_bench_<kind>.cpp and takes the arguments after KIND.
#include <cstdio>
#include <string>

#include "commands.hpp"

namespace featreuse::app {

int cmd_bench_loader(const Args& args);
int cmd_bench_knn(const Args& args);
int cmd_bench_train(const Args& args);

namespace {
struct BenchKind {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};
const BenchKind kKinds[] = {
    {"loader", "training-loader throughput on a prepared cache (img/s)", cmd_bench_loader},
    {"knn", "the layer-wise k-NN on a synthetic bank: time and peak memory", cmd_bench_knn},
    {"train", "the whole training step on random images (img/s)", cmd_bench_train},
};

void usage() {
  std::printf("usage: featreuse bench KIND [options]   (featreuse bench KIND --help)\n\n");
  for (const auto& k : kKinds) std::printf("  %-10s %s\n", k.name, k.summary);
}
}  // namespace

int cmd_bench(const Args& args) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h") {
    usage();
    return args.size() < 2 ? 2 : 0;
  }
  for (const auto& k : kKinds)
    if (args[1] == k.name) return k.run(Args(args.begin() + 1, args.end()));
  std::fprintf(stderr, "featreuse bench: unknown kind '%s'\n\n", args[1].c_str());
  usage();
  return 2;
}

}  // namespace featreuse::app
