// CBIS-DDSM, as two datasets with their own names, because they are two tasks:
//  cbis_ddsm:           the paper's task (normal vs abnormal) from the
//                       reference's <root>/ddsm_raw_image_lists/{train,val,test}.txt
//                       (one path per line under <root>/ddsm_raw/); the label is
//                       the file name's prefix before '_': normal 0, benign 1,
//                       cancer 2 (-> 1 with 2 classes). The lists are not public.
//  cbis_ddsm_pathology: the public archive's task (benign vs malignant) from
//                       the description CSVs ({mass,calc}_case_description_
//                       {train,test}_set.csv); one item per full mammogram,
//                       malignant if any of its abnormalities is; test = the
//                       official test sets, val = a seeded patient-wise share
//                       of the training patients. The images are the
//                       archive's DICOMs as downloaded (see DownloadTree), or
//                       PNG/JPEG conversions at the CSV's path.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "featreuse/data/pyrandom.hpp"
#include "layout_common.hpp"

namespace featreuse::data::detail {

namespace {

const char* kSplitFiles[3] = {"train.txt", "val.txt", "test.txt"};

// The archive's images as downloaded. The CSVs say
//   <subject>/<study UID>/<series UID>/000000.dcm
// (e.g. Mass-Training_P_00001_LEFT_CC/1.3.6.1.4.1.9590.100.1.2.4221...74994/
// 1.3.6.1.4.1.9590.100.1.2.3423...24515/000000.dcm); the NBIA Data Retriever
// writes, under CBIS-DDSM/ by default,
//   <subject>/<date>-DDSM-<last 5 digits of the study UID>/
//   1.000000-full mammogram images-<last 5 digits of the series UID>/1-1.dcm
// (older retrievers: the UIDs themselves as folder names). An image resolves
// to, in order: a PNG/JPEG twin at the CSV's path (converted archives), the
// .dcm at the CSV's path, the single .dcm under the subject folder (the usual
// case for full mammograms: one study, one series, one file), or among
// several the one whose study and series folders end in the UIDs' digits.
// The subject folder is found under the image folder or its CBIS-DDSM/.
class DownloadTree {
 public:
  explicit DownloadTree(fs::path images) : images_(std::move(images)) {}

  // The image's path relative to the image folder, or "" with `why` set.
  std::string resolve(const std::string& rel, std::string* why) {
    why->clear();
    for (const char* ext : {".png", ".jpg", ".jpeg", ".dcm"}) {
      fs::path c = fs::path(rel).replace_extension(ext);
      std::error_code ec;
      if (fs::is_regular_file(images_ / c, ec)) return c.generic_string();
      if (fs::is_regular_file(images_ / "CBIS-DDSM" / c, ec))
        return (fs::path("CBIS-DDSM") / c).generic_string();
    }
    std::vector<std::string> parts;
    for (const auto& part : fs::path(rel)) parts.push_back(part.string());
    if (parts.size() < 2) {
      *why = "image path '" + rel + "' has no subject folder";
      return "";
    }
    // A subject folder is a name under the image folder: '/' or '..' would
    // have the search below walk the file system above it.
    if (fs::path(rel).has_root_path() || parts[0] == "." || parts[0] == "..") {
      *why = "image path '" + rel + "' does not start with a subject folder under the image folder";
      return "";
    }
    const std::vector<fs::path>& files = dicoms(parts[0]);
    if (files.empty()) {
      std::error_code ec;
      *why =
          (fs::is_directory(images_ / parts[0], ec) || fs::is_directory(images_ / "CBIS-DDSM" / parts[0], ec))
              ? "subject folder '" + parts[0] + "' holds no .dcm file"
              : "no subject folder '" + parts[0] + "' (nor CBIS-DDSM/" + parts[0] + ")";
      return "";
    }
    if (files.size() == 1) return files[0].generic_string();
    // Several: match the study and series folders by the UIDs' last digits.
    auto matches = [](const fs::path& folder, const std::string& uid) {
      const std::string name = folder.filename().string();
      if (name == uid) return true;
      const std::string digits = uid.size() >= 5 ? uid.substr(uid.size() - 5) : uid;
      return name.size() > digits.size() &&
             name.compare(name.size() - digits.size() - 1, std::string::npos, "-" + digits) == 0;
    };
    std::vector<fs::path> found;
    if (parts.size() >= 4)
      for (const auto& f : files)
        if (matches(f.parent_path(), parts[2]) && matches(f.parent_path().parent_path(), parts[1]))
          found.push_back(f);
    if (found.size() == 1) return found[0].generic_string();
    *why = "subject folder '" + parts[0] + "' holds " + std::to_string(files.size()) + " .dcm files and " +
           (found.empty() ? "none" : std::to_string(found.size())) +
           " in study/series folders matching the CSV's UIDs (" + rel + ")";
    return "";
  }

