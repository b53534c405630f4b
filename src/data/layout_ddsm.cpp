// CBIS-DDSM, as two datasets with their own names, because they are two tasks:
//  cbis_ddsm:           the paper's task (normal vs abnormal) from the
//                       reference's <root>/ddsm_raw_image_lists/{train,val,test}.txt
//                       (one path per line under <root>/ddsm_raw/); the label is
//                       the file name's prefix before '_': normal 0, benign 1,
//                       cancer 2 (-> 1 with 2 classes). The lists are not public.
//  cbis_ddsm_pathology: the public archive's task (benign vs malignant) from
//                       the description CSVs ({mass,calc}_case_description_
//                       {train,test}_set.csv) with the DICOMs converted to
//                       PNG/JPEG at the same relative path; one item per full
//                       mammogram, malignant if any of its abnormalities is;
//                       test = the official test sets, val = a seeded
//                       patient-wise share of the training patients.
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
  for (const auto& src : sources) {
    if (!fs::exists(root / src.file)) continue;
    ++found[src.test];
    const CsvTable t = read_csv((root / src.file).string());
    const int path = t.column("image file path"), pathology = t.column("pathology"),
              pid = t.column("patient_id");
    for (size_t r = 0; r < t.rows.size(); ++r) {
      std::string rel = t.rows[r][path];
      while (!rel.empty() && (rel.back() == '\n' || rel.back() == '\r' || rel.back() == ' ')) rel.pop_back();
      // The DICOM's converted twin: same path, .png (or .jpg) instead of .dcm.
      fs::path candidate = fs::path(rel);
      std::string chosen = candidate.replace_extension(".png").string();
      for (const char* ext : {".png", ".jpg", ".jpeg"}) {
        fs::path c = fs::path(rel).replace_extension(ext);
        if (fs::exists(images / c)) {
          chosen = c.string();
          break;
        }
      }
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
