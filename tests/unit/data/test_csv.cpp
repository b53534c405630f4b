#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "../../fuzz/dataset_csv_target.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"

using namespace featreuse::data;

TEST(Csv, QuotesCrlfBomAndBlankLines) {
  const std::string text =
      "\xEF\xBB\xBFPath,Sex,\"No Finding\"\r\n"
      "a/b.jpg,Male,1.0\r\n"
      "\r\n"
      "\"c,\"\"d\"\".jpg\",Female,\n"
      "\"multi\nline\",,-1.0";
  const CsvTable t = parse_csv(text, "x.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"Path", "Sex", "No Finding"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][0], "a/b.jpg");
  EXPECT_EQ(t.rows[1][0], "c,\"d\".jpg");
  EXPECT_EQ(t.rows[1][2], "");
  EXPECT_EQ(t.rows[2][0], "multi\nline");
  EXPECT_EQ(t.rows[2][2], "-1.0");
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ(t.column("No Finding"), 2);
}

TEST(Csv, ErrorsNameFileLineAndColumns) {
  try {
    parse_csv("a,b\n1,2\n3\n", "bad.csv");
    FAIL();
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv' line 3"), std::string::npos) << e.what();
  }
  const CsvTable t = parse_csv("id_code,diagnosis\nx,1\n", "train.csv");
  try {
    t.column("label");
    FAIL();
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("columns: id_code, diagnosis"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_csv("", "empty.csv"), featreuse::Error);
  EXPECT_THROW(parse_csv("a\n\"open", "q.csv"), featreuse::Error);
  EXPECT_THROW(read_csv("/nonexistent/x.csv"), featreuse::Error);
}

// Every input kept in the label-table fuzz corpus (seeds and the inputs that
// found bugs) replayed through the fuzz target's entry point: each must give
// a layout or a featreuse::Error (anything else fails or crashes the test).
TEST(Fuzz, CsvCorpusReplayEndsInLayoutsOrErrors) {
  const std::filesystem::path corpus = std::filesystem::path(FEATREUSE_SOURCE_DIR) / "tests/fuzz/corpus/csv";
  const std::string root = featreuse::fuzz::make_csv_root();
  std::set<int> seeded;  // the readers a seed was read by
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) continue;
    const std::string name = entry.path().filename().string();
    const bool seed = name.rfind("seed_", 0) == 0;
    SCOPED_TRACE(name);
    try {
      featreuse::fuzz::read_label_table(root, uint8_t(bytes[0]), bytes.substr(1));
      if (seed) seeded.insert(featreuse::fuzz::label_table_reader(uint8_t(bytes[0])));
    } catch (const featreuse::Error& e) {
      EXPECT_FALSE(seed) << "a seed must be a valid table: " << e.what();
    }
  }
  std::filesystem::remove_all(root);
  EXPECT_EQ(seeded.size(), size_t(featreuse::fuzz::kLabelTableReaders));  // a valid seed for each reader
}

// A description CSV naming '/...' or '../...' once had the layout search the
// whole file system (or the folder above the dataset) for .dcm files.
TEST(LabelTable, ADdsmImagePathOutsideTheImageFolderIsUnresolvedNotSearched) {
  const std::string root = featreuse::fuzz::make_csv_root();
  featreuse::fuzz::write_ddsm_tree(root);
  for (const std::string path : {"/proc/self/000000.dcm", "../x/000000.dcm", "./x/000000.dcm"}) {
    SCOPED_TRACE(path);
    featreuse::fuzz::write_file(std::filesystem::path(root) / "mass_case_description_train_set.csv",
                                "patient_id,pathology,image file path\nP_1,BENIGN," + path + "\n");
    LayoutOptions options;
    options.root = root;
    const Layout layout = load_layout("cbis_ddsm_pathology", options);
    ASSERT_EQ(layout.items.size(), 2u);  // the training image and the test set's, which resolves
    EXPECT_EQ(layout.items[0].source, path);
    EXPECT_NE(layout.items[0].invalid.find("does not start with a subject folder"), std::string::npos)
        << layout.items[0].invalid;
    EXPECT_EQ(layout.items[1].invalid, "");
  }
  std::filesystem::remove_all(root);
}

namespace {
// The csv layout over `table` (columns path, label) in a fresh root.
Layout csv_layout(const std::string& table) {
  const std::string root = featreuse::fuzz::make_csv_root();
  featreuse::fuzz::write_file(std::filesystem::path(root) / "table.csv", table);
  LayoutOptions options;
  options.root = root;
  options.csv = "table.csv";
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{root};
  return load_layout("csv", options);
}
}  // namespace

// Found by fuzz_dataset_csv: a NUL inside a label made it a class id (the
// digits before the NUL, none here: 0) and then std::stoll threw
// std::invalid_argument (exit 3). The whole text decides: it is a name.
TEST(LabelTable, ALabelWithANulIsAClassNameNotAnId) {
  const char table[] = "path,label\na.png,0\nb.png,\0 2\n";
  const Layout layout = csv_layout(std::string(table, sizeof table - 1));
  ASSERT_EQ(layout.items.size(), 2u);
  EXPECT_EQ(layout.class_names.size(), 2u);
  EXPECT_NE(layout.items[0].label, layout.items[1].label);
}

// A numeric label column whose largest id is huge (another column given as the
// label) made that many classes: a million names here, and 2^63 for an id past
// the range of long long, which never ended. Refused, naming the line.
TEST(LabelTable, AClassIdAbove99999IsRefusedNamingTheLine) {
  try {
    csv_layout("path,label\na.png,0\nb.png,1000000\nc.png,1\n");
    FAIL() << "a class id of a million was accepted";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("line 3: label '1000000' in column 'label' is a class id above 99999"),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(csv_layout("path,label\na.png,0\nb.png,99999999999999999999\n"), featreuse::Error);
  EXPECT_EQ(csv_layout("path,label\na.png,0\nb.png,99999\n").class_names.size(), 100000u);
}

// A grade far outside int64_t's range was converted to an integer before the
// range check: undefined behaviour (UBSan: float-cast-overflow; found reading
// the code fuzz_dataset_csv covers, not by the fuzzer). In an unsanitised
// build it happened to be refused; the check now comes first, in every build.
TEST(LabelTable, AnAptosGradeBeyondAnyIntegerIsRefusedNamingTheLine) {
  const std::string root = featreuse::fuzz::make_csv_root();
  featreuse::fuzz::write_file(std::filesystem::path(root) / "train.csv", "id_code,diagnosis\na,0\nb,1e300\n");
  LayoutOptions options;
  options.root = root;
  try {
    load_layout("aptos2019", options);
    FAIL() << "a grade of 1e300 was accepted";
  } catch (const featreuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3: diagnosis '1e300' is not a grade 0-4"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(root);
}
