#include "welch.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>

namespace featreuse::app {

namespace {

struct Moments {
  double mean = 0, var = 0, n = 0;  // var: sample variance (n - 1 in the denominator)
};

Moments moments(const std::vector<double>& x) {
  Moments m;
  m.n = double(x.size());
  for (double v : x) m.mean += v;
  m.mean /= m.n;
  for (double v : x) m.var += (v - m.mean) * (v - m.mean);
  m.var /= m.n - 1;
  return m;
}

}  // namespace

std::optional<WelchTest> welch_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2 || b.size() < 2) return std::nullopt;
  const Moments x = moments(a), y = moments(b);
  const double ex = x.var / x.n, ey = y.var / y.n, se2 = ex + ey;
  if (!(se2 > 0) || !std::isfinite(se2)) return std::nullopt;
  WelchTest w;
  w.t = (x.mean - y.mean) / std::sqrt(se2);
  w.df = se2 * se2 / (ex * ex / (x.n - 1) + ey * ey / (y.n - 1));
  const boost::math::students_t dist(w.df);
  w.p = 2 * boost::math::cdf(boost::math::complement(dist, std::fabs(w.t)));
  return w;
}

}  // namespace featreuse::app
