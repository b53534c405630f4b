#pragma once
// A study store opened read-only by one process (status, report, the tests,
// and next the analyses): opening checks that the file is a featreuse store
// of this schema version, and every read is typed, so nothing outside the
// store module handles HDF5 ids.
#include <string>
#include <vector>

#include "featreuse/store/fid_record.hpp"
#include "featreuse/store/h5.hpp"
#include "featreuse/store/schema.hpp"

namespace featreuse::store {

struct StoredCell {
  std::string id;
  grid::TaskKind kind = grid::TaskKind::cell;
  std::string key;
  json axes;
  std::string config;  // canonical JSON
  CellRecord record;
};

// The two checkpoints a task keeps: its weights before training and its
// best-validation weights.
enum class CheckpointKind { initial, best };
const char* checkpoint_name(CheckpointKind which);  // "initial", "best"

// A flat checkpoint and the layout that names its tensors.
struct Checkpoint {
  Layout layout;
  std::vector<float> values;
};

class StoreReader {
 public:
  // Throws featreuse::Error naming `path` when it is missing, not HDF5, not a
  // featreuse store, or of another schema version.
  explicit StoreReader(const std::string& path);
  const std::string& path() const { return path_; }

  std::vector<StoredCell> cells() const;  // every task, by id
  CellRecord record(const std::string& id) const;
  // Throws featreuse::Error when the task has no such checkpoint.
  Checkpoint checkpoint(const std::string& id, CheckpointKind which) const;
  // A training task's validation curve (the points it reached; none when the
  // task has no curve).
  std::vector<ValPoint> val_curve(const std::string& id) const;
  // The analysis task that /cells/<cell>/analysis/<name> links to ("" when none).
  std::string linked_analysis(const std::string& cell, const std::string& name) const;
  // An analysis task's tables (values NaN until it is done).
  std::vector<ResultTable> analysis(const std::string& id) const;
  // The job file text of every run into this store, oldest first.
  std::vector<std::string> job_texts() const;
  // The FID values `featreuse fid --store` kept (none: empty).
  std::vector<FidEntry> fid_entries() const;

 private:
  std::string path_;
  h5::Handle file_;
};

}  // namespace featreuse::store
