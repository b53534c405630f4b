#pragma once
// Layer-wise k-NN of a fine-tuned network (reference §7(a)): each probe's
// pooled features of the training split (evaluation transforms) are the bank,
// the test split's the queries; the k-NN scores are scored with the dataset's
// metrics as if they were logits, as the reference does. ProbeResult is also
// the row of re-initialisation robustness (reinit.hpp).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "featreuse/analysis/knn.hpp"
#include "featreuse/analysis/test_sweep.hpp"
#include "featreuse/data/dataset.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/models/probe_pooling.hpp"

namespace featreuse::analysis {

// The embeddings the k-NN uses for a probe: cls, patches and concat for token
// sequences with a class token (DeiT blocks), one otherwise (the mean over
// positions; the head's logits as they are).
std::vector<models::Pooling> feature_kinds(const models::Network& net, const std::string& probe);

// A split's labels and the pooled features of `probes`, every kind of each,
// in eval mode with the evaluation transforms.
struct SplitEmbeddings {
  at::Tensor labels;  // N (int64) or N x C (float, multi-label)
  std::map<std::pair<std::string, models::Pooling>, at::Tensor> features;  // (probe, pooling) -> N x D
  std::map<std::pair<std::string, models::Pooling>, std::string> pooled;   // what pool_probe did (pooled_as)
};
// Collects them batch by batch from a sweep (test_sweep.hpp) in which `net`
// is network `index` and which gives `rows` images.
class SplitEmbedder : public SweepReader {
 public:
  SplitEmbedder(const models::Network& net, size_t index, std::vector<std::string> probes, int64_t rows);
  void declare(std::vector<models::TraceRequest>& requests) const override;
  void read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) override;
  // Throws when no batch, or not `rows` images, were read; `what` names the
  // split in the message.
  SplitEmbeddings finish(const std::string& what);

 private:
  at::Tensor rows_of(at::Tensor& all, const at::Tensor& batch_values, at::ScalarType dtype) const;

  const models::Network& net_;
  size_t index_;
  std::vector<std::string> probes_;
  int64_t rows_;
  int64_t filled_ = 0;
  SplitEmbeddings out_;
};
// `subset`: positions of the split to embed (empty: all).
SplitEmbeddings embed_split(models::Network& net, const data::Dataset& dataset, data::Split split,
                            const std::vector<std::string>& probes, int64_t batch_size,
                            const std::vector<int64_t>& subset = {});

struct ProbeResult {
  std::string probe;
  std::string feature;  // "cls", "patches", "concat", "mean", "as is" (k-NN); "" (re-init)
  std::map<std::string, double> metrics;
  double loss = 0;  // re-init: the test loss
};

// Runs over the probes in groups whose pooled training features fit in
// `max_bank_bytes`, one pass over the training split per group (the test
// split's embeddings of every probe are made once). The bank is the
// training split's `bank_subset` (the images the cell trained on; empty: all).
// The k-NN of every probe in `queries` (the test split's embeddings, every
// probe's) against the training split's `bank_subset`, embedded in probe
// groups as above.
std::vector<ProbeResult> knn_of_queries(models::Network& net, const data::Dataset& dataset,
                                        const std::vector<std::string>& probes,
                                        const SplitEmbeddings& queries, const KnnOptions& options,
                                        int64_t batch_size, int64_t max_bank_bytes,
                                        const std::vector<int64_t>& bank_subset);

std::vector<ProbeResult> layerwise_knn(models::Network& net, const data::Dataset& dataset,
                                       const std::vector<std::string>& probes, const KnnOptions& options,
                                       int64_t batch_size, int64_t max_bank_bytes = int64_t(2) << 30,
                                       const std::vector<int64_t>& bank_subset = {},
                                       const std::vector<int64_t>& query_subset = {});

}  // namespace featreuse::analysis
