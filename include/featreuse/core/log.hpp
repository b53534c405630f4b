#pragma once
// Logging: one spdlog logger per process, every line tagged with world rank and
// group ("[r3 g1]"). Diagnostics go to stderr through it; command results
// (tables, reports) go to stdout directly.
#include <spdlog/spdlog.h>

#include <string>

namespace featreuse::log {

// The level names a user may give, in any case ("warning" is "warn").
const char* level_names();  // "trace, debug, info, warn, error, critical, off"

// Parses a level name in any case. Throws UsageError naming `origin` (the
// option or variable it came from) and listing the valid names.
spdlog::level::level_enum parse_level(const std::string& name, const std::string& origin);

// Sets the default logger's pattern and the level "info", or
// FEATREUSE_LOG_LEVEL when set (UsageError when that names no level).
void init();

// A command's --log-level: wins over FEATREUSE_LOG_LEVEL.
void set_level(const std::string& name);

// Sets the rank/group tag shown on every line (-1 hides a field).
void set_tag(int world_rank, int group);

}  // namespace featreuse::log
