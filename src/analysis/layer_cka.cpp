#include "featreuse/analysis/layer_cka.hpp"

#include <ATen/ATen.h>

#include <map>

#include "featreuse/analysis/cka.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/train/evaluate.hpp"

namespace featreuse::analysis {

namespace {

// The view of one probe's activation (B, ...) as a (B, features) matrix.
at::Tensor view_of(const at::Tensor& activation, int64_t prefix_tokens, const std::string& view) {
  if (view == "cls") return activation.select(1, 0);
  if (view == "patches") return activation.slice(1, prefix_tokens).flatten(1);
  return activation.flatten(1);
}

// Per view, the centred Gram matrices of a batch's probes (rows in layout order).
std::map<std::string, at::Tensor> batch_grams(models::Network& net, const CkaLayout& layout,
                                              const at::Tensor& images) {
  const auto probed = net.forward_probed(images.to(train::network_device(net)), layout.probes);
  std::map<std::string, at::Tensor> out;
  for (const auto& [view, probes] : layout.views) {
    std::vector<at::Tensor> activations;
    for (const auto& p : probes)
      activations.push_back(view_of(probed.probes.at(p), net.probe_prefix_tokens(p), view));
    out[view] = CkaMatrix::centred_grams(activations);
  }
  return out;
}

}  // namespace

CkaLayout cka_layout(const models::Network& net) {
  CkaLayout layout;
  std::vector<std::string> with_class_token;
  for (const auto& p : net.probe_points()) {
    if (p == net.head_name()) continue;
    layout.probes.push_back(p);
    if (net.probe_prefix_tokens(p) > 0) with_class_token.push_back(p);
  }
  layout.views.emplace_back("all", layout.probes);
  if (!with_class_token.empty()) {
    layout.views.emplace_back("cls", with_class_token);
    layout.views.emplace_back("patches", with_class_token);
  }
  return layout;
}

std::vector<std::vector<CkaEntry>> layer_cka(const std::vector<models::Network*>& nets,
                                             const std::vector<std::pair<size_t, size_t>>& pairs,
                                             const data::Dataset& dataset, data::Split split,
                                             int64_t batch_size, const std::vector<int64_t>& subset) {
  if (nets.empty()) throw Error("CKA: no network");
  const CkaLayout layout = cka_layout(*nets[0]);
  for (const auto& [a, b] : pairs)
    if (a >= nets.size() || b >= nets.size()) throw Error("CKA: a pair names a network that is not given");
  at::NoGradGuard no_grad;
  for (auto* net : nets) net->eval();
  std::vector<std::map<std::string, CkaMatrix>> accumulators(pairs.size());
  auto stream = dataset.evaluation_stream(split, batch_size, subset);
  data::Batch batch;
  while (stream->next(batch)) {
    const int64_t n = batch.images.size(0);
    if (n < 4) continue;
    std::vector<std::map<std::string, at::Tensor>> grams;
    for (auto* net : nets) grams.push_back(batch_grams(*net, layout, batch.images));
    for (size_t i = 0; i < pairs.size(); ++i)
      for (const auto& [view, probes] : layout.views)
        accumulators[i][view].add(grams[pairs[i].first].at(view), grams[pairs[i].second].at(view), n);
  }
  for (auto* net : nets) net->train();
  std::vector<std::vector<CkaEntry>> out(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    for (const auto& [view, probes] : layout.views) {
      const CkaMatrix& m = accumulators[i][view];
      if (m.batches() == 0) throw Error("CKA: the split has no batch of at least 4 inputs");
      const at::Tensor reference = m.reference().contiguous(), minibatch = m.minibatch().contiguous();
      for (size_t r = 0; r < probes.size(); ++r)
        for (size_t c = 0; c < probes.size(); ++c)
          out[i].push_back(
              {view, probes[r], probes[c], reference[r][c].item<double>(), minibatch[r][c].item<double>()});
    }
  return out;
}

}  // namespace featreuse::analysis
