// Layout options, the table of layout builders, and the shared file loader.
#include "featreuse/data/layout.hpp"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "featreuse/core/error.hpp"
#include "featreuse/core/registry.hpp"
#include "featreuse/core/text.hpp"
#include "layout_common.hpp"

namespace featreuse::data {

namespace {

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t\n'\"\\$`*?;&|<>()[]{}!#~") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

nlohmann::json LayoutOptions::to_json() const {
  return {{"root", root},
          {"size", size},
          {"channels", channels},
          {"split_file", split_file},
          {"holdout", holdout},
          {"split_seed", split_seed},
          {"dct_scaling", dct_scaling},
          {"csv", csv},
          {"path_column", path_column},
          {"label_columns", label_columns},
          {"split_column", split_column},
          {"image_dir", image_dir},
          {"ddsm_classes", ddsm_classes}};
}

LayoutOptions LayoutOptions::from_json(const nlohmann::json& c, const std::string& where) {
  LayoutOptions o;
  auto get = [&](const char* key, auto& out) {
    if (!c.contains(key) || c[key].is_null()) return;
    try {
      out = c[key].get<std::decay_t<decltype(out)>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(where + ": key '" + key + "' has the wrong type (" + c[key].dump() + ")");
    }
  };
  get("root", o.root);
  get("size", o.size);
  get("channels", o.channels);
  get("split_file", o.split_file);
  get("holdout", o.holdout);
  get("split_seed", o.split_seed);
  get("dct_scaling", o.dct_scaling);
  get("csv", o.csv);
  get("path_column", o.path_column);
  if (c.contains("label_columns") && c["label_columns"].is_string())
    o.label_columns = {c["label_columns"].get<std::string>()};
  else
    get("label_columns", o.label_columns);
  get("split_column", o.split_column);
  get("image_dir", o.image_dir);
  get("ddsm_classes", o.ddsm_classes);
  return o;
}

namespace {

// A layout: how to read it, the options that decide its cache's identity,
// and its default holdout (-1: the layout's split has none).
struct LayoutEntry {
  detail::Builder build;
  std::vector<const char*> keys;
  double holdout;
};

const featreuse::Registry<LayoutEntry>& layouts() {
  static const featreuse::Registry<LayoutEntry> table = [] {
    const std::vector<const char*> holdout_split = {"size", "holdout", "split_seed", "split_file",
                                                    "dct_scaling"};
    featreuse::Registry<LayoutEntry> t("dataset layout");
    t.add("aptos2019", {detail::build_aptos, holdout_split, 0.3});
    t.add("isic2019", {detail::build_isic, holdout_split, 0.2});
    t.add("chexpert", {detail::build_chexpert, {"size", "split_file", "dct_scaling"}, -1});
    t.add("pcam", {detail::build_pcam, {"size", "split_file"}, -1});
    t.add("cbis_ddsm", {detail::build_cbis_ddsm, {"size", "split_file", "dct_scaling", "ddsm_classes"}, -1});
    t.add("cbis_ddsm_pathology", {detail::build_cbis_ddsm_pathology,
                                  {"size", "split_file", "dct_scaling", "holdout", "split_seed", "image_dir"},
                                  0.1});
    t.add("folder", {detail::build_folder,
                     {"size", "channels", "holdout", "split_seed", "split_file", "dct_scaling"},
                     0.2});
    t.add("csv", {detail::build_csv,
                  {"size", "channels", "holdout", "split_seed", "split_file", "dct_scaling", "csv",
                   "path_column", "label_columns", "split_column", "image_dir"},
                  0.2});
    return t;
  }();
  return table;
}

}  // namespace

nlohmann::json layout_identity(const std::string& name, const LayoutOptions& options) {
  const LayoutEntry& r = layouts().get(name);
  LayoutOptions o = options;
  if (o.size == 0) o.size = name == "pcam" ? 96 : 256;
  if (o.channels == 0) o.channels = 3;
  if (o.holdout < 0) o.holdout = r.holdout;
  const nlohmann::json all = o.to_json();
  nlohmann::json out = {{"layout", name}};
  for (const char* key : r.keys) out[key] = all[key];
  return out;
}

std::string prepare_flags(const std::string& name, const LayoutOptions& options) {
  const nlohmann::json mine = layout_identity(name, options),
                       defaults = layout_identity(name, LayoutOptions{});
  std::ostringstream out;
  for (auto it = mine.begin(); it != mine.end(); ++it) {
    if (defaults[it.key()] == it.value()) continue;
    if (it.key() == "dct_scaling") {
      out << (it.value().get<bool>() ? "" : " --exact");
      continue;
    }
    std::string flag = it.key();
    for (char& ch : flag)
      if (ch == '_') ch = '-';
    std::string value;
    if (it.value().is_string())
      value = it.value().get<std::string>();
    else if (it.value().is_array())
      value = join(it.value().get<std::vector<std::string>>(), ",");
    else
      value = it.value().dump();
    out << " --" << flag << " " << shell_quote(value);
  }
  return out.str();
}

std::string prepare_command(const std::string& name, const LayoutOptions& options, const std::string& cache) {
  return "featreuse prepare " + name + " --root " + shell_quote(options.root.empty() ? "DIR" : options.root) +
         " --out " + shell_quote(cache) + prepare_flags(name, options);
}

std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string> layout_names() { return layouts().names(); }

bool is_layout(const std::string& name) { return layouts().contains(name); }

Layout load_layout(const std::string& name, const LayoutOptions& options) {
  const LayoutEntry& entry = layouts().get(name);
  if (options.root.empty()) throw UserError("dataset layout '" + name + "': no root folder given");
  if (!std::filesystem::is_directory(options.root))
    throw UserError("dataset layout '" + name + "': root '" + options.root + "' is not a folder");
  if (options.size < 0 || options.size > 4096)
    throw UserError("dataset layout '" + name + "': size " + std::to_string(options.size) + " out of range");
  // A layout reads only the user's dataset (its tables and file names): what
  // it refuses (a missing table or column, an unknown label) is the user's to fix.
  Layout layout;
  try {
    layout = entry.build(options);
  } catch (const UserError&) {
    throw;
  } catch (const Error& e) {
    throw UserError(e.what());
  }
  layout.name = name;
  if (options.size > 0) layout.size = options.size;
  layout.dct_scaling = options.dct_scaling;
  for (const auto& split : layout.splits)
    for (int64_t p : split)
      if (p < 0 || p >= int64_t(layout.items.size()))
        throw UserError("dataset layout '" + name + "': split position out of range");
  return layout;
}

namespace detail {

std::string require_file(const fs::path& path, const std::string& what) {
  if (!fs::exists(path)) throw Error(what + " '" + path.string() + "' not found");
  return path.string();
}

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

double holdout_or(const LayoutOptions& options, double fallback) {
  return options.holdout >= 0 ? options.holdout : fallback;
}

void assign_splits(Layout& layout, const LayoutOptions& options, const std::string& method,
                   const std::function<std::array<std::vector<int64_t>, 3>()>& fallback) {
  if (!options.split_file.empty()) {
    layout.splits = read_split_file(options.split_file, layout.items);
    layout.split_method = "user split file " + options.split_file;
  } else {
    layout.splits = fallback();
    layout.split_method = method;
  }
}

void assign_holdout_split(Layout& layout, const LayoutOptions& options, double default_holdout) {
  const double holdout = holdout_or(options, default_holdout);
  const int64_t n = int64_t(layout.items.size()), seed = options.split_seed;
  assign_splits(layout, options,
                "reference: random.Random(" + std::to_string(seed) + ").shuffle(range(" + std::to_string(n) +
                    ")), holdout " + number(holdout) + " split in half into val and test",
                [&] { return python_holdout_split(n, holdout, seed); });
}

double parse_number(const std::string& text, const std::string& file, int64_t line,
                    const std::string& column) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || end != begin + text.size() || !std::isfinite(v))  // the whole text: a NUL ends none
    throw Error("'" + file + "' line " + std::to_string(line) + ": column '" + column + "' holds '" + text +
                "', not a number");
  return v;
}

Layout file_layout(const std::string& name, const LayoutOptions& options, int channels) {
  Layout layout;
  layout.name = name;
  layout.channels = channels;
  const fs::path root = options.root;
  const bool dct = options.dct_scaling;
  layout.load = [root, channels, dct](const Item& item, int target) {
    fs::path path = root / item.source;
    // The reference's BaseSet prefers a PNG with the same stem.
    if (path.extension() != ".png") {
      fs::path png = path;
      png.replace_extension(".png");
      std::error_code ec;
      if (fs::exists(png, ec)) path = png;
    }
    DecodeOptions decode;
    decode.channels = channels;
    if (dct) decode.min_width = decode.min_height = target;
    return decode_image_file(path.string(), decode);
  };
  return layout;
}

}  // namespace detail

}  // namespace featreuse::data
