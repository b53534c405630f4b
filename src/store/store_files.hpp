#pragma once
// What the parallel store and the read-only reader share: the file's format
// marks, where a cell lives, and the reads of records, cells and checkpoints
// on an open file.
#include <string>
#include <vector>

#include "featreuse/store/h5.hpp"
#include "featreuse/store/reader.hpp"

namespace featreuse::store::detail {

constexpr const char* kFormat = "featreuse-store";
constexpr int64_t kSchemaVersion = 1;

std::string cell_path(const std::string& id);
// Throws featreuse::Error naming `path` unless the file is a featreuse store
// of this schema version.
void check_store(hid_t file, const std::string& path);
CellRecord read_record(hid_t file, const std::string& id);
std::vector<StoredCell> read_cells(hid_t file);
Checkpoint read_checkpoint(hid_t file, const std::string& id, CheckpointKind which);
std::vector<ValPoint> read_val_curve(hid_t file, const std::string& id);
// An analysis table at `path`, described by its `columns` attribute.
ResultTable read_table(hid_t file, const std::string& path);
// Every table of analysis task `id` (none when it has none).
std::vector<ResultTable> read_analysis(hid_t file, const std::string& id);

}  // namespace featreuse::store::detail
