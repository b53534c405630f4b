#pragma once
// Networks built only to read their structure (a job's planning: checkpoint
// layouts, probe points, analysis tables), or to be filled whole from a
// checkpoint (an analysis's), never read their initial weights, and drawing
// them is most of a build's time for the paper's larger models (the truncated
// normals' erfinv). Inside a StructureOnlyBuild the families' own
// initialisations draw nothing and leave LibTorch's constructor defaults.
// Those defaults then come from another point of torch's generator, so a
// build that keeps any initial value (a cell's head, an ST draw's) draws as
// usual.
namespace featreuse::models {

// While one lives, networks built on this thread skip their families' weight
// draws. Nests; the previous state comes back when it ends.
class StructureOnlyBuild {
 public:
  StructureOnlyBuild();
  ~StructureOnlyBuild();
  StructureOnlyBuild(const StructureOnlyBuild&) = delete;
  StructureOnlyBuild& operator=(const StructureOnlyBuild&) = delete;

 private:
  bool previous_;
};

// False inside a StructureOnlyBuild on this thread: the families' init
// routines return without drawing.
bool draws_initial_weights();

}  // namespace featreuse::models
