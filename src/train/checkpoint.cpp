#include "featreuse/train/checkpoint.hpp"

#include <ATen/ATen.h>

#include "featreuse/core/error.hpp"

namespace featreuse::train {

store::Layout layout_of(models::Network& net) {
  store::Layout layout;
  int64_t offset = 0;
  for (const auto& e : models::state_entries(net)) {
    store::LayoutEntry entry;
    entry.name = e.name;
    entry.offset = offset;
    entry.numel = e.tensor.numel();
    entry.shape = e.tensor.sizes().vec();
    entry.buffer = e.is_buffer;
    entry.dtype = e.tensor.scalar_type() == at::kLong ? "int64" : "float32";
    offset += entry.numel;
    layout.entries.push_back(std::move(entry));
  }
  layout.id = store::Layout::id_of(layout.entries);
  return layout;
}

std::vector<float> flatten(models::Network& net) {
  std::vector<float> flat;
  for (const auto& e : models::state_entries(net)) {
    at::Tensor t = e.tensor.detach().to(at::kCPU).to(at::kFloat).contiguous();
    const float* p = t.data_ptr<float>();
    flat.insert(flat.end(), p, p + t.numel());
  }
  return flat;
}

void unflatten_into(models::Network& net, const std::vector<float>& flat) {
  at::NoGradGuard no_grad;
  size_t offset = 0;
  for (const auto& e : models::state_entries(net)) {
    const size_t n = size_t(e.tensor.numel());
    if (offset + n > flat.size()) throw Error("checkpoint is shorter than the network's state");
    at::Tensor src = at::from_blob(const_cast<float*>(flat.data() + offset), e.tensor.sizes(), at::kFloat);
    e.tensor.copy_(src);
    offset += n;
  }
  if (offset != flat.size()) throw Error("checkpoint is longer than the network's state");
}

models::TensorList to_tensors(const store::Layout& layout, const std::vector<float>& flat) {
  models::TensorList out;
  for (const auto& e : layout.entries) {
    if (e.offset + e.numel > int64_t(flat.size())) throw Error("checkpoint shorter than its layout");
    at::Tensor t = at::from_blob(const_cast<float*>(flat.data() + e.offset), e.shape, at::kFloat).clone();
    if (e.dtype == "int64") t = t.to(at::kLong);
    out.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace featreuse::train
