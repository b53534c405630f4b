#pragma once
// The store-reader fuzz entry point, shared by the libFuzzer target
// (fuzz_store_reader.cpp) and the corpus replay in test_store. The input's
// bytes are written to a file that store::StoreReader opens and reads the way
// `status` and `report` do: every task, its record, both checkpoints, its
// validation curve and analysis tables, the job texts and the FID entries.
// Any input must either read or raise featreuse::Error.
#include <cstdint>
#include <fstream>
#include <string>

#include "featreuse/core/error.hpp"
#include "featreuse/store/reader.hpp"

namespace featreuse::fuzz {

// Reads everything a store holds; returns the number of tasks.
inline size_t read_whole_store(const std::string& path) {
  store::StoreReader reader(path);
  const auto cells = reader.cells();
  for (const auto& c : cells) {
    reader.record(c.id);
    for (auto which : {store::CheckpointKind::initial, store::CheckpointKind::best}) {
      try {
        reader.checkpoint(c.id, which);
      } catch (const Error&) {  // a task without that checkpoint: go on with the others
      }
    }
    reader.val_curve(c.id);
    reader.analysis(c.id);
  }
  reader.job_texts();
  reader.fid_entries();
  return cells.size();
}

// The bytes as a store file at `path`, read whole.
inline size_t read_store_bytes(const std::string& path, const uint8_t* data, size_t size) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  return read_whole_store(path);
}

}  // namespace featreuse::fuzz
