#include "featreuse/models/registry.hpp"

#include "featreuse/core/enum_names.hpp"
#include "featreuse/core/error.hpp"

namespace featreuse::models {

void Registry::add(ModelInfo info, Factory factory) {
  const std::string name = info.name;
  entries_.add(name, {std::move(info), std::move(factory)});
}

std::shared_ptr<Network> Registry::create(const ModelSpec& spec) const {
  return entries_.get(spec.arch).factory(spec);
}

const ModelInfo& Registry::info(const std::string& name) const { return entries_.get(name).info; }

Registry& registry() {
  static Registry* instance = [] {
    auto* r = new Registry();
    register_builtin_models(*r);
    return r;
  }();
  return *instance;
}

const char* family_name(Family family) {
  static const EnumNames<Family> names("model family", {{Family::resnet, "resnet"},
                                                        {Family::inception, "inception"},
                                                        {Family::deit, "deit"},
                                                        {Family::swin, "swin"}});
  return names.name(family);
}

}  // namespace featreuse::models
