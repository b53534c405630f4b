#pragma once
// A stored task's weights for the commands that use them outside a run
// (weights export, features --store): the task by id and its checkpoint.
#include <string>

#include "featreuse/models/network.hpp"
#include "featreuse/store/reader.hpp"

namespace featreuse::app {

// "best" or "initial"; UsageError otherwise.
store::CheckpointKind parse_checkpoint_kind(const std::string& which);

// The task `id` of the store; Error naming the store when it has none.
store::StoredCell find_task(const store::StoreReader& reader, const std::string& id);

// The task's checkpoint as named tensors, refused unless the task is done
// (before that the store holds space for the weights, not the weights).
models::TensorList done_checkpoint(const store::StoreReader& reader, const store::StoredCell& task,
                                   store::CheckpointKind which);

}  // namespace featreuse::app
