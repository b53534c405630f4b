// Reading a checkpoint, with the entries a transfer cell's `initial` shares
// with the checkpoint it copied them from, and packing an `initial` into the
// entries it keeps itself (docs/store.md "Checkpoints").
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>

#include "featreuse/core/error.hpp"
#include "store_files.hpp"

namespace featreuse::store::detail {

namespace {

std::vector<int64_t> parse_shape(const std::string& text, const std::string& path) {
  std::vector<int64_t> shape;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    shape.push_back(shape_dim(text.substr(pos, end - pos), path));
    pos = end + 1;
  }
  return shape;
}

// The layout a checkpoint dataset's `layout` attribute names, each entry
// checked to lie inside the layout's flat vector.
Layout read_layout(hid_t file, hid_t checkpoint) {
  Layout layout;
  const std::string path = h5::get_string_attribute(checkpoint, "layout");
  layout.id = path.substr(path.rfind('/') + 1);
  h5::Handle table = h5::open_dataset(file, path);
  check_row_type(table, path);
  Rows rows(layout_type(), rows_of(table, path));
  if (rows.size() > 0) h5::read_all(table, layout_type().h5_type(), rows.data());
  for (size_t i = 0; i < rows.size(); ++i) {
    LayoutEntry e;
    e.name = rows.get_string(i, "name");
    e.offset = rows.get_int(i, "offset");
    e.numel = rows.get_int(i, "numel");
    e.shape = parse_shape(rows.get_string(i, "shape"), path);
    e.buffer = rows.get_string(i, "kind") == "buffer";
    e.dtype = rows.get_string(i, "dtype");
    layout.entries.push_back(std::move(e));
  }
  int64_t total = 0;
  for (const auto& e : layout.entries) {
    if (e.numel < 0 || e.numel > INT64_MAX - total)
      throw Error("store: " + path + ": entry '" + e.name + "' has " + std::to_string(e.numel) +
                  " values (a damaged store?)");
    total += e.numel;
  }
  check_layout(layout, size_t(total), path);
  return layout;
}

std::vector<float> read_values(hid_t dataset, const std::string& path) {
  std::vector<float> values(rows_of(dataset, path));
  if (!values.empty()) h5::read_all(dataset, H5T_NATIVE_FLOAT, values.data());
  return values;
}

// Base checkpoints by path, each read once per call, with their stored
// precision and their entries by name.
class Bases {
 public:
  explicit Bases(hid_t file) : file_(file) {}

  // The values of entry `e` of a checkpoint in the base at `path`.
  const float* entry(const std::string& path, const LayoutEntry& e, const std::string& sharer) {
    const Base& base = get(path);
    auto it = base.by_name.find(e.name);
    if (it == base.by_name.end()) throw Error("store: " + path + " has no entry '" + e.name + "'");
    if (it->second->numel != e.numel)
      throw Error("store: " + sharer + " shares '" + e.name + "' with " + path + ", whose entry has " +
                  std::to_string(it->second->numel) + " values, not " + std::to_string(e.numel));
    return base.checkpoint.values.data() + it->second->offset;
  }
  CheckpointDtype dtype(const std::string& path) { return get(path).dtype; }

 private:
  struct Base {
    Checkpoint checkpoint;
    CheckpointDtype dtype;
    std::map<std::string, const LayoutEntry*> by_name;
  };

  const Base& get(const std::string& path) {
    auto it = read_.find(path);
    if (it != read_.end()) return it->second;
    // Bases hold every entry themselves (a source's best, an ST draw): one
    // level of references, so a damaged store cannot send readers in circles.
    if (!read_shared_entries(file_, path).empty())
      throw Error("store: " + path +
                  " is named as holding shared entries but shares entries itself (a damaged store?)");
    Base& base =
        read_.emplace(path, Base{read_checkpoint_at(file_, path), stored_checkpoint_dtype(file_, path), {}})
            .first->second;
    for (const auto& e : base.checkpoint.layout.entries) base.by_name[e.name] = &e;
    return base;
  }

  hid_t file_;
  std::map<std::string, Base> read_;
};

// Where each shared entry's value is, by entry name.
std::map<std::string, std::string> base_of_entry(const std::vector<SharedEntry>& shared) {
  std::map<std::string, std::string> from;
  for (const auto& s : shared) from[s.name] = s.from;
  return from;
}

}  // namespace

