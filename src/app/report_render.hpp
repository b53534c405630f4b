#pragma once
// The report's output formats, one renderer each, over the sections of
// report_table.hpp: text (aligned tables), md (GitHub markdown: a heading per
// section), csv (a "# name: description" line, then the section's CSV block;
// blocks separated by an empty line) and json (one document:
// {"store", "sections": [{name, description, columns, rows}]}, numbers as
// numbers, axis values as text). csv and json spell a summary column as
// three: "<name> mean", "<name> std", "<name> n"; an empty cell ("-" in text)
// is empty in csv and null in json.
#include <ostream>
#include <string>
#include <vector>

#include "report_table.hpp"

namespace featreuse::app {

enum class Format { text, md, csv, json };

// Throws featreuse::UsageError naming `name` and the known formats.
Format parse_format(const std::string& name);
const std::vector<std::string>& format_names();  // text, md, csv, json

void render(const std::vector<Section>& sections, Format format, const std::string& store, std::ostream& out);

}  // namespace featreuse::app
