#include "featreuse/store/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "featreuse/core/collective.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/progress.hpp"
#include "featreuse/store/size.hpp"
#include "store_files.hpp"

namespace featreuse::store {

namespace {

int mpi_rank(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

void write_rows_dataset(hid_t file, const std::string& path, const Rows& rows) {
  h5::Handle type = rows.type().h5_type();
  h5::Handle dataset = h5::open_dataset(file, path);
  if (h5::dims(dataset).empty())  // a scalar record
    h5::write_all(dataset, type, rows.data());
  else if (rows.size() > 0)
    h5::write_rows(dataset, type, 0, rows.size(), rows.data());
}

// Creates dataset `path` with `dims` unless it exists with exactly those dims;
// an existing one with other dims is replaced when `replace` allows it.
void ensure_dataset(hid_t file, const std::string& path, hid_t type, const std::vector<hsize_t>& dims,
                    bool replace) {
  if (h5::exists(file, path)) {
    h5::Handle existing = h5::open_dataset(file, path);
    if (h5::dims(existing) == dims || !replace) return;
    existing.reset();
    h5::unlink(file, path);
  }
  h5::create_dataset(file, path, type, dims);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out;
}

// fallocate on the store's file over the range `range` picks from its current
// size; 0 when done or when the file system has no fallocate (EOPNOTSUPP: the
// file stays as it is), else errno. `size` receives the file's size.
struct AllocationRange {
  int mode;
  off_t offset, length;
};
int allocate_in_store(const std::string& path, const std::function<AllocationRange(off_t size)>& range,
                      off_t& size) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0)
    throw Error("cannot open the store '" + path + "' to reserve its space: " + std::strerror(errno));
  struct stat st {};
  int error = 0;
  if (::fstat(fd, &st) != 0) {
    error = errno;
  } else {
    const AllocationRange r = range(st.st_size);
    if (r.length > 0 && ::fallocate(fd, r.mode, r.offset, r.length) != 0) error = errno;
  }
  ::close(fd);
  size = st.st_size;
  return error == EOPNOTSUPP ? 0 : error;
}

// prepare() gives every dataset its addresses but writes no data (no fill
// values), so the file is sparse: the free space `run` checked is not held,
// and a disk that fills up during the run would fail the writes of outputs
// and records. The blocks are reserved here instead, so that a full disk
// later fails only files beside the store (training states, progress), which
// handle it. A file system without fallocate (some network ones) keeps the
// sparse file.
void reserve_blocks(const std::string& path) {
  off_t size = 0;
  const int error = allocate_in_store(
      path,
      [](off_t n) {
        return AllocationRange{0, 0, n};
      },
      size);
  if (error != 0)
    throw Error("cannot reserve the disk space of the store '" + path + "' (" +
                std::to_string(size / 1000000) + " MB): " + std::strerror(error));
}

// A task's writes are independent: on a disk that went read-only or failed
// at writeback they fail on one rank, in HDF5's words only ("H5Dwrite: file
// write failed / ..."). The error names the store and what was written.
void naming_the_store(const std::string& path, const std::string& what, const std::function<void()>& write) {
  try {
    write();
  } catch (const UserError&) {
    throw;
  } catch (const Error& e) {
    throw Error("cannot write " + what + " into the store '" + path + "': " + e.what());
  }
}

}  // namespace

void reserve_growth(const std::string& path, uint64_t bytes) {
  off_t size = 0;
  const int error = allocate_in_store(
      path,
      [&](off_t n) {
        return AllocationRange{FALLOC_FL_KEEP_SIZE, n, off_t(bytes)};
      },
      size);
  if (error == 0) return;
  throw Error("the store '" + path + "' cannot grow by the " + format_bytes(bytes) +
              " this run adds to it (the job's text, the results table and their HDF5 metadata): " +
              std::strerror(error) + "; free space on its file system and run again (the store was not " +
              "opened for writing: it is unchanged)");
}

