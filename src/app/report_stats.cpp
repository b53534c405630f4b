#include "report_stats.hpp"

#include <cmath>

namespace featreuse::app {

std::string value_text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

Value axis_value(const std::string& text) { return text == "-" ? Value() : Value(text); }

double Stats::mean() const { return Summary::of(values).mean; }

std::string Stats::missing() const {
  std::string out;
  auto add = [&](size_t n, const char* what) {
    if (n) out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  };
  add(failed, "failed");
  add(pending, "pending");
  add(no_value, "without value");
  return out;
}

}  // namespace featreuse::app
