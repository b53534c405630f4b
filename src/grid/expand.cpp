#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/hash.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/grid/plan.hpp"

namespace featreuse::grid {

namespace {

// Model config keys that describe rather than define a model; not hashed.
const std::vector<std::string> kModelMetadata = {"gflops", "image_size", "description"};
// Recipe keys added after stores existed, with the value that means what a
// recipe without them meant: that value is left out of task ids.
const std::vector<std::pair<std::string, json>> kRecipeKeysWithSilentDefaults = {
    {"checkpoint_dtype", "float32"}, {"memory_format", "contiguous"}, {"cuda_graphs", false}};
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
    std::error_code ec;  // a name the file system refuses (too long, ...) is unknown too
    if (!std::filesystem::exists(path, ec))
      throw ConfigError(
          where, key,
          "unknown " + singular(kind) + " '" + name + "': no " + path + " (known: " + known(kind) + ")");
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
    const std::string out = join(names);
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
    const std::string known = join(catalog.init_schemes, ", ", [](const auto& item) { return item.name; });
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
    for (auto it = recipe_base.begin(); it != recipe_base.end(); ++it)
      keys += (keys.empty() ? "" : ", ") + it.key();
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
      throw ConfigError(doc.file, "arch",
                        "a model config needs an 'arch' string (a registered architecture)");
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
    if (state[i] == 1)
      throw Error("sources depend on each other in a cycle (at '" + plan.tasks[i].key + "')");
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
    view["dataset"].erase("split_sizes");  // the expected sizes, for plan's costs: they describe the data
  }
  // Choices whose default must not change the ids of stores made before they existed.
  if (view.contains("recipe") && view["recipe"].is_object())
    for (const auto& [key, silent] : kRecipeKeysWithSilentDefaults)
      if (view["recipe"].value(key, json()) == silent) view["recipe"].erase(key);
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

namespace {

// A job's expansion into a plan: the sources first (tasks the cells depend
// on, with their ST draws), then the filtered grid product, then costs and
// the scheduling order.
class Expansion {
 public:
  Expansion(const JobSpec& job, const Catalog& catalog) : job_(job), catalog_(catalog), r_(job, catalog) {}

  Plan run() {
    check_axes();
    plan_.job_name = job_.name;
    for (const auto& s : kStandardAxes) plan_.axis_names.push_back(s);
    for (const auto& [name, values] : job_.axes)
      if (r_.roles[name].kind != AxisRole::standard) plan_.axis_names.push_back(name);
    resolve_sources();
    expand_grid();
    plan_analyses();
    estimate_costs();
    order_and_prioritise(plan_);
    return std::move(plan_);
  }

 private:
  void check_axes() const {
    check_filter_axes(job_, job_.include, "include");
    check_filter_axes(job_, job_.exclude, "exclude");
    bool has_model = false, has_dataset = false;
    for (const auto& [name, values] : job_.axes) {
      has_model = has_model || name == "model";
      has_dataset = has_dataset || name == "dataset";
    }
    if (!has_model || !has_dataset)
      throw ConfigError(job_.doc.where("grid"), "grid", "needs at least the axes model and dataset");
  }

  // ---- sources ----

  // Resolves every source in an order where a source's own source comes first.
  void resolve_sources() {
    std::vector<SourceSpec> pending = job_.sources;
    for (size_t guard = 0; !pending.empty(); ++guard) {
      if (guard > job_.sources.size() + 1)
        throw ConfigError(job_.doc.where("sources"), "sources", "sources refer to each other in a cycle");
      std::vector<SourceSpec> later;
      for (const auto& s : pending) {
        if (waits_for_its_source(s)) {
          later.push_back(s);
          continue;
        }
        add_source(s.fields.contains("weights") ? imported_source(s) : trained_source(s));
      }
      pending = std::move(later);
    }
  }

  bool waits_for_its_source(const SourceSpec& s) const {
    if (!s.fields.contains("source") || source_ids_.count(scalar_text(s.fields["source"]))) return false;
    bool declared = false;
    for (const auto& o : job_.sources) declared = declared || o.name == scalar_text(s.fields["source"]);
    if (!declared)
      throw ConfigError(job_.doc.where("sources." + s.name), "sources." + s.name + ".source",
                        "no source named '" + scalar_text(s.fields["source"]) + "'");
    return true;
  }

