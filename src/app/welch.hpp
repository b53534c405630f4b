#pragma once
// Welch's unequal-variance t-test of two samples (what the report uses to
// compare WT with ST and RI per setting).
#include <optional>
#include <vector>

namespace featreuse::app {

struct WelchTest {
  double t = 0;   // (mean(a) - mean(b)) / sqrt(var(a)/n_a + var(b)/n_b), sample variances
  double df = 0;  // Welch–Satterthwaite degrees of freedom
  double p = 0;   // two-sided p-value of t under Student's t with df degrees of freedom
};

// Nothing when a side has fewer than 2 values or both have no variance (t is
// then undefined): never a made-up number.
std::optional<WelchTest> welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace featreuse::app
