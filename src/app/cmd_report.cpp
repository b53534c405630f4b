// featreuse report S.h5: the study's results. First every cell group's test
// metric, mean ± std over seeds; then, where a setting has RI and WT cells,
// Figure 1's two numbers: the gain WT/RI and the share of WT's performance
// that weight statistics do not explain, (WT-ST)/WT (also min-max normalised
// over the settings, as the figure's colour scale); convergence speed from
// the validation curves; then the analyses' per-probe summaries
// (report_analyses.hpp).
#include <array>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/grid/axis_order.hpp"
#include "featreuse/store/reader.hpp"
#include "report_analyses.hpp"
#include "report_format.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

// The axes a setting of Figure 1 ignores: the initialisation and its parameters.
const std::set<std::string> kInitAxes = {"init",        "source",         "wt_blocks",
                                         "wt_fraction", "init.wt_blocks", "init.wt_fraction"};

using RowKey = std::vector<std::string>;

// Rows keyed by values of `axes`, ordered as the job lists them (numbers numerically).
struct RowLess {
  const grid::AxisOrder* order;
  std::vector<std::string> axes;
  bool operator()(const RowKey& a, const RowKey& b) const { return order->less(axes, a, b); }
};
template <typename V>
using Rows = std::map<RowKey, V, RowLess>;

// The grid cells of a study and how the report groups them.
struct Grouping {
  grid::AxisOrder order;
  std::vector<store::StoredCell> cells;
  std::map<std::string, std::set<std::string>> seen;  // axis -> values
  std::vector<std::string> columns;                   // varying axes but the one averaged over
  std::string constant;                               // "axis=value, ..." of the others
  std::string metric;                                 // "" : each cell's target metric
  std::set<std::string> metric_names;                 // the metrics shown

  std::vector<std::string> key_of(const store::StoredCell& c, const std::set<std::string>& skip) const {
    std::vector<std::string> key;
    for (const auto& a : columns)
      if (!skip.count(a)) key.push_back(c.axes.contains(a) ? value_text(c.axes[a]) : "-");
    return key;
  }
  void add(Stats& s, const store::StoredCell& c) {
    if (c.record.status == grid::TaskState::done) {
      const std::string m = metric.empty() ? c.record.target_metric : metric;
      metric_names.insert(m);
      auto it = c.record.metrics.find(m);
      if (it != c.record.metrics.end() && !std::isnan(it->second)) s.values.push_back(it->second);
    } else if (c.record.status == grid::TaskState::failed) {
      ++s.failed;
    } else {
      ++s.pending;
    }
  }
};

Grouping group_cells(const store::StoreReader& reader, const std::string& over, const std::string& metric) {
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
  return g;
}

void print_cell_groups(const std::string& path, const std::string& over, Grouping& g) {
  Rows<Stats> groups(RowLess{&g.order, g.columns});
  for (const auto& c : g.cells) g.add(groups[g.key_of(c, {})], c);
  const std::string names = join(g.metric_names);
  std::printf("%s: test %s, mean ± std over %s%s%s\n\n", path.c_str(),
              names.empty() ? "metric" : names.c_str(), over.c_str(), g.constant.empty() ? "" : "; ",
              g.constant.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, s] : groups) {
    auto row = key;
    row.insert(row.end(), {s.text(), std::to_string(s.values.size()), s.missing()});
    rows.push_back(row);
  }
  auto header = g.columns;
  header.insert(header.end(), {"test", "n", "not done"});
  print_table(header, rows);
}

