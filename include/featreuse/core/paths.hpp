#pragma once
// Where featreuse finds its building blocks.
#include <string>

namespace featreuse {

// The configs/ folder for a job file: FEATREUSE_CONFIGS if set, else the first
// configs/ found walking up from the job file's folder, else the source tree's.
std::string find_configs_dir(const std::string& job_file);

// Host name of this process, for the store's records.
std::string host_name();

const char* version();

}  // namespace featreuse