  void add_source(Task t) {
    const std::string name = t.config["name"];
    source_ids_[name] = t.id;
    source_models_[name] = t.config["model"];
    plan_.tasks.push_back(std::move(t));
  }

  // A source from a weight file (e.g. ImageNet): identified by its content.
  Task imported_source(const SourceSpec& s) {
    const std::string at = "sources." + s.name, where = job_.doc.where(at);
    for (auto it = s.fields.begin(); it != s.fields.end(); ++it)
      if (it.key() != "model" && it.key() != "weights")
        throw ConfigError(where, at + "." + it.key(),
                          "a source from a weight file takes only model and weights");
    if (!s.fields.contains("model") || !s.fields["model"].is_string())
      throw ConfigError(where, at + ".model", "a source needs a model name");
    if (!s.fields["weights"].is_string())
      throw ConfigError(where, at + ".weights", "expected the path of a .pth or .safetensors file");
    std::filesystem::path file = s.fields["weights"].get<std::string>();
    if (file.is_relative()) file = std::filesystem::absolute(job_.doc.file).parent_path() / file;
    file = file.lexically_normal();
    std::error_code ec;  // a path the file system refuses (too long, ...) is missing too
    const bool missing = !std::filesystem::is_regular_file(file, ec);
    if (missing) {
      const ConfigError problem(where, at + ".weights", "no such file '" + file.string() + "'");
      if (catalog_.missing_weights == Catalog::MissingWeights::refuse) throw problem;
      plan_.missing_weights.push_back(problem.what());
    }
    Task t;
    t.kind = TaskKind::import;
    t.config = {
        {"kind", "import"},
        {"name", s.name},
        {"model", r_.model_config(s.fields["model"], json::object(), where, at + ".model")},
        {"weights", {{"path", file.string()}, {"content", missing ? "missing" : file_id(file.string())}}}};
    t.axes = {{"model", s.fields["model"]}, {"source", s.name}};
    t.key = "source=" + s.name;
    t.id = task_id(t.config);
    return t;
  }

  // A source trained in the job: like a cell, with its own recipe and init.
  Task trained_source(const SourceSpec& s) {
    static const std::set<std::string> source_keys = {"model",  "dataset", "seed",   "init",
                                                      "source", "recipe",  "weights"};
    const std::string at = "sources." + s.name, where = job_.doc.where(at);
    json init_params = json::object();
    for (auto it = s.fields.begin(); it != s.fields.end(); ++it)
      if (!source_keys.count(it.key())) init_params[it.key()] = it.value();
    for (const char* k : {"model", "dataset"})
      if (!s.fields.contains(k) || !s.fields[k].is_string())
        throw ConfigError(where, at + "." + k, "a source needs a " + std::string(k) + " name");
    Task t;
    t.kind = TaskKind::source;
    json model = r_.model_config(s.fields["model"], json::object(), where, at + ".model");
    json dataset = r_.dataset_config(s.fields["dataset"], json::object(), where, at + ".dataset");
    json recipe = r_.recipe_base;
    if (s.fields.contains("recipe"))
      recipe = merge_typed(recipe, s.fields["recipe"], job_.doc.file, at + ".recipe");
    const json seed = s.fields.value("seed", json(0));
    if (!seed.is_number_integer()) throw ConfigError(where, at + ".seed", "expected an integer");
    const std::string init_name = s.fields.contains("init") ? scalar_text(s.fields["init"]) : "ri";
    const InitScheme& scheme = r_.scheme(init_name, where, at + ".init");
    json init = scheme.params.is_object() ? scheme.params : json::object();
    init = merge_typed(init, init_params, job_.doc.file, at);
    init["scheme"] = init_name;
    if (scheme.needs_source) {
      if (!s.fields.contains("source"))
        throw ConfigError(where, at + ".source", "init '" + init_name + "' needs a source");
      attach_source(init, scheme, scalar_text(s.fields["source"]), seed, t.deps);
    }
    t.config = {{"kind", "source"}, {"name", s.name},   {"model", model}, {"dataset", dataset},
                {"init", init},     {"recipe", recipe}, {"seed", seed}};
    t.axes = {{"model", s.fields["model"]},
              {"dataset", s.fields["dataset"]},
              {"init", init_name},
              {"source", s.name},
              {"seed", seed}};
    t.key = "source=" + s.name;
    t.id = task_id(t.config);
    return t;
  }

