#include "featreuse/store/reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "featreuse/core/error.hpp"
#include "store_files.hpp"

namespace featreuse::store {

const char* checkpoint_name(CheckpointKind which) {
  return which == CheckpointKind::initial ? "initial" : "best";
}

namespace {

// A damaged store can hold anything at a path. These checks come before a
// read: indexing the dims of a dataset of another rank, or letting HDF5 read
// N elements into a buffer sized for the expected count, would read or write
// past a buffer.
size_t elements_of(hid_t dataset) {
  size_t n = 1;
  for (hsize_t d : h5::dims(dataset)) n *= size_t(d);
  return n;
}

// The rows of a one-dimensional dataset, which the file must hold: a damaged
// dataspace can claim more elements than the file has bytes for, and
// allocating for them fails with std::bad_alloc, which is no message.
size_t rows_of(hid_t dataset, const std::string& path) {
  const auto dims = h5::dims(dataset);
  if (dims.size() != 1)
    throw Error("store: " + path + " has " + std::to_string(dims.size()) +
                " dimensions, expected 1 (a damaged store?)");
  h5::Handle type(h5::check(H5Dget_type(dataset), "H5Dget_type"));
  const size_t element = std::max<size_t>(H5Tget_size(type), 1);
  const hsize_t stored = H5Dget_storage_size(dataset);
  if (dims[0] > stored / element)
    throw Error("store: " + path + " claims " + std::to_string(dims[0]) + " elements of " +
                std::to_string(element) + " bytes, but the file holds " + std::to_string(stored) +
                " bytes of them (a damaged store?)");
  return size_t(dims[0]);
}

// A table's stored row type: HDF5 1.10 converts compound types trusting the
// file's member offsets and sizes, and a damaged type made it read out of
// bounds, or allocate 4 GB for a row (found by fuzz_store_reader). The rows
// must be held by the file, and every member must lie inside its row.
void check_row_type(hid_t dataset, const std::string& path) {
  h5::Handle type(h5::check(H5Dget_type(dataset), "H5Dget_type"));
  if (H5Tget_class(type) != H5T_COMPOUND)
    throw Error("store: " + path + " is not a table (a damaged store?)");
  const size_t size = H5Tget_size(type), rows = elements_of(dataset);
  const hsize_t stored = H5Dget_storage_size(dataset);
  if (rows > 0 && size > stored / rows)  // HDF5 allocates a buffer of the claimed size
    throw Error("store: " + path + " claims rows of " + std::to_string(size) + " bytes, but the file holds " +
                std::to_string(stored) + " bytes of them (a damaged store?)");
  const int members = H5Tget_nmembers(type);
  for (int i = 0; i < members; ++i) {
    h5::Handle member(h5::check(H5Tget_member_type(type, unsigned(i)), "H5Tget_member_type"));
    const size_t offset = H5Tget_member_offset(type, unsigned(i)), bytes = H5Tget_size(member);
    if (offset > size || bytes > size - offset)
      throw Error("store: " + path + ": column " + std::to_string(i) +
                  " lies outside its row (a damaged store?)");
  }
}

// One dimension of a layout row's shape text ("64,3,7,7").
int64_t shape_dim(const std::string& text, const std::string& path) {
  char* end = nullptr;
  errno = 0;
  const long long v = text.empty() ? -1 : std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || v < 0)
    throw Error("store: " + path + ": shape dimension '" + text + "' is not a size (a damaged store?)");
  return v;
}

// Every tensor of the layout inside the flat checkpoint, its shape holding
// exactly its values: what the readers of checkpoints index by.
void check_layout(const Layout& layout, size_t values, const std::string& path) {
  for (const auto& e : layout.entries) {
    int64_t n = 1;
    for (int64_t d : e.shape) n = d != 0 && n > INT64_MAX / d ? -1 : n * d;
    if (e.offset < 0 || e.numel < 0 || n != e.numel || uint64_t(e.offset) > values ||
        uint64_t(e.numel) > values - uint64_t(e.offset))
      throw Error("store: " + path + ": tensor '" + e.name + "' (offset " + std::to_string(e.offset) + ", " +
                  std::to_string(e.numel) + " values) does not fit its shape or the " +
                  std::to_string(values) + " values of the checkpoint (a damaged store?)");
  }
}

// Text of the store that must be JSON; nlohmann's own error is not a message
// for a user.
json parse_stored_json(const std::string& text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error("store: " + path + " is not valid JSON (a damaged store?): " + e.what());
  }
}

}  // namespace

