// libFuzzer target for the torch.save reader (zip archive, restricted
// unpickler, legacy format). Seeds: tests/data/weights/*.pth. Any input must
// parse or raise featreuse::Error.
#include <cstdint>

#include "featreuse/core/error.hpp"
#include "featreuse/models/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    featreuse::models::parse_torch_checkpoint(data, size, "fuzz-input");
  } catch (const featreuse::Error&) {
  }
  return 0;
}
