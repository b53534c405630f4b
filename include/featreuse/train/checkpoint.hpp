#pragma once
// Flat checkpoints: a network's parameters and buffers as one float32 vector
// in state_dict order, described by a store::Layout (name, offset, shape),
// so h5py users can rebuild a state_dict from the store.
#include <vector>

#include "featreuse/models/network.hpp"
#include "featreuse/store/schema.hpp"

namespace featreuse::train {

store::Layout layout_of(models::Network& net);
std::vector<float> flatten(models::Network& net);
// Copies a flat checkpoint back into `net` (same layout).
void unflatten_into(models::Network& net, const std::vector<float>& flat);
// A flat checkpoint as named tensors (for weight transfer).
models::TensorList to_tensors(const store::Layout& layout, const std::vector<float>& flat);

}  // namespace featreuse::train
