#pragma once
// Model registry: architecture name -> factory. Built-in families register
// themselves in builtin.cpp; `featreuse models` lists them.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "featreuse/models/network.hpp"

namespace featreuse::models {

struct ModelInfo {
  std::string name;            // registry name ("resnet50")
  std::string family;          // "resnet", "inception", "deit", "swin"
  std::string description;
  int64_t default_image_size = 224;
};

using Factory = std::function<std::shared_ptr<Network>(const ModelSpec&)>;

class Registry {
 public:
  void add(ModelInfo info, Factory factory);
  bool contains(const std::string& name) const;
  // Throws featreuse::Error listing the known names when `spec.arch` is unknown.
  std::shared_ptr<Network> create(const ModelSpec& spec) const;
  const ModelInfo& info(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted

 private:
  struct Entry {
    ModelInfo info;
    Factory factory;
  };
  std::vector<Entry> entries_;
  const Entry& find(const std::string& name) const;
};

// The process-wide registry with every built-in model registered.
Registry& registry();

// Defined in builtin.cpp: registers each built-in family.
void register_builtin_models(Registry& registry);

}  // namespace featreuse::models
