#pragma once
// What the parallel store and the read-only reader share: the file's format
// marks, where a cell lives, and the reads of records, cells and checkpoints
// on an open file.
#include <optional>
#include <string>
#include <vector>

#include "featreuse/store/h5.hpp"
#include "featreuse/store/reader.hpp"

namespace featreuse::store::detail {

constexpr const char* kFormat = "featreuse-store";
constexpr int64_t kSchemaVersion = 1;

std::string cell_path(const std::string& id);

// Checks before a read of a possibly damaged store (damage_checks.cpp); each
// throws featreuse::Error naming `path`. Elements of a dataset of any rank;
// rows of a one-dimensional one the file really holds; a table whose row type
// keeps every column inside its row; one dimension of a layout's shape text;
// every layout entry inside `values` values and holding exactly its shape.
size_t elements_of(hid_t dataset);
size_t rows_of(hid_t dataset, const std::string& path);
void check_row_type(hid_t dataset, const std::string& path);
int64_t shape_dim(const std::string& text, const std::string& path);
void check_layout(const Layout& layout, size_t values, const std::string& path);
// Throws featreuse::Error naming `path` unless the file is a featreuse store
// of this schema version.
void check_store(hid_t file, const std::string& path);
CellRecord read_record(hid_t file, const std::string& id);
std::vector<StoredCell> read_cells(hid_t file);
// A checkpoint with its shared entries filled in from the checkpoints they
// name (checkpoint_io.cpp); by task and kind, or by dataset path.
Checkpoint read_checkpoint(hid_t file, const std::string& id, CheckpointKind which);
Checkpoint read_checkpoint_at(hid_t file, const std::string& path);
// A checkpoint dataset's `dtype` attribute (stores before it: float32).
CheckpointDtype stored_checkpoint_dtype(hid_t file, const std::string& path);
// The table of entries the checkpoint at `checkpoint_path` shares, and its rows
// (none: it holds every entry).
std::string shared_table_path(const std::string& checkpoint_path);
std::vector<SharedEntry> read_shared_entries(hid_t file, const std::string& checkpoint_path);
// What the checkpoint dataset at `path` stores of a task's flat `values` when
// it shares entries: the others (nullopt: it shares none and stores them all).
// Each shared entry must equal its base as stored in `dtype`, else Error (the
// plan was wrong: the reference would lie).
std::optional<std::vector<float>> own_part(hid_t file, const std::string& path,
                                           const std::vector<float>& values, CheckpointDtype dtype);
std::vector<ValPoint> read_val_curve(hid_t file, const std::string& id);
// An analysis table at `path`, described by its `columns` attribute.
ResultTable read_table(hid_t file, const std::string& path);
// Every table of analysis task `id` (none when it has none).
std::vector<ResultTable> read_analysis(hid_t file, const std::string& id);

}  // namespace featreuse::store::detail
