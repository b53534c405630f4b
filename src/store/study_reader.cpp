#include "featreuse/store/study_reader.hpp"

#include <algorithm>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/grid/plan.hpp"

namespace featreuse::store {

namespace {

// What a task's id stands for: its config without data locations.
std::string identity(const StoredCell& cell) {
  return grid::canonical(grid::identity_view(json::parse(cell.config)));
}

}  // namespace

StudyReader::StudyReader(std::vector<StoreReader> stores) : stores_(std::move(stores)) {
  if (stores_.empty()) throw Error("a study needs at least one store");
  std::map<std::string, StoredCell> chosen;
  for (size_t s = 0; s < stores_.size(); ++s) {
    for (auto& cell : stores_[s].cells()) {
      auto it = chosen.find(cell.id);
      if (it == chosen.end()) {
        store_of_[cell.id] = s;
        chosen.emplace(cell.id, std::move(cell));
        continue;
      }
      if (identity(it->second) != identity(cell))
        throw Error("task " + cell.id + " (" + cell.key + ") has one config in " +
                    stores_[store_of_[cell.id]].path() + " and another in " + stores_[s].path() +
                    ": these stores are not one study");
      if (it->second.record.status != TaskState::done && cell.record.status == TaskState::done) {
        store_of_[cell.id] = s;
        it->second = std::move(cell);
      }
    }
  }
  for (auto& [id, cell] : chosen) cells_.push_back(std::move(cell));
}

std::string StudyReader::paths() const {
  std::string out;
  for (const auto& s : stores_) out += (out.empty() ? "" : ", ") + s.path();
  return out;
}

const StoreReader& StudyReader::holder(const std::string& id) const {
  auto it = store_of_.find(id);
  if (it == store_of_.end()) throw Error("no store of " + paths() + " holds task " + id);
  return stores_[it->second];
}

std::vector<ValPoint> StudyReader::val_curve(const std::string& id) const { return holder(id).val_curve(id); }

std::string StudyReader::linked_analysis(const std::string& cell, const std::string& name) const {
  return holder(cell).linked_analysis(cell, name);
}

std::vector<ResultTable> StudyReader::analysis(const std::string& id) const {
  return holder(id).analysis(id);
}

std::vector<std::string> StudyReader::job_texts() const {
  std::vector<std::string> out;
  for (const auto& s : stores_)
    for (auto& text : s.job_texts()) out.push_back(std::move(text));
  return out;
}

std::vector<FidEntry> StudyReader::fid_entries() const {
  std::vector<FidEntry> out;
  std::set<std::string> seen;
  for (const auto& s : stores_)
    for (auto& e : s.fid_entries())
      if (seen.insert(fid_entry_name(e)).second) out.push_back(std::move(e));
  return out;
}

}  // namespace featreuse::store