 private:
  // The .dcm files under a subject folder, relative to the image folder, sorted.
  const std::vector<fs::path>& dicoms(const std::string& subject) {
    auto [it, fresh] = subjects_.try_emplace(subject);
    if (!fresh) return it->second;
    for (const fs::path& base : {fs::path(), fs::path("CBIS-DDSM")}) {
      std::error_code ec;
      if (!fs::is_directory(images_ / base / subject, ec)) continue;
      for (fs::recursive_directory_iterator i(images_ / base / subject, ec), end; !ec && i != end;
           i.increment(ec)) {
        std::string ext = i->path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char c) { return char(std::tolower(c)); });
        if (ext == ".dcm" && i->is_regular_file(ec))
          it->second.push_back(base / fs::relative(i->path(), images_ / base));
      }
      if (!it->second.empty()) break;
    }
    std::sort(it->second.begin(), it->second.end());
    return it->second;
  }

  fs::path images_;
  std::map<std::string, std::vector<fs::path>> subjects_;
};

Layout from_lists(const LayoutOptions& options) {
  const fs::path root = options.root, lists = root / "ddsm_raw_image_lists";
  if (!fs::is_directory(lists))
    throw Error(
        "cbis_ddsm: '" + lists.string() +
        "' not found. The paper's task (normal vs abnormal) needs the reference's image lists "
        "ddsm_raw_image_lists/{train,val,test}.txt, which the public CBIS-DDSM archive does not have. "
        "For the public archive's task (benign vs malignant from its description CSVs) use the dataset "
        "cbis_ddsm_pathology (configs/datasets/cbis_ddsm_pathology.yaml): another task, reported under "
        "its own name");
  if (options.ddsm_classes != 2 && options.ddsm_classes != 3)
    throw Error("cbis_ddsm: ddsm_classes must be 2 or 3, not " + std::to_string(options.ddsm_classes));
  Layout layout = file_layout("cbis_ddsm", options, 1);
  layout.class_names = options.ddsm_classes == 2 ? std::vector<std::string>{"normal", "abnormal"}
                                                 : std::vector<std::string>{"normal", "benign", "cancer"};
  for (int s = 0; s < 3; ++s) {
    const std::string file = require_file(lists / kSplitFiles[s], "CBIS-DDSM image list");
    std::istringstream text(read_text_file(file));
    std::string line;
    int64_t number = 0;
    while (std::getline(text, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::istringstream fields(line);
      std::string rel;
      if (!(fields >> rel)) continue;  // read with sep=" ": the first field is the path
      Item item;
      item.source = "ddsm_raw/" + rel;
      const std::string base = fs::path(rel).filename().string();
      const std::string prefix = base.substr(0, base.find('_'));
      if (prefix == "normal")
        item.label = 0;
      else if (prefix == "benign")
        item.label = 1;
      else if (prefix == "cancer")
        item.label = options.ddsm_classes == 2 ? 1 : 2;
      else
        throw Error("'" + file + "' line " + std::to_string(number) + ": file name '" + base +
                    "' does not start with normal_, benign_ or cancer_");
      layout.splits[s].push_back(int64_t(layout.items.size()));
      layout.items.push_back(std::move(item));
    }
  }
  layout.split_method = "reference: the lists in ddsm_raw_image_lists/";
  if (!options.split_file.empty()) {
    layout.splits = read_split_file(options.split_file, layout.items);
    layout.split_method = "user split file " + options.split_file;
  }
  return layout;
}

Layout from_description_csvs(const LayoutOptions& options) {
  const fs::path root = options.root;
  struct Source {
    const char* file;
    bool test;
  };
  const Source sources[] = {{"mass_case_description_train_set.csv", false},
                            {"calc_case_description_train_set.csv", false},
                            {"mass_case_description_test_set.csv", true},
                            {"calc_case_description_test_set.csv", true}};
  Layout layout = file_layout("cbis_ddsm_pathology", options, 1);
  layout.class_names = {"benign", "malignant"};
  std::map<std::string, size_t> by_image;  // image path -> item
  std::vector<std::string> patient;        // per item
  std::vector<bool> is_test;
  int found[2] = {0, 0};
  const fs::path images = options.image_dir.empty() ? root : root / options.image_dir;
  DownloadTree tree(images);
  std::vector<std::string> unresolved;  // "source: why", one per image
  for (const auto& src : sources) {
    if (!fs::exists(root / src.file)) continue;
    ++found[src.test];
    const CsvTable t = read_csv((root / src.file).string());
    const int path = t.column("image file path"), pathology = t.column("pathology"),
              pid = t.column("patient_id");
    for (size_t r = 0; r < t.rows.size(); ++r) {
      std::string rel = t.rows[r][path];
      while (!rel.empty() && (rel.back() == '\n' || rel.back() == '\r' || rel.back() == ' ')) rel.pop_back();
      std::string why;
      std::string chosen = tree.resolve(rel, &why);
      if (chosen.empty()) chosen = rel;  // unresolved: kept under the CSV's path, invalid
      if (!options.image_dir.empty()) chosen = (fs::path(options.image_dir) / chosen).string();
      const std::string& p = t.rows[r][pathology];
      int64_t label;
      if (p == "MALIGNANT")
        label = 1;
      else if (p == "BENIGN" || p == "BENIGN_WITHOUT_CALLBACK")
        label = 0;
      else
        throw Error("'" + t.file + "' line " + std::to_string(t.lines[r]) + ": pathology '" + p +
                    "' is not MALIGNANT, BENIGN or BENIGN_WITHOUT_CALLBACK");
      auto [it, fresh] = by_image.emplace(chosen, layout.items.size());
      if (fresh) {
        Item item;
        item.source = chosen;
        item.label = label;
        if (!why.empty()) {
          item.invalid =
              fs::path(t.file).filename().string() + " line " + std::to_string(t.lines[r]) + ": " + why;
          unresolved.push_back(item.source + ": " + item.invalid);
        }
        layout.items.push_back(std::move(item));
        patient.push_back(t.rows[r][pid]);
        is_test.push_back(src.test);
      } else {
        layout.items[it->second].label = std::max(layout.items[it->second].label, label);
      }
    }
  }
  if (!found[0] || !found[1])
    throw Error("cbis_ddsm_pathology: '" + root.string() +
                "' needs a *_case_description_train_set.csv and a *_case_description_test_set.csv "
                "(mass and/or calc) from the public CBIS-DDSM archive");
  if (!unresolved.empty()) {
    std::string first;
    for (size_t i = 0; i < unresolved.size() && i < 5; ++i) first += "\n  " + unresolved[i];
    const std::string summary = std::to_string(unresolved.size()) + " of " +
                                std::to_string(layout.items.size()) +
                                " images in the description CSVs cannot be found under '" + images.string() +
                                "'" + (unresolved.size() > 5 ? " (the first 5)" : "") + ":" + first;
    if (unresolved.size() == layout.items.size())  // else prepare reports and skips them
      throw Error(
          "cbis_ddsm_pathology: " + summary +
          "\n(expected the archive's download tree [CBIS-DDSM/]<subject>/<study>/<series>/1-1.dcm, or "
          "the CSV's paths, as DICOM or converted to PNG/JPEG; see docs/datasets.md)");
  }
  const double holdout = holdout_or(options, 0.1);
  auto fallback = [&] {
    // Validation patients: random.Random(seed) over the sorted training patient ids.
    std::set<std::string> ids;
    for (size_t i = 0; i < layout.items.size(); ++i)
      if (!is_test[i]) ids.insert(patient[i]);
    std::vector<std::string> order(ids.begin(), ids.end());
    PyRandom rng(uint64_t(options.split_seed));
    rng.shuffle(order);
    const std::set<std::string> val(order.begin(), order.begin() + int64_t(double(order.size()) * holdout));
    std::array<std::vector<int64_t>, 3> out;
    for (size_t i = 0; i < layout.items.size(); ++i)
      out[is_test[i] ? 2 : (val.count(patient[i]) ? 1 : 0)].push_back(int64_t(i));
    return out;
  };
  assign_splits(layout, options,
                "official test sets; val = " + number(holdout) + " of the training patients (random.Random(" +
                    std::to_string(options.split_seed) + "))",
                fallback);
  return layout;
}

}  // namespace

Layout build_cbis_ddsm(const LayoutOptions& options) { return from_lists(options); }

Layout build_cbis_ddsm_pathology(const LayoutOptions& options) { return from_description_csvs(options); }

}  // namespace featreuse::data::detail
