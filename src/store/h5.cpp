#include "featreuse/store/h5.hpp"

#include <cstring>
#include <filesystem>

#include "featreuse/core/error.hpp"

namespace featreuse::h5 {

namespace {

herr_t collect_message(unsigned, const H5E_error2_t* err, void* out) {
  auto* text = static_cast<std::string*>(out);
  if (err->desc && *err->desc) {
    if (!text->empty()) *text += " / ";
    *text += err->desc;
  }
  return 0;
}

std::string hdf5_message() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_message, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "unknown HDF5 error" : text;
}

herr_t close_any(hid_t id) {
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      return H5Fclose(id);
    case H5I_GROUP:
      return H5Gclose(id);
    case H5I_DATASET:
      return H5Dclose(id);
    case H5I_DATASPACE:
      return H5Sclose(id);
    case H5I_DATATYPE:
      return H5Tclose(id);
    case H5I_ATTR:
      return H5Aclose(id);
    case H5I_GENPROP_LST:
      return H5Pclose(id);
    default:
      return H5Idec_ref(id);
  }
}

Handle file_access_list() {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate(file access)"));
  // Default (oldest) file format on purpose: a crashed writer leaves no
  // "file is open" flags behind, so h5py opens a store after kill -9.
  return fapl;
}

Handle row_space(hid_t dataset, hsize_t first, hsize_t count, Handle& memspace) {
  Handle space(check(H5Dget_space(dataset), "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> extent(rank), start(rank, 0), block(rank);
  H5Sget_simple_extent_dims(space, extent.data(), nullptr);
  if (rank == 0 || first + count > extent[0])
    throw Error("HDF5 row selection [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") outside a dataset of " + std::to_string(rank ? extent[0] : 0) + " rows");
  block = extent;
  start[0] = first;
  block[0] = count;
  check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr),
        "H5Sselect_hyperslab");
  memspace = Handle(check(H5Screate_simple(rank, block.data(), nullptr), "H5Screate_simple"));
  return space;
}

}  // namespace

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0) close_any(id_);
  id_ = H5I_INVALID_HID;
}

hid_t check(hid_t status, const std::string& what) {
  if (status < 0) throw Error("HDF5: " + what + ": " + hdf5_message());
  return status;
}

void quiet_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle create_parallel(const std::string& path, MPI_Comm comm) {
  quiet_errors();
  Handle fapl = file_access_list();
  check(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  return Handle(
      check(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl), "cannot create store '" + path + "'"));
}

Handle open_parallel(const std::string& path, MPI_Comm comm, Access access) {
  quiet_errors();
  Handle fapl = file_access_list();
  check(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  const unsigned flags = access == Access::read_write ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return Handle(check(H5Fopen(path.c_str(), flags, fapl), "cannot open store '" + path + "'"));
}

Handle open_serial(const std::string& path, Access access) {
  quiet_errors();
  if (!std::filesystem::exists(path)) throw Error("no such file '" + path + "'");
  Handle fapl = file_access_list();
  check(H5Pset_file_locking(fapl, false, true), "H5Pset_file_locking");
  const unsigned flags = access == Access::read_write ? H5F_ACC_RDWR : H5F_ACC_RDONLY;
  return Handle(check(H5Fopen(path.c_str(), flags, fapl), "cannot open '" + path + "'"));
}

Handle create_serial(const std::string& path) {
  quiet_errors();
  Handle fapl = file_access_list();
  check(H5Pset_file_locking(fapl, false, true), "H5Pset_file_locking");
  return Handle(
      check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "cannot create '" + path + "'"));
}

bool exists(hid_t loc, const std::string& path) {
  // H5Lexists fails on missing intermediate groups, so check each prefix.
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix != "/") {
      const htri_t found = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
      // Its parent exists, so a failure is damage (a group header HDF5
      // cannot read, a dataset where a group belongs), not absence: taken
      // for absence, it made `run` create objects inside a damaged group.
      if (found < 0)
        throw Error("HDF5: cannot look up '" + prefix + "': " + hdf5_message() + " (a damaged file?)");
      if (found == 0) return false;
    }
    if (pos == std::string::npos) return true;
  }
}

