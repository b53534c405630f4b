#pragma once
// `report`'s sections on the grid cells: every cell group's test metric;
// the tasks left out of it (failed, pending, without the metric); Figure 1's
// two numbers per setting, the gain WT/RI and the share of WT's performance
// that weight statistics do not explain, (WT-ST)/WT (also min-max normalised
// over the settings, as the figure's colour scale); Welch's t-test of WT vs ST
// and WT vs RI per setting; convergence speed from the validation curves.
// A section with nothing to show is left out (nullopt).
#include <optional>
#include <string>

#include "report_grouping.hpp"
#include "report_table.hpp"

namespace featreuse::app {

Section cell_groups_section(const std::string& path, const std::string& over, Grouping& g);
std::optional<Section> missing_section(const store::StudyReader& reader, const Grouping& g);
std::optional<Section> figure1_section(Grouping& g);
std::optional<Section> welch_section(Grouping& g);
std::optional<Section> convergence_section(const store::StudyReader& reader, const Grouping& g);

}  // namespace featreuse::app
