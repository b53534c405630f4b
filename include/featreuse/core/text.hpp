#pragma once
// Joining names into one line, as every "unknown X (known: a, b, c)" message
// and every list in a log line does.
#include <string>

namespace featreuse {

// The items' text, `separator` between them; `text(item)` gives each one's text.
template <typename Range, typename Text>
std::string join(const Range& items, const std::string& separator, Text text) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out += separator;
    out += text(item);
    first = false;
  }
  return out;
}

// A range of strings.
template <typename Range>
std::string join(const Range& items, const std::string& separator = ", ") {
  return join(items, separator, [](const std::string& s) -> const std::string& { return s; });
}

}  // namespace featreuse
