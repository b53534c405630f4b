#pragma once
// Which entries of a training task's `initial` the store keeps as references
// to the checkpoint its init copied them from (the source's `best`, the ST
// draw), instead of a second copy (docs/store.md "Checkpoints"). Decided when
// the schema is made, from the network's names and the stored layouts; the
// store checks every value when it writes the checkpoint.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "featreuse/grid/plan.hpp"
#include "featreuse/init/init.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/store/schema.hpp"

namespace featreuse::app {

class SharedInitial {
 public:
  using Build = std::function<std::shared_ptr<models::Network>()>;
  // `schema` holds the layouts of every task planned so far.
  explicit SharedInitial(const store::StudySchema& schema) : schema_(schema) {}

  // The shared entries of `cell` (a training task of `task`), whose init reads
  // the tasks in `planned`; `build` makes a network of its architecture when
  // the entries' origins are not yet known for its model and init.
  std::vector<store::SharedEntry> entries(const grid::Task& task, const store::CellSchema& cell,
                                          const std::map<std::string, const store::CellSchema*>& planned,
                                          const Build& build);

 private:
  const std::vector<init::EntryOrigin>& origins(const grid::Task& task, const Build& build);
  const store::Layout* layout(const std::string& id) const;

  const store::StudySchema& schema_;
  std::map<std::string, std::vector<init::EntryOrigin>> origins_;  // by model and init without task ids
};

}  // namespace featreuse::app
