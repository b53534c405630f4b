#include "featreuse/store/schema.hpp"

#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/hash.hpp"

namespace featreuse::store {

namespace {
constexpr size_t kHostSize = 64, kMessageSize = 1024, kMetricNameSize = 32;
using T = Column::Type;
}  // namespace

const std::vector<std::string>& metric_columns() {
  static const std::vector<std::string> names = {"accuracy",    "precision",       "recall",  "f1",
                                                 "cohen_kappa", "quadratic_kappa", "roc_auc", "mAP"};
  return names;
}

int64_t Layout::total() const {
  int64_t n = 0;
  for (const auto& e : entries) n += e.numel;
  return n;
}

std::string Layout::id_of(const std::vector<LayoutEntry>& entries) {
  json j = json::array();
  for (const auto& e : entries) j.push_back({e.name, e.shape, e.buffer, e.dtype});
  return stable_id(j.dump());
}

int64_t own_values(const Layout& layout, const std::vector<SharedEntry>& shared) {
  std::set<std::string> names;
  for (const auto& e : shared) names.insert(e.name);
  int64_t values = 0;
  for (const auto& e : layout.entries)
    if (!names.count(e.name)) values += e.numel;
  return values;
}

namespace {

const Layout* find_layout(const std::vector<Layout>& layouts, const std::string& id) {
  for (const auto& l : layouts)
    if (l.id == id) return &l;
  return nullptr;
}

// Shared entries travel as [from, [entry indices in the cell's layout]]: a
// paper job's schema would otherwise repeat every tensor name per cell.
json shared_to_json(const std::vector<SharedEntry>& shared, const Layout* layout) {
  json out = json::array();
  if (!layout) return out;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < layout->entries.size(); ++i) index[layout->entries[i].name] = i;
  for (const auto& e : shared) {
    if (out.empty() || out.back()[0] != e.from) out.push_back({e.from, json::array()});
    out.back()[1].push_back(index.at(e.name));
  }
  return out;
}

std::vector<SharedEntry> shared_from_json(const json& j, const Layout* layout) {
  std::vector<SharedEntry> out;
  for (const auto& group : j)
    for (const auto& i : group[1]) out.push_back({layout->entries.at(i.get<size_t>()).name, group[0]});
  return out;
}

}  // namespace

json StudySchema::to_json() const {
  json j = {
      {"job_name", job_name}, {"job_text", job_text}, {"layouts", json::array()}, {"cells", json::array()}};
  for (const auto& l : layouts) {
    json entries = json::array();
    for (const auto& e : l.entries)
      entries.push_back({e.name, e.offset, e.numel, e.shape, e.buffer, e.dtype});
    j["layouts"].push_back({{"id", l.id}, {"entries", entries}});
  }
  for (const auto& c : cells) {
    json tables = json::array();
    for (const auto& t : c.tables) tables.push_back(t.to_json());
    j["cells"].push_back(
        {{"id", c.id},
         {"kind", grid::task_kind_name(c.kind)},
         {"key", c.key},
         {"axes", c.axes},
         {"config", c.config},
         {"layout", c.layout},
         {"checkpoint_dtype", checkpoint_dtype_name(c.checkpoint_dtype)},
         {"initial_shared", shared_to_json(c.initial_shared, find_layout(layouts, c.layout))},
         {"train_points", c.train_points},
         {"val_points", c.val_points},
         {"test_count", c.test_count},
         {"num_classes", c.num_classes},
         {"multi_label", c.multi_label},
         {"setup_error", c.setup_error},
         {"analysis", c.analysis},
         {"analysed", c.analysed},
         {"tables", tables}});
  }
  return j;
}

StudySchema StudySchema::from_json(const json& j) {
  StudySchema s;
  s.job_name = j["job_name"];
  s.job_text = j["job_text"];
  for (const auto& l : j["layouts"]) {
    Layout layout;
    layout.id = l["id"];
    for (const auto& e : l["entries"])
      layout.entries.push_back({e[0], e[1], e[2], e[3].get<std::vector<int64_t>>(), e[4], e[5]});
    s.layouts.push_back(std::move(layout));
  }
  for (const auto& c : j["cells"]) {
    CellSchema cell;
    cell.id = c["id"];
    cell.kind = grid::parse_task_kind(c["kind"]);
    cell.key = c["key"];
    cell.axes = c["axes"];
    cell.config = c["config"];
    cell.layout = c["layout"];
    cell.checkpoint_dtype = parse_checkpoint_dtype(c["checkpoint_dtype"]);
    cell.initial_shared = shared_from_json(c["initial_shared"], find_layout(s.layouts, cell.layout));
    cell.train_points = c["train_points"];
    cell.val_points = c["val_points"];
    cell.test_count = c["test_count"];
    cell.num_classes = c["num_classes"];
    cell.multi_label = c["multi_label"];
    cell.setup_error = c["setup_error"];
    cell.analysis = c["analysis"];
    cell.analysed = c["analysed"].get<std::vector<std::string>>();
    for (const auto& t : c["tables"]) cell.tables.push_back(ResultTable::from_json(t));
    s.cells.push_back(std::move(cell));
  }
  return s;
}