Store::Store(const std::string& path, MPI_Comm comm) : path_(path), comm_(comm), rank_(mpi_rank(comm)) {
  // Everyone must agree on whether the file exists before the collective call.
  int exists = rank_ == 0 ? int(std::filesystem::exists(path)) : 0;
  MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
  if (exists) {
    file_ = h5::open_parallel(path, comm, h5::Access::read_write);
    detail::check_store(file_, path);
  } else {
    file_ = h5::create_parallel(path, comm);
    h5::set_attribute(file_, "format", std::string(detail::kFormat));
    h5::set_attribute(file_, "schema_version", detail::kSchemaVersion);
    h5::set_attribute(file_, "created_by", std::string("featreuse ") + version());
    h5::create_group(file_, "/cells");
    h5::create_group(file_, "/layouts");
    h5::create_group(file_, "/jobs");
    h5::flush(file_);
  }
  sync_fd_ = ::open(path.c_str(), O_RDONLY);
}

Store::~Store() {
  if (sync_fd_ >= 0) ::close(sync_fd_);
  // Closing is collective. An exception unwinding past an open store must not
  // enter a collective call the other ranks may never make: the handle is
  // released unclosed then (the process aborts next; the file's metadata was
  // complete since prepare()).
  if (file_.valid() && std::uncaught_exceptions() > 0) file_.release();
}

void Store::close() {
  if (!file_.valid()) return;
  h5::flush(file_);
  file_.reset();
}

void Store::prepare(const StudySchema& schema) {
  const bool writer = rank_ == 0;
  std::map<std::string, const Layout*> layouts;
  for (const auto& l : schema.layouts) {
    layouts[l.id] = &l;
    const std::string path = "/layouts/" + l.id;
    if (h5::exists(file_, path)) continue;
    Rows rows(layout_type(), l.entries.size());
    for (size_t i = 0; i < l.entries.size(); ++i) {
      const auto& e = l.entries[i];
      rows.set(i, "name", e.name);
      rows.set(i, "offset", e.offset);
      rows.set(i, "numel", e.numel);
      rows.set(i, "shape", shape_text(e.shape));
      rows.set(i, "kind", std::string(e.buffer ? "buffer" : "parameter"));
      rows.set(i, "dtype", e.dtype);
    }
    h5::Handle type = rows.type().h5_type();
    h5::Handle dataset = h5::create_dataset(file_, path, type, {hsize_t(rows.size())});
    h5::set_attribute(dataset, "total", l.total());
    dataset.reset();
    if (writer) write_rows_dataset(file_, path, rows);
  }

  Stopwatch clock;
  size_t created = 0;
  for (const auto& cell : schema.cells) {
    if (!h5::exists(file_, detail::cell_path(cell.id))) ++created;
    create_cell(cell, layouts);
  }

  // The job text of this run, for provenance.
  const size_t runs = h5::list_group(h5::open_group(file_, "/jobs")).size();
  char name[32];
  std::snprintf(name, sizeof name, "/jobs/%06zu", runs);
  h5::Handle text_type = h5::string_type(schema.job_text.size());
  h5::Handle job = h5::create_dataset(file_, name, text_type, {});
  h5::set_attribute(job, "job_name", schema.job_name);
  if (writer) h5::write_all(job, text_type, schema.job_text.data());
  job.reset();

  h5::flush(file_);
  const double created_s = clock.seconds();
  rebuild_results();
  h5::flush(file_);  // the file now has its full size (HDF5 extends it to the allocated end)
  all_or_nothing(comm_, [&] {
    if (rank_ == 0) reserve_blocks(path_);
  });
  sync();
  // Creation time grows with the number of objects: worth seeing at scale.
  if (rank_ == 0)
    spdlog::info("store: {} of {} tasks' datasets created in {}, results table of {} rows rebuilt in {}",
                 created, schema.cells.size(), format_duration(created_s), schema.cells.size(),
                 format_duration(clock.seconds() - created_s));
}

