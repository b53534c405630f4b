// Splits against the reference code run literally by Python (random.Random,
// pandas .loc), and user split files.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "data_test_util.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/json.hpp"
#include "featreuse/data/layout.hpp"

using namespace featreuse::data;

namespace {

nlohmann::json python_json(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + data_test::oracle("oracle_splits.py") + " " + args;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, got);
  return nlohmann::json::parse(out);
}

void expect_splits(const std::array<std::vector<int64_t>, 3>& ours, const nlohmann::json& theirs) {
  EXPECT_EQ(ours[0], theirs["train"].get<std::vector<int64_t>>());
  EXPECT_EQ(ours[1], theirs["val"].get<std::vector<int64_t>>());
  EXPECT_EQ(ours[2], theirs["test"].get<std::vector<int64_t>>());
}

}  // namespace

TEST(Splits, HoldoutMatchesTheReferenceCode) {
  if (!data_test::python_has("pandas")) GTEST_SKIP() << "/usr/bin/python3 lacks pandas";
  const auto aptos = python_holdout_split(3662, 0.3, 42);
  EXPECT_EQ(aptos[0].size(), 2564u);
  EXPECT_EQ(aptos[1].size(), 549u);
  EXPECT_EQ(aptos[2].size(), 549u);
  expect_splits(aptos, python_json("holdout 3662 0.3 42"));
  const auto isic = python_holdout_split(25331, 0.2, 42);
  EXPECT_EQ(isic[0].size(), 20265u);
  EXPECT_EQ(isic[1].size(), 2533u);
  EXPECT_EQ(isic[2].size(), 2533u);
  expect_splits(isic, python_json("holdout 25331 0.2 42"));
  expect_splits(python_holdout_split(61, 0.25, 7), python_json("holdout 61 0.25 7"));
}

TEST(Splits, ChexpertCutMatchesPandas) {
  if (!data_test::python_has("pandas")) GTEST_SKIP() << "/usr/bin/python3 lacks pandas";
  data_test::TempDir dir("chexpert-cut");
  // File order as in the official list: patients ascending, but some studies
  // listed study2 before study1, so the sorted frame's labels are not monotonic.
  int compared = 0;
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<std::string> paths;
    for (int p = 1; p <= 40 + 17 * variant; ++p) {
      const int studies = 1 + (p * 7 + variant) % 3;
      for (int s = 0; s < studies; ++s) {
        const int study = (p % 3 == 2) ? studies - s : s + 1;
        for (int v = 1; v <= 1 + (p + s) % 2; ++v) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "CheXpert-v1.0-small/train/patient%05d/study%d/view%d_frontal.jpg",
                        p, study, v);
          paths.push_back(buf);
        }
      }
    }
    const std::string file = dir / ("paths" + std::to_string(variant) + ".txt");
    {
      std::ofstream out(file);
      for (size_t i = 0; i < paths.size(); ++i) out << paths[i] << (i + 1 < paths.size() ? "\n" : "");
    }
    std::string note;
    const auto ours = chexpert_cut(paths, &note);
    const auto theirs = python_json("chexpert " + file);
    if (theirs.contains("error")) {
      EXPECT_FALSE(note.empty()) << "pandas raised " << theirs["error"] << " for variant " << variant;
      continue;
    }
    EXPECT_TRUE(note.empty()) << note;
    expect_splits(ours, theirs);
    ++compared;
    // Inclusive label slices: one row shared by train and held-out, one by val and test.
    EXPECT_EQ(ours[0].size() + ours[1].size() + ours[2].size(), paths.size() + 2) << variant;
  }
  EXPECT_GE(compared, 2);
}

TEST(Splits, UserSplitFiles) {
  data_test::TempDir dir("splitfile");
  std::vector<Item> items(6);
  for (int i = 0; i < 6; ++i) items[i].source = "images/img_" + std::to_string(i) + ".png";
  const std::string file = dir / "split.json";
  {
    std::ofstream out(file);
    out << R"({"train": [0, 1, "img_2"], "valid": ["images/img_3.png"], "test": [4]})";
  }
  const auto s = read_split_file(file, items);
  EXPECT_EQ(s[0], (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(s[1], (std::vector<int64_t>{3}));
  EXPECT_EQ(s[2], (std::vector<int64_t>{4}));
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    {
      std::ofstream out(file);
      out << text;
    }
    try {
      read_split_file(file, items);
      ADD_FAILURE() << "no error for " << text;
    } catch (const featreuse::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(R"({"train": [0, 9]})", "position 9");
  expect_error(R"({"train": [0, "nope"]})", "'nope'");
  expect_error(R"({"train": [0], "test": [0]})", "appears twice");
  expect_error(R"({"train": )", "not valid JSON");
}
