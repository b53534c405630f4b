#include "featreuse/analysis/test_sweep.hpp"

#include <ATen/ATen.h>

#include <unordered_map>

#include "featreuse/core/error.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/train/evaluate.hpp"

namespace featreuse::analysis {

namespace {

void merge(models::TraceRequest& into, const models::TraceRequest& from) {
  into.outputs.insert(from.outputs.begin(), from.outputs.end());
  into.inputs.insert(from.inputs.begin(), from.inputs.end());
  into.attention = into.attention || from.attention;
}

// Every reader's requests, merged per network.
std::vector<models::TraceRequest> merged_requests(size_t networks, const std::vector<SweepReader*>& readers) {
  std::vector<models::TraceRequest> merged(networks);
  for (const auto* reader : readers) {
    std::vector<models::TraceRequest> own(networks);
    reader->declare(own);
    if (own.size() != networks) throw Error("a sweep reader asked for networks the sweep does not have");
    for (size_t i = 0; i < networks; ++i) merge(merged[i], own[i]);
  }
  return merged;
}

}  // namespace

void sweep(const std::vector<models::Network*>& nets, const data::Dataset& dataset, data::Split split,
           int64_t batch_size, const std::vector<int64_t>& subset, const std::vector<SweepReader*>& readers) {
  const auto requests = merged_requests(nets.size(), readers);
  for (size_t i = 0; i < nets.size(); ++i)
    if (!nets[i] && !requests[i].empty()) throw Error("an analysis asked for a network that was not given");
  at::NoGradGuard no_grad;
  for (auto* net : nets)
    if (net) net->eval();
  auto stream = dataset.evaluation_stream(split, batch_size, subset);
  ProgressLog progress("analysis pass", (long long)stream->num_batches(),
                       "images");  // batches done, images/s
  long long batches = 0, images = 0;
  std::vector<models::TracedPass> passes(nets.size());
  data::Batch batch;
  while (stream->next(batch)) {
    std::unordered_map<c10::Device, at::Tensor> on_device;  // the batch copied once per device
    for (size_t i = 0; i < nets.size(); ++i) {
      passes[i] = models::TracedPass{};
      if (requests[i].empty()) continue;
      const c10::Device device = train::network_device(*nets[i]);
      if (!on_device.count(device)) on_device[device] = batch.images.to(device);
      passes[i] = nets[i]->forward_traced(on_device.at(device), requests[i]);
    }
    for (auto* reader : readers) reader->read(batch, passes);
    images += batch.labels.size(0);
    progress.update(++batches, "", images);
  }
  for (auto* net : nets)
    if (net) net->train();
}

}  // namespace featreuse::analysis