void Store::create_cell(const CellSchema& cell, const std::map<std::string, const Layout*>& layouts) {
  const bool writer = rank_ == 0;
  const std::string base = detail::cell_path(cell.id);
  const bool is_new = !h5::exists(file_, base);
  bool done = false;
  if (is_new) {
    h5::create_group(file_, base);
    struct Text {
      const char* name;
      const std::string& value;
    };
    const std::string axes = cell.axes.dump(), kind = grid::task_kind_name(cell.kind);
    for (const Text& t :
         {Text{"config", cell.config}, Text{"key", cell.key}, Text{"kind", kind}, Text{"axes", axes}}) {
      h5::Handle type = h5::string_type(t.value.size());
      h5::Handle d = h5::create_dataset(file_, base + "/" + t.name, type, {});
      if (writer) h5::write_all(d, type, t.value.data());
    }
    Rows rows(record_type(), 1);
    h5::Handle type = rows.type().h5_type();
    h5::create_dataset(file_, base + "/record", type, {});
  } else {
    done = detail::read_record(file_, cell.id).status == TaskState::done;
  }
  if (writer && (is_new || (!done && !cell.setup_error.empty()))) {
    CellRecord record = is_new ? CellRecord{} : detail::read_record(file_, cell.id);
    if (!cell.setup_error.empty()) {
      record.status = TaskState::failed;
      record.message = "setup: " + cell.setup_error;
    }
    Rows rows(record_type(), 1);
    put_record(rows, 0, record);
    write_rows_dataset(file_, base + "/record", rows);
  }
  if (!cell.setup_error.empty()) return;
  if (cell.kind == grid::TaskKind::analysis) return create_analysis(cell, done);

  auto layout = layouts.find(cell.layout);
  if (layout == layouts.end()) throw Error("cell " + cell.id + " names an unknown layout " + cell.layout);
  for (const char* which : {"initial", "best"}) {
    const std::string path = base + "/checkpoints/" + which;
    if (holds_one_checkpoint(cell.kind) && std::string(which) == "best") {  // the same weights: one dataset
      if (!h5::exists(file_, path)) h5::hard_link(file_, base + "/checkpoints/initial", path);
      continue;
    }
    const bool initial = std::string(which) == "initial", fresh = !h5::exists(file_, path);
    // A done cell keeps what it was written with (stores before shared entries hold every entry).
    if (initial && !done) create_shared_table(path, cell.initial_shared);
    const int64_t values =
        initial ? own_values(*layout->second, cell.initial_shared) : layout->second->total();
    const h5::Handle type = checkpoint_file_type(cell.checkpoint_dtype);
    ensure_dataset(file_, path, type, {hsize_t(values)}, !done);
    if (fresh || !done) {
      h5::Handle d = h5::open_dataset(file_, path);
      if (!h5::has_attribute(d, "layout") || h5::get_string_attribute(d, "layout") != cell.layout)
        h5::set_attribute(d, "layout", "/layouts/" + cell.layout);
      h5::set_attribute(d, "dtype", std::string(checkpoint_dtype_name(cell.checkpoint_dtype)));
    }
  }
  {
    h5::Handle train = train_curve_type().h5_type(), val = val_curve_type().h5_type();
    ensure_dataset(file_, base + "/curves/train", train, {hsize_t(cell.train_points)}, !done);
    ensure_dataset(file_, base + "/curves/val", val, {hsize_t(cell.val_points)}, !done);
  }
  const hsize_t n = hsize_t(cell.test_count), c = hsize_t(cell.num_classes);
  ensure_dataset(file_, base + "/test/logits", H5T_IEEE_F32LE, {n, c}, !done);
  if (cell.multi_label)
    ensure_dataset(file_, base + "/test/labels", H5T_IEEE_F32LE, {n, c}, !done);
  else
    ensure_dataset(file_, base + "/test/labels", H5T_STD_I64LE, {n}, !done);
}

void Store::create_shared_table(const std::string& checkpoint, const std::vector<SharedEntry>& shared) {
  const std::string path = detail::shared_table_path(checkpoint);
  if (shared.empty()) {
    if (h5::exists(file_, path)) h5::unlink(file_, path);
    return;
  }
  Rows rows(shared_entry_type(), shared.size());
  for (size_t i = 0; i < shared.size(); ++i) {
    rows.set(i, "name", shared[i].name);
    rows.set(i, "from", shared[i].from);
  }
  h5::Handle type = rows.type().h5_type();
  ensure_dataset(file_, path, type, {hsize_t(rows.size())}, true);
  if (rank_ == 0) write_rows_dataset(file_, path, rows);
}

