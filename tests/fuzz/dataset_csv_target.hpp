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

// The readers, by the input's first byte (modulo their count): 0 the CSV
// parser alone (comma), 1 the same with ';', 2 APTOS2019, 3 ISIC2019,
// 4 CheXpert, 5 csv with one label column, 6 csv with two (multi-label),
// 7 csv with one label column and a split column. Returns the number of
// items (or rows) read.
inline size_t read_label_table(const std::string& root, uint8_t selector, const std::string& table) {
  const std::filesystem::path dir = root;
  data::LayoutOptions options;
  options.root = root;
  options.csv = "table.csv";
  switch (selector % 8) {
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
    default:
      options.split_column = "split";
      write_file(dir / "table.csv", table);
      return data::load_layout("csv", options).items.size();
  }
}

}  // namespace featreuse::fuzz
