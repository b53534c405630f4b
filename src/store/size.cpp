#include "featreuse/store/size.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "featreuse/core/error.hpp"

namespace featreuse::store {

namespace {

// HDF5 metadata per object (group or dataset header, attribute, index):
// measured at 1-2 KB on stores of this layout; 2 KB errs on the safe side.
constexpr uint64_t kObjectOverhead = 2048;

uint64_t checkpoint_bytes(const CellSchema& cell, const std::map<std::string, const Layout*>& layouts) {
  auto it = layouts.find(cell.layout);
  if (it == layouts.end()) return 0;
  const Layout& layout = *it->second;
  // initial (less the entries it shares with its source or ST draw), best
  const uint64_t values = holds_one_checkpoint(cell.kind)
                              ? uint64_t(layout.total())
                              : uint64_t(own_values(layout, cell.initial_shared) + layout.total());
  const uint64_t references = cell.initial_shared.size() * shared_entry_type().row_size();
  return values * checkpoint_value_bytes(cell.checkpoint_dtype) + references;
}

uint64_t training_bytes(const CellSchema& cell) {
  const uint64_t labels = cell.multi_label ? uint64_t(cell.num_classes) * sizeof(float) : sizeof(int64_t);
  return uint64_t(cell.train_points) * train_curve_type().row_size() +
         uint64_t(cell.val_points) * val_curve_type().row_size() +
         uint64_t(cell.test_count) * (uint64_t(cell.num_classes) * sizeof(float) + labels);
}

uint64_t analysis_bytes(const CellSchema& cell) {
  uint64_t bytes = 0;
  for (const auto& table : cell.tables) bytes += table.keys.size() * table.row_type().row_size();
  return bytes;
}

uint64_t task_bytes(const CellSchema& cell, const std::map<std::string, const Layout*>& layouts) {
  const uint64_t record = record_type().row_size() + cell.config.size() + cell.key.size();
  if (!cell.setup_error.empty()) return record + 6 * kObjectOverhead;
  if (cell.kind == grid::TaskKind::analysis)
    return record + analysis_bytes(cell) + (6 + cell.tables.size()) * kObjectOverhead;
  const uint64_t objects = cell.initial_shared.empty() ? 14 : 15;  // + the table of shared entries
  return record + checkpoint_bytes(cell, layouts) + training_bytes(cell) + objects * kObjectOverhead;
}

// The results table's rows: id (16) and kind (8), the longest key, the axes
// (at most twice their JSON text: a number takes 8 bytes, a name as long as
// its longest value), the record. Cells of other jobs in the same store are
// not counted; kRunMetadata covers a few.
uint64_t results_bytes(const StudySchema& schema) {
  size_t key = 0, axes = 0;
  for (const auto& cell : schema.cells) {
    key = std::max(key, cell.key.size());
    axes = std::max(axes, cell.axes.dump().size());
  }
  return (24 + key + 2 * axes + record_type().row_size()) * schema.cells.size();
}

// HDF5 metadata a run adds besides its new objects' headers (a group's index
// growing, attributes rewritten into new header blocks): an allowance well
// above what reruns of the test jobs added (docs/reliability.md).
constexpr uint64_t kRunMetadata = 64 * 1024;

}  // namespace

uint64_t run_growth(const StudySchema& schema) {
  return schema.job_text.size() + results_bytes(schema) + 2 * kObjectOverhead + kRunMetadata;
}

uint64_t StoreSize::total() const {
  uint64_t sum = 0;
  for (const auto& [kind, bytes] : bytes_by_kind) sum += bytes;
  return sum;
}

StoreSize allocated_size(const StudySchema& schema) {
  std::map<std::string, const Layout*> layouts;
  for (const auto& l : schema.layouts) layouts[l.id] = &l;
  StoreSize size;
  for (const auto& cell : schema.cells) {
    size.bytes_by_kind[cell.kind] += task_bytes(cell, layouts);
    size.tasks_by_kind[cell.kind] += 1;
    if (!cell.setup_error.empty()) ++size.unsized;
  }
  return size;
}

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return buf;
}

uint64_t free_bytes_at(const std::string& path) {
  std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
  struct statvfs fs {};
  if (statvfs(folder.c_str(), &fs) != 0)
    throw Error("cannot read the free space of '" + folder.string() + "' (does the folder exist?)");
  return uint64_t(fs.f_bavail) * uint64_t(fs.f_frsize);
}

}  // namespace featreuse::store
