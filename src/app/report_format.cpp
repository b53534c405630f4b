#include "report_format.hpp"

#include <cmath>
#include <cstdio>

namespace featreuse::app {

std::string value_text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

double Stats::mean() const {
  double m = 0;
  for (double x : values) m += x;
  return values.empty() ? std::nan("") : m / double(values.size());
}

std::string Stats::text(int decimals, bool scientific) const {
  if (values.empty()) return "-";
  const double m = mean();
  double var = 0;
  for (double x : values) var += (x - m) * (x - m);
  const char* one = scientific ? "%.*e" : "%.*f";
  const char* two = scientific ? "%.*e ± %.*e" : "%.*f ± %.*f";
  char buf[96];
  if (values.size() > 1)
    std::snprintf(buf, sizeof buf, two, decimals, m, decimals, std::sqrt(var / double(values.size() - 1)));
  else
    std::snprintf(buf, sizeof buf, one, decimals, m);
  return buf;
}

std::string Stats::missing() const {
  std::string out;
  if (failed) out += std::to_string(failed) + " failed";
  if (pending) out += (out.empty() ? "" : ", ") + std::to_string(pending) + " pending";
  return out;
}

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& h : header) widths.push_back(display_width(h));
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - display_width(cells[i]) + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string fixed(double x, int decimals) {
  if (std::isnan(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  return buf;
}

}  // namespace featreuse::app
