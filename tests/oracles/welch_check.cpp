// Prints featreuse's Welch t-test (src/app/welch.cpp) of the samples on each
// line of stdin, "a1 a2 ... | b1 b2 ...", as "t df p" (17 significant
// digits) or "none" when the test gives nothing; welch_oracle.py compares it
// with scipy.
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "welch.hpp"

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<double> sides[2];
    int side = 0;
    std::istringstream in(line);
    for (std::string word; in >> word;)
      if (word == "|")
        side = 1;
      else
        sides[side].push_back(std::stod(word));
    const auto test = featreuse::app::welch_t_test(sides[0], sides[1]);
    if (test)
      std::printf("%.17g %.17g %.17g\n", test->t, test->df, test->p);
    else
      std::printf("none\n");
  }
  return 0;
}
