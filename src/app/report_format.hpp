#pragma once
// What the report's tables share: an axis value as text, mean ± std of a
// group of cells with what is missing, and aligned plain-text tables.
#include <cstddef>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"

namespace featreuse::app {

std::string value_text(const nlohmann::json& v);  // "-" for null

struct Stats {
  std::vector<double> values;
  size_t failed = 0, pending = 0;
  double mean() const;  // NaN when empty
  // "m ± s" (sample std) with `decimals`, "m" for one value, "-" for none;
  // `scientific` writes both in %e notation (tiny values such as l2 drift).
  std::string text(int decimals = 4, bool scientific = false) const;
  std::string missing() const;  // "2 failed, 1 pending", or ""
};

// Characters, not bytes ("±" is two bytes in UTF-8).
size_t display_width(const std::string& s);

// Prints rows under a header with columns padded to their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

std::string fixed(double x, int decimals);  // "-" for NaN

}  // namespace featreuse::app
