#pragma once
// How many bytes a store prepared for a schema takes: the data every task's
// datasets allocate when the store is prepared (checkpoints, curves, test
// predictions, analysis tables), per task kind, before anything is written.
// HDF5's own metadata (object headers, B-trees) comes on top of it; a
// per-object allowance estimates that part.
#include <cstdint>
#include <map>
#include <string>

#include "featreuse/store/schema.hpp"

namespace featreuse::store {

struct StoreSize {
  std::map<grid::TaskKind, uint64_t> bytes_by_kind;
  std::map<grid::TaskKind, size_t> tasks_by_kind;
  size_t unsized = 0;  // tasks whose setup failed: they allocate nothing
  uint64_t total() const;
};

StoreSize allocated_size(const StudySchema& schema);

// What one run adds to a store file beyond its tasks' datasets: the job's
// text under /jobs, the results table when its columns or rows change (HDF5
// keeps no map of the old table's space across opens), and their metadata.
// A store that exists grows by up to this much at every run.
uint64_t run_growth(const StudySchema& schema);

// "812 B", "3.4 MB", "57.1 GB" (decimal units, as df -H).
std::string format_bytes(uint64_t bytes);

// Bytes free to an unprivileged writer on the file system holding `path`
// (a file that may not exist yet: its folder is asked).
uint64_t free_bytes_at(const std::string& path);

}  // namespace featreuse::store
