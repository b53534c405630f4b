// CheXpert (v1.0, or v1.0-small): only <root>/train.csv is read, frontal and
// lateral views. Labels: the last 14 columns with U-Zeros (blank and -1 -> 0);
// a row left all zero gets "No Finding". Split: the reference's path-sorted cut.
#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "layout_common.hpp"

namespace featreuse::data::detail {

Layout build_chexpert(const LayoutOptions& options) {
  const fs::path root = options.root;
  const CsvTable table = read_csv(require_file(root / "train.csv", "CheXpert table"));
  const int path = table.column("Path");
  if (table.header.size() < 15) throw Error("'" + table.file + "' has fewer than 14 label columns");
  const size_t first = table.header.size() - 14;
  Layout layout = file_layout("chexpert", options, 1);
  layout.label_kind = LabelKind::multi;
  layout.class_names.assign(table.header.begin() + first, table.header.end());
  if (layout.class_names[0] != "No Finding")
    throw Error("'" + table.file + "': the 14th column from the end is '" + layout.class_names[0] +
                "', expected 'No Finding'");
  std::vector<std::string> paths;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    Item item;
    // Path starts with the archive's folder (CheXpert-v1.0-small/...), which is the root.
    const std::string& p = row[path];
    const size_t slash = p.find('/');
    item.source = slash == std::string::npos ? p : p.substr(slash + 1);
    paths.push_back(p);
    item.targets.assign(14, 0.0f);
    bool any = false;
    for (size_t k = 0; k < 14; ++k) {
      const std::string& cell = row[first + k];
      if (cell.empty()) continue;  // NaN -> 0
      const double v = parse_number(cell, table.file, table.lines[r], layout.class_names[k]);
      if (v == 1.0) {
        item.targets[k] = 1.0f;
        any = true;
      } else if (v != 0.0 && v != -1.0) {
        throw Error("'" + table.file + "' line " + std::to_string(table.lines[r]) + ": label '" + cell +
                    "' in column '" + layout.class_names[k] + "' is not 1, 0, -1 or blank");
      }
    }
    if (!any) item.targets[0] = 1.0f;  // No Finding
    layout.items.push_back(std::move(item));
  }
  std::string note;
  assign_splits(layout, options, "reference: sorted by Path, cut at int(0.2 N) + 15 (pandas .loc, inclusive)",
                [&] { return chexpert_cut(paths, &note); });
  if (!note.empty()) layout.split_method += "; " + note;
  return layout;
}

}  // namespace featreuse::data::detail
