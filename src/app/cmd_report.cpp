// featreuse report S.h5: the study's results. First every cell group's test
// metric, mean ± std over seeds; then, where a setting has RI and WT cells,
// Figure 1's two numbers: the gain WT/RI and the share of WT's performance
// that weight statistics do not explain, (WT-ST)/WT (also min-max normalised
// over the settings, as the figure's colour scale).
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
#include "featreuse/store/reader.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

std::string value_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

struct Stats {
  std::vector<double> values;
  size_t failed = 0, pending = 0;
  double mean() const {
    double m = 0;
    for (double x : values) m += x;
    return values.empty() ? std::nan("") : m / double(values.size());
  }
  std::string text() const {
    if (values.empty()) return "-";
    const double m = mean();
    double var = 0;
    for (double x : values) var += (x - m) * (x - m);
    char buf[64];
    if (values.size() > 1)
      std::snprintf(buf, sizeof buf, "%.4f ± %.4f", m, std::sqrt(var / double(values.size() - 1)));
    else
      std::snprintf(buf, sizeof buf, "%.4f", m);
    return buf;
  }
  std::string missing() const {
    std::string out;
    if (failed) out += std::to_string(failed) + " failed";
    if (pending) out += (out.empty() ? "" : ", ") + std::to_string(pending) + " pending";
    return out;
  }
};

// Characters, not bytes ("±" is two bytes in UTF-8).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Prints rows under a header with columns padded to their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& h : header) widths.push_back(display_width(h));
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - display_width(cells[i]) + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string fixed(double x, int decimals) {
  if (std::isnan(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
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
  if (vm.count("help") || path.empty()) {
    std::cout << options << "\n";
    return vm.count("help") ? 0 : 2;
  }
  if (!metric.empty()) {
    const auto& known = store::metric_columns();
    if (std::find(known.begin(), known.end(), metric) == known.end())
      throw Error("unknown metric '" + metric + "'");
  }

  const store::StoreReader reader(path);
  std::vector<store::StoredCell> cells;
  for (auto& c : reader.cells())
    if (c.kind == grid::TaskKind::cell) cells.push_back(std::move(c));

  // The axes that vary among grid cells, except the one averaged over; the
  // others are printed once in the title.
  std::vector<std::string> axes;
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& c : cells)
    for (auto it = c.axes.begin(); it != c.axes.end(); ++it) {
      if (!seen.count(it.key())) axes.push_back(it.key());
      seen[it.key()].insert(value_text(it.value()));
    }
  // The grid's standard axes first, in the job file's order, then the others.
  const std::vector<std::string> standard = {"model", "dataset", "init", "source"};
  std::stable_sort(axes.begin(), axes.end(), [&](const std::string& a, const std::string& b) {
    auto rank = [&](const std::string& x) {
      return size_t(std::find(standard.begin(), standard.end(), x) - standard.begin());
    };
    return rank(a) < rank(b);
  });
  std::vector<std::string> columns;
  std::string constant;
  for (const auto& a : axes) {
    if (a == over) continue;
    if (seen[a].size() > 1)
      columns.push_back(a);
    else
      constant += (constant.empty() ? "" : ", ") + a + "=" + *seen[a].begin();
  }
  auto key_of = [&](const store::StoredCell& c, const std::set<std::string>& skip) {
    std::vector<std::string> key;
    for (const auto& a : columns)
      if (!skip.count(a)) key.push_back(c.axes.contains(a) ? value_text(c.axes[a]) : "-");
    return key;
  };
  std::set<std::string> metric_names;
  auto add = [&](Stats& s, const store::StoredCell& c) {
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
  };

  std::map<std::vector<std::string>, Stats> groups;
  for (const auto& c : cells) add(groups[key_of(c, {})], c);
  const std::string names = join(metric_names);
  std::printf("%s: test %s, mean ± std over %s%s%s\n\n", path.c_str(),
              names.empty() ? "metric" : names.c_str(), over.c_str(), constant.empty() ? "" : "; ",
              constant.c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, s] : groups) {
    auto row = key;
    row.insert(row.end(), {s.text(), std::to_string(s.values.size()), s.missing()});
    rows.push_back(row);
  }
  auto header = columns;
  header.insert(header.end(), {"test", "n", "not done"});
  print_table(header, rows);

  // Figure 1: per setting (every varying axis but init, source and the WT-ST depth).
  const std::set<std::string> init_axes = {"init",        "source",         "wt_blocks",
                                           "wt_fraction", "init.wt_blocks", "init.wt_fraction"};
  if (!seen.count("init") || !seen["init"].count("ri") || !seen["init"].count("wt")) return 0;
  std::map<std::vector<std::string>, std::map<std::string, Stats>> settings;
  for (const auto& c : cells) {
    const std::string init = c.axes.contains("init") ? value_text(c.axes["init"]) : "";
    if (init == "ri" || init == "st" || init == "wt") add(settings[key_of(c, init_axes)][init], c);
  }
  std::vector<std::string> setting_columns;
  for (const auto& a : columns)
    if (!init_axes.count(a)) setting_columns.push_back(a);
  std::vector<double> shares;
  for (auto& [key, by_init] : settings) {
    const double wt = by_init["wt"].mean(), st = by_init["st"].mean();
    if (!std::isnan(wt) && !std::isnan(st) && wt != 0) shares.push_back((wt - st) / wt);
  }
  const double lo = shares.empty() ? 0 : *std::min_element(shares.begin(), shares.end());
  const double hi = shares.empty() ? 0 : *std::max_element(shares.begin(), shares.end());
  rows.clear();
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
  header = setting_columns;
  header.insert(header.end(), {"RI", "ST", "WT", "WT/RI", "(WT-ST)/WT", "normalised"});
  print_table(header, rows);
  return 0;
}

}  // namespace featreuse::app
