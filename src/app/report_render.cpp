#include "report_render.hpp"

#include <cmath>
#include <map>

#include "featreuse/core/error.hpp"
#include "featreuse/core/json.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::app {

namespace {

// Characters, not bytes ("±" is two bytes in UTF-8).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A cell on one line: line breaks (failure messages) become spaces.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// Rows as text and markdown show them, grouped by their first `split` cells
// (the setting), settings in the order the rows first name them.
struct Shown {
  std::vector<std::string> header;
  std::vector<std::pair<std::string, std::vector<std::vector<std::string>>>> groups;  // title, rows
};

Shown shown(const Section& s) {
  Shown out;
  for (size_t i = s.split; i < s.columns.size(); ++i) out.header.push_back(s.columns[i].name);
  std::map<std::string, size_t> group_of;
  for (const auto& row : s.rows) {
    std::string title;
    std::vector<std::string> cells;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string cell = one_line(display(s.columns[i], row[i]));
      if (i < s.split)
        title += (title.empty() ? "" : ", ") + s.columns[i].name + "=" + cell;
      else
        cells.push_back(cell);
    }
    auto [it, fresh] = group_of.emplace(title, out.groups.size());
    if (fresh) out.groups.push_back({title, {}});
    out.groups[it->second].second.push_back(cells);
  }
  if (out.groups.empty()) out.groups.push_back({"", {}});
  return out;
}

void render_text(const std::vector<Section>& sections, std::ostream& out) {
  for (size_t k = 0; k < sections.size(); ++k) {
    out << (k ? "\n" : "") << sections[k].description << "\n\n";
    const Shown table = shown(sections[k]);
    for (size_t g = 0; g < table.groups.size(); ++g) {
      const auto& [title, rows] = table.groups[g];
      if (!title.empty()) out << (g ? "\n" : "") << title << "\n";
      std::vector<size_t> widths;
      for (const auto& h : table.header) widths.push_back(display_width(h));
      for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
      auto line = [&](const std::vector<std::string>& cells) {
        for (size_t i = 0; i < cells.size(); ++i) {
          out << cells[i];
          if (i + 1 < cells.size()) out << std::string(widths[i] - display_width(cells[i]) + 2, ' ');
        }
        out << "\n";
      };
      line(table.header);
      for (const auto& r : rows) line(r);
    }
  }
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void render_md(const std::vector<Section>& sections, std::ostream& out) {
  for (size_t k = 0; k < sections.size(); ++k) {
    const Section& s = sections[k];
    out << (k ? "\n" : "") << "## " << s.name << "\n\n" << md_cell(s.description) << "\n";
    const Shown table = shown(s);
    auto line = [&](const std::vector<std::string>& cells) {
      out << "|";
      for (const auto& c : cells) out << " " << md_cell(c) << " |";
      out << "\n";
    };
    for (const auto& [title, rows] : table.groups) {
      out << "\n";
      if (!title.empty()) out << "**" << md_cell(title) << "**\n\n";
      line(table.header);
      out << "|";
      for (size_t i = s.split; i < s.columns.size(); ++i)
        out << (s.columns[i].kind == Column::Kind::text ? " --- |" : " ---: |");
      out << "\n";
      for (const auto& r : rows) line(r);
    }
  }
}

json number(double x) { return std::isfinite(x) ? json(x) : json(); }

// The columns and rows csv and json show: a summary as mean, std and n.
std::vector<std::string> flat_columns(const Section& s) {
  std::vector<std::string> out;
  for (const auto& c : s.columns)
    if (c.kind == Column::Kind::summary)
      out.insert(out.end(), {c.name + " mean", c.name + " std", c.name + " n"});
    else
      out.push_back(c.name);
  return out;
}

std::vector<json> flat_row(const Section& s, const std::vector<Value>& row) {
  std::vector<json> out;
  for (size_t i = 0; i < row.size(); ++i) {
    const Value& v = row[i];
    if (s.columns[i].kind == Column::Kind::summary) {
      const Summary* x = std::get_if<Summary>(&v);
      out.insert(out.end(),
                 {x ? number(x->mean) : json(), x ? number(x->std) : json(), x ? json(x->n) : json(0)});
    } else if (const auto* t = std::get_if<std::string>(&v)) {
      out.push_back(*t);
    } else if (const auto* n = std::get_if<int64_t>(&v)) {
      out.push_back(*n);
    } else if (const auto* x = std::get_if<double>(&v)) {
      out.push_back(number(*x));
    } else {
      out.push_back(json());
    }
  }
  return out;
}

void render_json(const std::vector<Section>& sections, const std::string& store, std::ostream& out) {
  json doc = {{"store", store}, {"sections", json::array()}};
  for (const auto& s : sections) {
    json rows = json::array();
    for (const auto& row : s.rows) rows.push_back(flat_row(s, row));
    doc["sections"].push_back(
        {{"name", s.name}, {"description", s.description}, {"columns", flat_columns(s)}, {"rows", rows}});
  }
  out << doc.dump() << "\n";
}

// RFC 4180: quoted when it holds a comma, quote, line break or edge space,
// and '#' (readers skip "# name" lines as comments).
std::string csv_field(const json& v) {
  if (v.is_null()) return "";
  if (!v.is_string()) return v.dump();
  const std::string s = v.get<std::string>();
  const bool quote = s.find_first_of(",\"\n\r#") != std::string::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void render_csv(const std::vector<Section>& sections, std::ostream& out) {
  auto line = [&](const std::vector<json>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_field(cells[i]);
    out << "\n";
  };
  for (size_t k = 0; k < sections.size(); ++k) {
    const Section& s = sections[k];
    out << (k ? "\n" : "") << "# " << s.name << ": " << one_line(s.description) << "\n";
    const auto header = flat_columns(s);
    line(std::vector<json>(header.begin(), header.end()));
    for (const auto& row : s.rows) line(flat_row(s, row));
  }
}

}  // namespace

const std::vector<std::string>& format_names() {
  static const std::vector<std::string> names = {"text", "md", "csv", "json"};
  return names;
}

Format parse_format(const std::string& name) {
  const auto& names = format_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return Format(i);
  throw UsageError("--format: unknown format '" + name + "' (known: " + join(names) + ")");
}

void render(const std::vector<Section>& sections, Format format, const std::string& store,
            std::ostream& out) {
  switch (format) {
    case Format::text:
      return render_text(sections, out);
    case Format::md:
      return render_md(sections, out);
    case Format::csv:
      return render_csv(sections, out);
    case Format::json:
      return render_json(sections, store, out);
  }
}

}  // namespace featreuse::app
