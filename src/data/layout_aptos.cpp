// APTOS2019 (Kaggle blindness detection): <root>/train.csv (id_code, diagnosis)
// and <root>/train_images/<id_code>.png; the reference's seed-42 70/15/15 split.
#include <cmath>

#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "layout_common.hpp"

namespace featreuse::data::detail {

Layout build_aptos(const LayoutOptions& options) {
  const fs::path root = options.root;
  const CsvTable table = read_csv(require_file(root / "train.csv", "APTOS2019 label table"));
  const int id = table.column("id_code"), diagnosis = table.column("diagnosis");
  Layout layout = file_layout("aptos2019", options, 3);
  layout.class_names = {"No DR", "Mild", "Moderate", "Severe", "Proliferative DR"};
  for (size_t r = 0; r < table.rows.size(); ++r) {
    Item item;
    item.source = "train_images/" + table.rows[r][id] + ".png";
    const double v = parse_number(table.rows[r][diagnosis], table.file, table.lines[r], "diagnosis");
    // The range first: converting a value outside int64_t's range (1e300) is undefined.
    if (!(v >= 0 && v <= 4) || v != std::floor(v))
      throw Error("'" + table.file + "' line " + std::to_string(table.lines[r]) + ": diagnosis '" +
                  table.rows[r][diagnosis] + "' is not a grade 0-4");
    item.label = int64_t(v);
    layout.items.push_back(std::move(item));
  }
  assign_holdout_split(layout, options, 0.3);
  return layout;
}

}  // namespace featreuse::data::detail
