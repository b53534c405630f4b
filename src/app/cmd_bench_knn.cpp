// featreuse bench knn: the layer-wise k-NN's kernel on a synthetic bank, as
// large as a CheXpert probe's (about 190k training images): time and peak
// resident memory. benchmarks/knn.sh runs it beside DINO's k-NN in PyTorch,
// the reference's implementation.
#include <ATen/ATen.h>
#include <sys/resource.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "compute_threads.hpp"
#include "featreuse/analysis/knn.hpp"
#include "featreuse/core/progress.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {
double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}
}  // namespace

int cmd_bench_knn(const Args& args) {
  po::options_description options("featreuse bench knn [options]");
  int64_t bank = 200000, dim = 768, queries = 5000, classes = 5, threads = 1;
  analysis::KnnOptions knn;
  bool multi = false;
  options.add_options()("help,h", "show this help")("bank", po::value(&bank), "bank rows (default 200000)")(
      "dim", po::value(&dim), "feature dimension (default 768, DeiT-B's cls)")("queries", po::value(&queries),
                                                                               "query rows (default 5000)")(
      "classes", po::value(&classes), "classes (default 5)")("multi-label", po::bool_switch(&multi),
                                                             "multi-hot labels (CheXpert-like)")(
      "k", po::value(&knn.k), "neighbours (default 200)")("query-chunk", po::value(&knn.query_chunk),
                                                          "queries per chunk (default 1024)")(
      "bank-chunk", po::value(&knn.bank_chunk), "bank rows per chunk (default 16384)")(
      "threads", po::value(&threads), "ATen intra-op threads (default 1)");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {}, "bench knn");
  if (vm.count("help")) {
    std::cout << options << "\n";
    return 0;
  }
  set_compute_threads(std::max(1, int(threads)));
  at::manual_seed(0);
  const double before = peak_rss_mib();
  const at::Tensor features = at::randn({bank, dim});
  const at::Tensor labels =
      multi ? (at::rand({bank, classes}) < 0.3).to(at::kFloat) : at::randint(0, classes, {bank}, at::kLong);
  const at::Tensor query = at::randn({queries, dim});
  const double inputs = peak_rss_mib();
  Stopwatch clock;
  const analysis::KnnBank knn_bank(features, labels, classes);
  const at::Tensor scores = knn_bank.scores(query, knn);
  const double seconds = clock.seconds();
  std::printf(
      "{\"bank\": %lld, \"dim\": %lld, \"queries\": %lld, \"k\": %lld, \"seconds\": %.3f, "
      "\"peak_rss_mib\": %.1f, \"inputs_mib\": %.1f, \"start_mib\": %.1f, \"score_sum\": %.6f}\n",
      (long long)bank, (long long)dim, (long long)queries, (long long)knn.k, seconds, peak_rss_mib(),
      inputs - before, before, scores.sum().item<double>());
  return 0;
}

}  // namespace featreuse::app
