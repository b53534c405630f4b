#pragma once
// What the report's sections share: an axis value as text, and the values of
// a group of tasks with what is missing from them.
#include <cstddef>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "report_table.hpp"

namespace featreuse::app {

std::string value_text(const nlohmann::json& v);  // "-" for null
// An axis value of a row: empty (null in json) for "-", the axis does not apply.
Value axis_value(const std::string& text);

struct Stats {
  std::vector<double> values;
  size_t failed = 0, pending = 0, no_value = 0;  // no_value: done, but the metric is missing or NaN
  double mean() const;                           // NaN when empty
  Summary summary() const { return Summary::of(values); }
  std::string missing() const;  // "2 failed, 1 pending, 1 without value", or ""
};

}  // namespace featreuse::app
