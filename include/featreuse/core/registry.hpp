#pragma once
// Name -> entry tables (model architectures, dataset readers, dataset
// layouts, initialisation schemes): one shape, one "unknown X" message.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse {

template <typename Entry>
class Registry {
 public:
  // `kind` names an entry in messages: "model architecture", "dataset reader".
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, Entry entry) {
    if (!entries_.emplace(name, std::move(entry)).second)
      throw Error(kind_ + " '" + name + "' registered twice");
  }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  const Entry* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }
  // Throws featreuse::Error listing the known names.
  const Entry& get(const std::string& name) const {
    if (const Entry* entry = find(name)) return *entry;
    throw Error(unknown(name));
  }
  // "unknown <kind> 'name' (known: a, b, c)"
  std::string unknown(const std::string& name) const {
    return "unknown " + kind_ + " '" + name + "' (known: " + join(names()) + ")";
  }
  std::vector<std::string> names() const {  // sorted
    std::vector<std::string> out;
    for (const auto& entry : entries_) out.push_back(entry.first);
    return out;
  }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace featreuse
