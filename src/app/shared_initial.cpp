#include "shared_initial.hpp"

namespace featreuse::app {

namespace {

// A checkpoint an init copies from, as the schema plans it.
struct Base {
  std::string path;
  const store::CellSchema* task = nullptr;
};

Base base_of(const json& init, const char* key,
             const std::map<std::string, const store::CellSchema*>& planned) {
  if (!init.contains(key)) return {};
  auto it = planned.find(init[key].get<std::string>());
  if (it == planned.end() || !it->second->setup_error.empty()) return {};
  return {"/cells/" + it->first + "/checkpoints/best", it->second};
}

// A base value can stand for the cell's own when the cell's stored precision
// would not round it further: the same precision, or float32.
bool precision_allows(const store::CellSchema& cell, const store::CellSchema& base) {
  return cell.checkpoint_dtype == store::CheckpointDtype::float32 ||
         cell.checkpoint_dtype == base.checkpoint_dtype;
}

const store::LayoutEntry* entry_named(const store::Layout& layout, const std::string& name) {
  for (const auto& e : layout.entries)
    if (e.name == name) return &e;
  return nullptr;
}

}  // namespace

const store::Layout* SharedInitial::layout(const std::string& id) const {
  for (const auto& l : schema_.layouts)
    if (l.id == id) return &l;
  return nullptr;
}

const std::vector<init::EntryOrigin>& SharedInitial::origins(const grid::Task& task, const Build& build) {
  json init = task.config["init"];
  init.erase("source");  // task ids do not change where entries come from
  init.erase("st_state");
  const std::string key = task.config["model"].dump() + "|" + init.dump();
  auto it = origins_.find(key);
  if (it != origins_.end()) return it->second;
  // Origins follow from the model's names and module types, not its head or
  // input size; `build` gives a network of the model (the planner keeps it).
  return origins_.emplace(key, init::copied_entries(*build(), task.config["init"])).first->second;
}

std::vector<store::SharedEntry> SharedInitial::entries(
    const grid::Task& task, const store::CellSchema& cell,
    const std::map<std::string, const store::CellSchema*>& planned, const Build& build) {
  const json init = task.config.value("init", json::object());
  const store::Layout* own = layout(cell.layout);
  if (!init.contains("source") || !own) return {};
  const Base source = base_of(init, "source", planned), st = base_of(init, "st_state", planned);
  std::vector<store::SharedEntry> out;
  for (const auto& origin : origins(task, build)) {
    const Base& base = origin.from == init::CopiedFrom::source     ? source
                       : origin.from == init::CopiedFrom::st_state ? st
                                                                   : Base{};
    if (!base.task || !precision_allows(cell, *base.task)) continue;
    const store::Layout* theirs = layout(base.task->layout);
    const store::LayoutEntry* mine = entry_named(*own, origin.name);
    const store::LayoutEntry* copied = theirs ? entry_named(*theirs, origin.name) : nullptr;
    // A 3-channel conv for a 1-channel network, a resized position embedding: not a copy.
    if (mine && copied && mine->shape == copied->shape && mine->dtype == copied->dtype)
      out.push_back({origin.name, base.path});
  }
  return out;
}

}  // namespace featreuse::app
