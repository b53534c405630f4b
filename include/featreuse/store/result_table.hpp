#pragma once
// An analysis' numbers as the store keeps them: a long-format table whose
// text key columns name each row (probe, feature, view, ...) and whose value
// columns are float64. The rows and keys are fixed when the store is prepared
// (the analysis' schema); a finished analysis fills the values.
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/store/table.hpp"

namespace featreuse::store {

struct ResultTable {
  std::string name;                            // dataset name under the task's `analysis` group
  std::vector<std::string> key_columns;        // text columns
  std::vector<std::string> value_columns;      // float64 columns
  std::vector<std::vector<std::string>> keys;  // per row, one per key column
  std::vector<std::vector<double>> values;     // per row, one per value column (empty: not computed)

  void add_row(std::vector<std::string> key, std::vector<double> row_values = {});
  // Key columns as wide as their longest value, then the value columns.
  RowType row_type() const;
  // The rows; values that were not computed are NaN.
  Rows to_rows() const;
  // A table from stored rows: text columns are keys, float64 columns values.
  static ResultTable from_rows(const std::string& name, const Rows& rows);
  // Throws featreuse::Error unless `other` has the same columns and keys.
  void check_same_rows(const ResultTable& other) const;

  nlohmann::json to_json() const;  // without values
  static ResultTable from_json(const nlohmann::json& j);
};

}  // namespace featreuse::store
