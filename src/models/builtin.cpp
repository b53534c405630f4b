// The built-in model families, registered into the process-wide registry.
#include "featreuse/models/families.hpp"

namespace featreuse::models {

void register_builtin_models(Registry& registry) {
  register_resnet_models(registry);
}

}  // namespace featreuse::models
