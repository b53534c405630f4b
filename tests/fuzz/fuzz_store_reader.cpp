// libFuzzer target for the store reader (store::StoreReader, which `status`,
// `report` and `run`'s checks use): the input is written to a file and read
// whole (store_reader_target.hpp). Seeded with a real small store, which the
// mutations damage. Every failure must be a featreuse::Error; any other
// exception, a crash or a sanitizer report is a bug. HDF5 itself is not
// instrumented: a fault inside it shows only as a crash, and is HDF5's (see
// docs/reliability.md). Built with clang and -DFEATREUSE_BUILD_FUZZ=ON. Run:
//   build-fuzz/tests/fuzz/fuzz_store_reader -max_len=65536 -timeout=10 CORPUS tests/fuzz/corpus/store
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "store_reader_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = (std::filesystem::temp_directory_path() /
                                   ("featreuse_fuzz_store_" + std::to_string(::getpid()) + ".h5"))
                                      .string();
  try {
    featreuse::fuzz::read_store_bytes(path, data, size);
  } catch (const featreuse::Error&) {
    // A message for the user: what a damaged store must give.
  }
  return 0;
}
