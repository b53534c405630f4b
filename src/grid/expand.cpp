#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/hash.hpp"
#include "featreuse/grid/plan.hpp"

namespace featreuse::grid {

namespace {

// Model config keys that describe rather than define a model; not hashed.
const std::vector<std::string> kModelMetadata = {"gflops", "image_size", "description"};
const std::vector<std::string> kStandardAxes = {"model", "dataset", "init", "source", "seed"};

// Loads configs/<kind>/<name>.yaml once.
class BlockCache {
 public:
  explicit BlockCache(std::string dir) : dir_(std::move(dir)) {}

  const ConfigDoc& get(const std::string& kind, const std::string& name, const std::string& where,
                       const std::string& key) {
    const std::string path = dir_ + "/" + kind + "/" + name + ".yaml";
    auto it = docs_.find(path);
    if (it != docs_.end()) return it->second;
    if (!std::filesystem::exists(path))
      throw ConfigError(where, key, "unknown " + singular(kind) + " '" + name + "': no " + path +
                                        " (known: " + known(kind) + ")");
    ConfigDoc doc = load_yaml_file(path);
    if (!doc.value.is_object()) throw ConfigError(path, "", "expected a mapping");
    return docs_.emplace(path, std::move(doc)).first->second;
  }

  std::string known(const std::string& kind) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/" + kind, ec))
      if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
  }

 private:
  static std::string singular(const std::string& kind) {
    return kind == "models" ? "model" : kind == "datasets" ? "dataset" : "recipe";
  }
  std::string dir_;
  std::map<std::string, ConfigDoc> docs_;
};

// A dotted path "a.b.c" with a value, as a nested override {"a": {"b": {"c": v}}}.
json nested(const std::string& path, const json& value) {
  json out = value;
  std::string rest = path;
  std::vector<std::string> parts;
  size_t pos;
  while ((pos = rest.find('.')) != std::string::npos) {
    parts.push_back(rest.substr(0, pos));
    rest = rest.substr(pos + 1);
  }
  parts.push_back(rest);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) out = json{{*it, out}};
  return out;
}

void merge_into(json& target, const json& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_object() && target.contains(it.key()) && target[it.key()].is_object())
      merge_into(target[it.key()], it.value());
    else
      target[it.key()] = it.value();
  }
}

struct AxisRole {
  enum Kind { standard, recipe, model, dataset, init_param } kind;
  std::string path;  // key path inside the block (or the init parameter)
};

struct Resolver {
  const JobSpec& job;
  const Catalog& catalog;
  BlockCache blocks;
  json recipe_base;
  std::map<std::string, AxisRole> roles;

  Resolver(const JobSpec& j, const Catalog& c) : job(j), catalog(c), blocks(j.configs_dir) {
    const ConfigDoc& recipe = blocks.get("recipes", job.recipe, job.doc.where("recipe"), "recipe");
    recipe_base = recipe.value;
    if (job.overrides.contains("recipe"))
      recipe_base = merge_typed(recipe_base, job.overrides["recipe"], job.doc.file, "overrides.recipe");
    for (const auto& [name, values] : job.axes) roles[name] = classify(name);
  }

  const InitScheme& scheme(const std::string& name, const std::string& where, const std::string& key) const {
    for (const auto& s : catalog.init_schemes)
      if (s.name == name) return s;
    std::string known;
    for (const auto& s : catalog.init_schemes) known += (known.empty() ? "" : ", ") + s.name;
    throw ConfigError(where, key, "unknown init '" + name + "'; known: " + known);
  }