const RowType& record_type() {
  static const RowType type = [] {
    RowType t;
    t.add(T::str, "status", 8)
        .add(T::i64, "attempts")
        .add(T::str, "host", kHostSize)
        .add(T::f64, "start_time")
        .add(T::f64, "end_time")
        .add(T::f64, "wall_s")
        .add(T::f64, "images_per_s")
        .add(T::i64, "iterations")
        .add(T::i64, "best_iteration")
        .add(T::f64, "best_val")
        .add(T::f64, "test_loss")
        .add(T::str, "target_metric", kMetricNameSize)
        .add(T::f64, "target");
    for (const auto& m : metric_columns()) t.add(T::f64, "test_" + m);
    t.add(T::str, "message", kMessageSize);
    return t;
  }();
  return type;
}

void put_record(Rows& rows, size_t row, const CellRecord& r) {
  rows.set(row, "status", std::string(grid::state_name(r.status)));
  rows.set(row, "attempts", r.attempts);
  rows.set(row, "host", r.host);
  rows.set(row, "start_time", r.start_time);
  rows.set(row, "end_time", r.end_time);
  rows.set(row, "wall_s", r.wall_s);
  rows.set(row, "images_per_s", r.images_per_s);
  rows.set(row, "iterations", r.iterations);
  rows.set(row, "best_iteration", r.best_iteration);
  rows.set(row, "best_val", r.best_val);
  rows.set(row, "test_loss", r.test_loss);
  rows.set(row, "target_metric", r.target_metric);
  rows.set(row, "target", r.target);
  for (const auto& m : metric_columns()) {
    auto it = r.metrics.find(m);
    rows.set(row, "test_" + m, it == r.metrics.end() ? kNaN : it->second);
  }
  rows.set(row, "message", r.message);
}

CellRecord get_record(const Rows& rows, size_t row) {
  CellRecord r;
  const std::string status = rows.get_string(row, "status");
  r.status = TaskState::pending;
  for (TaskState s : {TaskState::pending, TaskState::running, TaskState::done, TaskState::failed})
    if (status == grid::state_name(s)) r.status = s;
  r.attempts = rows.get_int(row, "attempts");
  r.host = rows.get_string(row, "host");
  r.start_time = rows.get_double(row, "start_time");
  r.end_time = rows.get_double(row, "end_time");
  r.wall_s = rows.get_double(row, "wall_s");
  r.images_per_s = rows.get_double(row, "images_per_s");
  r.iterations = rows.get_int(row, "iterations");
  r.best_iteration = rows.get_int(row, "best_iteration");
  r.best_val = rows.get_double(row, "best_val");
  r.test_loss = rows.get_double(row, "test_loss");
  r.target_metric = rows.get_string(row, "target_metric");
  r.target = rows.get_double(row, "target");
  for (const auto& m : metric_columns()) r.metrics[m] = rows.get_double(row, "test_" + m);
  r.message = rows.get_string(row, "message");
  return r;
}

const RowType& train_curve_type() {
  static const RowType type = [] {
    RowType t;
    t.add(T::i64, "iteration").add(T::f64, "epoch").add(T::f64, "loss").add(T::f64, "lr");
    return t;
  }();
  return type;
}

const RowType& val_curve_type() {
  static const RowType type = [] {
    RowType t;
    t.add(T::i64, "iteration").add(T::f64, "epoch").add(T::f64, "loss").add(T::f64, "target");
    for (const auto& m : metric_columns()) t.add(T::f64, m);
    return t;
  }();
  return type;
}

const RowType& shared_entry_type() {
  static const RowType type = [] {
    RowType t;
    t.add(T::str, "name", 200).add(T::str, "from", 64);
    return t;
  }();
  return type;
}

const RowType& layout_type() {
  static const RowType type = [] {
    RowType t;
    t.add(T::str, "name", 200)
        .add(T::i64, "offset")
        .add(T::i64, "numel")
        .add(T::str, "shape", 64)
        .add(T::str, "kind", 16)
        .add(T::str, "dtype", 16);
    return t;
  }();
  return type;
}

}  // namespace featreuse::store
