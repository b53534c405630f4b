#include "featreuse/grid/job.hpp"

#include <filesystem>

#include "featreuse/core/error.hpp"
#include "featreuse/core/paths.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::grid {

namespace {

const std::vector<std::string> kTopLevelKeys = {"name", "configs", "recipe",  "overrides", "sources",
                                                "grid", "include", "exclude", "analyses"};

std::vector<json> parse_filters(const ConfigDoc& doc, const char* key) {
  std::vector<json> out;
  if (!doc.value.contains(key)) return out;
  const json& list = doc.value[key];
  if (!list.is_array())
    throw ConfigError(doc.where(key), key, "expected a list of mappings (axis: value or [values])");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = std::string(key) + "[" + std::to_string(i) + "]";
    if (!list[i].is_object() || list[i].empty())
      throw ConfigError(doc.where(at), at, "expected a non-empty mapping of axis: value");
    out.push_back(list[i]);
  }
  return out;
}

// `analyses:` as a list of names, or a mapping of name -> options (null for
// the defaults); `cells:` inside the options is the analysis' cell filter.
std::vector<AnalysisSpec> parse_analyses(const ConfigDoc& doc) {
  std::vector<AnalysisSpec> out;
  if (!doc.value.contains("analyses")) return out;
  const json& given = doc.value["analyses"];
  const std::string where = doc.where("analyses");
  auto add = [&](const std::string& name, const json& options) {
    const std::string at = "analyses." + name;
    for (const auto& a : out)
      if (a.name == name) throw ConfigError(where, at, "named twice");
    AnalysisSpec spec{name, options.is_null() ? json::object() : options, json::object()};
    if (!spec.options.is_object())
      throw ConfigError(doc.where(at), at, "expected a mapping of options (or nothing for the defaults)");
    if (spec.options.contains("cells")) {
      spec.cells = spec.options["cells"];
      spec.options.erase("cells");
      if (!spec.cells.is_object() || spec.cells.empty())
        throw ConfigError(doc.where(at), at + ".cells", "expected a non-empty mapping of axis: value");
    }
    out.push_back(std::move(spec));
  };
  if (given.is_array()) {
    for (size_t i = 0; i < given.size(); ++i) {
      if (!given[i].is_string())
        throw ConfigError(where, "analyses[" + std::to_string(i) + "]", "expected an analysis name");
      add(given[i], json());
    }
  } else if (given.is_object()) {
    for (const auto& name : doc.key_order.at("analyses")) add(name, given[name]);
  } else {
    throw ConfigError(where, "analyses", "expected a list of analysis names or a mapping of name: options");
  }
  return out;
}

}  // namespace

JobSpec parse_job(const ConfigDoc& doc, const std::string& configs_dir) {
  JobSpec job;
  job.doc = doc;
  job.configs_dir = configs_dir;
  const json& v = doc.value;
  if (!v.is_object()) throw ConfigError(doc.file, "", "a job file must be a mapping");
  for (auto it = v.begin(); it != v.end(); ++it)
    if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), it.key()) == kTopLevelKeys.end())
      throw ConfigError(doc.where(it.key()), it.key(),
                        "unknown top-level key; expected one of: " + join(kTopLevelKeys));

  job.name = std::filesystem::path(doc.file).stem().string();
  if (v.contains("name")) {
    if (!v["name"].is_string()) throw ConfigError(doc.where("name"), "name", "expected a string");
    job.name = v["name"];
  }
  job.recipe = "default";
  if (v.contains("recipe")) {
    if (!v["recipe"].is_string())
      throw ConfigError(doc.where("recipe"), "recipe",
                        "expected a recipe name (configs/recipes/<name>.yaml)");
    job.recipe = v["recipe"];
  }
  if (v.contains("overrides")) {
    const json& o = v["overrides"];
    if (!o.is_object()) throw ConfigError(doc.where("overrides"), "overrides", "expected a mapping");
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string key = "overrides." + it.key();
      if (it.key() != "recipe" && it.key() != "model" && it.key() != "dataset")
        throw ConfigError(doc.where(key), key, "expected one of: recipe, model, dataset");
      if (!it.value().is_object()) throw ConfigError(doc.where(key), key, "expected a mapping");
    }
    job.overrides = o;
  }

  if (!v.contains("grid") || !v["grid"].is_object() || v["grid"].empty())
    throw ConfigError(doc.file, "grid", "missing or empty; a job needs a grid of at least model and dataset");
  for (const auto& name : doc.key_order.at("grid")) {
    const json& given = v["grid"][name];
    json values = given.is_array() ? given : json::array({given});
    const std::string key = "grid." + name;
    if (values.empty()) throw ConfigError(doc.where(key), key, "an axis needs at least one value");
    for (size_t i = 0; i < values.size(); ++i)
      if (values[i].is_object() || values[i].is_null())
        throw ConfigError(doc.where(key), key + "[" + std::to_string(i) + "]",
                          "axis values must be scalars or lists, got " + describe_type(values[i]));
    job.axes.emplace_back(name, values);
  }
  job.include = parse_filters(doc, "include");
  job.exclude = parse_filters(doc, "exclude");

  if (v.contains("sources")) {
    if (!v["sources"].is_object())
      throw ConfigError(doc.where("sources"), "sources", "expected a mapping of name: {model, dataset, ...}");
    for (const auto& name : doc.key_order.at("sources")) {
      if (!v["sources"][name].is_object())
        throw ConfigError(doc.where("sources." + name), "sources." + name, "expected a mapping");
      job.sources.push_back({name, v["sources"][name]});
    }
  }
  job.analyses = parse_analyses(doc);
  return job;
}

JobSpec load_job(const std::string& path) {
  ConfigDoc doc = load_yaml_file(path);
  std::string configs_dir;
  if (doc.value.is_object() && doc.value.contains("configs") && doc.value["configs"].is_string()) {
    std::filesystem::path p = doc.value["configs"].get<std::string>();
    if (p.is_relative()) p = std::filesystem::absolute(path).parent_path() / p;
    configs_dir = p.lexically_normal().string();
  } else {
    configs_dir = find_configs_dir(path);
  }
  if (!std::filesystem::is_directory(configs_dir))
    throw ConfigError(doc.where("configs"), "configs", "configs folder '" + configs_dir + "' does not exist");
  return parse_job(doc, configs_dir);
}

}  // namespace featreuse::grid