namespace detail {

std::string cell_path(const std::string& id) { return "/cells/" + id; }

void check_store(hid_t file, const std::string& path) {
  if (!h5::has_attribute(file, "format") || h5::get_string_attribute(file, "format") != kFormat)
    throw Error("'" + path + "' is an HDF5 file but not a featreuse store");
  const int64_t version = h5::get_int_attribute(file, "schema_version");
  if (version != kSchemaVersion)
    throw Error("store '" + path + "' has schema version " + std::to_string(version) +
                "; this featreuse reads " + std::to_string(kSchemaVersion));
}

CellRecord read_record(hid_t file, const std::string& id) {
  Rows rows(record_type(), 1);
  h5::Handle type = rows.type().h5_type();
  const std::string path = cell_path(id) + "/record";
  h5::Handle dataset = h5::open_dataset(file, path);
  check_row_type(dataset, path);
  if (elements_of(dataset) != 1)
    throw Error("store: " + path + " holds " + std::to_string(elements_of(dataset)) +
                " records, expected 1 (a damaged store?)");
  h5::read_all(dataset, type, rows.data());
  return get_record(rows, 0);
}

Checkpoint read_checkpoint(hid_t file, const std::string& id, CheckpointKind kind) {
  const std::string which = checkpoint_name(kind);
  const std::string path = cell_path(id) + "/checkpoints/" + which;
  if (!h5::exists(file, path)) throw Error("store: cell " + id + " has no " + which + " checkpoint");
  h5::Handle dataset = h5::open_dataset(file, path);
  Layout layout;
  const std::string layout_path = h5::get_string_attribute(dataset, "layout");
  layout.id = layout_path.substr(layout_path.rfind('/') + 1);
  h5::Handle table = h5::open_dataset(file, layout_path);
  check_row_type(table, layout_path);
  Rows rows(layout_type(), rows_of(table, layout_path));
  h5::read_all(table, layout_type().h5_type(), rows.data());
  for (size_t i = 0; i < rows.size(); ++i) {
    LayoutEntry e;
    e.name = rows.get_string(i, "name");
    e.offset = rows.get_int(i, "offset");
    e.numel = rows.get_int(i, "numel");
    const std::string shape = rows.get_string(i, "shape");
    for (size_t pos = 0; pos < shape.size();) {
      size_t end = shape.find(',', pos);
      if (end == std::string::npos) end = shape.size();
      e.shape.push_back(shape_dim(shape.substr(pos, end - pos), layout_path));
      pos = end + 1;
    }
    e.buffer = rows.get_string(i, "kind") == "buffer";
    e.dtype = rows.get_string(i, "dtype");
    layout.entries.push_back(std::move(e));
  }
  std::vector<float> flat(rows_of(dataset, path));
  if (!flat.empty()) h5::read_all(dataset, H5T_NATIVE_FLOAT, flat.data());
  check_layout(layout, flat.size(), layout_path);
  if (int64_t(flat.size()) != layout.total())
    throw Error("store: " + path + " has " + std::to_string(flat.size()) + " values, its layout " +
                std::to_string(layout.total()));
  return {std::move(layout), std::move(flat)};
}

std::vector<StoredCell> read_cells(hid_t file) {
  std::vector<StoredCell> out;
  if (!h5::exists(file, "/cells")) return out;
  h5::Handle cells = h5::open_group(file, "/cells");
  for (const auto& id : h5::list_group(cells)) {
    StoredCell c;
    c.id = id;
    const std::string base = cell_path(id);
    c.key = h5::read_string(file, base + "/key");
    c.kind = grid::parse_task_kind(h5::read_string(file, base + "/kind"));
    c.axes = parse_stored_json(h5::read_string(file, base + "/axes"), base + "/axes");
    c.config = h5::read_string(file, base + "/config");
    c.record = read_record(file, id);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<ValPoint> read_val_curve(hid_t file, const std::string& id) {
  std::vector<ValPoint> out;
  const std::string path = cell_path(id) + "/curves/val";
  if (!h5::exists(file, path)) return out;
  h5::Handle dataset = h5::open_dataset(file, path);
  check_row_type(dataset, path);
  Rows rows(val_curve_type(), rows_of(dataset, path));
  if (rows.size() > 0) h5::read_all(dataset, val_curve_type().h5_type(), rows.data());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows.get_int(i, "iteration") < 0) continue;  // unused capacity
    ValPoint p{rows.get_int(i, "iteration"),
               rows.get_double(i, "epoch"),
               rows.get_double(i, "loss"),
               rows.get_double(i, "target"),
               {}};
    for (const auto& m : metric_columns()) p.metrics[m] = rows.get_double(i, m);
    out.push_back(std::move(p));
  }
  return out;
}

ResultTable read_table(hid_t file, const std::string& path) {
  h5::Handle dataset = h5::open_dataset(file, path);
  const json columns = parse_stored_json(h5::get_string_attribute(dataset, "columns"), path + " (columns)");
  RowType type;
  try {
    type = RowType::from_json(columns);
  } catch (const json::exception& e) {
    throw Error("store: " + path + ": its columns are not a row type (a damaged store?): " + e.what());
  }
  check_row_type(dataset, path);
  Rows rows(type, rows_of(dataset, path));
  if (rows.size() > 0) h5::read_all(dataset, type.h5_type(), rows.data());
  return ResultTable::from_rows(path.substr(path.rfind('/') + 1), rows);
}

std::vector<ResultTable> read_analysis(hid_t file, const std::string& id) {
  std::vector<ResultTable> out;
  const std::string group = cell_path(id) + "/analysis";
  if (!h5::exists(file, group) || !h5::soft_link_target(file, group).empty()) return out;
  for (const auto& name : h5::list_group(h5::open_group(file, group))) {
    if (!h5::soft_link_target(file, group + "/" + name).empty()) continue;  // a cell's link to a task
    out.push_back(read_table(file, group + "/" + name));
  }
  return out;
}

}  // namespace detail

