#pragma once
// Config documents: YAML files read into JSON values (canonical, hashable),
// with the file and line of every key kept for error messages, and a typed
// merge where a base document's values define which keys exist and their types.
#include <map>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"

namespace featreuse {

// A YAML document as JSON plus where each key came from.
struct ConfigDoc {
  json value;
  std::string file;                  // path as given, for messages
  std::map<std::string, int> lines;  // dotted key path -> 1-based line
  // Keys of each mapping (by dotted path, "" for the root) in file order;
  // `value` itself keeps keys sorted, which makes dumps canonical.
  std::map<std::string, std::vector<std::string>> key_order;
  // "file:line" for a dotted key path (falls back to the file alone).
  std::string where(const std::string& key) const;
};

// Reads a YAML file. Plain scalars become null/bool/int/float when they parse as
// such; quoted scalars stay strings. Throws ConfigError naming the file on I/O
// or syntax errors.
ConfigDoc load_yaml_file(const std::string& path);
ConfigDoc parse_yaml(const std::string& text, const std::string& name);

// JSON type name for messages: "a number", "a list", ...
std::string describe_type(const json& v);

// Overrides `base` with `override` key by key. Every key of `override` must
// exist in `base` (recursively for objects) and have a compatible type: ints
// and floats mix (an int-typed key refuses 0.5), a null base value accepts
// anything, lists are replaced whole. `file`/`prefix` name the override's
// origin in errors, which list the known keys.
json merge_typed(const json& base, const json& override, const std::string& file, const std::string& prefix);

// Flattened "a.b.c" paths of every leaf of `a` and `b` whose values differ,
// with both values; used to explain why a cell's config changed.
std::string describe_differences(const json& before, const json& after, size_t max_items = 10);

}  // namespace featreuse
