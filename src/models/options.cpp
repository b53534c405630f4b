#include "featreuse/models/options.hpp"

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"

namespace featreuse::models {

OptionReader::OptionReader(std::string arch, const nlohmann::json& options)
    : arch_(std::move(arch)), options_(options.is_null() ? nlohmann::json::object() : options) {
  if (!options_.is_object())
    throw Error("model '" + arch_ + "': options must be a mapping, got " + describe_type(options));
}

void OptionReader::fail(const std::string& key, const std::string& what) const {
  throw Error("model '" + arch_ + "': option '" + key + "' " + what);
}

const nlohmann::json* OptionReader::find(const std::string& key) {
  read_.insert(key);
  auto it = options_.find(key);
  if (it == options_.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t OptionReader::get_int(const std::string& key, int64_t fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number_integer()) fail(key, "must be an integer, got " + describe_type(*v));
  return v->get<int64_t>();
}

double OptionReader::get_double(const std::string& key, double fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) fail(key, "must be a number, got " + describe_type(*v));
  return v->get<double>();
}

bool OptionReader::get_bool(const std::string& key, bool fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "must be true or false, got " + describe_type(*v));
  return v->get<bool>();
}

std::string OptionReader::get_string(const std::string& key, const std::string& fallback,
                                     const std::vector<std::string>& choices) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "must be a string, got " + describe_type(*v));
  const auto s = v->get<std::string>();
  if (choices.empty()) return s;
  std::string list;
  for (const auto& c : choices) {
    if (c == s) return s;
    list += (list.empty() ? "" : ", ") + c;
  }
  fail(key, "is '" + s + "'; expected one of " + list);
}

std::vector<int64_t> OptionReader::get_int_list(const std::string& key,
                                                const std::vector<int64_t>& fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of integers, got " + describe_type(*v));
  std::vector<int64_t> out;
  for (const auto& e : *v) {
    if (!e.is_number_integer()) fail(key, "must be a list of integers, has " + describe_type(e));
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<double> OptionReader::get_double_list(const std::string& key,
                                                  const std::vector<double>& fallback) {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) fail(key, "must be a list of numbers, got " + describe_type(*v));
  std::vector<double> out;
  for (const auto& e : *v) {
    if (!e.is_number()) fail(key, "must be a list of numbers, has " + describe_type(e));
    out.push_back(e.get<double>());
  }
  return out;
}

void OptionReader::finish() const {
  std::string unknown, known;
  for (auto it = options_.begin(); it != options_.end(); ++it)
    if (!read_.count(it.key())) unknown += (unknown.empty() ? "'" : ", '") + it.key() + "'";
  if (unknown.empty()) return;
  known = join(read_);
  throw Error("model '" + arch_ + "': unknown option " + unknown +
              " (known: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace featreuse::models