  AxisRole classify(const std::string& name) const {
    const std::string where = job.doc.where("grid." + name);
    if (std::find(kStandardAxes.begin(), kStandardAxes.end(), name) != kStandardAxes.end())
      return {AxisRole::standard, name};
    auto dotted = [&](const char* prefix, AxisRole::Kind kind) -> std::optional<AxisRole> {
      const std::string p = std::string(prefix) + ".";
      if (name.rfind(p, 0) == 0) return AxisRole{kind, name.substr(p.size())};
      return std::nullopt;
    };
    if (auto r = dotted("recipe", AxisRole::recipe)) return *r;
    if (auto r = dotted("model", AxisRole::model)) return *r;
    if (auto r = dotted("dataset", AxisRole::dataset)) return *r;
    if (auto r = dotted("init", AxisRole::init_param)) return *r;
    const bool in_recipe = recipe_base.contains(name);
    bool in_init = false;
    for (const auto& s : catalog.init_schemes) in_init = in_init || s.params.contains(name);
    if (in_recipe && in_init)
      throw ConfigError(where, "grid." + name, "ambiguous axis: write recipe." + name + " or init." + name);
    if (in_recipe) return {AxisRole::recipe, name};
    if (in_init) return {AxisRole::init_param, name};
    std::string keys;
    for (auto it = recipe_base.begin(); it != recipe_base.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
    throw ConfigError(where, "grid." + name,
                      "unknown axis; an axis is one of model, dataset, init, source, seed, a recipe key (" +
                          keys + "), an init parameter, or a dotted recipe./model./dataset./init. path");
  }

  json model_config(const std::string& name, const json& patch, const std::string& where,
                    const std::string& key) {
    const ConfigDoc& doc = blocks.get("models", name, where, key);
    json value = doc.value;
    if (job.overrides.contains("model"))
      value = merge_typed(value, job.overrides["model"], job.doc.file, "overrides.model");
    if (!patch.empty()) value = merge_typed(value, patch, job.doc.file, "grid: model");
    if (!value.contains("arch") || !value["arch"].is_string())
      throw ConfigError(doc.file, "arch", "a model config needs an 'arch' string (a registered architecture)");
    value["name"] = name;
    if (catalog.check_model) catalog.check_model(value, doc.file);
    return value;
  }

  json dataset_config(const std::string& name, const json& patch, const std::string& where,
                      const std::string& key) {
    const ConfigDoc& doc = blocks.get("datasets", name, where, key);
    json value = doc.value;
    if (job.overrides.contains("dataset"))
      value = merge_typed(value, job.overrides["dataset"], job.doc.file, "overrides.dataset");
    if (!patch.empty()) value = merge_typed(value, patch, job.doc.file, "grid: dataset");
    if (!value.contains("reader") || !value["reader"].is_string())
      throw ConfigError(doc.file, "reader", "a dataset config needs a 'reader' string");
    value["name"] = name;
    return value;
  }
};

std::string scalar_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

bool matches(const json& pattern, const json& point) {
  for (auto it = pattern.begin(); it != pattern.end(); ++it) {
    if (!point.contains(it.key())) return false;
    const json& want = it.value();
    const json& have = point[it.key()];
    if (want.is_array()) {
      if (std::find(want.begin(), want.end(), have) == want.end()) return false;
    } else if (want != have) {
      return false;
    }
  }
  return true;
}

void check_filter_axes(const JobSpec& job, const std::vector<json>& filters, const char* key) {
  for (size_t i = 0; i < filters.size(); ++i)
    for (auto it = filters[i].begin(); it != filters[i].end(); ++it) {
      bool known = false;
      for (const auto& [name, values] : job.axes) known = known || name == it.key();
      if (!known) {
        const std::string at = std::string(key) + "[" + std::to_string(i) + "]." + it.key();
        throw ConfigError(job.doc.where(std::string(key) + "[" + std::to_string(i) + "]"), at,
                          "not an axis of this grid");
      }
    }
}

std::string make_key(const std::vector<std::string>& axis_names, const json& axes) {
  std::string out;
  for (const auto& name : axis_names)
    if (axes.contains(name) && !axes[name].is_null())
      out += (out.empty() ? "" : " ") + name + "=" + scalar_text(axes[name]);
  return out;
}

void order_and_prioritise(Plan& plan) {
  // Topological order (dependencies first), stable in declaration order.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < plan.tasks.size(); ++i) index[plan.tasks[i].id] = i;
  std::vector<int> state(plan.tasks.size(), 0);
  std::vector<Task> ordered;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (state[i] == 2) return;
    if (state[i] == 1) throw Error("sources depend on each other in a cycle (at '" + plan.tasks[i].key + "')");
    state[i] = 1;
    for (const auto& d : plan.tasks[i].deps) visit(index.at(d));
    state[i] = 2;
    ordered.push_back(plan.tasks[i]);
  };
  for (size_t i = 0; i < plan.tasks.size(); ++i) visit(i);
  plan.tasks = std::move(ordered);
  // Priority = own cost + the longest chain of dependents after it.
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < plan.tasks.size(); ++i) pos[plan.tasks[i].id] = i;
  for (auto& t : plan.tasks) t.priority = t.cost;
  for (size_t i = plan.tasks.size(); i-- > 0;) {
    for (const auto& d : plan.tasks[i].deps) {
      Task& dep = plan.tasks[pos.at(d)];
      dep.priority = std::max(dep.priority, dep.cost + plan.tasks[i].priority);
    }
  }
}

}  // namespace

