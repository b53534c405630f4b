#include "report_grouping.hpp"

#include <algorithm>
#include <cmath>

namespace featreuse::app {

const std::set<std::string> kInitAxes = {"init",        "source",         "wt_blocks",
                                         "wt_fraction", "init.wt_blocks", "init.wt_fraction"};

RowKey Grouping::key_of(const store::StoredCell& c, const std::set<std::string>& skip) const {
  RowKey key;
  for (const auto& a : columns)
    if (!skip.count(a)) key.push_back(c.axes.contains(a) ? value_text(c.axes[a]) : "-");
  return key;
}

std::string Grouping::metric_of(const store::StoredCell& c) const {
  return metric.empty() ? c.record.target_metric : metric;
}

void Grouping::add(Stats& s, const store::StoredCell& c) {
  if (c.record.status == grid::TaskState::done) {
    const std::string m = metric_of(c);
    metric_names.insert(m);
    auto it = c.record.metrics.find(m);
    if (it != c.record.metrics.end() && !std::isnan(it->second))
      s.values.push_back(it->second);
    else
      ++s.no_value;
  } else if (c.record.status == grid::TaskState::failed) {
    ++s.failed;
  } else {
    ++s.pending;
  }
}

Grouping group_cells(const store::StudyReader& reader, const std::string& over, const std::string& metric) {
  Grouping g;
  g.order = grid::AxisOrder(reader.job_texts());
  g.metric = metric;
  for (auto& c : reader.cells())
    if (c.kind == grid::TaskKind::cell) g.cells.push_back(std::move(c));
  std::vector<std::string> axes;
  for (const auto& c : g.cells)
    for (auto it = c.axes.begin(); it != c.axes.end(); ++it) {
      if (!g.seen.count(it.key())) axes.push_back(it.key());
      g.seen[it.key()].insert(value_text(it.value()));
    }
  // The grid's standard axes first, in the job file's order, then the others.
  const std::vector<std::string> standard = {"model", "dataset", "init", "source"};
  std::stable_sort(axes.begin(), axes.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& x) {
      return size_t(std::find(standard.begin(), standard.end(), x) - standard.begin());
    };
    return rank(a) < rank(b);
  });
  for (const auto& a : axes) {
    if (a == over) continue;
    if (g.seen[a].size() > 1)
      g.columns.push_back(a);
    else
      g.constant += (g.constant.empty() ? "" : ", ") + a + "=" + *g.seen[a].begin();
  }
  for (const auto& a : g.columns)
    if (!kInitAxes.count(a)) g.setting_columns.push_back(a);
  return g;
}

}  // namespace featreuse::app
