#include "featreuse/core/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "featreuse/core/error.hpp"

namespace featreuse {

namespace {

// Where the first byte that is not part of well-formed UTF-8 is (npos: none):
// the checks nlohmann's dump applies (no overlong forms, surrogates or code
// points past U+10FFFF), which would otherwise throw from deep inside ids.
size_t invalid_utf8_at(const std::string& text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = byte(i);
    const size_t length = c < 0x80                 ? 1
                          : c >= 0xC2 && c <= 0xDF ? 2
                          : c >= 0xE0 && c <= 0xEF ? 3
                          : c >= 0xF0 && c <= 0xF4 ? 4
                                                   : 0;
    if (length == 0 || i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k)
      if ((byte(i + k) & 0xC0) != 0x80) return i;
    const unsigned char second = length > 1 ? byte(i + 1) : 0;
    if ((c == 0xE0 && second < 0xA0) || (c == 0xED && second >= 0xA0) || (c == 0xF0 && second < 0x90) ||
        (c == 0xF4 && second >= 0x90))
      return i;
    i += length;
  }
  return std::string::npos;
}

void require_utf8(const std::string& text, const std::string& name) {
  const size_t at = invalid_utf8_at(text);
  if (at == std::string::npos) return;
  const size_t newline = at == 0 ? std::string::npos : text.rfind('\n', at - 1);
  const size_t column = newline == std::string::npos ? at + 1 : at - newline;
  const auto line = std::count(text.begin(), text.begin() + std::ptrdiff_t(at), '\n') + 1;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[at]));
  throw ConfigError(name, "",
                    "not UTF-8 text: byte " + std::string(hex) + " at line " + std::to_string(line) +
                        ", column " + std::to_string(column) + " (save the file as UTF-8)");
}

// A key or string value that YAML's escapes or control characters turned into
// bytes that are not UTF-8 (the text itself was).
void require_utf8_value(const std::string& value, const std::string& file, const YAML::Node& node,
                        const std::string& path) {
  if (invalid_utf8_at(value) == std::string::npos) return;
  throw ConfigError(file + ":" + std::to_string(node.Mark().line + 1), path,
                    "a name or value that is not UTF-8 text (check its escapes and control characters)");
}

std::string join_key(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Plain (unquoted) scalars are typed by the YAML 1.2 core schema
// (yaml.org/spec/1.2.2, 10.3.2): null, bool, base-10/0o/0x integers and
// floats; anything else is a string. Infinity and NaN have no JSON form
// (the canonical config), so they are refused rather than stored as null.
json scalar_to_json(const YAML::Node& node, const std::string& file, const std::string& path) {
  static const std::regex null_re("~|null|Null|NULL|");
  static const std::regex true_re("true|True|TRUE"), false_re("false|False|FALSE");
  static const std::regex decimal_re("[-+]?[0-9]+"), octal_re("0o[0-7]+"), hex_re("0x[0-9a-fA-F]+");
  static const std::regex float_re("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex special_re("[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted: always a string
  if (std::regex_match(s, null_re)) return nullptr;
  if (std::regex_match(s, true_re)) return true;
  if (std::regex_match(s, false_re)) return false;
  const int base = std::regex_match(s, decimal_re) ? 10
                   : std::regex_match(s, octal_re) ? 8
                   : std::regex_match(s, hex_re)   ? 16
                                                   : 0;
  if (base != 0) {
    errno = 0;
    const long long i = std::strtoll(s.c_str() + (base == 10 ? 0 : 2), nullptr, base);
    if (errno == ERANGE) throw ConfigError(file, path, "integer " + s + " is out of range (64 bits)");
    return i;
  }
  if (std::regex_match(s, float_re)) {
    const double d = std::strtod(s.c_str(), nullptr);
    if (!std::isfinite(d)) throw ConfigError(file, path, "number " + s + " is out of range");
    return d;
  }
  if (std::regex_match(s, special_re))
    throw ConfigError(file, path,
                      s + " (infinity or NaN) is not supported: configs are stored as JSON, which has "
                          "no such numbers; use a finite number, or quote it for a string");
  return s;
}

json node_to_json(const YAML::Node& node, const std::string& path, ConfigDoc& doc) {
  if (!path.empty()) doc.lines[path] = node.Mark().line + 1;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar: {
      json value = scalar_to_json(node, doc.file, path);
      if (value.is_string()) require_utf8_value(value.get_ref<const std::string&>(), doc.file, node, path);
      return value;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (size_t i = 0; i < node.size(); ++i)
        out.push_back(node_to_json(node[i], path + "[" + std::to_string(i) + "]", doc));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar())
          throw ConfigError(doc.file + ":" + std::to_string(kv.first.Mark().line + 1), path,
                            "a key must be a name, not a list or a mapping");
        const std::string key = kv.first.as<std::string>();
        require_utf8_value(key, doc.file, kv.first, path);
        if (out.contains(key)) throw ConfigError(doc.file, join_key(path, key), "appears twice");
        out[key] = node_to_json(kv.second, join_key(path, key), doc);
        doc.key_order[path].push_back(key);
      }
      return out;
    }
  }
  return nullptr;
}

