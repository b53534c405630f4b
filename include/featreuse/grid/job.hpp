#pragma once
// A job file, parsed and checked: building blocks by name, grid axes,
// filters and named source tasks. Pure: reads only YAML files.
#include <map>
#include <string>
#include <vector>

#include "featreuse/core/config.hpp"

namespace featreuse::grid {

// A source (pretraining) task named in the job's `sources:` section.
struct SourceSpec {
  std::string name;
  json fields;  // model, dataset, seed, init, recipe overrides ... as written
};

// An analysis named in the job's `analyses:` section: options as written
// (checked against the analysis' defaults by expand()) and the cells it
// applies to, a filter pattern like `include:` entries (empty: every cell).
struct AnalysisSpec {
  std::string name;
  json options = json::object();
  json cells = json::object();
};

struct JobSpec {
  ConfigDoc doc;                                   // the job file itself
  std::string name;                                // `name:` or the file stem
  std::string configs_dir;                         // where building blocks are looked up
  std::string recipe;                              // base recipe name
  json overrides = json::object();                 // {recipe: {...}, model: {...}, dataset: {...}}
  std::vector<std::pair<std::string, json>> axes;  // grid axes in file order, values as lists
  std::vector<json> include, exclude;              // filter patterns: axis -> value or list of values
  std::vector<SourceSpec> sources;
  std::vector<AnalysisSpec> analyses;  // in file order
};

// Reads and checks the job file's own structure (known top-level keys, axis
// value lists, filter shapes). Building blocks are checked by expand().
JobSpec load_job(const std::string& path);
JobSpec parse_job(const ConfigDoc& doc, const std::string& configs_dir);

}  // namespace featreuse::grid
