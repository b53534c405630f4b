// featreuse report S.h5: the study's results as sections (report_cells.hpp,
// report_analyses.hpp), each a table of report_table.hpp, printed in the
// format --format names (report_render.hpp): every cell group's test metric,
// mean ± std over seeds; the tasks left out of it; Figure 1's numbers and
// Welch's t-tests per setting; the datasets' FID; convergence; the analyses' per-probe summaries.
#include <boost/program_options.hpp>
#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/store/study_reader.hpp"
#include "plan_store.hpp"
#include "report_analyses.hpp"
#include "report_cells.hpp"
#include "report_fid.hpp"
#include "report_grouping.hpp"
#include "report_render.hpp"

namespace featreuse::app {

namespace po = boost::program_options;

namespace {

// Every section's name, in the order the report prints them.
const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"cells", "fid",         "missing",   "figure1",
                                                 "welch", "convergence", "knn",       "reinit",
                                                 "l2",    "cka",         "cka_cross", "attention_distance"};
  return names;
}

std::vector<Section> build_sections(const store::StudyReader& reader, const std::string& path,
                                    const std::string& over, const std::string& metric) {
  Grouping g = group_cells(reader, over, metric);
  std::vector<Section> sections = {cell_groups_section(path, over, g)};
  auto add = [&](std::optional<Section> s) {
    if (s) sections.push_back(std::move(*s));
  };
  add(fid_section(reader));
  add(missing_section(reader, g));
  add(figure1_section(g));
  add(welch_section(g));
  add(convergence_section(reader, g));
  for (auto& s : analysis_sections(reader, g.setting_columns, g.order)) sections.push_back(std::move(s));
  return sections;
}

}  // namespace

int cmd_report(const Args& args) {
  po::options_description options("featreuse report STORE [STORE...] [options]");
  std::vector<std::string> paths;
  std::string metric, over = "seed", format_name = "text", section;
  options.add_options()("help,h", "show this help")(
      "metric", po::value(&metric),
      "a test metric (accuracy, roc_auc, ...); default: each cell's target metric")(
      "over", po::value(&over)->default_value("seed"), "the axis to average over")(
      "format", po::value(&format_name)->default_value("text"),
      "text, md (markdown tables), csv (a '# section' line before each section's block) or json")(
      "section", po::value(&section), ("only this section: " + join(section_names())).c_str())(
      "store", po::value(&paths)->multitoken(),
      "the HDF5 store, or several stores of one study (cells by id; one id with two configs is refused)");
  const po::variables_map vm =
      parse_args(std::vector<std::string>(args.begin() + 1, args.end()), options, {"store*"}, "report");
  if (auto code = help_or_missing(vm, options, "report", {{"STORE (the .h5 store)", !paths.empty()}}))
    return *code;
  const Format format = parse_format(format_name);
  if (!section.empty() &&
      std::find(section_names().begin(), section_names().end(), section) == section_names().end())
    throw UsageError("--section: unknown section '" + section + "' (known: " + join(section_names()) + ")");
  if (!metric.empty()) {
    const auto& known = store::metric_columns();
    if (std::find(known.begin(), known.end(), metric) == known.end())
      throw Error("unknown metric '" + metric + "'");
  }

  const store::StudyReader reader = open_study(paths);
  std::vector<Section> sections = build_sections(reader, reader.paths(), over, metric);
  if (!section.empty())
    sections.erase(
        std::remove_if(sections.begin(), sections.end(), [&](const Section& s) { return s.name != section; }),
        sections.end());
  render(sections, format, reader.paths(), std::cout);
  return 0;
}

}  // namespace featreuse::app
