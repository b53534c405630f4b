#include "stored_task.hpp"

#include "featreuse/core/error.hpp"
#include "featreuse/grid/scheduler.hpp"
#include "featreuse/train/checkpoint.hpp"

namespace featreuse::app {

store::CheckpointKind parse_checkpoint_kind(const std::string& which) {
  if (which == "best") return store::CheckpointKind::best;
  if (which == "initial") return store::CheckpointKind::initial;
  throw UsageError("--which " + which + ": best or initial");
}

store::StoredCell find_task(const store::StoreReader& reader, const std::string& id) {
  for (auto& task : reader.cells())
    if (task.id == id) return task;
  throw Error("store " + reader.path() + " has no task '" + id + "' (featreuse status " + reader.path() +
              " --all lists them)");
}

models::TensorList done_checkpoint(const store::StoreReader& reader, const store::StoredCell& task,
                                   store::CheckpointKind which) {
  if (task.record.status != grid::TaskState::done)
    throw Error("task " + task.id + " of " + reader.path() + " is " + grid::state_name(task.record.status) +
                ", not done: its checkpoints are not written yet");
  const store::Checkpoint checkpoint = reader.checkpoint(task.id, which);
  return train::to_tensors(checkpoint.layout, checkpoint.values);
}

}  // namespace featreuse::app
