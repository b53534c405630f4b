#include "report_analyses.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "report_stats.hpp"

namespace featreuse::app {

namespace {

using RowValues = std::vector<std::pair<std::vector<std::string>, double>>;

// One analysis' summary: which number per row of its table.
struct AnalysisSummary {
  std::string analysis, title;
  std::vector<std::string> row_header;
  int decimals = 4;
  char style = 'f';  // printf's conversion of the numbers as text
  std::function<RowValues(const store::ResultTable&)> values;
};

size_t column(const std::vector<std::string>& columns, const std::string& name) {
  auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) throw Error("report: an analysis table has no column '" + name + "'");
  return size_t(it - columns.begin());
}

// Every row's keys `keys` and value `value` (rows kept by `keep`).
std::function<RowValues(const store::ResultTable&)> pick(
    std::vector<std::string> keys, std::string value,
    std::function<bool(const store::ResultTable&, size_t)> keep = nullptr) {
  return [keys, value, keep](const store::ResultTable& t) {
    RowValues out;
    const size_t v = column(t.value_columns, value);
    for (size_t r = 0; r < t.keys.size(); ++r) {
      if (keep && !keep(t, r)) continue;
      std::vector<std::string> key;
      for (const auto& k : keys) key.push_back(t.keys[r][column(t.key_columns, k)]);
      out.emplace_back(key, t.values[r][v]);
    }
    return out;
  };
}

// CKA tables: the diagonal of the `all` view of one pair.
std::function<bool(const store::ResultTable&, size_t)> cka_diagonal(std::string pair) {
  return [pair](const store::ResultTable& t, size_t r) {
    const auto& k = t.keys[r];
    return k[column(t.key_columns, "pair")] == pair && k[column(t.key_columns, "view")] == "all" &&
           k[column(t.key_columns, "row")] == k[column(t.key_columns, "col")];
  };
}

// attention_distance: the mean over a block's heads.
RowValues mean_over_heads(const store::ResultTable& t) {
  std::map<std::vector<std::string>, std::pair<double, int>> sums;
  std::vector<std::vector<std::string>> order;
  for (const auto& [key, value] : pick({"checkpoint", "block"}, "distance")(t)) {
    auto [it, fresh] = sums.emplace(key, std::make_pair(0.0, 0));
    if (fresh) order.push_back(key);
    it->second.first += value;
    it->second.second += 1;
  }
  RowValues out;
  for (const auto& key : order) out.emplace_back(key, sums[key].first / sums[key].second);
  return out;
}

const std::vector<AnalysisSummary>& summaries() {
  static const std::vector<AnalysisSummary> all = {
      {"knn",
       "layer-wise k-NN: test target metric of each probe's k-NN",
       {"probe", "feature"},
       4,
       'f',
       pick({"probe", "feature"}, "target")},
      {"reinit",
       "re-initialisation robustness: test target metric with the probe module reset",
       {"probe"},
       4,
       'f',
       pick({"probe"}, "target")},
      {"l2",
       "l2 drift: mean over the module's tensors of ||W_init - W_best||_F / numel",
       {"probe"},
       2,
       'e',
       pick({"probe"}, "mean_scaled")},
      {"cka",
       "CKA trained vs initial, same layer (whole activations, reference estimator)",
       {"probe"},
       4,
       'f',
       pick({"row"}, "reference", cka_diagonal("trained_init"))},
      {"cka_cross",
       "CKA of the fine-tuned cell vs its ST partner, same layer (whole activations)",
       {"probe"},
       4,
       'f',
       pick({"row"}, "reference", cka_diagonal("trained_partner"))},
      {"attention_distance",
       "mean attention distance in input pixels, mean over heads",
       {"checkpoint", "block"},
       2,
       'f',
       mean_over_heads},
  };
  return all;
}

// The column an analysis' cell falls in: its init, with the WT-ST depth.
std::string init_label(const json& axes) {
  std::string label = axes.contains("init") ? value_text(axes["init"]) : "-";
  for (const char* depth : {"wt_blocks", "init.wt_blocks"})
    if (axes.contains(depth) && !axes[depth].is_null()) label += " t=" + value_text(axes[depth]);
  return label;
}

// Values of one analysis: setting -> row key -> init label -> stats, in first-seen order.
struct Collected {
  std::vector<std::vector<std::string>> settings, rows;
  std::vector<std::string> inits;
  std::map<std::vector<std::string>, std::map<std::vector<std::string>, std::map<std::string, Stats>>> values;
  size_t not_done = 0;
};

template <typename T>
void remember(std::vector<T>& order, const T& item) {
  if (std::find(order.begin(), order.end(), item) == order.end()) order.push_back(item);
}

Section summary_section(const AnalysisSummary& summary, Collected& c,
                        const std::vector<std::string>& setting_columns, const grid::AxisOrder& order) {
  Section s;
  s.name = summary.analysis;
  s.description = summary.title + ", mean ± std over seeds" +
                  (c.not_done ? " (" + std::to_string(c.not_done) + " analyses not done)" : "");
  // RI, ST, WT first, then the others (WT-ST depths) in the order seen.
  std::stable_sort(c.inits.begin(), c.inits.end(), [](const std::string& a, const std::string& b) {
    auto rank = [](const std::string& x) { return x == "ri" ? 0 : x == "st" ? 1 : x == "wt" ? 2 : 3; };
    return rank(a) < rank(b);
  });
  std::sort(c.settings.begin(), c.settings.end(),
            [&](const auto& a, const auto& b) { return order.less(setting_columns, a, b); });
  for (const auto& name : setting_columns) s.columns.push_back(text_column(name));
  for (const auto& name : summary.row_header) s.columns.push_back(text_column(name));
  for (const auto& init : c.inits) s.columns.push_back(summary_column(init, summary.decimals, summary.style));
  s.split = setting_columns.size();
  for (const auto& setting : c.settings) {
    auto& by_init = c.values[setting];
    for (const auto& row : c.rows) {
      if (!by_init.count(row)) continue;
      std::vector<Value> line;
      for (const auto& value : setting) line.push_back(axis_value(value));
      line.insert(line.end(), row.begin(), row.end());
      for (const auto& init : c.inits) line.push_back(by_init[row][init].summary());
      s.add_row(line);
    }
  }
  return s;
}

}  // namespace

