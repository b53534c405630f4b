#include "featreuse/analysis/layerwise.hpp"

#include <ATen/ATen.h>

#include <algorithm>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/train/evaluate.hpp"
#include "featreuse/train/metrics.hpp"

namespace featreuse::analysis {

namespace {

using FeatureKey = std::pair<std::string, models::Pooling>;

std::map<std::string, double> metrics_of(const at::Tensor& scores, const at::Tensor& labels,
                                         int64_t num_classes) {
  const at::Tensor logits = scores.to(at::kFloat).contiguous();
  train::MetricInput input;
  input.n = logits.size(0);
  input.num_classes = num_classes;
  input.logits = logits.data_ptr<float>();
  const at::Tensor single = labels.dim() == 1 ? labels.to(at::kLong).contiguous() : at::Tensor();
  const at::Tensor multi = labels.dim() == 2 ? labels.to(at::kFloat).contiguous() : at::Tensor();
  if (single.defined())
    input.labels = single.data_ptr<int64_t>();
  else
    input.targets = multi.data_ptr<float>();
  return train::classification_metrics(input);
}

// The images a sweep of `split` restricted to `subset` (empty: all) gives.
int64_t swept_rows(const data::Dataset& dataset, data::Split split, const std::vector<int64_t>& subset) {
  return subset.empty() ? dataset.size(split) : int64_t(subset.size());
}

// Groups of consecutive probes whose training-split features fit the budget
// (sizes from one probed batch).
std::vector<std::vector<std::string>> probe_groups(models::Network& net, const data::Dataset& dataset,
                                                   const std::vector<std::string>& probes, int64_t budget,
                                                   int64_t rows) {
  data::Batch batch;
  if (!dataset.evaluation_stream(data::Split::train, 2)->next(batch))
    throw Error("k-NN: the training split is empty");
  at::NoGradGuard no_grad;
  net.eval();
  const auto probed = net.forward_probed(batch.images.to(train::network_device(net)), probes);
  net.train();
  std::vector<std::vector<std::string>> groups(1);
  int64_t used = 0;
  for (const auto& probe : probes) {
    int64_t bytes = 0;
    for (models::Pooling kind : feature_kinds(net, probe))
      bytes += models::pool_probe(probed.probes.at(probe), net.probe_prefix_tokens(probe), kind)[0].numel() *
               4 * rows;
    if (!groups.back().empty() && used + bytes > budget) {
      groups.emplace_back();
      used = 0;
    }
    groups.back().push_back(probe);
    used += bytes;
  }
  return groups;
}

}  // namespace

std::vector<models::Pooling> feature_kinds(const models::Network& net, const std::string& probe) {
  if (net.probe_prefix_tokens(probe) > 0)
    return {models::Pooling::cls, models::Pooling::patches, models::Pooling::concat};
  return {models::Pooling::patches};
}

SplitEmbedder::SplitEmbedder(const models::Network& net, size_t index, std::vector<std::string> probes,
                             int64_t rows)
    : net_(net), index_(index), probes_(std::move(probes)), rows_(rows) {}

void SplitEmbedder::declare(std::vector<models::TraceRequest>& requests) const {
  requests.at(index_).outputs.insert(probes_.begin(), probes_.end());
}

void SplitEmbedder::read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) {
  const int64_t n = batch.labels.size(0);
  if (filled_ + n > rows_)
    throw Error("k-NN embeddings: the sweep gave more than the " + std::to_string(rows_) + " rows expected");
  const auto& outputs = passes.at(index_).outputs;
  for (const auto& probe : probes_) {
    const at::Tensor& raw = outputs.at(probe);
    const int64_t prefix = net_.probe_prefix_tokens(probe);
    for (models::Pooling kind : feature_kinds(net_, probe)) {
      // Pooled on the network's device, copied into the host rows (KnnBank's bank lives there).
      const at::Tensor pooled = models::pool_probe(raw, prefix, kind).flatten(1);
      rows_of(out_.features[{probe, kind}], pooled, at::kFloat).copy_(pooled);
      out_.pooled[{probe, kind}] = models::pooled_as(raw.dim(), prefix, kind);
    }
  }
  rows_of(out_.labels, batch.labels, batch.labels.scalar_type()).copy_(batch.labels);
  filled_ += n;
}

