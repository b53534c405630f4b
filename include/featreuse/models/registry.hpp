#pragma once
// Model registry: architecture name -> factory. Built-in families register
// themselves in builtin.cpp; `featreuse models` lists them.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "featreuse/core/registry.hpp"
#include "featreuse/models/family.hpp"
#include "featreuse/models/network.hpp"

namespace featreuse::models {

struct ModelInfo {
  std::string name;  // registry name ("resnet50")
  Family family = Family::resnet;
  std::string description;
  int64_t default_image_size = 224;
};

using Factory = std::function<std::shared_ptr<Network>(const ModelSpec&)>;

class Registry {
 public:
  void add(ModelInfo info, Factory factory);
  bool contains(const std::string& name) const { return entries_.contains(name); }
  // Throws featreuse::Error listing the known names when `spec.arch` is unknown.
  std::shared_ptr<Network> create(const ModelSpec& spec) const;
  const ModelInfo& info(const std::string& name) const;
  std::vector<std::string> names() const { return entries_.names(); }  // sorted
  // "unknown model architecture 'name' (known: ...)"
  std::string unknown(const std::string& name) const { return entries_.unknown(name); }

 private:
  struct Entry {
    ModelInfo info;
    Factory factory;
  };
  featreuse::Registry<Entry> entries_{"model architecture"};
};

// The process-wide registry with every built-in model registered.
Registry& registry();

// Defined in builtin.cpp: registers each built-in family.
void register_builtin_models(Registry& registry);

}  // namespace featreuse::models
