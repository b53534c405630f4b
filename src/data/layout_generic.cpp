// Bring-your-own datasets:
//  folder: an ImageFolder tree, <root>/<class>/<image>, or with split folders
//          <root>/{train,val,test}/<class>/<image>; classes sorted by name.
//  csv:    a table of image paths and labels: one label column (class names or
//          ids, single-label) or several 0/1 columns (multi-label); an optional
//          split column (train/val/test).
// Without split folders, a split column or a split file, the reference's
// seeded holdout split is used (default 20%: val 10%, test 10%).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "layout_common.hpp"

namespace featreuse::data::detail {

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

int channels_of(const LayoutOptions& options, const std::string& name) {
  const int c = options.channels == 0 ? 3 : options.channels;
  if (c != 1 && c != 3) throw Error(name + ": channels must be 1 or 3, not " + std::to_string(c));
  return c;
}

int split_of(const std::string& value) {
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (v == "train" || v == "training") return 0;
  if (v == "val" || v == "valid" || v == "validation") return 1;
  if (v == "test" || v == "testing") return 2;
  return -1;
}

// The largest class id a numeric label column may hold: far above any
// classification task, and low enough that a column of other numbers (an id,
// an age) given as the label is refused rather than made into that many classes.
constexpr long long kMaxClassId = 99999;

// A label's class id, or -1 when it is a name. The whole text must be read as
// the integer: a NUL inside it makes it a name, not the digits before the NUL.
long long class_id(const std::string& v) {
  if (v.empty()) return -1;
  errno = 0;
  char* end = nullptr;
  const long long id = std::strtoll(v.c_str(), &end, 10);
  if (end != v.c_str() + v.size() || id < 0) return -1;
  return errno == ERANGE ? std::numeric_limits<long long>::max() : id;
}

}  // namespace

Layout build_folder(const LayoutOptions& options) {
  const fs::path root = options.root;
  Layout layout = file_layout("folder", options, channels_of(options, "folder"));
  const char* split_dirs[3] = {"train", "val", "test"};
  const bool has_splits = fs::is_directory(root / "train");
  std::set<std::string> classes;
  std::vector<std::pair<std::string, int>> files;  // relative path, split
  for (int s = 0; s < (has_splits ? 3 : 1); ++s) {
    const fs::path base = has_splits ? root / split_dirs[s] : root;
    if (!fs::is_directory(base)) continue;
    for (const auto& cls : fs::directory_iterator(base)) {
      if (!cls.is_directory()) continue;
      const std::string name = cls.path().filename().string();
      if (!has_splits && (name == "val" || name == "test")) continue;
      classes.insert(name);
      for (const auto& f : fs::recursive_directory_iterator(cls.path()))
        if (f.is_regular_file() && is_image(f.path()))
          files.emplace_back(fs::relative(f.path(), root).string(), s);
    }
  }
  if (classes.empty()) throw Error("folder: '" + root.string() + "' has no class folders with images");
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second < b.second : a.first < b.first;
  });
  layout.class_names.assign(classes.begin(), classes.end());
  std::map<std::string, int64_t> index;
  for (size_t k = 0; k < layout.class_names.size(); ++k) index[layout.class_names[k]] = int64_t(k);
  std::array<std::vector<int64_t>, 3> by_folder;
  for (const auto& [rel, s] : files) {
    Item item;
    item.source = rel;
    const fs::path p(rel);
    // <split>/<class>/... or <class>/...
    auto it = p.begin();
    if (has_splits) ++it;
    item.label = index.at(it->string());
    by_folder[s].push_back(int64_t(layout.items.size()));
    layout.items.push_back(std::move(item));
  }
  if (has_splits) {
    assign_splits(layout, options, "split folders train/, val/, test/", [&] { return by_folder; });
  } else {
    assign_holdout_split(layout, options, 0.2);
  }
  return layout;
}

Layout build_csv(const LayoutOptions& options) {
  const fs::path root = options.root;
  if (options.csv.empty()) throw Error("csv: no table given (option 'csv', the file under the root)");
  if (options.label_columns.empty()) throw Error("csv: no label columns given");
  const CsvTable t = read_csv(require_file(root / options.csv, "csv table"));
  const int path = t.column(options.path_column);
  std::vector<int> labels;
  for (const auto& c : options.label_columns) labels.push_back(t.column(c));
  const int split = options.split_column.empty() ? -1 : t.column(options.split_column);
  Layout layout = file_layout("csv", options, channels_of(options, "csv"));
  const fs::path dir = options.image_dir;
  if (labels.size() == 1) {
    // Class ids when every value is an integer, else class names sorted.
    bool numeric = true;
    std::set<std::string> names;
    std::vector<long long> ids;
    size_t max_row = 0;
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const std::string& v = t.rows[r][labels[0]];
      names.insert(v);
      ids.push_back(class_id(v));
      numeric = numeric && ids.back() >= 0;
      if (ids.back() > ids[max_row]) max_row = r;
    }
    const long long max_id = ids.empty() ? -1 : ids[max_row];
    if (numeric && max_id > kMaxClassId)
      throw Error("'" + t.file + "' line " + std::to_string(t.lines[max_row]) + ": label '" +
                  t.rows[max_row][labels[0]] + "' in column '" + options.label_columns[0] +
                  "' is a class id above " + std::to_string(kMaxClassId) + " (is it the label column?)");
    if (numeric) {
      for (int64_t k = 0; k <= max_id; ++k) layout.class_names.push_back(std::to_string(k));
    } else {
      layout.class_names.assign(names.begin(), names.end());
    }
    std::map<std::string, int64_t> index;
    for (size_t k = 0; k < layout.class_names.size(); ++k) index[layout.class_names[k]] = int64_t(k);
    for (size_t r = 0; r < t.rows.size(); ++r) {
      Item item;
      item.source = (dir / t.rows[r][path]).string();
      item.label = numeric ? int64_t(ids[r]) : index.at(t.rows[r][labels[0]]);
      layout.items.push_back(std::move(item));
    }
  } else {
    layout.label_kind = LabelKind::multi;
    layout.class_names = options.label_columns;
    for (size_t r = 0; r < t.rows.size(); ++r) {
      Item item;
      item.source = (dir / t.rows[r][path]).string();
      for (size_t k = 0; k < labels.size(); ++k) {
        const std::string& cell = t.rows[r][labels[k]];
        // Blank and -1 (uncertain) count as 0, like CheXpert's U-Zeros.
        const double v =
            cell.empty() ? 0.0 : parse_number(cell, t.file, t.lines[r], options.label_columns[k]);
        item.targets.push_back(v == 1.0 ? 1.0f : 0.0f);
      }
      layout.items.push_back(std::move(item));
    }
  }
  if (split >= 0) {
    auto by_column = [&] {
      std::array<std::vector<int64_t>, 3> out;
      for (size_t r = 0; r < t.rows.size(); ++r) {
        const int s = split_of(t.rows[r][split]);
        if (s < 0)
          throw Error("'" + t.file + "' line " + std::to_string(t.lines[r]) + ": split '" + t.rows[r][split] +
                      "' is not train, val or test");
        out[s].push_back(int64_t(r));
      }
      return out;
    };
    assign_splits(layout, options, "column '" + options.split_column + "'", by_column);
  } else {
    assign_holdout_split(layout, options, 0.2);
  }
  return layout;
}

}  // namespace featreuse::data::detail