StoreReader::StoreReader(const std::string& path) : path_(path) {
  file_ = h5::open_serial(path, h5::Access::read_only);
  detail::check_store(file_, path);
}

std::vector<StoredCell> StoreReader::cells() const { return detail::read_cells(file_); }

CellRecord StoreReader::record(const std::string& id) const { return detail::read_record(file_, id); }

Checkpoint StoreReader::checkpoint(const std::string& id, CheckpointKind which) const {
  return detail::read_checkpoint(file_, id, which);
}

std::vector<ValPoint> StoreReader::val_curve(const std::string& id) const {
  return detail::read_val_curve(file_, id);
}

std::string StoreReader::linked_analysis(const std::string& cell, const std::string& name) const {
  const std::string link = detail::cell_path(cell) + "/analysis/" + name;
  if (!h5::exists(file_, link)) return "";
  const std::string target = h5::soft_link_target(file_, link);  // /cells/<id>/analysis
  const std::string prefix = "/cells/";
  if (target.rfind(prefix, 0) != 0) return "";
  return target.substr(prefix.size(), target.find('/', prefix.size()) - prefix.size());
}

std::vector<ResultTable> StoreReader::analysis(const std::string& id) const {
  return detail::read_analysis(file_, id);
}

std::vector<FidEntry> StoreReader::fid_entries() const { return detail::read_fid_entries(file_); }

std::vector<std::string> StoreReader::job_texts() const {
  std::vector<std::string> out;
  if (!h5::exists(file_, "/jobs")) return out;
  for (const auto& name : h5::list_group(h5::open_group(file_, "/jobs")))  // /jobs/000000, ...: sorted
    out.push_back(h5::read_string(file_, "/jobs/" + name));
  return out;
}

}  // namespace featreuse::store
