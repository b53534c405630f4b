#include "featreuse/data/registry.hpp"

#include <mutex>

#include "featreuse/core/error.hpp"
#include "featreuse/core/registry.hpp"

namespace featreuse::data {

namespace {
featreuse::Registry<Reader>& readers() {
  static featreuse::Registry<Reader> table("dataset reader");
  return table;
}

void ensure_builtins() {
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_readers(); });
}

const Reader& find(const nlohmann::json& config) {
  ensure_builtins();
  const std::string where = "dataset config '" + config.value("name", std::string("?")) + "'";
  if (!config.contains("reader") || !config["reader"].is_string())
    throw Error(where + " has no 'reader' string");
  const std::string name = config["reader"];
  if (const Reader* reader = readers().find(name)) return *reader;
  throw Error(where + ": " + readers().unknown(name));
}
}  // namespace

std::unique_ptr<BatchStream> Dataset::evaluation_stream(Split split, int64_t batch_size,
                                                        const std::vector<int64_t>& subset) const {
  StreamOptions options;
  options.batch_size = batch_size;
  options.subset = subset;
  return stream(split, options);
}

const char* split_name(Split split) {
  switch (split) {
    case Split::train:
      return "train";
    case Split::val:
      return "val";
    case Split::test:
      return "test";
  }
  return "?";
}

void register_reader(Reader reader) {
  const std::string name = reader.name;
  readers().add(name, std::move(reader));
}

bool has_reader(const std::string& name) { return readers().contains(name); }

std::vector<std::string> reader_names() {
  ensure_builtins();
  return readers().names();
}

DatasetInfo describe_dataset(const nlohmann::json& config) { return find(config).describe(config); }

std::unique_ptr<Dataset> open_dataset(const nlohmann::json& config) { return find(config).open(config); }

}  // namespace featreuse::data
