#pragma once
// How `report` groups a study's grid cells: by every axis with more than one
// value but the one averaged over (`--over`, the seed by default); a setting
// of Figure 1 leaves out the initialisation axes too. Rows are listed as the
// job lists each axis' values (numbers numerically).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "featreuse/grid/axis_order.hpp"
#include "featreuse/store/study_reader.hpp"
#include "report_stats.hpp"

namespace featreuse::app {

// The axes a setting of Figure 1 ignores: the initialisation and its parameters.
extern const std::set<std::string> kInitAxes;

using RowKey = std::vector<std::string>;

struct RowLess {
  const grid::AxisOrder* order;
  std::vector<std::string> axes;
  bool operator()(const RowKey& a, const RowKey& b) const { return order->less(axes, a, b); }
};
template <typename V>
using Rows = std::map<RowKey, V, RowLess>;

struct Grouping {
  grid::AxisOrder order;
  std::vector<store::StoredCell> cells;               // the grid cells (kind cell)
  std::map<std::string, std::set<std::string>> seen;  // axis -> values
  std::vector<std::string> columns;                   // varying axes but the one averaged over
  std::vector<std::string> setting_columns;           // `columns` but the init axes
  std::string constant;                               // "axis=value, ..." of the others
  std::string metric;                                 // "" : each cell's target metric
  std::set<std::string> metric_names;                 // the metrics shown

  // The cell's values of `columns` but those in `skip` ("-" where it lacks the axis).
  RowKey key_of(const store::StoredCell& c, const std::set<std::string>& skip) const;
  // Adds the cell's metric to `s`, or counts it as failed, pending or without value.
  void add(Stats& s, const store::StoredCell& c);
  // The metric a cell is reported by.
  std::string metric_of(const store::StoredCell& c) const;
};

Grouping group_cells(const store::StudyReader& reader, const std::string& over, const std::string& metric);

}  // namespace featreuse::app
