// featreuse report S.h5: the study's results, mean ± std over seeds of each
// cell group's test target metric (and any other metric with --metric).
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/store/store.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

std::string value_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

struct Group {
  std::vector<double> values;
  size_t failed = 0, pending = 0;
};

std::string mean_std(const std::vector<double>& v) {
  if (v.empty()) return "-";
  double mean = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  char buf[64];
  if (v.size() > 1) std::snprintf(buf, sizeof buf, "%.4f ± %.4f", mean, std::sqrt(var / double(v.size() - 1)));
  else std::snprintf(buf, sizeof buf, "%.4f", mean);
  return buf;
}

}  // namespace

int cmd_report(const Args& args) {
  po::options_description options("featreuse report STORE [options]");
  std::string path, metric, over = "seed";
  options.add_options()("help,h", "show this help")(
      "metric", po::value(&metric), "a test metric (accuracy, roc_auc, ...); default: each cell's target metric")(
      "over", po::value(&over)->default_value("seed"), "the axis to average over")(
      "store", po::value(&path), "the HDF5 store");
  po::positional_options_description positional;
  positional.add("store", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(std::vector<std::string>(args.begin() + 1, args.end()))
                .options(options)
                .positional(positional)
                .run(),
            vm);
  po::notify(vm);
  if (vm.count("help") || path.empty()) {
    std::cout << options << "\n";
    return vm.count("help") ? 0 : 2;
  }
  if (!metric.empty()) {
    const auto& known = store::metric_columns();
    if (std::find(known.begin(), known.end(), metric) == known.end())
      throw Error("unknown metric '" + metric + "'");
  }

  h5::Handle file = h5::open_serial(path, h5::Access::read_only);
  if (!store::is_store(file)) throw Error("'" + path + "' is not a featreuse store");
  const auto cells = store::read_cells(file);

  // Columns: the axes that vary among grid cells, except the one averaged over.
  std::vector<std::string> axes;
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& c : cells) {
    if (c.kind != "cell") continue;
    for (auto it = c.axes.begin(); it != c.axes.end(); ++it) {
      if (!seen.count(it.key())) axes.push_back(it.key());
      seen[it.key()].insert(value_text(it.value()));
    }
  }
  std::vector<std::string> columns;
  std::string fixed;
  for (const auto& a : axes) {
    if (a == over) continue;
    if (seen[a].size() > 1) columns.push_back(a);
    else fixed += (fixed.empty() ? "" : ", ") + a + "=" + *seen[a].begin();
  }
  std::map<std::vector<std::string>, Group> groups;
  std::set<std::string> target_names;
  for (const auto& c : cells) {
    if (c.kind != "cell") continue;
    std::vector<std::string> key;
    for (const auto& a : columns) key.push_back(c.axes.contains(a) ? value_text(c.axes[a]) : "-");
    Group& g = groups[key];
    if (c.record.status == grid::TaskState::done) {
      const std::string m = metric.empty() ? c.record.target_metric : metric;
      target_names.insert(m);
      auto it = c.record.metrics.find(m);
      if (it != c.record.metrics.end() && !std::isnan(it->second)) g.values.push_back(it->second);
    } else if (c.record.status == grid::TaskState::failed) {
      ++g.failed;
    } else {
      ++g.pending;
    }
  }
  std::string names;
  for (const auto& n : target_names) names += (names.empty() ? "" : ", ") + n;
  std::printf("%s: test %s, mean ± std over %s%s%s\n\n", path.c_str(), names.empty() ? "metric" : names.c_str(),
              over.c_str(), fixed.empty() ? "" : "; ", fixed.c_str());
  std::vector<size_t> widths;
  for (const auto& c : columns) {
    size_t w = c.size();
    for (const auto& [key, g] : groups) w = std::max(w, key[widths.size()].size());
    widths.push_back(w);
  }
  for (size_t i = 0; i < columns.size(); ++i) std::printf("%-*s  ", int(widths[i]), columns[i].c_str());
  std::printf("%-20s  %3s  %s\n", "test", "n", "not done");
  for (const auto& [key, g] : groups) {
    for (size_t i = 0; i < key.size(); ++i) std::printf("%-*s  ", int(widths[i]), key[i].c_str());
    std::string missing;
    if (g.failed) missing += std::to_string(g.failed) + " failed";
    if (g.pending) missing += (missing.empty() ? "" : ", ") + std::to_string(g.pending) + " pending";
    const std::string cell = mean_std(g.values);
    // Pad by characters, not bytes ("±" is two bytes in UTF-8).
    const size_t chars = cell.size() - (cell.find("±") != std::string::npos ? 1 : 0);
    std::printf("%s%*s  %3zu  %s\n", cell.c_str(), int(20 - std::min<size_t>(chars, 20)), "", g.values.size(),
                missing.c_str());
  }
  return 0;
}

}  // namespace featreuse::app