  // A transferring init: its source, and the ST draw where the scheme uses one.
  void attach_source(json& init, const InitScheme& scheme, const std::string& source, const json& seed,
                     std::vector<std::string>& deps) {
    init["source"] = source_ids_.at(source);
    deps.push_back(source_ids_.at(source));
    if (scheme.needs_st) {
      init["st_state"] = st_task(source, seed, init.value("st_sample_embeddings", false));
      deps.push_back(init["st_state"]);
    }
  }

  // The ST draw of a source for one seed: one task, shared by every cell that uses it.
  std::string st_task(const std::string& source, const json& seed, bool sample_embeddings) {
    Task t;
    t.kind = TaskKind::st;
    t.config = {{"kind", "st"},
                {"source", source_ids_.at(source)},
                {"seed", seed},
                {"sample_embeddings", sample_embeddings}};
    t.id = task_id(t.config);
    if (st_ids_.insert(t.id).second) {
      t.axes = {{"source", source}, {"seed", seed}};
      t.key = "st source=" + source + " seed=" + seed.dump() + (sample_embeddings ? " embeddings" : "");
      t.deps = {source_ids_.at(source)};
      plan_.tasks.push_back(t);
    }
    return t.id;
  }

  // ---- the grid ----

  // The cartesian product of the axes, first axis varying slowest; filtered,
  // with points that resolve to the same cell counted once.
  void expand_grid() {
    std::set<std::string> ids;
    for (const auto& t : plan_.tasks) ids.insert(t.id);
    std::vector<size_t> counter(job_.axes.size(), 0);
    bool more = true;
    while (more) {
      ++plan_.grid_points;
      json point = json::object();
      for (size_t a = 0; a < job_.axes.size(); ++a)
        point[job_.axes[a].first] = job_.axes[a].second[counter[a]];
      more = advance(counter);
      if (!kept_by_filters(point)) {
        ++plan_.filtered;
        continue;
      }
      std::optional<Task> cell = cell_at(point);
      if (!cell) continue;  // counted as a source mismatch
      if (!ids.insert(cell->id).second) {
        ++plan_.duplicates;
        continue;
      }
      plan_.tasks.push_back(std::move(*cell));
    }
  }

  // The next grid point (the last axis varies fastest); false after the last.
  bool advance(std::vector<size_t>& counter) const {
    if (job_.axes.empty()) return false;
    for (size_t a = job_.axes.size(); a-- > 0;) {
      if (++counter[a] < job_.axes[a].second.size()) return true;
      counter[a] = 0;
    }
    return false;
  }

  bool kept_by_filters(const json& point) const {
    bool keep = job_.include.empty();
    for (const auto& p : job_.include) keep = keep || matches(p, point);
    for (const auto& p : job_.exclude) keep = keep && !matches(p, point);
    return keep;
  }

  // The patches a grid point's non-standard axes make to the model, dataset,
  // recipe and init.
  struct Patches {
    json model = json::object(), dataset = json::object(), recipe = json::object(), init = json::object();
  };
  Patches patches_at(const json& point) {
    Patches p;
    for (auto it = point.begin(); it != point.end(); ++it) {
      const AxisRole& role = r_.roles[it.key()];
      if (role.kind == AxisRole::model) merge_into(p.model, nested(role.path, it.value()));
      if (role.kind == AxisRole::dataset) merge_into(p.dataset, nested(role.path, it.value()));
      if (role.kind == AxisRole::recipe) merge_into(p.recipe, nested(role.path, it.value()));
      if (role.kind == AxisRole::init_param) p.init[role.path] = it.value();
    }
    return p;
  }

