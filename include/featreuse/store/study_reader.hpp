#pragma once
// Several stores read as one study (a study too large for one allocation is
// run as several jobs into several stores): every task by id, from the store
// that holds it done (else the first that holds it), and each read of a task
// from that store. Two stores holding one id under different configs (beyond
// data locations, which ids ignore) are refused: they are not one study.
#include <map>
#include <string>
#include <vector>

#include "featreuse/store/reader.hpp"

namespace featreuse::store {

class StudyReader {
 public:
  // Throws featreuse::Error naming both stores and the task when one id has two configs.
  explicit StudyReader(std::vector<StoreReader> stores);

  const std::vector<StoreReader>& stores() const { return stores_; }
  // The stores' paths, joined with ", " (for titles and messages).
  std::string paths() const;

  std::vector<StoredCell> cells() const { return cells_; }  // every task once, by id
  std::vector<ValPoint> val_curve(const std::string& id) const;
  std::string linked_analysis(const std::string& cell, const std::string& name) const;
  std::vector<ResultTable> analysis(const std::string& id) const;
  std::vector<std::string> job_texts() const;  // every store's, in the stores' order
  std::vector<FidEntry> fid_entries() const;   // by entry name, the first store's where several have one

 private:
  const StoreReader& holder(const std::string& id) const;

  std::vector<StoreReader> stores_;
  std::vector<StoredCell> cells_;
  std::map<std::string, size_t> store_of_;  // task id -> index in stores_
};

}  // namespace featreuse::store