void Store::create_analysis(const CellSchema& cell, bool done) {
  const std::string group = detail::cell_path(cell.id) + "/analysis";
  if (!h5::exists(file_, group)) h5::create_group(file_, group);
  for (const auto& table : cell.tables) {
    const std::string path = group + "/" + table.name;
    const Rows rows = table.to_rows();
    h5::Handle type = rows.type().h5_type();
    ensure_dataset(file_, path, type, {hsize_t(rows.size())}, !done);
    if (done) continue;
    // Not done: the planned rows with NaN values, and the columns' description.
    h5::Handle dataset = h5::open_dataset(file_, path);
    h5::set_attribute(dataset, "columns", rows.type().to_json().dump());
    dataset.reset();
    if (rank_ == 0) write_rows_dataset(file_, path, rows);
  }
  // Each analysed cell points at the tables: /cells/<cell>/analysis/<name>.
  for (const auto& analysed : cell.analysed) {
    const std::string link = detail::cell_path(analysed) + "/analysis/" + cell.analysis;
    if (h5::exists(file_, link)) {
      if (h5::soft_link_target(file_, link) == group) continue;
      h5::unlink(file_, link);  // a newer plan's analysis of that name
    } else if (!h5::exists(file_, detail::cell_path(analysed) + "/analysis")) {
      h5::create_group(file_, detail::cell_path(analysed) + "/analysis");
    }
    h5::soft_link(file_, group, link);
  }
}

void Store::write_analysis(const std::string& id, const std::vector<ResultTable>& tables) {
  naming_the_store(path_, "the tables of analysis " + id, [&] {
    for (const auto& table : tables) {
      const std::string path = detail::cell_path(id) + "/analysis/" + table.name;
      if (!h5::exists(file_, path))
        throw Error("store: analysis " + id + " has no planned table " + table.name);
      detail::read_table(file_, path).check_same_rows(table);
      write_rows_dataset(file_, path, table.to_rows());
    }
  });
}

namespace {

// Sources first, then cells by their coordinates.
void sort_for_results(std::vector<StoredCell>& cells) {
  std::stable_sort(cells.begin(), cells.end(), [](const StoredCell& a, const StoredCell& b) {
    return std::make_pair(a.kind != grid::TaskKind::source, a.key) <
           std::make_pair(b.kind != grid::TaskKind::source, b.key);
  });
}

// An axis column's type from the values the cells hold: integers stay
// integers unless a cell lacks the value (then floats, NaN for missing);
// mixed numbers are floats; anything else is text.
struct AxisColumn {
  std::string name;
  std::optional<Column::Type> type;  // none: every value is null
  bool has_missing = false;
  size_t width = 1;  // longest value as text

  void see(const json& v) {
    if (v.is_null()) {
      has_missing = true;
      return;
    }
    const Column::Type want = v.is_number_integer() ? Column::Type::i64
                              : v.is_number()       ? Column::Type::f64
                                                    : Column::Type::str;
    if (!type || *type == want)
      type = want;
    else
      type = *type != Column::Type::str && want != Column::Type::str ? Column::Type::f64 : Column::Type::str;
    width = std::max(width, (v.is_string() ? v.get<std::string>() : v.dump()).size());
  }
  void add_to(RowType& row_type) const {
    if (type == Column::Type::i64 && !has_missing)
      row_type.add(Column::Type::i64, name);
    else if (type == Column::Type::i64 || type == Column::Type::f64)
      row_type.add(Column::Type::f64, name);
    else
      row_type.add(Column::Type::str, name, width);
  }
};

// The results table's columns: id, kind, key, the axes in first-seen order, the record.
RowType results_type(const std::vector<StoredCell>& cells) {
  std::vector<AxisColumn> axes;
  std::map<std::string, size_t> index;
  size_t key_width = 1;
  for (const auto& c : cells) {
    key_width = std::max(key_width, c.key.size());
    for (auto it = c.axes.begin(); it != c.axes.end(); ++it) {
      auto [pos, fresh] = index.emplace(it.key(), axes.size());
      if (fresh) axes.push_back({it.key()});
      axes[pos->second].see(it.value());
    }
  }
  for (auto& axis : axes)
    for (const auto& c : cells) axis.has_missing = axis.has_missing || !c.axes.contains(axis.name);
  RowType type;
  type.add(Column::Type::str, "id", 16)
      .add(Column::Type::str, "kind", 8)
      .add(Column::Type::str, "key", key_width);
  for (const auto& axis : axes) axis.add_to(type);
  for (const auto& c : record_type().columns()) type.add(c.type, c.name, c.size);
  return type;
}

// One cell's axis values into row `i` (missing numbers are NaN, missing text empty).
void put_axes(Rows& rows, size_t i, const StoredCell& cell) {
  for (const auto& col : rows.type().columns()) {
    if (record_type().has(col.name) || col.name == "id" || col.name == "kind" || col.name == "key") continue;
    const json v = cell.axes.value(col.name, json());
    if (col.type == Column::Type::str)
      rows.set(i, col.name, v.is_null() ? std::string() : v.is_string() ? v.get<std::string>() : v.dump());
    else if (col.type == Column::Type::i64)
      rows.set(i, col.name, v.get<int64_t>());
    else
      rows.set(i, col.name, v.is_null() ? kNaN : v.get<double>());
  }
}

}  // namespace

