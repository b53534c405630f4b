#include "featreuse/core/paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace featreuse {

namespace fs = std::filesystem;

std::string find_configs_dir(const std::string& job_file) {
  if (const char* env = std::getenv("FEATREUSE_CONFIGS")) return env;
  fs::path dir = fs::absolute(fs::path(job_file)).parent_path();
  for (; !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / "configs")) return (dir / "configs").string();
    if (dir == dir.root_path()) break;
  }
  return std::string(FEATREUSE_SOURCE_DIR) + "/configs";
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

const char* version() { return FEATREUSE_VERSION; }

}  // namespace featreuse
