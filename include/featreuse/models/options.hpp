#pragma once
// Typed access to a ModelSpec's `options` mapping. Each architecture reads the
// keys it knows (with defaults) and then calls finish(), which rejects every
// key nobody read, so a typo in a model config is an error naming the option.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"

namespace featreuse::models {

class OptionReader {
 public:
  // `arch` names the architecture in messages. Throws if `options` is neither
  // null nor a mapping.
  OptionReader(std::string arch, const nlohmann::json& options);

  int64_t get_int(const std::string& key, int64_t fallback);
  double get_double(const std::string& key, double fallback);
  bool get_bool(const std::string& key, bool fallback);
  // `choices` (if not empty) lists the accepted values.
  std::string get_string(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& choices = {});
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& fallback);
  std::vector<double> get_double_list(const std::string& key, const std::vector<double>& fallback);

  // Throws featreuse::Error naming every option that was given but not read.
  void finish() const;

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  const nlohmann::json* find(const std::string& key);

  std::string arch_;
  nlohmann::json options_;
  std::set<std::string> read_;
};

}  // namespace featreuse::models
