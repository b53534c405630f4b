#pragma once
// Thin RAII wrappers over the HDF5 C API (parallel build). Every failure throws
// featreuse::Error carrying the object path and HDF5's own error message.
// Parallel rule (docs/store.md): object creation, attributes and
// extension are collective; raw-data reads and writes may be independent.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace featreuse::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();
  hid_t release() {  // gives up ownership without closing
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Throws if `status` < 0, with `what` and HDF5's innermost error message.
hid_t check(hid_t status, const std::string& what);

// Silences HDF5's automatic error printing (errors become exceptions instead).
void quiet_errors();

enum class Access { read_only, read_write };

// Opens or creates a file with the MPI-IO driver on `comm` (collective).
Handle create_parallel(const std::string& path, MPI_Comm comm);
Handle open_parallel(const std::string& path, MPI_Comm comm, Access access);
// Serial open with the default driver and file locking off, so a reader
// never blocks or disturbs a running job's writers.
Handle open_serial(const std::string& path, Access access);
Handle create_serial(const std::string& path);

bool exists(hid_t loc, const std::string& path);  // link exists (parents checked)
Handle open_group(hid_t loc, const std::string& path);
Handle create_group(hid_t loc, const std::string& path);  // creates missing parents
Handle open_dataset(hid_t loc, const std::string& path);

struct DatasetOptions {
  std::vector<hsize_t> chunk;  // empty: contiguous
  bool extendible = false;     // unlimited first dimension (needs chunk)
};
// Early allocation and no fill writes (safe for later independent raw writes).
Handle create_dataset(hid_t loc, const std::string& path, hid_t type, const std::vector<hsize_t>& dims,
                      const DatasetOptions& options = {});

std::vector<hsize_t> dims(hid_t dataset);

// Fixed-length, NUL-padded string type of `size` bytes (parallel HDF5 cannot
// write variable-length data independently).
Handle string_type(size_t size);

// Raw data transfer. `type` is the memory type. Row ranges select
// [first, first+count) along dimension 0 and everything along the others.
void write_all(hid_t dataset, hid_t type, const void* data);
void read_all(hid_t dataset, hid_t type, void* data);
void write_rows(hid_t dataset, hid_t type, hsize_t first, hsize_t count, const void* data);
void read_rows(hid_t dataset, hid_t type, hsize_t first, hsize_t count, void* data);

// Scalar/string helpers on whole datasets.
void write_string(hid_t loc, const std::string& path, const std::string& text);  // creates
std::string read_string(hid_t loc, const std::string& path);

// Attributes (collective in parallel: every rank writes the same value).
void set_attribute(hid_t obj, const std::string& name, const std::string& value);
void set_attribute(hid_t obj, const std::string& name, int64_t value);
void set_attribute(hid_t obj, const std::string& name, double value);
bool has_attribute(hid_t obj, const std::string& name);
std::string get_string_attribute(hid_t obj, const std::string& name);
int64_t get_int_attribute(hid_t obj, const std::string& name);
double get_double_attribute(hid_t obj, const std::string& name);

// Names of a group's direct members.
std::vector<std::string> list_group(hid_t group);

// A soft link at `path` to `target` (collective in parallel), and the target
// of the soft link at `path` ("" when it is not one).
void soft_link(hid_t loc, const std::string& target, const std::string& path);
std::string soft_link_target(hid_t loc, const std::string& path);
// A second name `path` for the object at `target` (collective in parallel):
// readers cannot tell the two names apart.
void hard_link(hid_t loc, const std::string& target, const std::string& path);

// Removes a link (collective in parallel).
void unlink(hid_t loc, const std::string& path);

// Closes a file now and throws if HDF5 cannot: closing writes the metadata,
// so a full disk fails here, where ~Handle would ignore it.
void close(Handle& file);

// Flushes the file's metadata and data (collective in parallel).
void flush(hid_t file);

}  // namespace featreuse::h5
