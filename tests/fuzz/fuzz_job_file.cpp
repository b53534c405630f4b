// libFuzzer target for job files: the YAML reader, the job's checks
// (grid::parse_job, against the test configs) and the expansion into tasks,
// on arbitrary text. Every failure must be a featreuse::Error, which the
// commands print as a message naming the file and key; any other exception,
// a crash or a sanitizer report is a bug. Built with clang and
// -DFEATREUSE_BUILD_FUZZ=ON (tests/fuzz/CMakeLists.txt). Run:
//   build-fuzz/tests/fuzz/fuzz_job_file -max_len=2048 -timeout=10 CORPUS tests/fuzz/corpus/jobs
#include <cstdint>
#include <string>

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/grid/job.hpp"
#include "featreuse/grid/plan.hpp"

namespace {

using featreuse::json;

// The real schemes' names and parameters (init/init.cpp, analysis/task.cpp);
// models are accepted whatever their arch (the model registry needs torch).
featreuse::grid::Catalog fuzz_catalog() {
  featreuse::grid::Catalog c;
  c.init_schemes = {
      {"ri", false, json::object()},
      {"st", true, json{{"st_sample_embeddings", false}}, /*needs_st=*/true},
      {"wt", true, json::object()},
      {"wtst", true, json{{"wt_blocks", nullptr}, {"wt_fraction", nullptr}, {"st_sample_embeddings", false}},
       /*needs_st=*/true}};
  c.analyses = {{"knn", json{{"k", 200}, {"temperature", 0.1}}},
                {"l2", json::object()},
                {"cka_cross", json{{"batch_size", 64}}, "st"}};
  c.check_model = [](const json&, const std::string&) {};
  c.missing_weights = featreuse::grid::Catalog::MissingWeights::note;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const featreuse::grid::Catalog catalog = fuzz_catalog();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const featreuse::ConfigDoc doc = featreuse::parse_yaml(text, "fuzz.yaml");
    const featreuse::grid::JobSpec job = featreuse::grid::parse_job(doc, FEATREUSE_FUZZ_CONFIGS);
    featreuse::grid::expand(job, catalog);
  } catch (const featreuse::Error&) {
    // A message for the user: what a bad job file must give.
  }
  return 0;
}
