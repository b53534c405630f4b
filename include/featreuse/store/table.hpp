#pragma once
// Row types for the store's compound datasets, described at run time: the
// same description gives the HDF5 compound type, packs rows into bytes, and
// travels between ranks as JSON so every rank creates identical datasets.
#include <cstdint>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/store/h5.hpp"

namespace featreuse::store {

struct Column {
  enum class Type { i32, i64, f64, str } type;
  std::string name;
  size_t size = 0;    // bytes (strings: the fixed length)
  size_t offset = 0;  // within a row
};

class RowType {
 public:
  RowType& add(Column::Type type, const std::string& name, size_t string_size = 0);
  size_t row_size() const { return row_size_; }
  const std::vector<Column>& columns() const { return columns_; }
  const Column& column(const std::string& name) const;  // throws if absent
  bool has(const std::string& name) const;
  h5::Handle h5_type() const;  // little-endian compound, packed

  nlohmann::json to_json() const;
  static RowType from_json(const nlohmann::json& spec);

 private:
  std::vector<Column> columns_;
  size_t row_size_ = 0;
};

// A buffer of rows of one RowType, with typed access by column name. Strings
// longer than their column are cut (at a UTF-8 boundary) rather than refused.
class Rows {
 public:
  explicit Rows(RowType type, size_t count = 0);
  const RowType& type() const { return type_; }
  size_t size() const { return count_; }
  void resize(size_t count);
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }

  void set(size_t row, const std::string& column, int64_t value);
  void set(size_t row, const std::string& column, double value);
  void set(size_t row, const std::string& column, const std::string& value);
  int64_t get_int(size_t row, const std::string& column) const;
  double get_double(size_t row, const std::string& column) const;
  std::string get_string(size_t row, const std::string& column) const;
  // Copies the values of `columns` (present in both row types, by name) from
  // row `from_row` of `from` into row `row`.
  void copy_from(const Rows& from, size_t from_row, size_t row, const RowType& columns);

 private:
  uint8_t* cell(size_t row, const Column& c);
  const uint8_t* cell(size_t row, const Column& c) const;
  RowType type_;
  size_t count_ = 0;
  std::vector<uint8_t> bytes_;
};

}  // namespace featreuse::store