  // The cell at a grid point; none when its source is another model's.
  std::optional<Task> cell_at(const json& point) {
    const Patches patch = patches_at(point);
    const std::string where = job_.doc.where("grid");
    if (!point["model"].is_string()) throw ConfigError(where, "grid.model", "model values must be names");
    if (!point["dataset"].is_string())
      throw ConfigError(where, "grid.dataset", "dataset values must be names");
    json model = r_.model_config(point["model"], patch.model, job_.doc.where("grid.model"), "grid.model");
    json dataset =
        r_.dataset_config(point["dataset"], patch.dataset, job_.doc.where("grid.dataset"), "grid.dataset");
    json recipe = patch.recipe.empty() ? r_.recipe_base
                                       : merge_typed(r_.recipe_base, patch.recipe, job_.doc.file, "grid");
    const json seed = point.value("seed", json(0));
    if (!seed.is_number_integer())
      throw ConfigError(job_.doc.where("grid.seed"), "grid.seed", "seeds must be integers");
    const std::string init_name = point.contains("init") ? scalar_text(point["init"]) : "ri";
    const InitScheme& scheme = r_.scheme(init_name, job_.doc.where("grid.init"), "grid.init");

    json axes = point;
    axes["init"] = init_name;
    axes["seed"] = seed;
    json init = scheme.params.is_object() ? scheme.params : json::object();
    for (auto it = patch.init.begin(); it != patch.init.end(); ++it) {
      if (init.contains(it.key()))
        init[it.key()] = it.value();
      else  // a parameter this scheme does not take: the axis does not apply
        for (const auto& [name, role] : r_.roles)
          if (role.kind == AxisRole::init_param && role.path == it.key()) axes[name] = nullptr;
    }
    init["scheme"] = init_name;
    std::vector<std::string> deps;
    axes["source"] = nullptr;
    if (scheme.needs_source) {
      const std::optional<std::string> source = source_for(point, model, init_name);
      if (!source) {
        ++plan_.source_mismatch;
        return std::nullopt;
      }
      attach_source(init, scheme, *source, seed, deps);
      axes["source"] = *source;
    }
    Task t;
    t.kind = TaskKind::cell;
    t.config = {{"kind", "cell"}, {"model", model},   {"dataset", dataset},
                {"init", init},   {"recipe", recipe}, {"seed", seed}};
    t.id = task_id(t.config);
    t.axes = axes;
    t.key = make_key(plan_.axis_names, axes);
    t.deps = deps;
    return t;
  }

  // The source a transferring cell takes: the point's source axis (none when
  // that source is another model's), or the one source of its model.
  std::optional<std::string> source_for(const json& point, const json& model, const std::string& init_name) {
    if (point.contains("source")) {
      const std::string src = scalar_text(point["source"]);
      if (!source_ids_.count(src))
        throw ConfigError(job_.doc.where("grid.source"), "grid.source",
                          "no source named '" + src + "' in sources:");
      if (source_models_[src] != model) return std::nullopt;
      return src;
    }
    std::vector<std::string> candidates;
    for (const auto& [name, m] : source_models_)
      if (m == model) candidates.push_back(name);
    if (candidates.size() != 1)
      throw ConfigError(job_.doc.where("grid.init"), "grid.init",
                        "init '" + init_name + "' for model '" + point["model"].get<std::string>() +
                            "' needs " +
                            (candidates.empty() ? "a source: declare one in sources: with this model"
                                                : "one source but several match: add a source axis"));
    return candidates[0];
  }

  // ---- analyses ----

  // Every analysis of the job for every cell it applies to, after the grid:
  // the cells' ids never depend on the analyses.
  void plan_analyses() {
    std::vector<size_t> cells;
    std::map<std::string, size_t> cell_by_axes;
    for (size_t i = 0; i < plan_.tasks.size(); ++i)
      if (plan_.tasks[i].kind == TaskKind::cell) {
        cells.push_back(i);
        cell_by_axes.emplace(plan_.tasks[i].axes.dump(), i);
      }
    for (const auto& spec : job_.analyses) {
      const std::string at = "analyses." + spec.name, where = job_.doc.where("analyses");
      const AnalysisScheme& scheme = analysis_scheme(spec.name, where, at);
      const json options = merge_typed(scheme.defaults, spec.options, job_.doc.file, at);
      if (scheme.check) try {
          scheme.check(options);
        } catch (const ConfigError&) {
          throw;
        } catch (const std::exception& e) {
          throw ConfigError(where, at, e.what());
        }
      check_filter_axes(job_, {spec.cells}, (at + ".cells").c_str());
      for (size_t i : cells) {
        const Task cell = plan_.tasks[i];  // a copy: push_back below reallocates
        if (!spec.cells.empty() && !matches(spec.cells, cell.axes)) continue;
        std::vector<std::string> analysed = {cell.id};
        std::string partner;
        if (!scheme.partner_init.empty()) {
          partner = partner_of(cell, scheme.partner_init, cell_by_axes);
          if (partner.empty()) {
            ++plan_.analyses_skipped;
            continue;
          }
          analysed.push_back(partner);
        }
        if (scheme.applies && !scheme.applies(cell.config)) {
          ++plan_.analyses_skipped;
          continue;
        }
        plan_.tasks.push_back(analysis_task(spec.name, options, cell, analysed, scheme.partner_init));
      }
    }
  }

