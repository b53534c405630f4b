#include "featreuse/models/model_config.hpp"

#include <algorithm>
#include <filesystem>

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "featreuse/models/registry.hpp"

namespace featreuse::models {

namespace fs = std::filesystem;

ModelConfig load_model_config(const std::string& path) {
  const ConfigDoc doc = load_yaml_file(path);
  const json& v = doc.value;
  if (!v.is_object()) throw ConfigError(path, "", "a model config must be a mapping");
  for (auto it = v.begin(); it != v.end(); ++it) {
    static const std::vector<std::string> known{"arch", "options", "gflops", "image_size"};
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      throw ConfigError(doc.where(it.key()), it.key(),
                        "unknown key (known: arch, options, gflops, image_size)");
  }
  ModelConfig out;
  out.file = path;
  out.name = fs::path(path).stem().string();
  if (!v.contains("arch") || !v["arch"].is_string())
    throw ConfigError(doc.where("arch"), "arch", "must be a registered model name (a string)");
  out.spec.arch = v["arch"].get<std::string>();
  if (!registry().contains(out.spec.arch))
    throw ConfigError(doc.where("arch"), "arch", registry().unknown(out.spec.arch));
  if (v.contains("options") && !v["options"].is_null()) {
    if (!v["options"].is_object())
      throw ConfigError(doc.where("options"), "options",
                        "must be a mapping, got " + describe_type(v["options"]));
    out.spec.options = v["options"];
  }
  out.spec.image_size = registry().info(out.spec.arch).default_image_size;
  if (v.contains("image_size")) {
    if (!v["image_size"].is_number_integer() || v["image_size"].get<int64_t>() < 1)
      throw ConfigError(doc.where("image_size"), "image_size", "must be a positive integer");
    out.spec.image_size = v["image_size"].get<int64_t>();
  }
  if (v.contains("gflops")) {
    if (!v["gflops"].is_number() || v["gflops"].get<double>() <= 0)
      throw ConfigError(doc.where("gflops"), "gflops", "must be a positive number");
    out.gflops = v["gflops"].get<double>();
  }
  return out;
}

std::vector<std::string> model_config_names(const std::string& configs_dir) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(configs_dir) / "models";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

ModelConfig resolve_model(const std::string& name, const std::string& configs_dir) {
  const fs::path as_path(name);
  if (as_path.extension() == ".yaml" || as_path.extension() == ".yml") {
    if (!fs::exists(as_path)) throw Error("model config '" + name + "' does not exist");
    return load_model_config(name);
  }
  const fs::path in_configs = fs::path(configs_dir) / "models" / (name + ".yaml");
  if (fs::exists(in_configs)) return load_model_config(in_configs.string());
  if (registry().contains(name)) {
    ModelConfig out;
    out.name = name;
    out.spec.arch = name;
    out.spec.image_size = registry().info(name).default_image_size;
    return out;
  }
  const std::string configs = join(model_config_names(configs_dir));
  const std::string archs = join(registry().names());
  throw Error("unknown model '" + name + "': not a .yaml file, not a config in " + configs_dir + "/models (" +
              (configs.empty() ? "none" : configs) + ") and not a registered architecture (" + archs + ")");
}

std::shared_ptr<Network> build_model(const ModelConfig& config, int64_t num_classes, int64_t in_channels) {
  ModelSpec spec = config.spec;
  spec.num_classes = num_classes;
  spec.in_channels = in_channels;
  try {
    return registry().create(spec);
  } catch (const ConfigError&) {
    throw;
  } catch (const Error& e) {
    if (config.file.empty()) throw;
    throw ConfigError(config.file, "options", e.what());
  }
}

}  // namespace featreuse::models
