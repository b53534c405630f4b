#include "featreuse/models/registry.hpp"

#include <algorithm>

#include "featreuse/core/error.hpp"

namespace featreuse::models {

void Registry::add(ModelInfo info, Factory factory) {
  if (contains(info.name)) throw Error("model '" + info.name + "' registered twice");
  entries_.push_back({std::move(info), std::move(factory)});
}

bool Registry::contains(const std::string& name) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.info.name == name; });
}

const Registry::Entry& Registry::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.info.name == name) return e;
  std::string known;
  for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown model architecture '" + name + "'; known: " + known);
}

std::shared_ptr<Network> Registry::create(const ModelSpec& spec) const {
  return find(spec.arch).factory(spec);
}

const ModelInfo& Registry::info(const std::string& name) const { return find(name).info; }

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.info.name);
  std::sort(out.begin(), out.end());
  return out;
}

Registry& registry() {
  static Registry* instance = [] {
    auto* r = new Registry();
    register_builtin_models(*r);
    return r;
  }();
  return *instance;
}

}  // namespace featreuse::models
