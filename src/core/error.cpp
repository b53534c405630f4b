#include "featreuse/core/error.hpp"

namespace featreuse {

namespace {
std::string describe(const std::string& file, const std::string& key, const std::string& what) {
  std::string where = file.empty() ? std::string() : file;
  if (!key.empty()) where += (where.empty() ? "" : ": ") + std::string("key '") + key + "'";
  return where.empty() ? what : where + ": " + what;
}
}  // namespace

ConfigError::ConfigError(const std::string& file, const std::string& key, const std::string& what)
    : UserError(describe(file, key, what)), file_(file), key_(key) {}

int exit_code_of(const std::exception& e) {
  const auto* error = dynamic_cast<const Error*>(&e);
  return error ? error->exit_code() : exit_codes::kInternal;
}

}  // namespace featreuse
