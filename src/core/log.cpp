#include "featreuse/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "featreuse/core/error.hpp"

namespace featreuse::log {

namespace {
std::string g_tag = "[-]";

void apply_pattern() { spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] " + g_tag + " %v"); }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}
}  // namespace

const char* level_names() { return "trace, debug, info, warn, error, critical, off"; }

spdlog::level::level_enum parse_level(const std::string& name, const std::string& origin) {
  const std::string key = lower(name);
  if (key == "warning") return spdlog::level::warn;
  // spdlog's from_str answers "off" for any name it does not know, which
  // would silence a typo; only an exact name counts.
  const auto level = spdlog::level::from_str(key);
  if (level != spdlog::level::off || key == "off") return level;
  throw UsageError(origin + ": unknown log level '" + name + "' (valid: " + level_names() + ")");
}

void init() {
  auto logger = spdlog::stderr_logger_mt("featreuse");
  spdlog::set_default_logger(logger);
  apply_pattern();
  const char* env = std::getenv("FEATREUSE_LOG_LEVEL");
  spdlog::set_level(env && *env ? parse_level(env, "FEATREUSE_LOG_LEVEL") : spdlog::level::info);
}

void set_level(const std::string& name) { spdlog::set_level(parse_level(name, "--log-level")); }

void set_tag(int world_rank, int group) {
  g_tag = "[";
  g_tag += world_rank >= 0 ? "r" + std::to_string(world_rank) : "-";
  if (group >= 0) g_tag += " g" + std::to_string(group);
  g_tag += "]";
  apply_pattern();
}

}  // namespace featreuse::log
