#include "report_cells.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include "featreuse/core/text.hpp"
#include "welch.hpp"

namespace featreuse::app {

namespace {

// The columns of `names`, all text (axis values).
std::vector<Column> text_columns(const std::vector<std::string>& names) {
  std::vector<Column> out;
  for (const auto& n : names) out.push_back(text_column(n));
  return out;
}

std::vector<Value> values(const RowKey& key) {
  std::vector<Value> out;
  for (const auto& k : key) out.push_back(axis_value(k));
  return out;
}

bool has_init(const Grouping& g, const std::string& init) {
  auto it = g.seen.find("init");
  return it != g.seen.end() && it->second.count(init);
}

// Per setting of Figure 1: the RI, ST and WT cells' values.
Rows<std::map<std::string, Stats>> by_setting(Grouping& g) {
  Rows<std::map<std::string, Stats>> settings(RowLess{&g.order, g.setting_columns});
  for (const auto& c : g.cells) {
    const std::string init = c.axes.contains("init") ? value_text(c.axes["init"]) : "";
    if (init == "ri" || init == "st" || init == "wt") g.add(settings[g.key_of(c, kInitAxes)][init], c);
  }
  return settings;
}

// The first validation step whose target reaches `share` of the final one
// (-1 when the final target is not positive).
int64_t steps_to(const std::vector<store::ValPoint>& curve, double share) {
  if (curve.empty() || !(curve.back().target > 0)) return -1;
  for (const auto& p : curve)
    if (p.target >= share * curve.back().target) return p.iteration;
  return -1;
}

}  // namespace

Section cell_groups_section(const std::string& path, const std::string& over, Grouping& g) {
  Rows<Stats> groups(RowLess{&g.order, g.columns});
  for (const auto& c : g.cells) g.add(groups[g.key_of(c, {})], c);
  const std::string names = join(g.metric_names);
  Section s;
  s.name = "cells";
  s.description = path + ": test " + (names.empty() ? "metric" : names) + ", mean ± std over " + over +
                  (g.constant.empty() ? "" : "; ") + g.constant;
  s.columns = text_columns(g.columns);
  s.columns.insert(s.columns.end(),
                   {summary_column("test", 4), integer_column("n"), text_column("not done")});
  for (const auto& [key, stats] : groups) {
    auto row = values(key);
    row.insert(row.end(), {stats.summary(), int64_t(stats.values.size()), stats.missing()});
    s.add_row(row);
  }
  return s;
}

std::optional<Section> missing_section(const store::StudyReader& reader, const Grouping& g) {
  Section s;
  s.name = "missing";
  s.description = "tasks not done, and done cells without the test metric: left out of every mean";
  s.columns = {text_column("status"), text_column("kind"), text_column("key"), text_column("id"),
               text_column("message")};
  std::vector<std::tuple<grid::TaskKind, std::string, std::vector<Value>>> rows;
  for (const auto& t : reader.cells()) {
    std::string message = t.record.message;
    if (t.record.status == grid::TaskState::done) {
      if (t.kind != grid::TaskKind::cell) continue;
      const std::string m = g.metric_of(t);
      auto it = t.record.metrics.find(m);
      if (it != t.record.metrics.end() && !std::isnan(it->second)) continue;
      message = "no test " + m;
    }
    rows.emplace_back(t.kind, t.key,
                      std::vector<Value>{std::string(grid::state_name(t.record.status)),
                                         std::string(grid::task_kind_name(t.kind)), t.key, t.id, message});
  }
  if (rows.empty()) return std::nullopt;
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  for (auto& row : rows) s.add_row(std::get<2>(row));
  return s;
}

std::optional<Section> figure1_section(Grouping& g) {
  if (!has_init(g, "ri") || !has_init(g, "wt")) return std::nullopt;
  auto settings = by_setting(g);
  std::vector<double> shares;
  for (auto& [key, by_init] : settings) {
    const double wt = by_init["wt"].mean(), st = by_init["st"].mean();
    if (!std::isnan(wt) && !std::isnan(st) && wt != 0) shares.push_back((wt - st) / wt);
  }
  const double lo = shares.empty() ? 0 : *std::min_element(shares.begin(), shares.end());
  const double hi = shares.empty() ? 0 : *std::max_element(shares.begin(), shares.end());
  Section s;
  s.name = "figure1";
  s.description =
      "transfer (Figure 1): gain WT/RI of the means; feature-reuse share (WT-ST)/WT, and min-max normalised "
      "over the settings";
  s.columns = text_columns(g.setting_columns);
  s.columns.insert(s.columns.end(), {summary_column("RI", 4), summary_column("ST", 4),
                                     summary_column("WT", 4), number_column("WT/RI", 3),
                                     number_column("(WT-ST)/WT", 4), number_column("normalised", 2)});
  for (auto& [key, by_init] : settings) {
    const double ri = by_init["ri"].mean(), st = by_init["st"].mean(), wt = by_init["wt"].mean();
    const double gain = ri != 0 ? wt / ri : std::nan("");
    const double share = wt != 0 ? (wt - st) / wt : std::nan("");
    const double normalised = hi > lo ? (share - lo) / (hi - lo) : std::nan("");
    auto row = values(key);
    row.insert(row.end(), {by_init["ri"].summary(), by_init["st"].summary(), by_init["wt"].summary(), gain,
                           share, normalised});
    s.add_row(row);
  }
  return s;
}

std::optional<Section> welch_section(Grouping& g) {
  std::vector<std::string> others;
  for (const char* init : {"st", "ri"})
    if (has_init(g, init)) others.push_back(init);
  if (!has_init(g, "wt") || others.empty()) return std::nullopt;
  const std::string names = join(g.metric_names);
  Section s;
  s.name = "welch";
  s.description = "Welch's t-test of the test " + (names.empty() ? "metric" : names) +
                  " per setting, WT vs ST and WT vs RI: two-sided p, Welch-Satterthwaite df; '-' where a "
                  "side has fewer than 2 values or neither side varies";
  s.columns = text_columns(g.setting_columns);
  s.columns.insert(s.columns.end(),
                   {text_column("comparison"), number_column("WT - other", 4), number_column("t", 3),
                    number_column("df", 2), number_column("p", 3, 'g'), integer_column("n WT"),
                    integer_column("n other")});
  for (auto& [key, by_init] : by_setting(g)) {
    const Stats& wt = by_init["wt"];
    for (const auto& other : others) {
      const Stats& o = by_init[other];
      const auto test = welch_t_test(wt.values, o.values);
      auto field = [&](double WelchTest::*member) { return test ? Value((*test).*member) : Value(); };
      auto row = values(key);
      row.insert(row.end(), {std::string(other == "st" ? "WT vs ST" : "WT vs RI"), wt.mean() - o.mean(),
                             field(&WelchTest::t), field(&WelchTest::df), field(&WelchTest::p),
                             int64_t(wt.values.size()), int64_t(o.values.size())});
      s.add_row(row);
    }
  }
  return s;
}

std::optional<Section> convergence_section(const store::StudyReader& reader, const Grouping& g) {
  Rows<std::array<Stats, 3>> groups(RowLess{&g.order, g.columns});
  for (const auto& c : g.cells) {
    if (c.record.status != grid::TaskState::done) continue;
    const auto curve = reader.val_curve(c.id);
    const int64_t at95 = steps_to(curve, 0.95), at99 = steps_to(curve, 0.99);
    if (at95 < 0) continue;
    auto& stats = groups[g.key_of(c, {})];
    stats[0].values.push_back(double(at95));
    stats[1].values.push_back(double(at99));
    stats[2].values.push_back(double(curve.back().iteration));
  }
  if (groups.empty()) return std::nullopt;
  Section s;
  s.name = "convergence";
  s.description =
      "convergence: training steps until the validation target first reaches 95% and 99% of its final value, "
      "mean ± std over seeds; n: the cells counted (not those whose final validation target is not above 0)";
  s.columns = text_columns(g.columns);
  s.columns.insert(s.columns.end(), {summary_column("to 95%", 0), summary_column("to 99%", 0),
                                     summary_column("last step", 0), integer_column("n")});
  for (const auto& [key, stats] : groups) {
    auto row = values(key);
    row.insert(row.end(),
               {stats[0].summary(), stats[1].summary(), stats[2].summary(), int64_t(stats[0].values.size())});
    s.add_row(row);
  }
  return s;
}

}  // namespace featreuse::app
