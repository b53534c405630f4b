#pragma once
// One registration function per built-in model family; builtin.cpp calls each.
#include "featreuse/models/registry.hpp"

namespace featreuse::models {

void register_resnet_models(Registry& registry);     // resnet.cpp
void register_inception_models(Registry& registry);  // inception.cpp
void register_deit_models(Registry& registry);       // deit.cpp
void register_swin_models(Registry& registry);       // swin.cpp

}  // namespace featreuse::models
