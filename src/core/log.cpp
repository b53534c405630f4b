#include "featreuse/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>

namespace featreuse::log {

namespace {
std::string g_tag = "[-]";

void apply_pattern() { spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] " + g_tag + " %v"); }
}  // namespace

void init(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("featreuse");
  spdlog::set_default_logger(logger);
  const char* env = std::getenv("FEATREUSE_LOG_LEVEL");
  spdlog::set_level(spdlog::level::from_str(env ? env : level));
  apply_pattern();
}

void set_tag(int world_rank, int group) {
  g_tag = "[";
  g_tag += world_rank >= 0 ? "r" + std::to_string(world_rank) : "-";
  if (group >= 0) g_tag += " g" + std::to_string(group);
  g_tag += "]";
  apply_pattern();
}

}  // namespace featreuse::log