bool is_number(const json& v) { return v.is_number(); }

std::string known_keys(const json& base) {
  std::string out;
  for (auto it = base.begin(); it != base.end(); ++it) out += (out.empty() ? "" : ", ") + it.key();
  return out.empty() ? "(none)" : out;
}

void collect_differences(const json& a, const json& b, const std::string& path,
                         std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    std::map<std::string, bool> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys[it.key()] = true;
    for (auto it = b.begin(); it != b.end(); ++it) keys[it.key()] = true;
    for (const auto& [key, unused] : keys) {
      (void)unused;
      const std::string p = join_key(path, key);
      if (!a.contains(key))
        out.push_back(p + ": (absent) -> " + b[key].dump());
      else if (!b.contains(key))
        out.push_back(p + ": " + a[key].dump() + " -> (absent)");
      else
        collect_differences(a[key], b[key], p, out);
    }
    return;
  }
  if (a != b) out.push_back((path.empty() ? "(value)" : path) + ": " + a.dump() + " -> " + b.dump());
}

}  // namespace

std::string ConfigDoc::where(const std::string& key) const {
  auto it = lines.find(key);
  return it == lines.end() ? file : file + ":" + std::to_string(it->second);
}

ConfigDoc parse_yaml(const std::string& text, const std::string& name) {
  require_utf8(text, name);
  ConfigDoc doc;
  doc.file = name;
  try {
    doc.value = node_to_json(YAML::Load(text), "", doc);
  } catch (const YAML::Exception& e) {  // syntax, or a conversion the checks above did not foresee
    throw ConfigError(name, "",
                      "YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                          std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (doc.value.is_null()) doc.value = json::object();
  return doc;
}

ConfigDoc load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, "", "cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_yaml(buffer.str(), path);
}

std::string describe_type(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  return "a mapping";
}

json merge_typed(const json& base, const json& override, const std::string& file, const std::string& prefix) {
  if (!override.is_object())
    throw ConfigError(file, prefix, "expected a mapping, got " + describe_type(override));
  json out = base;
  for (auto it = override.begin(); it != override.end(); ++it) {
    const std::string key = join_key(prefix, it.key());
    if (!base.contains(it.key()))
      throw ConfigError(file, key, "unknown key; known keys here: " + known_keys(base));
    const json& old = base[it.key()];
    const json& value = it.value();
    if (old.is_null() || value.is_null()) {
      out[it.key()] = value;
    } else if (old.is_object()) {
      out[it.key()] = merge_typed(old, value, file, key);
    } else if (is_number(old) && is_number(value)) {
      if (old.is_number_integer() && !value.is_number_integer()) {
        double d = value.get<double>();
        if (std::floor(d) != d) throw ConfigError(file, key, "expected an integer, got " + value.dump());
        // 2^63: the cast of anything at or past it is undefined (found by tests/fuzz/fuzz_job_file).
        if (!(std::fabs(d) < 9223372036854775808.0))
          throw ConfigError(file, key, "expected an integer, got " + value.dump() + ", out of range");
        out[it.key()] = static_cast<long long>(d);
      } else {
        out[it.key()] = value;
      }
    } else if (old.type() != value.type()) {
      throw ConfigError(file, key,
                        "expected " + describe_type(old) + " (like " + old.dump() + "), got " +
                            describe_type(value) + " " + value.dump());
    } else {
      out[it.key()] = value;
    }
  }
  return out;
}

std::string describe_differences(const json& before, const json& after, size_t max_items) {
  std::vector<std::string> items;
  collect_differences(before, after, "", items);
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? "; " : "") + items[i];
  if (items.size() > max_items) out += "; ... (" + std::to_string(items.size() - max_items) + " more)";
  return out;
}

}  // namespace featreuse