std::vector<Section> analysis_sections(const store::StudyReader& reader,
                                       const std::vector<std::string>& setting_columns,
                                       const grid::AxisOrder& order) {
  std::map<std::string, Collected> collected;
  for (const auto& task : reader.cells()) {
    if (task.kind != grid::TaskKind::analysis) continue;
    const std::string name = value_text(task.axes.value("analysis", json()));
    auto summary = std::find_if(summaries().begin(), summaries().end(),
                                [&](const AnalysisSummary& s) { return s.analysis == name; });
    if (summary == summaries().end()) continue;
    // Only the analyses the cells link to: the newest options when a study was
    // analysed several times with other options.
    const json config = json::parse(task.config);
    if (reader.linked_analysis(config["cells"][0], name) != task.id) continue;
    Collected& c = collected[name];
    if (task.record.status != grid::TaskState::done) {
      ++c.not_done;
      continue;
    }
    std::vector<std::string> setting;
    for (const auto& col : setting_columns) setting.push_back(value_text(task.axes.value(col, json())));
    const std::string init = init_label(task.axes);
    remember(c.settings, setting);
    remember(c.inits, init);
    for (const auto& table : reader.analysis(task.id))
      for (const auto& [row, value] : summary->values(table)) {
        remember(c.rows, row);
        c.values[setting][row][init].values.push_back(value);
      }
  }
  std::vector<Section> sections;
  for (const auto& summary : summaries())
    if (collected.count(summary.analysis))
      sections.push_back(summary_section(summary, collected[summary.analysis], setting_columns, order));
  return sections;
}

}  // namespace featreuse::app