void Store::rebuild_results() {
  // The writer reads every cell and decides the table's columns and rows;
  // the others learn the column spec and row order by broadcast.
  json spec;
  std::vector<StoredCell> cells;
  if (rank_ == 0) {
    cells = detail::read_cells(file_);
    sort_for_results(cells);
    json ids = json::array();
    for (const auto& c : cells) ids.push_back(c.id);
    spec = {{"columns", results_type(cells).to_json()}, {"ids", ids}};
  }
  spec = json::parse(broadcast_string(rank_ == 0 ? spec.dump() : std::string(), 0, comm_));
  const RowType type = RowType::from_json(spec["columns"]);
  const auto ids = spec["ids"].get<std::vector<std::string>>();
  results_row_.clear();
  for (size_t i = 0; i < ids.size(); ++i) results_row_[ids[i]] = i;
  results_type_ = type;
  create_results_table(type, ids.size());
  if (rank_ != 0) return;
  Rows rows(type, cells.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    rows.set(i, "id", c.id);
    rows.set(i, "kind", std::string(grid::task_kind_name(c.kind)));
    rows.set(i, "key", c.key);
    put_axes(rows, i, c);
    Rows record(record_type(), 1);
    put_record(record, 0, c.record);
    rows.copy_from(record, 0, i, record_type());
  }
  write_rows_dataset(file_, "/results", rows);
}

void Store::create_results_table(const RowType& type, size_t rows) {
  // Reuse the table when its type and size already match (a plain rerun).
  h5::Handle h5type = type.h5_type();
  bool reuse = false;
  if (h5::exists(file_, "/results")) {
    h5::Handle existing = h5::open_dataset(file_, "/results");
    h5::Handle existing_type(h5::check(H5Dget_type(existing), "H5Dget_type"));
    reuse = H5Tequal(existing_type, h5type) > 0 && h5::dims(existing) == std::vector<hsize_t>{rows};
    existing.reset();
    if (!reuse) h5::unlink(file_, "/results");
  }
  if (!reuse) h5::create_dataset(file_, "/results", h5type, {hsize_t(rows)});
}

CellRecord Store::read_record(const std::string& id) const { return detail::read_record(file_, id); }

std::vector<StoredCell> Store::cells() const { return detail::read_cells(file_); }

Checkpoint Store::checkpoint(const std::string& id, CheckpointKind which) const {
  return detail::read_checkpoint(file_, id, which);
}

void Store::write_record(const std::string& id, const CellRecord& record) {
  naming_the_store(path_, "the record of task " + id, [&] {
    Rows rows(record_type(), 1);
    put_record(rows, 0, record);
    write_rows_dataset(file_, detail::cell_path(id) + "/record", rows);
    // Mirror into the results row (same columns, by name).
    auto row = results_row_.find(id);
    if (row == results_row_.end()) return;
    h5::Handle dataset = h5::open_dataset(file_, "/results");
    const RowType& type = results_type_;
    Rows mirror(type, 1);
    h5::Handle h5type = type.h5_type();
    h5::read_rows(dataset, h5type, row->second, 1, mirror.data());
    mirror.copy_from(rows, 0, 0, record_type());
    h5::write_rows(dataset, h5type, row->second, 1, mirror.data());
  });
}

