// Train/val/test splits: the reference's seeded Python shuffle, its CheXpert
// cut, and user split files.
#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>

#include "featreuse/core/error.hpp"
#include "featreuse/data/csv.hpp"
#include "featreuse/data/layout.hpp"
#include "featreuse/data/pyrandom.hpp"

namespace featreuse::data {

std::array<std::vector<int64_t>, 3> python_holdout_split(int64_t n, double holdout, int64_t seed) {
  if (!(holdout >= 0 && holdout < 1))
    throw Error("holdout fraction must be in [0, 1), not " + std::to_string(holdout));
  if (seed < 0) throw Error("split seed must be non-negative");
  const auto idxs = python_shuffled_range(n, uint64_t(seed));
  const int64_t n_vt = int64_t(double(n) * holdout);  // Python's int() truncates
  const int64_t n_val = n_vt / 2;
  std::array<std::vector<int64_t>, 3> out;
  out[1].assign(idxs.begin(), idxs.begin() + n_val);
  out[2].assign(idxs.begin() + n_val, idxs.begin() + n_vt);
  out[0].assign(idxs.begin() + n_vt, idxs.end());
  return out;
}

namespace {

// pandas' label-based slice bounds on an index that holds each label once.
// Returns nullopt where pandas raises KeyError (label absent from a
// non-monotonic index).
struct LabelIndex {
  std::vector<int64_t> labels;  // in frame order
  bool monotonic = true;
  explicit LabelIndex(std::vector<int64_t> l) : labels(std::move(l)) {
    for (size_t i = 1; i < labels.size(); ++i)
      if (labels[i] < labels[i - 1]) monotonic = false;
  }
  std::optional<int64_t> position(int64_t label) const {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == label) return int64_t(i);
    return std::nullopt;
  }
  // .loc[label:] start position
  std::optional<int64_t> start(int64_t label) const {
    if (monotonic) return int64_t(std::lower_bound(labels.begin(), labels.end(), label) - labels.begin());
    return position(label);
  }
  // .loc[:label] end position (exclusive), the label itself included
  std::optional<int64_t> stop(int64_t label) const {
    if (monotonic) return int64_t(std::upper_bound(labels.begin(), labels.end(), label) - labels.begin());
    auto p = position(label);
    if (p) return *p + 1;
    return std::nullopt;
  }
};

}  // namespace

std::array<std::vector<int64_t>, 3> chexpert_cut(const std::vector<std::string>& paths, std::string* note) {
  const int64_t n = int64_t(paths.size());
  std::vector<int64_t> sorted(n);
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(), [&](int64_t a, int64_t b) { return paths[a] < paths[b]; });
  const int64_t n_vt = int64_t(0.2 * double(n)) + 15;
  std::array<std::vector<int64_t>, 3> out;
  const LabelIndex frame(sorted);
  const auto train_start = frame.start(n_vt), held_stop = frame.stop(n_vt);
  if (train_start && held_stop) {
    out[0].assign(sorted.begin() + *train_start, sorted.end());
    const std::vector<int64_t> held(sorted.begin(), sorted.begin() + *held_stop);
    const int64_t half = int64_t(held.size()) / 2;
    const LabelIndex held_index(held);
    const auto val_stop = held_index.stop(half), test_start = held_index.start(half);
    if (val_stop && test_start) {
      out[1].assign(held.begin(), held.begin() + *val_stop);
      out[2].assign(held.begin() + *test_start, held.end());
      if (note) *note = "";
      return out;
    }
  }
  // pandas would raise KeyError here; use the positional equivalent.
  const int64_t cut = std::min(n_vt, n), half = cut / 2;
  out[0].assign(sorted.begin() + cut, sorted.end());
  out[1].assign(sorted.begin(), sorted.begin() + half);
  out[2].assign(sorted.begin() + half, sorted.begin() + cut);
  if (note)
    *note =
        "the reference's label-based cut is undefined for this table (pandas raises KeyError); "
        "used the positional cut at " +
        std::to_string(cut);
  return out;
}

std::array<std::vector<int64_t>, 3> read_split_file(const std::string& path, const std::vector<Item>& items) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error("split file '" + path + "' is not valid JSON: " + e.what());
  }
  if (!doc.is_object())
    throw Error("split file '" + path + "' must be a JSON object with train/val/test lists");
  // Lookup by source and by file stem (ambiguous stems are refused when used).
  std::map<std::string, int64_t> by_name;
  for (size_t i = 0; i < items.size(); ++i) {
    by_name[items[i].source] = int64_t(i);
    const std::string stem = std::filesystem::path(items[i].source).stem().string();
    auto [it, fresh] = by_name.emplace(stem, int64_t(i));
    if (!fresh && it->second != int64_t(i) && items[it->second].source != stem) it->second = -1;
  }
  const std::array<std::vector<std::string>, 3> keys = {
      std::vector<std::string>{"train", "train_split"},
      std::vector<std::string>{"val", "valid", "validation", "val_split"},
      std::vector<std::string>{"test", "test_split"}};
  std::array<std::vector<int64_t>, 3> out;
  std::vector<int> seen(items.size(), -1);
  for (int s = 0; s < 3; ++s) {
    for (const auto& key : keys[s]) {
      if (!doc.contains(key)) continue;
      if (!doc[key].is_array()) throw Error("split file '" + path + "': '" + key + "' must be a list");
      for (const auto& v : doc[key]) {
        int64_t pos = -1;
        if (v.is_number_integer()) {
          pos = v.get<int64_t>();
          if (pos < 0 || pos >= int64_t(items.size()))
            throw Error("split file '" + path + "': position " + std::to_string(pos) + " in '" + key +
                        "' is outside the " + std::to_string(items.size()) + " items");
        } else if (v.is_string()) {
          auto it = by_name.find(v.get<std::string>());
          if (it == by_name.end())
            throw Error("split file '" + path + "': '" + v.get<std::string>() + "' in '" + key +
                        "' names no item of the dataset");
          if (it->second < 0)
            throw Error("split file '" + path + "': '" + v.get<std::string>() +
                        "' matches several items; use the full path");
          pos = it->second;
        } else {
          throw Error("split file '" + path + "': entries of '" + key + "' must be positions or names");
        }
        if (seen[pos] >= 0)
          throw Error("split file '" + path + "': item '" + items[pos].source + "' appears twice");
        seen[pos] = s;
        out[s].push_back(pos);
      }
    }
  }
  if (out[0].empty()) throw Error("split file '" + path + "' has no train items");
  return out;
}

}  // namespace featreuse::data
