#pragma once
// `report`'s analysis sections: per analysis stored in the study, per
// setting (the varying axes but init, source, the WT-ST depth and the axis
// averaged over), a table of probes by initialisation, mean ± std over that
// axis: the k-NN target per probe and feature, the re-initialised target, the
// l2 drift, the CKA diagonal (trained vs initial; WT vs ST), the mean attention
// distance per block.
#include <string>
#include <vector>

#include "featreuse/grid/axis_order.hpp"
#include "featreuse/store/study_reader.hpp"
#include "report_table.hpp"

namespace featreuse::app {

// One section per analysis the study holds, named as the analysis; its first
// columns are the setting's (Section::split). Settings are listed in `order`
// (numbers numerically, then as the job lists them).
std::vector<Section> analysis_sections(const store::StudyReader& reader,
                                       const std::vector<std::string>& setting_columns,
                                       const grid::AxisOrder& order);

}  // namespace featreuse::app
