#pragma once
// What `plan` and `run` share: a job file expanded into a plan against the
// registries (models, datasets, inits), and the store schema for a plan
// (dataset sizes, checkpoint layouts, curve capacities), with per-task setup
// errors kept as data instead of aborting the job.
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "featreuse/data/dataset.hpp"
#include "featreuse/grid/plan.hpp"
#include "featreuse/models/network.hpp"
#include "featreuse/store/schema.hpp"
#include "planning_networks.hpp"

namespace featreuse::app {

// Describes datasets once per distinct config.
class DatasetDescriptions {
 public:
  const data::DatasetInfo& get(const json& dataset_config);  // throws Error like describe_dataset
  // For cost estimates: get(), or, while the prepared cache does not exist,
  // the config's `split_sizes` (the complete public dataset's train, val and
  // test counts) with a 2-class head; throws get()'s error without them.
  data::DatasetInfo for_costs(const json& dataset_config);

 private:
  std::map<std::string, data::DatasetInfo> cache_;
  std::map<std::string, std::string> errors_;
};

// The catalog grid needs, backed by the registries.
grid::Catalog make_catalog(DatasetDescriptions& datasets, PlanningNetworks& networks);

// Loads and expands a job file; `missing_weights` says whether a source's
// absent weight file stops it (run) or is noted in the plan (plan).
grid::Plan plan_job(const std::string& job_file, DatasetDescriptions& datasets, PlanningNetworks& networks,
                    grid::Catalog::MissingWeights missing_weights = grid::Catalog::MissingWeights::refuse);

// Builds a network (its random init seeded from `seed`).
std::shared_ptr<models::Network> build_network(const json& model, int64_t num_classes, int64_t in_channels,
                                               int64_t image_size, uint64_t seed);
// The network a training task trains, for its dataset and cell seed.
std::shared_ptr<models::Network> build_network(const json& config, const data::DatasetInfo& info);
// That network to be filled from a checkpoint that sets every entry (a strict
// load, head included): built without the families' weight draws, which
// nothing would read (models::StructureOnlyBuild).
std::shared_ptr<models::Network> build_network_to_fill(const json& config, const data::DatasetInfo& info);
// The network an imported source's weights load into: kImportClasses
// classes (the head is never transferred), 3 channels, the model's native size.
constexpr int64_t kImportClasses = 1000;
std::shared_ptr<models::Network> build_import_network(const json& config);

// Which dataset sizes a schema is made with: the prepared caches' (run), or
// for an estimate of the store's size, the configs' `split_sizes` where a
// cache does not exist yet (plan; DatasetDescriptions::for_costs).
enum class DatasetSizes { prepared, expected };

// The store schema of every task of `plan`.
store::StudySchema make_schema(const grid::Plan& plan, const std::string& job_text,
                               DatasetDescriptions& datasets, PlanningNetworks& networks,
                               DatasetSizes sizes = DatasetSizes::prepared);

}  // namespace featreuse::app
