#pragma once
// A running task's progress and heartbeat, in a small JSON file beside the
// store (<store>.progress/<id>.json), not in it: the rank running the task
// rewrites it every few seconds without any collective call or HDF5 write,
// and `status` reads it while the job runs. The file is replaced atomically
// (write, rename) and removed when the task ends; one left behind with an old
// heartbeat is the trace of a job that died.
#include <cstdint>
#include <map>
#include <string>

#include "featreuse/core/json.hpp"

namespace featreuse::store {

struct TaskProgress {
  std::string host;
  int64_t pid = 0;
  double started = 0;      // unix time the task started (this attempt)
  double heartbeat = 0;    // unix time of the last write
  double interval_s = 30;  // seconds between writes
  // Training tasks: optimiser steps and epochs (0 totals: not training).
  int64_t step = 0, total_steps = 0, epoch = 0, epochs = 0;
  double eta_s = -1;  // seconds left at the rate of this attempt; -1: unknown

  json to_json() const;
  static TaskProgress from_json(const json& j);
  // Seconds without a heartbeat after which the task counts as stale (its job
  // died or hangs): several missed beats, so a loaded file system is not enough.
  double stale_after_s() const { return 4 * interval_s + 10; }
};

std::string progress_dir(const std::string& store_path);
// Replaces the task's progress file (creating the folder). Throws featreuse::Error on I/O errors.
void write_progress(const std::string& store_path, const std::string& id, const TaskProgress& progress);
// Removes the task's progress file, if any; never throws.
void remove_progress(const std::string& store_path, const std::string& id) noexcept;
// Every task's progress by id; files that cannot be read (being replaced) are skipped.
std::map<std::string, TaskProgress> read_progress(const std::string& store_path);

}  // namespace featreuse::store
