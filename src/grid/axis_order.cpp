#include "featreuse/grid/axis_order.hpp"

#include <cstdlib>
#include <tuple>

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::grid {

namespace {

// A value's text as the report shows it: strings as they are, others as JSON.
std::string text_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The number a value's text is, when it is one.
bool as_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

AxisOrder::AxisOrder(const std::vector<std::string>& job_texts) {
  for (const auto& text : job_texts) {
    ConfigDoc doc;
    try {
      doc = parse_yaml(text, "stored job");
    } catch (const Error&) {
      continue;
    }
    const json& job = doc.value;
    if (job.contains("sources") && job["sources"].is_object())
      for (const auto& name : doc.key_order["sources"]) listed("source", name);
    if (!job.contains("grid") || !job["grid"].is_object()) continue;
    for (const auto& axis : doc.key_order["grid"]) {
      const json& values = job["grid"][axis];
      if (!values.is_array()) {
        listed(axis, text_of(values));
        continue;
      }
      for (const auto& v : values)
        if (!v.is_object() && !v.is_array()) listed(axis, text_of(v));
    }
  }
}

void AxisOrder::listed(const std::string& axis, const std::string& value) {
  auto& positions = position_[axis];
  positions.emplace(value, positions.size());  // keeps the first position
}

bool AxisOrder::less(const std::string& axis, const std::string& a, const std::string& b) const {
  if (a == b) return false;
  if (a == "-" || b == "-") return b == "-";
  double x = 0, y = 0;
  const bool a_number = as_number(a, x), b_number = as_number(b, y);
  if (a_number && b_number && x != y) return x < y;
  if (a_number != b_number) return a_number;  // numbers before words
  auto rank = [&](const std::string& v) {
    auto axis_it = position_.find(axis);
    if (axis_it == position_.end()) return size_t(-1);
    auto it = axis_it->second.find(v);
    return it == axis_it->second.end() ? size_t(-1) : it->second;
  };
  return std::make_tuple(rank(a), a) < std::make_tuple(rank(b), b);
}

bool AxisOrder::less(const std::vector<std::string>& axes, const std::vector<std::string>& a,
                     const std::vector<std::string>& b) const {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const std::string& axis = i < axes.size() ? axes[i] : std::string();
    if (less(axis, a[i], b[i])) return true;
    if (less(axis, b[i], a[i])) return false;
  }
  return a.size() < b.size();
}

}  // namespace featreuse::grid
