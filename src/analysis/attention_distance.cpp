#include "featreuse/analysis/attention_distance.hpp"

#include <ATen/ATen.h>

#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/train/evaluate.hpp"

namespace featreuse::analysis {

namespace {

// Pixel distances between tokens at (row, col) positions: P x P.
at::Tensor pixel_distances(const at::Tensor& rows, const at::Tensor& cols, int64_t token_px) {
  const at::Tensor dy = rows.unsqueeze(1) - rows.unsqueeze(0), dx = cols.unsqueeze(1) - cols.unsqueeze(0);
  return (dy * dy + dx * dx).sqrt() * double(token_px);
}

// attention (..., queries, keys) over patch keys -> per head, the sum of the
// weighted mean distances of the queries that attend to patches, and their
// count. `heads_dim` is the attention's head axis.
std::pair<at::Tensor, at::Tensor> weighted_distances(const at::Tensor& attention, const at::Tensor& distances,
                                                     int64_t heads_dim, const at::Tensor& valid_queries) {
  const at::Tensor mass = attention.sum(-1);
  const at::Tensor per_query = (attention * distances).sum(-1) / mass.clamp_min(1e-30);
  const at::Tensor counted = ((mass > 0) & valid_queries).expand_as(per_query);
  const at::Tensor sums = (per_query * counted).movedim(heads_dim, 0).flatten(1).sum(1);
  const at::Tensor counts = counted.movedim(heads_dim, 0).flatten(1).sum(1);
  return {sums, counts};
}

}  // namespace

void AttentionDistance::add(const models::BlockAttention& block) {
  if (block.window > 0)
    add_windowed(block);
  else
    add_global(block);
}

// DeiT: (B, heads, N, N) with the class token(s) first, then patches row-major.
void AttentionDistance::add_global(const models::BlockAttention& block) {
  const int64_t p = block.prefix_tokens, n = block.grid_h * block.grid_w;
  if (block.attn.dim() != 4 || block.attn.size(2) != p + n || block.attn.size(3) != p + n)
    throw Error("attention distance: block " + block.block + " has maps of shape " +
                c10::str(block.attn.sizes()) + ", not (B, heads, " + std::to_string(p + n) + ", same)");
  // On the maps' device: only the per-head sums come back to the host.
  const auto on_device = at::TensorOptions().device(block.attn.device());
  const at::Tensor index = at::arange(n, on_device.dtype(at::kDouble));
  const at::Tensor distances = pixel_distances(at::floor(index / double(block.grid_w)),
                                               at::fmod(index, double(block.grid_w)), block.token_px);
  const at::Tensor patches = block.attn.to(at::kDouble).narrow(2, p, n).narrow(3, p, n);
  auto [sums, counts] = weighted_distances(patches, distances, 1, at::ones({n}, on_device.dtype(at::kBool)));
  accumulate(sums, counts);
}

// Swin: (B, nW, heads, w^2, w^2) on the grid shifted by -shift and padded at
// the bottom/right to whole windows.
void AttentionDistance::add_windowed(const models::BlockAttention& block) {
  const int64_t w = block.window, gh = block.grid_h, gw = block.grid_w, s = block.shift;
  const int64_t wy = (gh + w - 1) / w, wx = (gw + w - 1) / w;
  if (block.attn.dim() != 5 || block.attn.size(1) != wy * wx || block.attn.size(3) != w * w)
    throw Error("attention distance: block " + block.block + " has maps of shape " +
                c10::str(block.attn.sizes()) + ", not (B, " + std::to_string(wy * wx) + ", heads, " +
                std::to_string(w * w) + ", same)");
  // Each window's tokens: their place on the unshifted grid, and whether they are real.
  const auto on_device = at::TensorOptions().device(block.attn.device());
  std::vector<at::Tensor> distances, real;
  for (int64_t win = 0; win < wy * wx; ++win) {
    const at::Tensor t = at::arange(w * w, on_device.dtype(at::kLong));
    const at::Tensor row = (win / wx) * w + at::div(t, w, "floor"),
                     col = (win % wx) * w + at::remainder(t, w);
    const at::Tensor inside = (row < gh) & (col < gw);
    distances.push_back(pixel_distances(at::remainder(row + s, gh).to(at::kDouble),
                                        at::remainder(col + s, gw).to(at::kDouble), block.token_px) *
                        (inside.unsqueeze(0) & inside.unsqueeze(1)));
    real.push_back(inside);
  }
  const at::Tensor dist = at::stack(distances).unsqueeze(1);  // nW, 1, w2, w2
  const at::Tensor keys = at::stack(real).unsqueeze(1).unsqueeze(2);
  const at::Tensor attention = block.attn.to(at::kDouble) * keys;  // padding keys carry no weight
  auto [sums, counts] = weighted_distances(attention, dist, 2, at::stack(real).unsqueeze(1));
  accumulate(sums, counts);
}

void AttentionDistance::accumulate(const at::Tensor& device_sums, const at::Tensor& device_counts) {
  const at::Tensor sums = device_sums.cpu(), counts = device_counts.cpu();
  if (sum_.empty()) {
    sum_.assign(size_t(sums.size(0)), 0.0);
    queries_.assign(size_t(sums.size(0)), 0);
  }
  if (size_t(sums.size(0)) != sum_.size())
    throw Error("attention distance: blocks with different head counts");
  for (int64_t h = 0; h < sums.size(0); ++h) {
    sum_[size_t(h)] += sums[h].item<double>();
    queries_[size_t(h)] += counts[h].item<int64_t>();
  }
}

std::vector<double> AttentionDistance::mean() const {
  std::vector<double> out;
  for (size_t h = 0; h < sum_.size(); ++h)
    out.push_back(queries_[h] > 0 ? sum_[h] / double(queries_[h]) : std::nan(""));
  return out;
}

void AttentionReader::declare(std::vector<models::TraceRequest>& requests) const {
  requests.at(index_).attention = true;
}

void AttentionReader::read(const data::Batch&, const std::vector<models::TracedPass>& passes) {
  const auto& maps = passes.at(index_).attention;
  if (blocks_.empty()) {
    blocks_.resize(maps.size());
    for (const auto& m : maps) names_.push_back(m.block);
  }
  for (size_t b = 0; b < maps.size(); ++b) blocks_[b].add(maps[b]);
}

std::vector<std::pair<std::string, std::vector<double>>> AttentionReader::finish(
    const std::string& what) const {
  if (blocks_.empty()) throw Error("attention distance: the " + what + " split is empty");
  std::vector<std::pair<std::string, std::vector<double>>> out;
  for (size_t b = 0; b < blocks_.size(); ++b) out.emplace_back(names_[b], blocks_[b].mean());
  return out;
}

std::vector<std::pair<std::string, std::vector<double>>> attention_distances(
    models::Network& net, const data::Dataset& dataset, data::Split split, int64_t batch_size,
    const std::vector<int64_t>& subset) {
  if (!dynamic_cast<models::AttentionMapSource*>(&net))
    throw Error("attention distance: this architecture has no attention maps");
  AttentionReader reader(0);
  sweep({&net}, dataset, split, batch_size, subset, {&reader});
  return reader.finish(data::split_name(split));
}

}  // namespace featreuse::analysis
