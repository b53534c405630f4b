#pragma once
// `report`'s FID section: Table 1's header row, the FID of each dataset to a
// reference (ImageNet's statistics in the paper), as `featreuse fid --store`
// kept them in the store. Left out (nullopt) when the store keeps none.
#include <optional>

#include "featreuse/store/study_reader.hpp"
#include "report_table.hpp"

namespace featreuse::app {

std::optional<Section> fid_section(const store::StudyReader& reader);

}  // namespace featreuse::app
