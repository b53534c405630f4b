// ISIC2019: <root>/ISIC_2019_Training_GroundTruth.csv (image + one-hot MEL..UNK)
// and the JPEGs in <root>/train/ (the reference's folder) or
// <root>/ISIC_2019_Training_Input/ (the official archive's); seed-42 80/10/10.
#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "layout_common.hpp"

namespace featreuse::data::detail {

Layout build_isic(const LayoutOptions& options) {
  const fs::path root = options.root;
  const CsvTable table =
      read_csv(require_file(root / "ISIC_2019_Training_GroundTruth.csv", "ISIC2019 ground truth"));
  const int image = table.column("image");
  const std::vector<std::string> classes = {"MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC"};
  std::vector<int> columns;
  for (const auto& c : classes) columns.push_back(table.column(c));
  const int unk = table.has_column("UNK") ? table.column("UNK") : -1;
  std::string folder = "train";
  if (!fs::is_directory(root / folder) && fs::is_directory(root / "ISIC_2019_Training_Input"))
    folder = "ISIC_2019_Training_Input";
  Layout layout = file_layout("isic2019", options, 3);
  layout.class_names = classes;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    Item item;
    item.source = folder + "/" + table.rows[r][image] + ".jpg";
    int ones = 0;
    for (size_t k = 0; k < columns.size(); ++k) {
      const double v = parse_number(table.rows[r][columns[k]], table.file, table.lines[r], classes[k]);
      if (v == 1.0) {
        item.label = int64_t(k);
        ++ones;
      }
    }
    if (unk >= 0 && parse_number(table.rows[r][unk], table.file, table.lines[r], "UNK") == 1.0)
      item.invalid = "labelled UNK (not one of the 8 training classes)";
    else if (ones != 1)
      item.invalid = "has " + std::to_string(ones) + " classes marked 1 (expected exactly one)";
    if (!item.invalid.empty()) item.label = -1;
    layout.items.push_back(std::move(item));
  }
  assign_holdout_split(layout, options, 0.2);
  return layout;
}

}  // namespace featreuse::data::detail
