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

// Per view, the centred Gram matrices of a batch's probes (rows in layout
// order). A probe with one prefix token gets its "all" Gram matrix as the sum
// of its "cls" and "patches" ones (X Xᵀ of features side by side is the sum
// of the parts'), which halves the products.
std::map<std::string, at::Tensor> batch_grams(const models::Network& net, const CkaLayout& layout,
                                              const std::map<std::string, at::Tensor>& outputs) {
  std::map<std::string, std::map<std::string, at::Tensor>> grams;  // view -> probe -> X Xᵀ
  for (const auto& [view, probes] : layout.views)
    if (view != "all")
      for (const auto& p : probes)
        grams[view][p] = gram_matrix(view_of(outputs.at(p), net.probe_prefix_tokens(p), view));
  for (const auto& [view, probes] : layout.views)
    if (view == "all")
      for (const auto& p : probes)
        grams[view][p] = net.probe_prefix_tokens(p) == 1  // then in both views (cka_layout)
                             ? grams.at("cls").at(p) + grams.at("patches").at(p)
                             : gram_matrix(view_of(outputs.at(p), net.probe_prefix_tokens(p), view));
  std::map<std::string, at::Tensor> out;
  for (const auto& [view, probes] : layout.views) {
    std::vector<at::Tensor> rows;
    for (const auto& p : probes) rows.push_back(grams[view].at(p));
    out[view] = CkaMatrix::centred_rows(rows);
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

CkaReader::CkaReader(const models::Network& net, std::vector<std::pair<size_t, size_t>> pairs)
    : net_(net), layout_(cka_layout(net)), pairs_(std::move(pairs)), accumulators_(pairs_.size()) {}

void CkaReader::declare(std::vector<models::TraceRequest>& requests) const {
  for (const auto& [a, b] : pairs_)
    for (size_t i : {a, b}) {
      if (i >= requests.size()) throw Error("CKA: a pair names a network that is not given");
      requests[i].outputs.insert(layout_.probes.begin(), layout_.probes.end());
    }
}

void CkaReader::read(const data::Batch& batch, const std::vector<models::TracedPass>& passes) {
  const int64_t n = batch.images.size(0);
  if (n < 4) return;                                          // the unbiased HSIC needs 4
  std::map<size_t, std::map<std::string, at::Tensor>> grams;  // per network, each once
  for (const auto& [a, b] : pairs_)
    for (size_t i : {a, b})
      if (!grams.count(i)) grams[i] = batch_grams(net_, layout_, passes.at(i).outputs);
  for (size_t p = 0; p < pairs_.size(); ++p)
    for (const auto& [view, probes] : layout_.views)
      accumulators_[p][view].add(grams.at(pairs_[p].first).at(view), grams.at(pairs_[p].second).at(view), n);
}

std::vector<std::vector<CkaEntry>> CkaReader::finish() const {
  std::vector<std::vector<CkaEntry>> out(pairs_.size());
  for (size_t i = 0; i < pairs_.size(); ++i)
    for (const auto& [view, probes] : layout_.views) {
      const auto found = accumulators_[i].find(view);
      if (found == accumulators_[i].end() || found->second.batches() == 0)
        throw Error("CKA: the split has no batch of at least 4 inputs");
      const CkaMatrix& m = found->second;
      const at::Tensor reference = m.reference().contiguous(), minibatch = m.minibatch().contiguous();
      for (size_t r = 0; r < probes.size(); ++r)
        for (size_t c = 0; c < probes.size(); ++c)
          out[i].push_back(
              {view, probes[r], probes[c], reference[r][c].item<double>(), minibatch[r][c].item<double>()});
    }
  return out;
}

std::vector<std::vector<CkaEntry>> layer_cka(const std::vector<models::Network*>& nets,
                                             const std::vector<std::pair<size_t, size_t>>& pairs,
                                             const data::Dataset& dataset, data::Split split,
                                             int64_t batch_size, const std::vector<int64_t>& subset) {
  if (nets.empty()) throw Error("CKA: no network");
  CkaReader reader(*nets[0], pairs);
  sweep(nets, dataset, split, batch_size, subset, {&reader});
  return reader.finish();
}

}  // namespace featreuse::analysis
