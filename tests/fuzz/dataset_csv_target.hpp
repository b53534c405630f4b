#pragma once
// The label-table fuzz entry point, shared by the libFuzzer target
// (fuzz_dataset_csv.cpp) and the corpus replay in test_data (test_csv.cpp).
// An input's first byte picks the reader, the rest is the table's bytes,
// written where the layout looks for it under a dataset root. Any input must
// either give a layout (or a table) or raise featreuse::Error.
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "featreuse/data/layout.hpp"

namespace featreuse::fuzz {

// A fresh folder to serve as the dataset root (no images: only tables are read).
inline std::string make_csv_root() {
  std::string templ = (std::filesystem::temp_directory_path() / "featreuse_fuzz_csv.XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  return templ;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// CBIS-DDSM's description CSVs name images in the archive's download tree:
// a fixed tree under the root for the rows to resolve against, in each of
// the ways the layout knows (one .dcm under a subject folder; several, told
// apart by the UIDs' last digits; a PNG twin at the CSV's path), and a valid
// test-set table beside the fuzzed training table. Written once per root:
// no input changes it, and the fuzzer calls this on every run.
inline void write_ddsm_tree(const std::filesystem::path& root) {
  if (std::filesystem::exists(root / "mass_case_description_test_set.csv")) return;
  const std::filesystem::path tree = root / "CBIS-DDSM";
  for (const char* dcm : {"Mass-Training_P_00001_LEFT_CC/07-20-2016-DDSM-74994/1.000000-full-24515/1-1.dcm",
                          "Mass-Training_P_00004_LEFT_MLO/08-29-2017-DDSM-11111/1.000000-full-22222/1-1.dcm",
                          "Mass-Training_P_00004_LEFT_MLO/08-29-2017-DDSM-33333/1.000000-full-44444/1-1.dcm",
                          "Mass-Test_P_00016_LEFT_CC/01-10-2016-DDSM-55555/1.000000-full-66666/1-1.dcm"}) {
    std::filesystem::create_directories((tree / dcm).parent_path());
    write_file(tree / dcm, "");
  }
  std::filesystem::create_directories(root / "Mass-Training_P_00005_RIGHT_CC/1.2.3/4.5.6");
  write_file(root / "Mass-Training_P_00005_RIGHT_CC/1.2.3/4.5.6/000000.png", "");
  write_file(root / "mass_case_description_test_set.csv",
             "patient_id,pathology,image file path\n"
             "P_00016,MALIGNANT,Mass-Test_P_00016_LEFT_CC/1.3.6.1.4.1.9590.100.1.2.55555/"
             "1.3.6.1.4.1.9590.100.1.2.66666/000000.dcm\n");
}

constexpr int kLabelTableReaders = 10;

// The reader an input's first byte picks: '0'-'9' pick 0-9 (the corpus's
// files start with a digit), any other byte counts on from there modulo 10.
inline int label_table_reader(uint8_t selector) {
  return (int(selector) - '0' + 26 * kLabelTableReaders) % kLabelTableReaders;
}

// The readers: 0 the CSV parser alone (comma), 1 the same with ';',
// 2 APTOS2019, 3 ISIC2019, 4 CheXpert, 5 csv with one label column, 6 csv
// with two (multi-label), 7 csv with one label column and a split column,
// 8 CBIS-DDSM's image list (train.txt), 9 CBIS-DDSM's description CSV (the
// mass training set) over write_ddsm_tree's download tree. Returns the number
// of items (or rows) read.
inline size_t read_label_table(const std::string& root, uint8_t selector, const std::string& table) {
  const std::filesystem::path dir = root;
  data::LayoutOptions options;
  options.root = root;
  options.csv = "table.csv";
  switch (label_table_reader(selector)) {
    case 0:
      return data::parse_csv(table, "fuzz.csv").rows.size();
    case 1:
      return data::parse_csv(table, "fuzz.csv", ';').rows.size();
    case 2:
      write_file(dir / "train.csv", table);
      return data::load_layout("aptos2019", options).items.size();
    case 3:
      write_file(dir / "ISIC_2019_Training_GroundTruth.csv", table);
      return data::load_layout("isic2019", options).items.size();
    case 4:
      write_file(dir / "train.csv", table);
      return data::load_layout("chexpert", options).items.size();
    case 5:
      write_file(dir / "table.csv", table);
      return data::load_layout("csv", options).items.size();
    case 6:
      options.label_columns = {"a", "b"};
      write_file(dir / "table.csv", table);
      return data::load_layout("csv", options).items.size();
    case 7:
      options.split_column = "split";
      write_file(dir / "table.csv", table);
      return data::load_layout("csv", options).items.size();
    case 8:
      std::filesystem::create_directories(dir / "ddsm_raw_image_lists");
      write_file(dir / "ddsm_raw_image_lists/train.txt", table);
      write_file(dir / "ddsm_raw_image_lists/val.txt", "benign_0001.png\n");
      write_file(dir / "ddsm_raw_image_lists/test.txt", "cancer_0002.png 1\nnormal_0003.png\n");
      return data::load_layout("cbis_ddsm", options).items.size();
    default:
      write_ddsm_tree(dir);
      write_file(dir / "mass_case_description_train_set.csv", table);
      return data::load_layout("cbis_ddsm_pathology", options).items.size();
  }
}

}  // namespace featreuse::fuzz
