#pragma once
// What the study store holds (docs/store.md): per cell a record (the source of
// truth for its status), its config, checkpoints with a layout table per
// architecture, training curves, test predictions; and a `results` table that
// mirrors every record with the cell's axes, for pandas.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "featreuse/core/config.hpp"
#include "featreuse/grid/plan.hpp"
#include "featreuse/grid/scheduler.hpp"
#include "featreuse/store/checkpoint_dtype.hpp"
#include "featreuse/store/result_table.hpp"
#include "featreuse/store/table.hpp"

namespace featreuse::store {

using grid::TaskState;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Metric columns of records and validation points (names as the metrics give them).
const std::vector<std::string>& metric_columns();

// One parameter or buffer in a flat checkpoint.
struct LayoutEntry {
  std::string name;  // state_dict name
  int64_t offset = 0, numel = 0;
  std::vector<int64_t> shape;
  bool buffer = false;
  std::string dtype = "float32";  // original dtype (int64 buffers are stored as float32)
};

struct Layout {
  std::string id;  // stable id of the entries
  std::vector<LayoutEntry> entries;
  int64_t total() const;
  static std::string id_of(const std::vector<LayoutEntry>& entries);
};

// An entry of a task's `initial` that the store does not copy: its values are
// those of the same name in checkpoint `from` (a path in the same store: the
// source's or the ST draw's `best`). A transfer cell's `initial` holds only the
// entries it does not share, in layout order; every reader fills in the rest.
struct SharedEntry {
  std::string name;  // state_dict name
  std::string from;  // "/cells/<id>/checkpoints/best"
};
const RowType& shared_entry_type();

// The values a checkpoint dataset holds itself: the layout's total less the
// shared entries'.
int64_t own_values(const Layout& layout, const std::vector<SharedEntry>& shared);

// Everything needed to create one cell's datasets, identical on every rank.
struct CellSchema {
  std::string id;
  grid::TaskKind kind = grid::TaskKind::cell;
  std::string key;
  json axes = json::object();
  std::string config;                                           // canonical JSON
  std::string layout;                                           // Layout id ("" when setup failed)
  CheckpointDtype checkpoint_dtype = CheckpointDtype::float32;  // of `initial` and `best`
  std::vector<SharedEntry> initial_shared;                      // entries of `initial` kept as references
  int64_t train_points = 0, val_points = 0;                     // curve capacities
  int64_t test_count = 0, num_classes = 0;
  bool multi_label = false;
  std::string setup_error;  // set: only config/record are created, the cell is failed
  // Analysis tasks: the analysis' name, the cells it analyses (each gets a
  // link /cells/<cell>/analysis/<name> to the task's tables) and its tables'
  // rows.
  std::string analysis;
  std::vector<std::string> analysed;
  std::vector<ResultTable> tables;
};

// Tasks whose `best` is their `initial` (imported weights, ST draws): the
// store keeps one dataset under both names (a hard link).
inline bool holds_one_checkpoint(grid::TaskKind kind) {
  return kind == grid::TaskKind::import || kind == grid::TaskKind::st;
}

struct StudySchema {
  std::string job_name, job_text;
  std::vector<Layout> layouts;
  std::vector<CellSchema> cells;
  json to_json() const;
  static StudySchema from_json(const json& j);
};

// A cell's record: its status, bookkeeping and test metrics.
struct CellRecord {
  TaskState status = TaskState::pending;
  int64_t attempts = 0;
  std::string host;
  double start_time = kNaN, end_time = kNaN, wall_s = kNaN, images_per_s = kNaN;
  int64_t iterations = 0, best_iteration = -1;
  double best_val = kNaN, test_loss = kNaN;
  std::string target_metric;
  double target = kNaN;                   // the test value of target_metric
  std::map<std::string, double> metrics;  // test metrics (metric_columns())
  std::string message;                    // failure message or notes
};

const RowType& record_type();
void put_record(Rows& rows, size_t row, const CellRecord& record);
CellRecord get_record(const Rows& rows, size_t row);

struct TrainPoint {
  int64_t iteration = 0;
  double epoch = 0, loss = kNaN, lr = kNaN;
};

struct ValPoint {
  int64_t iteration = 0;
  double epoch = 0, loss = kNaN, target = kNaN;
  std::map<std::string, double> metrics;
};

// Row types are built once; the references stay valid for the program's life.
const RowType& train_curve_type();
const RowType& val_curve_type();
const RowType& layout_type();

// What a finished task writes besides its record.
struct CellOutputs {
  std::vector<float> initial, best;  // flat checkpoints
  std::vector<TrainPoint> train;
  std::vector<ValPoint> val;
  std::vector<float> test_logits;    // test_count x num_classes
  std::vector<int64_t> test_labels;  // single-label
  std::vector<float> test_targets;   // multi-label, test_count x num_classes
  std::vector<ResultTable> tables;   // an analysis task's only output
};

}  // namespace featreuse::store
