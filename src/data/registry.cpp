#include "featreuse/data/registry.hpp"

#include <algorithm>
#include <mutex>

#include "featreuse/core/error.hpp"

namespace featreuse::data {

namespace {
std::vector<Reader>& readers() {
  static std::vector<Reader> list;
  return list;
}

void ensure_builtins() {
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_readers(); });
}

const Reader& find(const nlohmann::json& config) {
  ensure_builtins();
  if (!config.contains("reader") || !config["reader"].is_string())
    throw Error("dataset config '" + config.value("name", std::string("?")) +
                "' has no 'reader' string");
  const std::string name = config["reader"];
  for (const auto& r : readers())
    if (r.name == name) return r;
  std::string known;
  for (const auto& n : reader_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("dataset config '" + config.value("name", std::string("?")) + "': unknown reader '" +
              name + "'; known: " + known);
}
}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::train: return "train";
    case Split::val: return "val";
    case Split::test: return "test";
  }
  return "?";
}

void register_reader(Reader reader) {
  if (has_reader(reader.name)) throw Error("dataset reader '" + reader.name + "' registered twice");
  readers().push_back(std::move(reader));
}

bool has_reader(const std::string& name) {
  return std::any_of(readers().begin(), readers().end(),
                     [&](const Reader& r) { return r.name == name; });
}

std::vector<std::string> reader_names() {
  ensure_builtins();
  std::vector<std::string> out;
  for (const auto& r : readers()) out.push_back(r.name);
  std::sort(out.begin(), out.end());
  return out;
}

DatasetInfo describe_dataset(const nlohmann::json& config) { return find(config).describe(config); }

std::unique_ptr<Dataset> open_dataset(const nlohmann::json& config) { return find(config).open(config); }

}  // namespace featreuse::data
