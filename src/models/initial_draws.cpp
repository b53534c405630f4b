#include "featreuse/models/initial_draws.hpp"

namespace featreuse::models {

namespace {
thread_local bool structure_only = false;
}  // namespace

StructureOnlyBuild::StructureOnlyBuild() : previous_(structure_only) { structure_only = true; }

StructureOnlyBuild::~StructureOnlyBuild() { structure_only = previous_; }

bool draws_initial_weights() { return !structure_only; }

}  // namespace featreuse::models