// Figure 1: per setting (every varying axis but the init axes).
void print_figure1(Grouping& g, const std::vector<std::string>& setting_columns) {
  if (!g.seen.count("init") || !g.seen["init"].count("ri") || !g.seen["init"].count("wt")) return;
  Rows<std::map<std::string, Stats>> settings(RowLess{&g.order, setting_columns});
  for (const auto& c : g.cells) {
    const std::string init = c.axes.contains("init") ? value_text(c.axes["init"]) : "";
    if (init == "ri" || init == "st" || init == "wt") g.add(settings[g.key_of(c, kInitAxes)][init], c);
  }
  std::vector<double> shares;
  for (auto& [key, by_init] : settings) {
    const double wt = by_init["wt"].mean(), st = by_init["st"].mean();
    if (!std::isnan(wt) && !std::isnan(st) && wt != 0) shares.push_back((wt - st) / wt);
  }
  const double lo = shares.empty() ? 0 : *std::min_element(shares.begin(), shares.end());
  const double hi = shares.empty() ? 0 : *std::max_element(shares.begin(), shares.end());
  std::vector<std::vector<std::string>> rows;
  for (auto& [key, by_init] : settings) {
    const double ri = by_init["ri"].mean(), st = by_init["st"].mean(), wt = by_init["wt"].mean();
    const double gain = ri != 0 ? wt / ri : std::nan("");
    const double share = wt != 0 ? (wt - st) / wt : std::nan("");
    const double normalised = hi > lo ? (share - lo) / (hi - lo) : std::nan("");
    auto row = key;
    row.insert(row.end(), {by_init["ri"].text(), by_init["st"].text(), by_init["wt"].text(), fixed(gain, 3),
                           fixed(share, 4), fixed(normalised, 2)});
    rows.push_back(row);
  }
  std::printf(
      "\ntransfer (Figure 1): gain WT/RI of the means; feature-reuse share (WT-ST)/WT, and min-max "
      "normalised over the settings\n\n");
  auto header = setting_columns;
  header.insert(header.end(), {"RI", "ST", "WT", "WT/RI", "(WT-ST)/WT", "normalised"});
  print_table(header, rows);
}

// The first validation step whose target reaches `share` of the final one
// (-1 when the final target is not positive).
int64_t steps_to(const std::vector<store::ValPoint>& curve, double share) {
  if (curve.empty() || !(curve.back().target > 0)) return -1;
  for (const auto& p : curve)
    if (p.target >= share * curve.back().target) return p.iteration;
  return -1;
}

// Convergence speed: steps to 95% and 99% of the final validation target,
// from the stored curves, per cell group.
void print_convergence(const store::StoreReader& reader, const Grouping& g) {
  Rows<std::array<Stats, 3>> groups(RowLess{&g.order, g.columns});
  for (const auto& c : g.cells) {
    if (c.record.status != grid::TaskState::done) continue;
    const auto curve = reader.val_curve(c.id);
    const int64_t at95 = steps_to(curve, 0.95), at99 = steps_to(curve, 0.99);
    if (at95 < 0) continue;
    auto& s = groups[g.key_of(c, {})];
    s[0].values.push_back(double(at95));
    s[1].values.push_back(double(at99));
    s[2].values.push_back(double(curve.back().iteration));
  }
  if (groups.empty()) return;
  std::printf(
      "\nconvergence: training steps until the validation target first reaches 95%% and 99%% of its "
      "final value, mean ± std over seeds\n\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, s] : groups) {
    auto row = key;
    row.insert(row.end(), {s[0].text(0), s[1].text(0), s[2].text(0)});
    rows.push_back(row);
  }
  auto header = g.columns;
  header.insert(header.end(), {"to 95%", "to 99%", "last step"});
  print_table(header, rows);
}

}  // namespace

int cmd_report(const Args& args) {
  po::options_description options("featreuse report STORE [options]");
  std::string path, metric, over = "seed";
  options.add_options()("help,h", "show this help")(
      "metric", po::value(&metric),
      "a test metric (accuracy, roc_auc, ...); default: each cell's target metric")(
      "over", po::value(&over)->default_value("seed"), "the axis to average over")("store", po::value(&path),
                                                                                   "the HDF5 store");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"store"}, "report");
  if (auto code = help_or_missing(vm, options, "report", {{"STORE (the .h5 store)", !path.empty()}}))
    return *code;
  if (!metric.empty()) {
    const auto& known = store::metric_columns();
    if (std::find(known.begin(), known.end(), metric) == known.end())
      throw Error("unknown metric '" + metric + "'");
  }

  const store::StoreReader reader(path);
  Grouping g = group_cells(reader, over, metric);
  print_cell_groups(path, over, g);
  std::vector<std::string> setting_columns;
  for (const auto& a : g.columns)
    if (!kInitAxes.count(a)) setting_columns.push_back(a);
  print_figure1(g, setting_columns);
  print_convergence(reader, g);
  print_analysis_summaries(reader, setting_columns, g.order);
  return 0;
}

}  // namespace featreuse::app
