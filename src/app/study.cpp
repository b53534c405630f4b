#include "study.hpp"

#include <fstream>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/core/rng.hpp"
#include "featreuse/data/registry.hpp"
#include "featreuse/init/init.hpp"
#include "featreuse/models/registry.hpp"
#include "featreuse/train/checkpoint.hpp"
#include "featreuse/train/recipe.hpp"
#include <ATen/core/grad_mode.h>
#include <ATen/Context.h>

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

grid::Catalog make_catalog(DatasetDescriptions& datasets) {
  grid::Catalog catalog;
  for (const auto& s : init::schemes()) catalog.init_schemes.push_back({s.name, s.needs_source, s.params});
  catalog.check_model = [](const json& model, const std::string& where) {
    const std::string arch = model["arch"];
    if (!models::registry().contains(arch)) {
      std::string known;
      for (const auto& n : models::registry().names()) known += (known.empty() ? "" : ", ") + n;
      throw ConfigError(where, "arch", "unknown architecture '" + arch + "'; registered: " + known);
    }
  };
  catalog.estimate_cost = [&datasets](const json& config) {
    const auto& info = datasets.get(config["dataset"]);
    const double gflops = config["model"].value("gflops", 1.0);
    return train::estimate_cost(train::parse_recipe(config["recipe"]), gflops, info.split_sizes);
  };
  return catalog;
}

grid::Plan plan_job(const std::string& job_file, DatasetDescriptions& datasets) {
  return grid::expand(grid::load_job(job_file), make_catalog(datasets));
}

std::shared_ptr<models::Network> build_network(const json& config, const data::DatasetInfo& info) {
  models::ModelSpec spec;
  spec.arch = config["model"]["arch"];
  spec.options = config["model"].value("options", json::object());
  spec.num_classes = info.num_classes;
  spec.in_channels = info.channels;
  spec.image_size = info.image_size;
  at::manual_seed(derive_seed(config["seed"].get<uint64_t>(), "model_init"));
  return models::registry().create(spec);
}

store::StudySchema make_schema(const grid::Plan& plan, const std::string& job_text, DatasetDescriptions& datasets) {
  store::StudySchema schema;
  schema.job_name = plan.job_name;
  schema.job_text = job_text;
  std::map<std::string, std::string> layout_of_model;  // model+head key -> layout id
  at::NoGradGuard no_grad;
  for (const auto& task : plan.tasks) {
    store::CellSchema cell;
    cell.id = task.id;
    cell.kind = task.kind;
    cell.key = task.key;
    cell.axes = task.axes;
    cell.config = grid::canonical(task.config);
    try {
      const data::DatasetInfo& info = datasets.get(task.config["dataset"]);
      const auto schedule =
          train::make_schedule(train::parse_recipe(task.config["recipe"]), info.size(data::Split::train));
      cell.train_points = schedule.train_points;
      cell.val_points = schedule.val_points;
      cell.test_count = info.size(data::Split::test);
      cell.num_classes = info.num_classes;
      cell.multi_label = info.labels == data::LabelKind::multi;
      const std::string model_key = task.config["model"].dump() + "|" + std::to_string(info.num_classes) + "|" +
                                    std::to_string(info.channels) + "|" + std::to_string(info.image_size);
      auto it = layout_of_model.find(model_key);
      if (it == layout_of_model.end()) {
        auto net = build_network(task.config, info);
        store::Layout layout = train::layout_of(*net);
        bool known = false;
        for (const auto& l : schema.layouts) known = known || l.id == layout.id;
        if (!known) schema.layouts.push_back(layout);
        it = layout_of_model.emplace(model_key, layout.id).first;
      }
      cell.layout = it->second;
    } catch (const std::exception& e) {
      cell.setup_error = e.what();
    }
    schema.cells.push_back(std::move(cell));
  }
  return schema;
}

}  // namespace featreuse::app