void Store::write_outputs(const std::string& id, const CellOutputs& out) {
  naming_the_store(path_, "the outputs of task " + id, [&] {
    const std::string base = detail::cell_path(id);
    auto write_flat = [&](const std::string& path, hid_t type, const void* data, size_t count) {
      h5::Handle d = h5::open_dataset(file_, path);
      hsize_t want = 1;
      for (hsize_t n : h5::dims(d)) want *= n;
      if (want != count)
        throw Error("store: " + path + " holds " + std::to_string(want) + " values, the task produced " +
                    std::to_string(count));
      if (count > 0) h5::write_all(d, type, data);
    };
    for (const auto& [which, values] :
         {std::pair<const char*, const std::vector<float>*>{"initial", &out.initial}, {"best", &out.best}}) {
      const std::string path = base + "/checkpoints/" + which;
      const CheckpointDtype dtype = detail::stored_checkpoint_dtype(file_, path);
      const std::optional<std::vector<float>> packed = detail::own_part(file_, path, *values, dtype);
      const std::vector<float>& own = packed ? *packed : *values;
      if (dtype == CheckpointDtype::float32)
        write_flat(path, H5T_NATIVE_FLOAT, own.data(), own.size());
      else  // rounded here, ties to even, and written as the file's own 16-bit type
        write_flat(path, checkpoint_file_type(dtype), narrow_values(own, dtype).data(), own.size());
    }
    write_flat(base + "/test/logits", H5T_NATIVE_FLOAT, out.test_logits.data(), out.test_logits.size());
    if (!out.test_targets.empty())
      write_flat(base + "/test/labels", H5T_NATIVE_FLOAT, out.test_targets.data(), out.test_targets.size());
    else
      write_flat(base + "/test/labels", H5T_NATIVE_INT64, out.test_labels.data(), out.test_labels.size());

    // Curves: points beyond the capacity are dropped; unused rows get iteration -1.
    {
      h5::Handle d = h5::open_dataset(file_, base + "/curves/train");
      Rows rows(train_curve_type(), h5::dims(d)[0]);
      for (size_t i = 0; i < rows.size(); ++i) {
        TrainPoint p = i < out.train.size() ? out.train[i] : TrainPoint{-1, kNaN, kNaN, kNaN};
        rows.set(i, "iteration", p.iteration);
        rows.set(i, "epoch", p.epoch);
        rows.set(i, "loss", p.loss);
        rows.set(i, "lr", p.lr);
      }
      d.reset();
      write_rows_dataset(file_, base + "/curves/train", rows);
    }
    {
      h5::Handle d = h5::open_dataset(file_, base + "/curves/val");
      Rows rows(val_curve_type(), h5::dims(d)[0]);
      for (size_t i = 0; i < rows.size(); ++i) {
        ValPoint p = i < out.val.size() ? out.val[i] : ValPoint{-1, kNaN, kNaN, kNaN, {}};
        rows.set(i, "iteration", p.iteration);
        rows.set(i, "epoch", p.epoch);
        rows.set(i, "loss", p.loss);
        rows.set(i, "target", p.target);
        for (const auto& m : metric_columns()) {
          auto it = p.metrics.find(m);
          rows.set(i, m, it == p.metrics.end() ? kNaN : it->second);
        }
      }
      d.reset();
      write_rows_dataset(file_, base + "/curves/val", rows);
    }
  });
}

void Store::sync() {
  // EINVAL: a file that cannot be synced (no such support): nothing to report.
  if (sync_fd_ < 0 || ::fdatasync(sync_fd_) == 0) return;
  const int error = errno;
  if (error == EINVAL) return;
  throw StoreNotSynced("cannot write the store '" + path_ + "' to disk: " + std::strerror(error) +
                       " (data written since the last sync may be lost); the run stops, and the tasks it "
                       "did not record as done run again next time");
}

}  // namespace featreuse::store
