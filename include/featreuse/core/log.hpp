#pragma once
// Logging: one spdlog logger per process, every line tagged with world rank and
// group ("[r3 g1]"). Diagnostics go to stderr through it; command results
// (tables, reports) go to stdout directly.
#include <spdlog/spdlog.h>

#include <string>

namespace featreuse::log {

// Sets the default logger's pattern and level. `level` is an spdlog level name
// ("info", "debug", ...); FEATREUSE_LOG_LEVEL overrides it when set.
void init(const std::string& level = "info");

// Sets the rank/group tag shown on every line (-1 hides a field).
void set_tag(int world_rank, int group);

}  // namespace featreuse::log
