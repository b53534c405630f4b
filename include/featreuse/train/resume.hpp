#pragma once
// A task's whole training state, so a stopped task (pre-empted, crashed after
// its last save) continues exactly where it was: model, optimiser, learning-
// rate schedule, random generator, position in the epoch, best so far, curves.
// Saved atomically (write a temporary file, fsync, rename) next to the store.
#include <optional>
#include <string>
#include <vector>

#include "featreuse/core/error.hpp"
#include "featreuse/core/json.hpp"
#include "featreuse/store/schema.hpp"

namespace featreuse::train {

struct TrainState {
  int64_t step = 0;            // optimiser steps done
  int64_t epoch = 0;           // current epoch (0-based)
  int64_t steps_in_epoch = 0;  // steps done in it
  double train_seconds = 0, eval_seconds = 0;
  double best_val = 0;
  int64_t best_iteration = -1;
  double window_loss = 0;
  int64_t window_steps = 0;
  std::vector<float> model, best, initial;  // flat checkpoints
  std::string optimizer;                    // torch archive bytes
  std::string generator;                    // torch CPU generator state bytes
  std::string device_generator;             // the GPU's default generator state (empty on the CPU)
  nlohmann::json schedule;                  // LrSchedule::state()
  std::vector<store::TrainPoint> train_curve;
  std::vector<store::ValPoint> val_curve;
};

// A save that did not happen (a full disk, a quota, an I/O error): the message
// names the file. The slot still holds the previous state, so the caller may
// go on: the state is only needed if the task is stopped before it ends.
class StateNotSaved : public Error {
 public:
  using Error::Error;
};

// Where a task's state lives between runs.
class ResumeSlot {
 public:
  virtual ~ResumeSlot() = default;
  virtual std::optional<TrainState> load() = 0;
  virtual void save(const TrainState& state) = 0;  // throws StateNotSaved, the old state kept
  virtual void clear() = 0;                        // the task is finished
};

// A slot in one HDF5 file per task (`path`), replaced atomically on save.
class FileResumeSlot : public ResumeSlot {
 public:
  explicit FileResumeSlot(std::string path) : path_(std::move(path)) {}
  std::optional<TrainState> load() override;
  void save(const TrainState& state) override;
  void clear() override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The other ranks of a data-parallel group resume from their leader's slot
// but never write it: only the leader saves and clears.
class ReadOnlyResumeSlot : public ResumeSlot {
 public:
  explicit ReadOnlyResumeSlot(ResumeSlot& leader_slot) : slot_(leader_slot) {}
  std::optional<TrainState> load() override { return slot_.load(); }
  void save(const TrainState&) override {}
  void clear() override {}

 private:
  ResumeSlot& slot_;
};

}  // namespace featreuse::train
