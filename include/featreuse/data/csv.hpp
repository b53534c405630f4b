#pragma once
// A small RFC 4180 CSV reader (quoted fields, doubled quotes, CRLF) for the
// datasets' label tables. Errors name the file, and the line where relevant.
#include <string>
#include <vector>

namespace featreuse::data {

struct CsvTable {
  std::string file;  // for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // every row has header.size() fields
  std::vector<int64_t> lines;                  // 1-based line where each row starts

  // Index of a column; throws featreuse::Error naming the file and the columns it has.
  int column(const std::string& name) const;
  bool has_column(const std::string& name) const;
};

// Parses text (first record is the header). Rows with a different field count
// than the header are an error; blank lines are skipped.
CsvTable parse_csv(const std::string& text, const std::string& file, char sep = ',');
CsvTable read_csv(const std::string& path, char sep = ',');

// Whole file as a string; throws naming the path when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace featreuse::data
