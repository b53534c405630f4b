#pragma once
// A plan against a store that may already hold some of its tasks: what each
// task is there (done, pending, failed, ... new, or refused because the job
// changes its config), and how long each would take at the speed the store's
// done tasks were measured at. `plan --store` shows it; `run` refuses on it.
#include <string>
#include <vector>

#include "featreuse/grid/plan.hpp"
#include "featreuse/store/reader.hpp"
#include "featreuse/store/study_reader.hpp"

namespace featreuse::app {

// The store a user named, opened read-only: a path that is not a featreuse
// store of this schema version (missing, not HDF5, another format or version)
// is the user's to fix (UserError, exit code 2), with the reader's message.
store::StoreReader open_user_store(const std::string& path);
// Several stores a user named as one study (store/study_reader.hpp); two
// configs under one id are the user's to fix too.
store::StudyReader open_study(const std::vector<std::string>& paths);

enum class StoredState { new_task, pending, running, done, failed, refused };
const char* stored_state_name(StoredState state);  // "new", "pending", ..., "refused"

// Why a job is refused on this store ("" when it is not): cells whose key the
// store holds under another id, naming what changed. Analyses are exempt: one
// with other options is another task beside the stored one.
std::string check_against_store(const grid::Plan& plan, const std::vector<store::StoredCell>& stored);

struct StoreComparison {
  std::vector<StoredState> states;  // per plan task
  // Per plan task: estimated seconds (0 for done tasks, NaN when no done
  // task of its kind family gives a speed).
  std::vector<double> seconds;
  size_t timed = 0;  // done tasks of the plan the speed comes from
};

// Speeds are wall seconds per cost unit of the plan's done tasks, per kind
// (source and cell tasks share one: the same training cost model).
StoreComparison compare_with_store(const grid::Plan& plan, const std::vector<store::StoredCell>& stored);

}  // namespace featreuse::app
