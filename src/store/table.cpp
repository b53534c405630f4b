#include "featreuse/store/table.hpp"

#include <cmath>
#include <cstring>

#include "featreuse/core/error.hpp"

namespace featreuse::store {

namespace {
size_t type_size(Column::Type type, size_t string_size) {
  switch (type) {
    case Column::Type::i32:
      return 4;
    case Column::Type::i64:
      return 8;
    case Column::Type::f64:
      return 8;
    case Column::Type::str:
      return string_size == 0 ? 1 : string_size;
  }
  return 0;
}

const char* type_name(Column::Type type) {
  switch (type) {
    case Column::Type::i32:
      return "i32";
    case Column::Type::i64:
      return "i64";
    case Column::Type::f64:
      return "f64";
    case Column::Type::str:
      return "str";
  }
  return "?";
}

Column::Type parse_type(const std::string& name) {
  if (name == "i32") return Column::Type::i32;
  if (name == "i64") return Column::Type::i64;
  if (name == "f64") return Column::Type::f64;
  if (name == "str") return Column::Type::str;
  throw Error("unknown column type '" + name + "'");
}
}  // namespace

RowType& RowType::add(Column::Type type, const std::string& name, size_t string_size) {
  if (has(name)) throw Error("column '" + name + "' added twice");
  Column c{type, name, type_size(type, string_size), row_size_};
  row_size_ += c.size;
  columns_.push_back(c);
  return *this;
}

const Column& RowType::column(const std::string& name) const {
  for (const auto& c : columns_)
    if (c.name == name) return c;
  throw Error("no column '" + name + "'");
}

bool RowType::has(const std::string& name) const {
  for (const auto& c : columns_)
    if (c.name == name) return true;
  return false;
}

h5::Handle RowType::h5_type() const {
  h5::Handle type(h5::check(H5Tcreate(H5T_COMPOUND, row_size_), "H5Tcreate(compound)"));
  for (const auto& c : columns_) {
    hid_t member = -1;
    h5::Handle str;
    switch (c.type) {
      case Column::Type::i32:
        member = H5T_STD_I32LE;
        break;
      case Column::Type::i64:
        member = H5T_STD_I64LE;
        break;
      case Column::Type::f64:
        member = H5T_IEEE_F64LE;
        break;
      case Column::Type::str:
        str = h5::string_type(c.size);
        member = str;
        break;
    }
    h5::check(H5Tinsert(type, c.name.c_str(), c.offset, member), "H5Tinsert " + c.name);
  }
  return type;
}

nlohmann::json RowType::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : columns_) out.push_back({c.name, type_name(c.type), c.size});
  return out;
}

RowType RowType::from_json(const nlohmann::json& spec) {
  RowType type;
  for (const auto& c : spec) type.add(parse_type(c[1]), c[0], c[2]);
  return type;
}

Rows::Rows(RowType type, size_t count) : type_(std::move(type)) { resize(count); }

void Rows::resize(size_t count) {
  count_ = count;
  bytes_.resize(count * type_.row_size(), 0);
}

uint8_t* Rows::cell(size_t row, const Column& c) {
  if (row >= count_) throw Error("row " + std::to_string(row) + " out of range");
  return bytes_.data() + row * type_.row_size() + c.offset;
}

const uint8_t* Rows::cell(size_t row, const Column& c) const {
  if (row >= count_) throw Error("row " + std::to_string(row) + " out of range");
  return bytes_.data() + row * type_.row_size() + c.offset;
}

void Rows::set(size_t row, const std::string& column, int64_t value) {
  const Column& c = type_.column(column);
  uint8_t* p = cell(row, c);
  if (c.type == Column::Type::i32) {
    int32_t v = int32_t(value);
    std::memcpy(p, &v, 4);
  } else if (c.type == Column::Type::i64) {
    std::memcpy(p, &value, 8);
  } else if (c.type == Column::Type::f64) {
    double v = double(value);
    std::memcpy(p, &v, 8);
  } else {
    throw Error("column '" + column + "' holds strings");
  }
}

void Rows::set(size_t row, const std::string& column, double value) {
  const Column& c = type_.column(column);
  if (c.type != Column::Type::f64) throw Error("column '" + column + "' does not hold floats");
  std::memcpy(cell(row, c), &value, 8);
}

void Rows::set(size_t row, const std::string& column, const std::string& value) {
  const Column& c = type_.column(column);
  if (c.type != Column::Type::str) throw Error("column '" + column + "' does not hold strings");
  size_t n = std::min(value.size(), c.size);
  // Do not cut a UTF-8 sequence in half.
  while (n > 0 && n < value.size() && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
  uint8_t* p = cell(row, c);
  std::memset(p, 0, c.size);
  std::memcpy(p, value.data(), n);
}

int64_t Rows::get_int(size_t row, const std::string& column) const {
  const Column& c = type_.column(column);
  const uint8_t* p = cell(row, c);
  if (c.type == Column::Type::i32) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (c.type == Column::Type::i64) {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  throw Error("column '" + column + "' does not hold integers");
}

double Rows::get_double(size_t row, const std::string& column) const {
  const Column& c = type_.column(column);
  if (c.type != Column::Type::f64) return double(get_int(row, column));
  double v;
  std::memcpy(&v, cell(row, c), 8);
  return v;
}

std::string Rows::get_string(size_t row, const std::string& column) const {
  const Column& c = type_.column(column);
  if (c.type != Column::Type::str) throw Error("column '" + column + "' does not hold strings");
  const char* p = reinterpret_cast<const char*>(cell(row, c));
  return std::string(p, strnlen(p, c.size));
}

void Rows::copy_from(const Rows& from, size_t from_row, size_t row, const RowType& columns) {
  for (const auto& col : columns.columns()) {
    switch (col.type) {
      case Column::Type::str:
        set(row, col.name, from.get_string(from_row, col.name));
        break;
      case Column::Type::f64:
        set(row, col.name, from.get_double(from_row, col.name));
        break;
      case Column::Type::i32:
      case Column::Type::i64:
        set(row, col.name, from.get_int(from_row, col.name));
        break;
    }
  }
}

}  // namespace featreuse::store
