// libFuzzer target for the datasets' label tables: the CSV reader
// (data::parse_csv) and the layouts that read a table under a dataset root
// (APTOS2019, ISIC2019, CheXpert, the generic csv layout with one label
// column, several, or a split column, and CBIS-DDSM's image lists and
// description CSVs over a small download tree), on arbitrary bytes. The first byte
// picks the reader, the rest is the file. Every failure must be a
// featreuse::Error, which `prepare` prints naming the file and line; any other
// exception, a crash, a hang or a sanitizer report is a bug. Built with clang
// and -DFEATREUSE_BUILD_FUZZ=ON (tests/fuzz/CMakeLists.txt). Run:
//   build-fuzz/tests/fuzz/fuzz_dataset_csv -max_len=4096 -timeout=10 CORPUS tests/fuzz/corpus/csv
// test_data (Fuzz.CsvCorpusReplayEndsInLayoutsOrErrors) replays the corpus
// the same way (tests/fuzz/dataset_csv_target.hpp) in every build.
#include <cstdint>
#include <string>

#include "dataset_csv_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string root = featreuse::fuzz::make_csv_root();
  try {
    featreuse::fuzz::read_label_table(root, data[0],
                                      std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  } catch (const featreuse::Error&) {
    // A message for the user: what a bad label table must give.
  }
  return 0;
}