  const AnalysisScheme& analysis_scheme(const std::string& name, const std::string& where,
                                        const std::string& key) const {
    for (const auto& s : catalog_.analyses)
      if (s.name == name) return s;
    const std::string known = join(catalog_.analyses, ", ", [](const auto& item) { return item.name; });
    throw ConfigError(where, key,
                      "unknown analysis '" + name + "'; known: " + (known.empty() ? "none" : known));
  }

  // The cell a cross-network analysis compares `cell` with: same axes, the
  // partner's init, no init parameters. Empty when `cell` has no source, is
  // itself of the partner's init, or the grid has no such cell.
  std::string partner_of(const Task& cell, const std::string& partner_init,
                         const std::map<std::string, size_t>& cell_by_axes) const {
    if (cell.axes.value("source", json()).is_null() || cell.axes["init"] == partner_init) return "";
    json axes = cell.axes;
    axes["init"] = partner_init;
    for (const auto& [name, role] : r_.roles)
      if (role.kind == AxisRole::init_param) axes[name] = nullptr;
    auto it = cell_by_axes.find(axes.dump());
    return it == cell_by_axes.end() ? "" : plan_.tasks[it->second].id;
  }

  Task analysis_task(const std::string& name, const json& options, const Task& cell,
                     const std::vector<std::string>& analysed, const std::string& partner_init) const {
    Task t;
    t.kind = TaskKind::analysis;
    t.config = {{"kind", "analysis"}, {"analysis", name}, {"cells", analysed}, {"options", options}};
    t.id = task_id(t.config);
    t.axes = cell.axes;
    t.axes["analysis"] = name;
    t.key = name + " " + cell.key + (partner_init.empty() ? "" : " vs init=" + partner_init);
    t.deps = analysed;
    return t;
  }

  void estimate_costs() {
    std::map<std::string, const json*> config_of;
    for (const auto& t : plan_.tasks) config_of[t.id] = &t.config;
    std::map<std::string, std::set<std::string>> counted;  // analysed cell -> its shared passes counted
    for (auto& t : plan_.tasks) {
      try {
        if (t.kind != TaskKind::analysis && catalog_.estimate_cost)
          t.cost = catalog_.estimate_cost(t.config);
        else if (t.kind == TaskKind::analysis && catalog_.estimate_analysis_cost)
          t.cost = analysis_cost(t, *config_of.at(t.config["cells"][0]), counted[t.config["cells"][0]]);
      } catch (const std::exception&) {
        t.cost = 0;  // unknown (e.g. missing data): the task itself will say why
      }
    }
  }

  // Its own work, and the test passes of the cell that no earlier analysis counted.
  double analysis_cost(const Task& t, const json& cell_config, std::set<std::string>& counted) const {
    const AnalysisCost cost = catalog_.estimate_analysis_cost(t.config, cell_config);
    double total = cost.own;
    for (const auto& [pass, pass_cost] : cost.shared)
      if (counted.insert(pass).second) total += pass_cost;
    return total;
  }

  const JobSpec& job_;
  const Catalog& catalog_;
  Resolver r_;
  Plan plan_;
  std::map<std::string, std::string> source_ids_;  // source name -> task id
  std::map<std::string, json> source_models_;      // source name -> resolved model config
  std::set<std::string> st_ids_;                   // ST draw tasks already planned
};

}  // namespace

Plan expand(const JobSpec& job, const Catalog& catalog) { return Expansion(job, catalog).run(); }

}  // namespace featreuse::grid
