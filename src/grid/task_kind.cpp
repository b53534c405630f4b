#include "featreuse/core/enum_names.hpp"
#include "featreuse/grid/plan.hpp"

namespace featreuse::grid {

namespace {
const EnumNames<TaskKind>& kinds() {
  static const EnumNames<TaskKind> names("task kind", {{TaskKind::source, "source"},
                                                       {TaskKind::import, "import"},
                                                       {TaskKind::st, "st"},
                                                       {TaskKind::cell, "cell"},
                                                       {TaskKind::analysis, "analysis"}});
  return names;
}
}  // namespace

const char* task_kind_name(TaskKind kind) { return kinds().name(kind); }

TaskKind parse_task_kind(const std::string& name) { return kinds().parse(name); }

}  // namespace featreuse::grid
