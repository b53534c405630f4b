#include "featreuse/data/csv.hpp"

#include <fstream>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::data {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "' (missing or unreadable)");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error("error while reading '" + path + "'");
  return text.str();
}

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return int(i);
  const std::string have = join(header);
  throw Error("'" + file + "' has no column '" + name + "' (columns: " + have + ")");
}

bool CsvTable::has_column(const std::string& name) const {
  for (const auto& h : header)
    if (h == name) return true;
  return false;
}

CsvTable parse_csv(const std::string& text, const std::string& file, char sep) {
  CsvTable table;
  table.file = file;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false, any = false, have_header = false;
  int64_t line = 1, record_line = 1;
  size_t i = 0;
  // UTF-8 byte order mark, as Excel writes it.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;

  auto end_record = [&] {
    record.push_back(field);
    field.clear();
    field_started = false;
    const bool blank = record.size() == 1 && record[0].empty() && !any;
    if (!blank) {
      if (!have_header) {
        table.header = record;
        have_header = true;
      } else {
        if (record.size() != table.header.size())
          throw Error("'" + file + "' line " + std::to_string(record_line) + ": " +
                      std::to_string(record.size()) + " fields, the header has " +
                      std::to_string(table.header.size()));
        table.rows.push_back(record);
        table.lines.push_back(record_line);
      }
    }
    record.clear();
    any = false;
  };

  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = any = true;
    } else if (c == sep) {
      record.push_back(field);
      field.clear();
      field_started = false;
      any = true;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
      record_line = line;
    } else {
      field += c;
      field_started = any = true;
    }
  }
  if (quoted) throw Error("'" + file + "' line " + std::to_string(record_line) + ": unterminated quote");
  if (any || !field.empty()) end_record();
  if (!have_header) throw Error("'" + file + "' is empty (no header row)");
  return table;
}

CsvTable read_csv(const std::string& path, char sep) { return parse_csv(read_text_file(path), path, sep); }

}  // namespace featreuse::data
