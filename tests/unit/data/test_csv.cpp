#include <gtest/gtest.h>

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
