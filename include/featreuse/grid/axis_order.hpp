#pragma once
// The order reports list axis values in: numbers numerically (250 before
// 1000, seed 2 before 10); other values in the order the job files list them
// (the grid's lists, the sources' names; earlier jobs first); values no job
// lists after those, by text; "-" (the axis does not apply) last.
#include <map>
#include <string>
#include <vector>

namespace featreuse::grid {

class AxisOrder {
 public:
  AxisOrder() = default;
  // Learns the listed order from job file texts, oldest first; a text that
  // does not parse teaches nothing (the report still works).
  explicit AxisOrder(const std::vector<std::string>& job_texts);

  // Whether value `a` of `axis` comes before `b` (values as the report shows them).
  bool less(const std::string& axis, const std::string& a, const std::string& b) const;
  // Rows of values of `axes`, compared column by column.
  bool less(const std::vector<std::string>& axes, const std::vector<std::string>& a,
            const std::vector<std::string>& b) const;

 private:
  void listed(const std::string& axis, const std::string& value);
  std::map<std::string, std::map<std::string, size_t>> position_;  // axis -> value -> listed position
};

}  // namespace featreuse::grid