// This batch's rows of `all`, which is made on the first batch with room for
// every row: written in place, the split's features take their own size once
// (no per-batch pieces to join, none interleaved with the passes' memory).
at::Tensor SplitEmbedder::rows_of(at::Tensor& all, const at::Tensor& batch_values,
                                  at::ScalarType dtype) const {
  if (!all.defined()) {
    std::vector<int64_t> shape = batch_values.sizes().vec();
    shape[0] = rows_;
    all = at::empty(shape, at::TensorOptions().dtype(dtype).device(at::kCPU));
  }
  return all.narrow(0, filled_, batch_values.size(0));
}

SplitEmbeddings SplitEmbedder::finish(const std::string& what) {
  if (filled_ == 0) throw Error("the " + what + " split is empty");
  if (filled_ != rows_)
    throw Error("k-NN embeddings: the " + what + " split gave " + std::to_string(filled_) +
                " rows, not the " + std::to_string(rows_) + " expected");
  filled_ = 0;
  return std::move(out_);
}

SplitEmbeddings embed_split(models::Network& net, const data::Dataset& dataset, data::Split split,
                            const std::vector<std::string>& probes, int64_t batch_size,
                            const std::vector<int64_t>& subset) {
  SplitEmbedder embedder(net, 0, probes, swept_rows(dataset, split, subset));
  sweep({&net}, dataset, split, batch_size, subset, {&embedder});
  return embedder.finish(data::split_name(split));
}

std::vector<ProbeResult> knn_of_queries(models::Network& net, const data::Dataset& dataset,
                                        const std::vector<std::string>& probes,
                                        const SplitEmbeddings& queries, const KnnOptions& options,
                                        int64_t batch_size, int64_t max_bank_bytes,
                                        const std::vector<int64_t>& bank_subset) {
  models::checked_probes(net, probes);
  const int64_t classes = dataset.info().num_classes;
  const int64_t bank_rows = swept_rows(dataset, data::Split::train, bank_subset);
  std::vector<ProbeResult> out;
  const auto groups = probe_groups(net, dataset, probes, max_bank_bytes, bank_rows);
  ProgressLog progress("k-NN", (long long)probes.size(), "probes");  // embedding the bank dominates
  long long probes_done = 0;
  for (const auto& group : groups) {
    const SplitEmbeddings bank =
        embed_split(net, dataset, data::Split::train, group, batch_size, bank_subset);
    for (const auto& probe : group)
      for (models::Pooling kind : feature_kinds(net, probe)) {
        const FeatureKey key{probe, kind};
        const KnnBank knn(bank.features.at(key), bank.labels, classes);
        const at::Tensor scores = knn.scores(queries.features.at(key), options);
        ProbeResult r;
        r.probe = probe;
        r.feature = queries.pooled.at(key);
        r.metrics = metrics_of(scores, queries.labels, classes);
        out.push_back(std::move(r));
      }
    probes_done += (long long)group.size();
    progress.update(probes_done, group.back());
  }
  return out;
}

std::vector<ProbeResult> layerwise_knn(models::Network& net, const data::Dataset& dataset,
                                       const std::vector<std::string>& probes, const KnnOptions& options,
                                       int64_t batch_size, int64_t max_bank_bytes,
                                       const std::vector<int64_t>& bank_subset,
                                       const std::vector<int64_t>& query_subset) {
  const SplitEmbeddings queries =
      embed_split(net, dataset, data::Split::test, probes, batch_size, query_subset);
  return knn_of_queries(net, dataset, probes, queries, options, batch_size, max_bank_bytes, bank_subset);
}

}  // namespace featreuse::analysis
