#pragma once
// Subcommands of the featreuse executable. Each takes its own arguments
// (argv[0] is the subcommand name) and returns the process exit code.
#include <string>
#include <vector>

namespace featreuse::app {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

// The table main() dispatches on, defined in command_table.cpp.
const std::vector<Command>& commands();

}  // namespace featreuse::app
