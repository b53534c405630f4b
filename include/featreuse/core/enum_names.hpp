#pragma once
// The names of an enum's values, both ways, with one "unknown X" message:
// for the small closed sets that configs and the store spell as text (task
// kinds, poolings, model families).
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse {

template <typename Enum>
class EnumNames {
 public:
  // `kind` names a value in messages ("task kind", "pooling").
  EnumNames(std::string kind, std::initializer_list<std::pair<Enum, const char*>> names)
      : kind_(std::move(kind)), names_(names) {}

  const char* name(Enum value) const {
    for (const auto& [v, text] : names_)
      if (v == value) return text;
    return "?";
  }
  // Throws featreuse::Error "unknown <kind> 'text' (known: a, b, c)".
  Enum parse(const std::string& text) const {
    for (const auto& [v, name] : names_)
      if (text == name) return v;
    throw Error("unknown " + kind_ + " '" + text + "' (known: " + join(names()) + ")");
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : names_) out.push_back(entry.second);
    return out;
  }

 private:
  std::string kind_;
  std::vector<std::pair<Enum, const char*>> names_;
};

}  // namespace featreuse