CheckpointDtype stored_checkpoint_dtype(hid_t file, const std::string& path) {
  h5::Handle d = h5::open_dataset(file, path);
  return h5::has_attribute(d, "dtype") ? parse_checkpoint_dtype(h5::get_string_attribute(d, "dtype"))
                                       : CheckpointDtype::float32;
}

std::string shared_table_path(const std::string& checkpoint_path) { return checkpoint_path + "_shared"; }

std::vector<SharedEntry> read_shared_entries(hid_t file, const std::string& checkpoint_path) {
  const std::string path = shared_table_path(checkpoint_path);
  std::vector<SharedEntry> out;
  if (!h5::exists(file, path)) return out;
  h5::Handle table = h5::open_dataset(file, path);
  check_row_type(table, path);
  Rows rows(shared_entry_type(), rows_of(table, path));
  if (rows.size() > 0) h5::read_all(table, shared_entry_type().h5_type(), rows.data());
  for (size_t i = 0; i < rows.size(); ++i)
    out.push_back({rows.get_string(i, "name"), rows.get_string(i, "from")});
  return out;
}

Checkpoint read_checkpoint_at(hid_t file, const std::string& path) {
  h5::Handle dataset = h5::open_dataset(file, path);
  Checkpoint out{read_layout(file, dataset), {}};
  const std::vector<float> own = read_values(dataset, path);
  const auto shared = read_shared_entries(file, path);
  if (int64_t(own.size()) != own_values(out.layout, shared))
    throw Error("store: " + path + " has " + std::to_string(own.size()) + " values, its layout and " +
                std::to_string(shared.size()) + " shared entries " +
                std::to_string(own_values(out.layout, shared)));
  if (shared.empty()) {
    out.values = own;
    return out;
  }
  const auto from = base_of_entry(shared);
  Bases bases(file);
  out.values.resize(out.layout.total());
  const float* next_own = own.data();
  for (const auto& e : out.layout.entries) {
    float* to = out.values.data() + e.offset;
    auto f = from.find(e.name);
    if (f == from.end()) {
      std::memcpy(to, next_own, e.numel * sizeof(float));
      next_own += e.numel;
      continue;
    }
    std::memcpy(to, bases.entry(f->second, e, path), e.numel * sizeof(float));
  }
  return out;
}

Checkpoint read_checkpoint(hid_t file, const std::string& id, CheckpointKind kind) {
  const std::string which = checkpoint_name(kind);
  const std::string path = cell_path(id) + "/checkpoints/" + which;
  if (!h5::exists(file, path)) throw Error("store: cell " + id + " has no " + which + " checkpoint");
  return read_checkpoint_at(file, path);
}

std::optional<std::vector<float>> own_part(hid_t file, const std::string& path,
                                           const std::vector<float>& values, CheckpointDtype dtype) {
  const auto shared = read_shared_entries(file, path);
  if (shared.empty()) return std::nullopt;
  h5::Handle dataset = h5::open_dataset(file, path);
  const Layout layout = read_layout(file, dataset);
  const auto from = base_of_entry(shared);
  Bases bases(file);
  std::vector<float> own;
  own.reserve(own_values(layout, shared));
  for (const auto& e : layout.entries) {
    const float* value = values.data() + e.offset;
    auto f = from.find(e.name);
    if (f == from.end()) {
      own.insert(own.end(), value, value + e.numel);
      continue;
    }
    // The reference must give back exactly what the task produced.
    const CheckpointDtype base_dtype = bases.dtype(f->second);
    if (dtype != CheckpointDtype::float32 && base_dtype != dtype)
      throw Error("store: " + path + " (" + checkpoint_dtype_name(dtype) + ") cannot share '" + e.name +
                  "' with " + f->second + " (" + checkpoint_dtype_name(base_dtype) + ")");
    const float* theirs = bases.entry(f->second, e, path);
    const bool same = dtype == CheckpointDtype::float32
                          ? std::memcmp(value, theirs, e.numel * sizeof(float)) == 0
                          : narrow_values({value, value + e.numel}, dtype) ==
                                narrow_values({theirs, theirs + e.numel}, dtype);
    if (!same)
      throw Error("store: " + path + ": entry '" + e.name + "' was planned as a copy of " + f->second +
                  " but differs from it (an internal error: please report it)");
  }
  return own;
}

}  // namespace featreuse::store::detail
