// libFuzzer target for the safetensors parser (built with clang and
// -DFEATREUSE_BUILD_FUZZ=ON; see tests/fuzz/CMakeLists.txt). Run:
//   build/tests/fuzz/fuzz_safetensors -max_len=4096 tests/fuzz/corpus/safetensors
#include "safetensors_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return featreuse::fuzz::safetensors_one_input(data, size);
}
