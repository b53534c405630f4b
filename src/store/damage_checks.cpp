// Checks of what a store holds at a path before it is read (a damaged store
// can hold anything there; fuzz_store_reader found each case).
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "featreuse/core/error.hpp"
#include "store_files.hpp"

namespace featreuse::store::detail {

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

}  // namespace featreuse::store::detail