std::string canonical(const json& config) { return config.dump(); }

json identity_view(const json& config) {
  json view = config;
  if (view.contains("weights") && view["weights"].is_object()) view["weights"].erase("path");
  if (view.contains("dataset") && view["dataset"].is_object()) {
    view["dataset"].erase("root");
    view["dataset"].erase("cache");
  }
  if (view.contains("model") && view["model"].is_object())
    for (const auto& k : kModelMetadata) view["model"].erase(k);
  return view;
}

std::string task_id(const json& config) { return stable_id(canonical(identity_view(config))); }

size_t Plan::index_of(const std::string& id) const {
  for (size_t i = 0; i < tasks.size(); ++i)
    if (tasks[i].id == id) return i;
  throw Error("no task with id '" + id + "' in this plan");
}

Plan expand(const JobSpec& job, const Catalog& catalog) {
  Resolver r(job, catalog);
  Plan plan;
  plan.job_name = job.name;
  check_filter_axes(job, job.include, "include");
  check_filter_axes(job, job.exclude, "exclude");
  bool has_model = false, has_dataset = false;
  for (const auto& [name, values] : job.axes) {
    has_model = has_model || name == "model";
    has_dataset = has_dataset || name == "dataset";
  }
  if (!has_model || !has_dataset)
    throw ConfigError(job.doc.where("grid"), "grid", "needs at least the axes model and dataset");

  for (const auto& s : kStandardAxes) plan.axis_names.push_back(s);
  for (const auto& [name, values] : job.axes)
    if (r.roles[name].kind != AxisRole::standard) plan.axis_names.push_back(name);

  // Sources first: they are tasks of their own that cells depend on.
  std::map<std::string, std::string> source_ids;      // name -> id
  std::map<std::string, json> source_models;          // name -> resolved model config
  const std::set<std::string> source_keys = {"model", "dataset", "seed", "init", "source", "recipe", "weights"};
  std::set<std::string> st_ids;
  // The ST draw of a source for one seed: one task, shared by every cell that uses it.
  auto st_task = [&](const std::string& source, const json& seed, bool sample_embeddings) {
    Task t;
    t.kind = "st";
    t.config = {{"kind", "st"}, {"source", source_ids.at(source)}, {"seed", seed},
                {"sample_embeddings", sample_embeddings}};
    t.id = task_id(t.config);
    if (st_ids.insert(t.id).second) {
      t.axes = {{"source", source}, {"seed", seed}};
      t.key = "st source=" + source + " seed=" + seed.dump() + (sample_embeddings ? " embeddings" : "");
      t.deps = {source_ids.at(source)};
      plan.tasks.push_back(t);
    }
    return t.id;
  };
  // A transferring init: its source, and the ST draw where the scheme uses one.
  auto attach_source = [&](json& init, const InitScheme& scheme, const std::string& source, const json& seed,
                           std::vector<std::string>& deps) {
    init["source"] = source_ids.at(source);
    deps.push_back(source_ids.at(source));
    if (scheme.needs_st) {
      init["st_state"] = st_task(source, seed, init.value("st_sample_embeddings", false));
      deps.push_back(init["st_state"]);
    }
  };
  std::vector<SourceSpec> pending = job.sources;
  // Resolve in an order where a source's own source comes first.
  for (size_t guard = 0; !pending.empty(); ++guard) {
    if (guard > job.sources.size() + 1)
      throw ConfigError(job.doc.where("sources"), "sources", "sources refer to each other in a cycle");
    std::vector<SourceSpec> later;
    for (const auto& s : pending) {
      const std::string at = "sources." + s.name;
      const std::string where = job.doc.where(at);
      if (s.fields.contains("source") && !source_ids.count(scalar_text(s.fields["source"]))) {
        bool declared = false;
        for (const auto& o : job.sources) declared = declared || o.name == scalar_text(s.fields["source"]);
        if (!declared)
          throw ConfigError(where, at + ".source", "no source named '" + scalar_text(s.fields["source"]) + "'");
        later.push_back(s);
        continue;
      }
      if (s.fields.contains("weights")) {
        // A source from a weight file (e.g. ImageNet): identified by its content.
        for (auto it = s.fields.begin(); it != s.fields.end(); ++it)
          if (it.key() != "model" && it.key() != "weights")
            throw ConfigError(where, at + "." + it.key(), "a source from a weight file takes only model and weights");
        if (!s.fields.contains("model") || !s.fields["model"].is_string())
          throw ConfigError(where, at + ".model", "a source needs a model name");
        if (!s.fields["weights"].is_string())
          throw ConfigError(where, at + ".weights", "expected the path of a .pth or .safetensors file");
        std::filesystem::path file = s.fields["weights"].get<std::string>();
        if (file.is_relative()) file = std::filesystem::absolute(job.doc.file).parent_path() / file;
        file = file.lexically_normal();
        if (!std::filesystem::is_regular_file(file))
          throw ConfigError(where, at + ".weights", "no such file '" + file.string() + "'");
        Task t;
        t.kind = "import";
        json model = r.model_config(s.fields["model"], json::object(), where, at + ".model");
        t.config = {{"kind", "import"}, {"name", s.name}, {"model", model},
                    {"weights", {{"path", file.string()}, {"content", file_id(file.string())}}}};
        t.axes = {{"model", s.fields["model"]}, {"source", s.name}};
        t.key = "source=" + s.name;
        t.id = task_id(t.config);
        source_ids[s.name] = t.id;
        source_models[s.name] = model;
        plan.tasks.push_back(std::move(t));
        continue;
      }
      json init_params = json::object();
      for (auto it = s.fields.begin(); it != s.fields.end(); ++it) {
        if (source_keys.count(it.key())) continue;
        init_params[it.key()] = it.value();
      }
      for (const char* k : {"model", "dataset"})
        if (!s.fields.contains(k) || !s.fields[k].is_string())
          throw ConfigError(where, at + "." + k, "a source needs a " + std::string(k) + " name");
      Task t;
      t.kind = "source";
      json model = r.model_config(s.fields["model"], json::object(), where, at + ".model");
      json dataset = r.dataset_config(s.fields["dataset"], json::object(), where, at + ".dataset");
      json recipe = r.recipe_base;
      if (s.fields.contains("recipe")) recipe = merge_typed(recipe, s.fields["recipe"], job.doc.file, at + ".recipe");
      const json seed = s.fields.value("seed", json(0));
      if (!seed.is_number_integer()) throw ConfigError(where, at + ".seed", "expected an integer");
      const std::string init_name = s.fields.contains("init") ? scalar_text(s.fields["init"]) : "ri";
      const InitScheme& scheme = r.scheme(init_name, where, at + ".init");
      json init = scheme.params.is_object() ? scheme.params : json::object();
      init = merge_typed(init, init_params, job.doc.file, at);
      init["scheme"] = init_name;
      if (scheme.needs_source) {
        if (!s.fields.contains("source"))
          throw ConfigError(where, at + ".source", "init '" + init_name + "' needs a source");
        attach_source(init, scheme, scalar_text(s.fields["source"]), seed, t.deps);
      }
      t.config = {{"kind", "source"}, {"name", s.name}, {"model", model}, {"dataset", dataset},
                  {"init", init},     {"recipe", recipe}, {"seed", seed}};
      t.axes = {{"model", s.fields["model"]}, {"dataset", s.fields["dataset"]}, {"init", init_name},
                {"source", s.name}, {"seed", seed}};
      t.key = "source=" + s.name;
      t.id = task_id(t.config);
      source_ids[s.name] = t.id;
      source_models[s.name] = model;
      plan.tasks.push_back(std::move(t));
    }
    pending = std::move(later);
  }

  // The cartesian product of the axes, first axis varying slowest.
  std::vector<size_t> counter(job.axes.size(), 0);
  std::map<std::string, size_t> by_id;
  for (const auto& t : plan.tasks) by_id[t.id] = 0;
  bool more = true;
  while (more) {
    ++plan.grid_points;
    json point = json::object();
    for (size_t a = 0; a < job.axes.size(); ++a) point[job.axes[a].first] = job.axes[a].second[counter[a]];
    for (size_t a = job.axes.size(); a-- > 0;) {
      if (++counter[a] < job.axes[a].second.size()) break;
      counter[a] = 0;
      if (a == 0) more = false;
    }
    if (job.axes.empty()) more = false;

    bool keep = job.include.empty();
    for (const auto& p : job.include) keep = keep || matches(p, point);
    for (const auto& p : job.exclude) keep = keep && !matches(p, point);
    if (!keep) {
      ++plan.filtered;
      continue;
    }

    json model_patch = json::object(), dataset_patch = json::object(), recipe_patch = json::object(),
         init_patch = json::object();
    for (auto it = point.begin(); it != point.end(); ++it) {
      const AxisRole& role = r.roles[it.key()];
      if (role.kind == AxisRole::model) merge_into(model_patch, nested(role.path, it.value()));
      if (role.kind == AxisRole::dataset) merge_into(dataset_patch, nested(role.path, it.value()));
      if (role.kind == AxisRole::recipe) merge_into(recipe_patch, nested(role.path, it.value()));
      if (role.kind == AxisRole::init_param) init_patch[role.path] = it.value();
    }
    const std::string where = job.doc.where("grid");
    if (!point["model"].is_string()) throw ConfigError(where, "grid.model", "model values must be names");
    if (!point["dataset"].is_string()) throw ConfigError(where, "grid.dataset", "dataset values must be names");
    json model = r.model_config(point["model"], model_patch, job.doc.where("grid.model"), "grid.model");
    json dataset = r.dataset_config(point["dataset"], dataset_patch, job.doc.where("grid.dataset"), "grid.dataset");
    json recipe = recipe_patch.empty() ? r.recipe_base : merge_typed(r.recipe_base, recipe_patch, job.doc.file, "grid");
    const json seed = point.value("seed", json(0));
    if (!seed.is_number_integer()) throw ConfigError(job.doc.where("grid.seed"), "grid.seed", "seeds must be integers");
    const std::string init_name = point.contains("init") ? scalar_text(point["init"]) : "ri";
    const InitScheme& scheme = r.scheme(init_name, job.doc.where("grid.init"), "grid.init");

    json axes = point;
    axes["init"] = init_name;
    axes["seed"] = seed;
    json init = scheme.params.is_object() ? scheme.params : json::object();
    for (auto it = init_patch.begin(); it != init_patch.end(); ++it) {
      if (init.contains(it.key())) init[it.key()] = it.value();
      else for (const auto& [name, role] : r.roles)
        if (role.kind == AxisRole::init_param && role.path == it.key()) axes[name] = nullptr;
    }
    init["scheme"] = init_name;
    std::vector<std::string> deps;
    if (scheme.needs_source) {
      std::string src;
      if (point.contains("source")) {
        src = scalar_text(point["source"]);
        if (!source_ids.count(src))
          throw ConfigError(job.doc.where("grid.source"), "grid.source", "no source named '" + src + "' in sources:");
        if (source_models[src] != model) {
          ++plan.source_mismatch;
          continue;
        }
      } else {
        std::vector<std::string> candidates;
        for (const auto& [name, m] : source_models)
          if (m == model) candidates.push_back(name);
        if (candidates.size() != 1)
          throw ConfigError(job.doc.where("grid.init"), "grid.init",
                            "init '" + init_name + "' for model '" + point["model"].get<std::string>() + "' needs " +
                                (candidates.empty() ? "a source: declare one in sources: with this model"
                                                    : "one source but several match: add a source axis"));
        src = candidates[0];
      }
      attach_source(init, scheme, src, seed, deps);
      axes["source"] = src;
    } else {
      axes["source"] = nullptr;
    }

    Task t;
    t.kind = "cell";
    t.config = {{"kind", "cell"}, {"model", model}, {"dataset", dataset}, {"init", init},
                {"recipe", recipe}, {"seed", seed}};
    t.id = task_id(t.config);
    if (by_id.count(t.id)) {
      ++plan.duplicates;
      continue;
    }
    t.axes = axes;
    t.key = make_key(plan.axis_names, axes);
    t.deps = deps;
    by_id[t.id] = 0;
    plan.tasks.push_back(std::move(t));
  }

  for (auto& t : plan.tasks) {
    if (!catalog.estimate_cost) continue;
    try {
      t.cost = catalog.estimate_cost(t.config);
    } catch (const std::exception&) {
      t.cost = 0;  // unknown (e.g. missing data): the task itself will say why
    }
  }
  order_and_prioritise(plan);
  return plan;
}

}  // namespace featreuse::grid