Handle open_group(hid_t loc, const std::string& path) {
  return Handle(check(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), "cannot open group '" + path + "'"));
}

Handle create_group(hid_t loc, const std::string& path) {
  Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link)"));
  check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  return Handle(check(H5Gcreate2(loc, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create group '" + path + "'"));
}

Handle open_dataset(hid_t loc, const std::string& path) {
  return Handle(check(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), "cannot open dataset '" + path + "'"));
}

Handle create_dataset(hid_t loc, const std::string& path, hid_t type, const std::vector<hsize_t>& dims,
                      const DatasetOptions& options) {
  std::vector<hsize_t> maxdims = dims;
  if (options.extendible && !maxdims.empty()) maxdims[0] = H5S_UNLIMITED;
  Handle space(check(
      dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), maxdims.data()),
      "H5Screate for '" + path + "'"));
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate(dataset)"));
  if (!options.chunk.empty())
    check(H5Pset_chunk(dcpl, int(options.chunk.size()), options.chunk.data()), "H5Pset_chunk");
  check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  check(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate(link)"));
  check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  return Handle(check(H5Dcreate2(loc, path.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT),
                      "cannot create dataset '" + path + "'"));
}

std::vector<hsize_t> dims(hid_t dataset) {
  Handle space(check(H5Dget_space(dataset), "H5Dget_space"));
  std::vector<hsize_t> out(H5Sget_simple_extent_ndims(space));
  H5Sget_simple_extent_dims(space, out.data(), nullptr);
  return out;
}

Handle string_type(size_t size) {
  Handle type(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(type, size == 0 ? 1 : size), "H5Tset_size");
  check(H5Tset_strpad(type, H5T_STR_NULLPAD), "H5Tset_strpad");
  check(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

void write_all(hid_t dataset, hid_t type, const void* data) {
  check(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite");
}

void read_all(hid_t dataset, hid_t type, void* data) {
  check(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dread");
}

void write_rows(hid_t dataset, hid_t type, hsize_t first, hsize_t count, const void* data) {
  if (count == 0) return;
  Handle memspace;
  Handle space = row_space(dataset, first, count, memspace);
  check(H5Dwrite(dataset, type, memspace, space, H5P_DEFAULT, data), "H5Dwrite(rows)");
}

void read_rows(hid_t dataset, hid_t type, hsize_t first, hsize_t count, void* data) {
  if (count == 0) return;
  Handle memspace;
  Handle space = row_space(dataset, first, count, memspace);
  check(H5Dread(dataset, type, memspace, space, H5P_DEFAULT, data), "H5Dread(rows)");
}

void write_string(hid_t loc, const std::string& path, const std::string& text) {
  Handle type = string_type(text.size());
  Handle dataset = create_dataset(loc, path, type, {});
  write_all(dataset, type, text.data());
}

std::string read_string(hid_t loc, const std::string& path) {
  Handle dataset = open_dataset(loc, path);
  Handle type(check(H5Dget_type(dataset), "H5Dget_type"));
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0)
    throw Error("HDF5: '" + path + "' is not a fixed-length string");
  // A damaged file can claim any size: one string, which the file holds
  // (several were read into a buffer for one; 4 GB was allocated for a
  // 128 kB file: found by fuzz_store_reader).
  hsize_t elements = 1;
  for (hsize_t d : dims(dataset)) elements *= d;
  const size_t size = H5Tget_size(type);
  if (elements != 1 || size > H5Dget_storage_size(dataset))
    throw Error("HDF5: '" + path + "' is not one string of the file's bytes (a damaged file?)");
  std::string out(size, '\0');
  read_all(dataset, type, out.data());
  out.resize(std::strlen(out.c_str()));
  return out;
}

void set_attribute(hid_t obj, const std::string& name, const std::string& value) {
  if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "H5Adelete " + name);
  Handle type = string_type(value.size());
  Handle space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Handle attr(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                    "cannot create attribute '" + name + "'"));
  check(H5Awrite(attr, type, value.data()), "H5Awrite " + name);
}

namespace {

// A scalar attribute of `file_type`, replacing one of the same name.
void set_scalar_attribute(hid_t obj, const std::string& name, hid_t file_type, hid_t memory_type,
                          const void* value) {
  if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "H5Adelete " + name);
  Handle space(check(H5Screate(H5S_SCALAR), "H5Screate"));
  Handle attr(check(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT),
                    "cannot create attribute '" + name + "'"));
  check(H5Awrite(attr, memory_type, value), "H5Awrite " + name);
}

