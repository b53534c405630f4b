#include "featreuse/core/error.hpp"
#include "featreuse/grid/plan.hpp"

namespace featreuse::grid {

namespace {
constexpr std::pair<TaskKind, const char*> kNames[] = {{TaskKind::source, "source"},
                                                       {TaskKind::import, "import"},
                                                       {TaskKind::st, "st"},
                                                       {TaskKind::cell, "cell"}};
}

const char* task_kind_name(TaskKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "?";
}

TaskKind parse_task_kind(const std::string& name) {
  for (const auto& [kind, text] : kNames)
    if (name == text) return kind;
  throw Error("unknown task kind '" + name + "' (known: source, import, st, cell)");
}

}  // namespace featreuse::grid
