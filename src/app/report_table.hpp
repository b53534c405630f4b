#pragma once
// The report's output model: each section of `featreuse report` builds a
// Section (title, typed columns, rows of values); one renderer per output
// format prints them (report_render.hpp). Sections never format numbers
// themselves, so every format shows the same data.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace featreuse::app {

// Mean, sample standard deviation and count of a group of values
// (std NaN below 2 values, mean NaN for none).
struct Summary {
  double mean, std;
  int64_t n;
  static Summary of(const std::vector<double>& values);
};

struct Column {
  // text: a string; integer: int64_t; number: a double (NaN: none); summary:
  // a Summary, shown "m ± s" by text and markdown, and as the three columns
  // "<name> mean", "<name> std", "<name> n" by csv and json.
  enum class Kind { text, integer, number, summary };
  std::string name;
  Kind kind = Kind::text;
  // Numbers and summaries as text: printf's conversion ('f', 'e' or 'g') and its precision.
  char style = 'f';
  int digits = 4;
};

Column text_column(const std::string& name);
Column integer_column(const std::string& name);
Column number_column(const std::string& name, int digits, char style = 'f');
Column summary_column(const std::string& name, int digits, char style = 'f');

// An empty cell: the column does not apply to the row (shown "-" or null).
using Value = std::variant<std::monostate, std::string, int64_t, double, Summary>;

struct Section {
  std::string name;         // stable id: "cells", "figure1", "welch", "knn", ...
  std::string description;  // one line saying what the numbers are
  std::vector<Column> columns;
  // The first `split` columns name a setting: text and markdown print one
  // table per setting under a "column=value, ..." line; csv and json keep them
  // as ordinary columns.
  size_t split = 0;
  std::vector<std::vector<Value>> rows;

  // Throws featreuse::Error when the row does not match the columns' kinds.
  void add_row(std::vector<Value> row);
};

// A cell as text and markdown show it: "-" for none.
std::string display(const Column& column, const Value& value);

}  // namespace featreuse::app