void get_scalar_attribute(hid_t obj, const std::string& name, hid_t memory_type, void* value) {
  Handle attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "no attribute '" + name + "'"));
  check(H5Aread(attr, memory_type, value), "H5Aread " + name);
}

}  // namespace

void set_attribute(hid_t obj, const std::string& name, int64_t value) {
  set_scalar_attribute(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void set_attribute(hid_t obj, const std::string& name, double value) {
  set_scalar_attribute(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

bool has_attribute(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::string get_string_attribute(hid_t obj, const std::string& name) {
  Handle attr(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "no attribute '" + name + "'"));
  Handle type(check(H5Aget_type(attr), "H5Aget_type"));
  if (H5Tget_class(type) != H5T_STRING) throw Error("HDF5: attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(type) > 0) {
    char* text = nullptr;
    Handle memtype(check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
    H5Tset_size(memtype, H5T_VARIABLE);
    H5Tset_cset(memtype, H5Tget_cset(type));  // h5py writes UTF-8; HDF5 will not convert charsets
    check(H5Aread(attr, memtype, &text), "H5Aread " + name);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type), '\0');
  check(H5Aread(attr, type, out.data()), "H5Aread " + name);
  out.resize(std::strlen(out.c_str()));
  return out;
}

int64_t get_int_attribute(hid_t obj, const std::string& name) {
  int64_t value = 0;
  get_scalar_attribute(obj, name, H5T_NATIVE_INT64, &value);
  return value;
}

double get_double_attribute(hid_t obj, const std::string& name) {
  double value = 0;
  get_scalar_attribute(obj, name, H5T_NATIVE_DOUBLE, &value);
  return value;
}

std::vector<std::string> list_group(hid_t group) {
  std::vector<std::string> names;
  auto visit = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->push_back(name);
    return 0;
  };
  check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, visit, &names), "H5Literate");
  return names;
}

void soft_link(hid_t loc, const std::string& target, const std::string& path) {
  check(H5Lcreate_soft(target.c_str(), loc, path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot link '" + path + "' to '" + target + "'");
}

void hard_link(hid_t loc, const std::string& target, const std::string& path) {
  check(H5Lcreate_hard(loc, target.c_str(), loc, path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot link '" + path + "' to '" + target + "'");
}

std::string soft_link_target(hid_t loc, const std::string& path) {
  H5L_info_t info;
  check(H5Lget_info(loc, path.c_str(), &info, H5P_DEFAULT), "cannot read link '" + path + "'");
  if (info.type != H5L_TYPE_SOFT) return "";
  std::string target(info.u.val_size, '\0');
  check(H5Lget_val(loc, path.c_str(), target.data(), target.size(), H5P_DEFAULT), "H5Lget_val " + path);
  while (!target.empty() && target.back() == '\0') target.pop_back();
  return target;
}

void unlink(hid_t loc, const std::string& path) {
  check(H5Ldelete(loc, path.c_str(), H5P_DEFAULT), "cannot delete '" + path + "'");
}

void close(Handle& file) {
  if (file.valid()) check(H5Fclose(file.release()), "H5Fclose");
}

void flush(hid_t file) { check(H5Fflush(file, H5F_SCOPE_GLOBAL), "H5Fflush"); }

}  // namespace featreuse::h5
