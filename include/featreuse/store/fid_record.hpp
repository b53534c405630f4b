#pragma once
// FID values kept in a study store beside its cells (Table 1's header row):
// `featreuse fid --store` writes one entry per (dataset, split, reference)
// under /fid, replacing an older value of the same three; `report` and the
// Python reader read them. A dataset-level measure, not a task: it depends on
// no cell, and writing it never changes the plan.
#include <cstdint>
#include <string>
#include <vector>

#include "featreuse/store/h5.hpp"
#include "featreuse/store/run_lock.hpp"

namespace featreuse::store {

struct FidEntry {
  std::string dataset;    // the dataset config's name, as the results table's dataset axis
  std::string split;      // train, val or test
  std::string reference;  // what it is compared with: a statistics file or image set, as given
  double value = 0;
  int64_t images = 0, reference_images = 0;  // counts behind each side's statistics (0: unknown)
  std::string weights;                       // the FID network's weight file
  std::string written;                       // UTC time of writing
};

// The entry's group name under /fid: "<dataset> <split> vs <reference's file name>".
std::string fid_entry_name(const FidEntry& entry);

// Writes FID entries into a store, holding its run lock from construction
// (taken before the minutes an FID takes, so no run starts meanwhile and no
// value computed is then refused).
class FidWriter {
 public:
  // Throws featreuse::Error while a run writes the store, or when the file is
  // not a featreuse store.
  explicit FidWriter(const std::string& store_path);
  // Adds `entry`, or replaces the entry of the same name.
  void write(FidEntry entry);

 private:
  std::string path_;
  RunLock lock_;
};

namespace detail {
// Every entry under /fid of an open store, by name (none without /fid).
std::vector<FidEntry> read_fid_entries(hid_t file);
}  // namespace detail

}  // namespace featreuse::store
