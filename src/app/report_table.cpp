#include "report_table.hpp"

#include <cmath>
#include <cstdio>

#include "featreuse/core/error.hpp"

namespace featreuse::app {

Summary Summary::of(const std::vector<double>& values) {
  Summary s{std::nan(""), std::nan(""), int64_t(values.size())};
  if (values.empty()) return s;
  double sum = 0;
  for (double x : values) sum += x;
  s.mean = sum / double(values.size());
  if (values.size() < 2) return s;
  double var = 0;
  for (double x : values) var += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(var / double(values.size() - 1));
  return s;
}

Column text_column(const std::string& name) { return {name, Column::Kind::text, 'f', 0}; }
Column integer_column(const std::string& name) { return {name, Column::Kind::integer, 'f', 0}; }
Column number_column(const std::string& name, int digits, char style) {
  return {name, Column::Kind::number, style, digits};
}
Column summary_column(const std::string& name, int digits, char style) {
  return {name, Column::Kind::summary, style, digits};
}

void Section::add_row(std::vector<Value> row) {
  if (row.size() != columns.size())
    throw Error("report section '" + name + "': a row of " + std::to_string(row.size()) + " values for " +
                std::to_string(columns.size()) + " columns");
  for (size_t i = 0; i < row.size(); ++i) {
    const size_t want = columns[i].kind == Column::Kind::text      ? 1
                        : columns[i].kind == Column::Kind::integer ? 2
                        : columns[i].kind == Column::Kind::number  ? 3
                                                                   : 4;
    if (row[i].index() != 0 && row[i].index() != want)
      throw Error("report section '" + name + "': column '" + columns[i].name +
                  "' got a value of another type");
  }
  rows.push_back(std::move(row));
}

namespace {

std::string number_text(double x, const Column& column) {
  if (std::isnan(x)) return "-";
  const char format[] = {'%', '.', '*', column.style, '\0'};
  char buf[64];
  std::snprintf(buf, sizeof buf, format, column.digits, x);
  return buf;
}

}  // namespace

std::string display(const Column& column, const Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* x = std::get_if<double>(&value)) return number_text(*x, column);
  if (const auto* s = std::get_if<Summary>(&value)) {
    if (s->n == 0) return "-";
    if (s->n == 1) return number_text(s->mean, column);
    return number_text(s->mean, column) + " ± " + number_text(s->std, column);
  }
  return "-";
}

}  // namespace featreuse::app
