// The subcommand table. Each command lives in its own cmd_<name>.cpp.
#include "commands.hpp"

namespace featreuse::app {

int cmd_plan(const Args& args);
int cmd_run(const Args& args);
int cmd_status(const Args& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"plan", "list a job's tasks and the order groups would take them (dry run)", cmd_plan},
      {"run", "run a job's grid under MPI into one HDF5 store", cmd_run},
      {"status", "show done/running/failed/pending tasks of a store", cmd_status},
  };
  return table;
}

}  // namespace featreuse::app
