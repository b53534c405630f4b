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
