#include "featreuse/store/result_table.hpp"

#include <algorithm>
#include <limits>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::store {

void ResultTable::add_row(std::vector<std::string> key, std::vector<double> row_values) {
  if (key.size() != key_columns.size())
    throw Error("result table " + name + ": a row needs " + std::to_string(key_columns.size()) + " keys");
  if (!row_values.empty() && row_values.size() != value_columns.size())
    throw Error("result table " + name + ": a row needs " + std::to_string(value_columns.size()) + " values");
  keys.push_back(std::move(key));
  if (!row_values.empty()) {
    values.resize(keys.size() - 1);
    values.push_back(std::move(row_values));
  }
}

RowType ResultTable::row_type() const {
  RowType type;
  for (size_t c = 0; c < key_columns.size(); ++c) {
    size_t width = 1;
    for (const auto& row : keys) width = std::max(width, row[c].size());
    type.add(Column::Type::str, key_columns[c], width);
  }
  for (const auto& v : value_columns) type.add(Column::Type::f64, v);
  return type;
}

Rows ResultTable::to_rows() const {
  Rows rows(row_type(), keys.size());
  for (size_t r = 0; r < keys.size(); ++r) {
    for (size_t c = 0; c < key_columns.size(); ++c) rows.set(r, key_columns[c], keys[r][c]);
    for (size_t c = 0; c < value_columns.size(); ++c)
      rows.set(
          r, value_columns[c],
          r < values.size() && !values[r].empty() ? values[r][c] : std::numeric_limits<double>::quiet_NaN());
  }
  return rows;
}

ResultTable ResultTable::from_rows(const std::string& name, const Rows& rows) {
  ResultTable t;
  t.name = name;
  for (const auto& c : rows.type().columns())
    (c.type == Column::Type::str ? t.key_columns : t.value_columns).push_back(c.name);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<std::string> key;
    std::vector<double> values;
    for (const auto& c : t.key_columns) key.push_back(rows.get_string(r, c));
    for (const auto& c : t.value_columns) values.push_back(rows.get_double(r, c));
    t.add_row(std::move(key), std::move(values));
  }
  return t;
}

void ResultTable::check_same_rows(const ResultTable& other) const {
  if (other.key_columns != key_columns || other.value_columns != value_columns)
    throw Error("result table " + name + ": columns " + join(other.key_columns) + " | " +
                join(other.value_columns) + " differ from the planned " + join(key_columns) + " | " +
                join(value_columns));
  if (other.keys.size() != keys.size())
    throw Error("result table " + name + ": " + std::to_string(other.keys.size()) + " rows, planned " +
                std::to_string(keys.size()));
  for (size_t r = 0; r < keys.size(); ++r)
    if (other.keys[r] != keys[r])
      throw Error("result table " + name + ": row " + std::to_string(r) + " is (" + join(other.keys[r]) +
                  "), planned (" + join(keys[r]) + ")");
}

nlohmann::json ResultTable::to_json() const {
  return {{"name", name}, {"key_columns", key_columns}, {"value_columns", value_columns}, {"keys", keys}};
}

ResultTable ResultTable::from_json(const nlohmann::json& j) {
  ResultTable t;
  t.name = j["name"];
  t.key_columns = j["key_columns"].get<std::vector<std::string>>();
  t.value_columns = j["value_columns"].get<std::vector<std::string>>();
  t.keys = j["keys"].get<std::vector<std::vector<std::string>>>();
  return t;
}

}  // namespace featreuse::store
