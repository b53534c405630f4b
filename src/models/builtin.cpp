// The built-in model families, registered into the process-wide registry.
#include "featreuse/models/families.hpp"

namespace featreuse::models {

void register_builtin_models(Registry& registry) {
  register_resnet_models(registry);
  register_inception_models(registry);
  register_deit_models(registry);
  register_swin_models(registry);
}

}  // namespace featreuse::models
