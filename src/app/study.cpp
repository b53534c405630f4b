#include "study.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "featreuse/analysis/task.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/data/registry.hpp"
#include "featreuse/init/init.hpp"
#include "featreuse/models/family.hpp"
#include "featreuse/models/initial_draws.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/recipe.hpp"
#include "shared_initial.hpp"

namespace featreuse::app {

const data::DatasetInfo& DatasetDescriptions::get(const json& dataset_config) {
  const std::string key = dataset_config.dump();
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  if (auto it = errors_.find(key); it != errors_.end()) throw Error(it->second);
  try {
    return cache_.emplace(key, data::describe_dataset(dataset_config)).first->second;
  } catch (const std::exception& e) {
    errors_[key] = e.what();
    throw;
  }
}

data::DatasetInfo DatasetDescriptions::for_costs(const json& dataset_config) {
  try {
    return get(dataset_config);
  } catch (const Error&) {
    if (!dataset_config.contains("split_sizes")) throw;
  }
  data::DatasetInfo info;
  try {
    info.split_sizes = dataset_config["split_sizes"].get<std::array<int64_t, 3>>();
  } catch (const json::exception&) {
    throw Error("dataset '" + dataset_config.value("name", std::string("?")) +
                "': split_sizes must be three counts (train, val, test), not " +
                dataset_config["split_sizes"].dump());
  }
  info.num_classes = 2;  // the head does not change the backbone's cost or probe points
  info.channels = dataset_config.value("channels", int64_t(3));
  info.image_size = dataset_config.value("image_size", int64_t(224));
  return info;
}

grid::Catalog make_catalog(DatasetDescriptions& datasets, PlanningNetworks& networks) {
  grid::Catalog catalog;
  for (const auto& s : init::schemes())
    catalog.init_schemes.push_back({s.name, s.needs_source, s.params, s.needs_st_state});
  catalog.check_model = [](const json& model, const std::string& where) {
    const std::string arch = model["arch"];
    if (!models::registry().contains(arch))
      throw ConfigError(where, "arch", models::registry().unknown(arch));
  };
  for (const auto& a : analysis::analyses()) {
    grid::AnalysisScheme scheme;
    scheme.name = a.name;
    scheme.defaults = a.defaults;
    scheme.partner_init = a.partner_init;
    scheme.check = [name = a.name](const json& options) { analysis::check_options(name, options); };
    if (a.needs_attention_maps)
      scheme.applies = [](const json& cell) {
        const models::Family family = models::registry().info(cell["model"]["arch"]).family;
        return family == models::Family::deit || family == models::Family::swin;
      };
    catalog.analyses.push_back(std::move(scheme));
  }
  auto probe_counts = std::make_shared<std::map<std::string, int64_t>>();
  catalog.estimate_analysis_cost = [&datasets, &networks, probe_counts](const json& config,
                                                                        const json& cell) {
    const data::DatasetInfo info = datasets.for_costs(cell["dataset"]);
    const std::string model_key = cell["model"].dump();
    if (!probe_counts->count(model_key))
      (*probe_counts)[model_key] =
          int64_t(networks.get(cell["model"], info.num_classes, info.channels, info.image_size)
                      ->probe_points()
                      .size());
    const double gflops = cell["model"].value("gflops", 1.0);
    const auto passes = analysis::forward_passes(config["analysis"], config["options"], info.split_sizes,
                                                 probe_counts->at(model_key));
    grid::AnalysisCost cost{gflops * passes.own, {}};
    for (const auto& [pass, images] : passes.shared) cost.shared[pass] = gflops * images;
    return cost;
  };
  catalog.estimate_cost = [&datasets](const json& config) {
    // Importing weights and drawing an ST state take seconds, not epochs.
    if (!config.contains("recipe")) return 1.0;
    const data::DatasetInfo info = datasets.for_costs(config["dataset"]);
    const double gflops = config["model"].value("gflops", 1.0);
    return train::estimate_cost(train::parse_recipe(config["recipe"]), gflops, info.split_sizes);
  };
  return catalog;
}

grid::Plan plan_job(const std::string& job_file, DatasetDescriptions& datasets, PlanningNetworks& networks,
                    grid::Catalog::MissingWeights missing_weights) {
  grid::Catalog catalog = make_catalog(datasets, networks);
  catalog.missing_weights = missing_weights;
  return grid::expand(grid::load_job(job_file), catalog);
}

std::shared_ptr<models::Network> build_network(const json& model, int64_t num_classes, int64_t in_channels,
                                               int64_t image_size, uint64_t seed) {
  models::ModelSpec spec;
  spec.arch = model["arch"];
  spec.options = model.value("options", json::object());
  spec.num_classes = num_classes;
  spec.in_channels = in_channels;
  spec.image_size = image_size;
  at::manual_seed(derive_seed(seed, "model_init"));
  return models::registry().create(spec);
}

std::shared_ptr<models::Network> build_network(const json& config, const data::DatasetInfo& info) {
  return build_network(config["model"], info.num_classes, info.channels, info.image_size,
                       config["seed"].get<uint64_t>());
}

std::shared_ptr<models::Network> build_network_to_fill(const json& config, const data::DatasetInfo& info) {
  models::StructureOnlyBuild filled_from_checkpoint;
  return build_network(config, info);
}

std::shared_ptr<models::Network> build_import_network(const json& config) {
  return build_network(config["model"], kImportClasses, 3, config["model"].value("image_size", int64_t(224)),
                       0);
}

store::StudySchema make_schema(const grid::Plan& plan, const std::string& job_text,
                               DatasetDescriptions& datasets, PlanningNetworks& networks,
                               DatasetSizes sizes) {
  auto dataset_info = [&](const json& config) {
    return sizes == DatasetSizes::prepared ? datasets.get(config) : datasets.for_costs(config);
  };
  store::StudySchema schema;
  schema.job_name = plan.job_name;
  schema.job_text = job_text;
  std::map<std::string, std::string> layout_of_model;  // model+head key -> layout id
  std::map<std::string, const store::CellSchema*> by_id;
  at::NoGradGuard no_grad;
  auto layout_for = [&](const json& model, int64_t classes, int64_t channels, int64_t image_size) {
    const std::string key = network_key(model, classes, channels, image_size);
    auto it = layout_of_model.find(key);
    if (it == layout_of_model.end()) {
      store::Layout layout = train::layout_of(*networks.get(model, classes, channels, image_size));
      bool known = false;
      for (const auto& l : schema.layouts) known = known || l.id == layout.id;
      if (!known) schema.layouts.push_back(layout);
      it = layout_of_model.emplace(key, layout.id).first;
    }
    return it->second;
  };
  std::map<std::string, const grid::Task*> task_by_id;
  for (const auto& task : plan.tasks) task_by_id[task.id] = &task;
  // Tables by analysis, options and architecture.
  std::map<std::string, std::vector<store::ResultTable>> tables_of;
  auto analysis_tables = [&](const grid::Task& task, const grid::Task& cell, const data::DatasetInfo& info) {
    const std::string arch =
        network_key(cell.config["model"], info.num_classes, info.channels, info.image_size);
    const std::string key = task.config["analysis"].dump() + task.config["options"].dump() + arch;
    auto it = tables_of.find(key);
    if (it == tables_of.end()) {
      const auto net = networks.get(cell.config["model"], info.num_classes, info.channels, info.image_size);
      const at::Tensor example = at::zeros({1, info.channels, info.image_size, info.image_size});
      it = tables_of
               .emplace(key,
                        analysis::plan_tables(task.config["analysis"], task.config["options"], *net, example))
               .first;
    }
    return it->second;
  };
  SharedInitial shared_initial(schema);
  schema.cells.reserve(plan.tasks.size());  // by_id keeps pointers into it
  for (const auto& task : plan.tasks) {
    store::CellSchema cell;
    cell.id = task.id;
    cell.kind = task.kind;
    cell.key = task.key;
    cell.axes = task.axes;
    cell.config = grid::canonical(task.config);
    try {
      if (task.kind == grid::TaskKind::import) {
        // Weights only: a checkpoint, no curves or predictions.
        cell.num_classes = kImportClasses;
        cell.layout = layout_for(task.config["model"], kImportClasses, 3,
                                 task.config["model"].value("image_size", int64_t(224)));
        schema.cells.push_back(std::move(cell));
        by_id[task.id] = &schema.cells.back();
        continue;
      }
      if (task.kind == grid::TaskKind::st) {
        // The ST draw has its source's layout.
        const store::CellSchema* source = by_id.at(task.config["source"]);
        if (!source->setup_error.empty()) throw Error("its source " + source->key + " could not be set up");
        cell.layout = source->layout;
        cell.num_classes = source->num_classes;
        schema.cells.push_back(std::move(cell));
        by_id[task.id] = &schema.cells.back();
        continue;
      }
      if (task.kind == grid::TaskKind::analysis) {
        // Tables whose rows follow from the analysed cell's architecture.
        for (const auto& id : task.config["cells"]) {
          const store::CellSchema* analysed = by_id.at(id);
          if (!analysed->setup_error.empty())
            throw Error("its cell " + analysed->key + " could not be set up");
          cell.analysed.push_back(id);
        }
        const grid::Task& analysed = *task_by_id.at(task.config["cells"][0]);
        cell.analysis = task.config["analysis"];
        cell.tables = analysis_tables(task, analysed, dataset_info(analysed.config["dataset"]));
        schema.cells.push_back(std::move(cell));
        by_id[task.id] = &schema.cells.back();
        continue;
      }
      const data::DatasetInfo info = dataset_info(task.config["dataset"]);
      const train::Recipe recipe = train::parse_recipe(task.config["recipe"]);
      const auto schedule = train::make_schedule(recipe, info.size(data::Split::train));
      cell.checkpoint_dtype = recipe.checkpoint_dtype;
      cell.train_points = schedule.train_points;
      cell.val_points = schedule.val_points;
      cell.test_count = info.size(data::Split::test);
      cell.num_classes = info.num_classes;
      cell.multi_label = info.labels == data::LabelKind::multi;
      cell.layout = layout_for(task.config["model"], info.num_classes, info.channels, info.image_size);
      cell.initial_shared = shared_initial.entries(task, cell, by_id, [&] {
        return networks.get(task.config["model"], info.num_classes, info.channels, info.image_size);
      });
    } catch (const std::exception& e) {
      cell.setup_error = e.what();
    }
    schema.cells.push_back(std::move(cell));
    by_id[task.id] = &schema.cells.back();
  }
  return schema;
}

}  // namespace featreuse::app
