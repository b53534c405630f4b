// Weight files -> Network: format dispatch and the strict, all-errors-at-once load.
#include "featreuse/models/weights.hpp"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/text.hpp"
#include "weight_io.hpp"
#include "zip_archive.hpp"

namespace featreuse::models {

namespace {

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

TensorList read_weights(const std::string& path) {
  const auto bytes = detail::read_file_bytes(path);
  // safetensors first: its 8-byte header length may begin with 0x80, the
  // first byte of a legacy pickle; a legacy file never has '{' at byte 8.
  if (bytes.size() >= 9 && bytes[8] == '{') {
    uint64_t header = 0;
    for (int i = 7; i >= 0; --i) header = (header << 8) | bytes[i];
    if (header <= bytes.size() - 8) return parse_safetensors(bytes.data(), bytes.size(), path).tensors;
  }
  if (detail::ZipArchive::looks_like_zip(bytes.data(), bytes.size()) ||
      (bytes.size() >= 2 && bytes[0] == 0x80))
    return parse_torch_checkpoint(bytes.data(), bytes.size(), path);
  throw Error(path + ": not a weight file (expected a torch.save .pth or a .safetensors file)");
}

LoadReport load_weights(Network& net, const TensorList& weights, const LoadOptions& options) {
  LoadReport report;
  TensorList adapted = weights;
  if (options.strip_module_prefix && !adapted.empty()) {
    bool all = true;
    for (const auto& kv : adapted) all = all && kv.first.rfind("module.", 0) == 0;
    if (all) {
      for (auto& kv : adapted) kv.first.erase(0, 7);
      report.stripped_module_prefix = true;
    }
  }
  net.adapt_weights(adapted);

  std::map<std::string, at::Tensor> file;
  std::vector<std::string> problems_dup;
  for (const auto& [k, t] : adapted)
    if (!file.emplace(k, t).second) problems_dup.push_back(k);

  const std::string head = net.head_name();
  const std::string first_conv = net.first_conv_name() + ".weight";
  std::vector<std::string> missing, unexpected, mismatched;
  std::vector<std::pair<at::Tensor, at::Tensor>> plan;  // (destination, source)
  std::set<std::string> used;
  for (const auto& e : state_entries(net)) {
    if (!options.keep_head && under_module(e.name, head)) continue;
    auto it = file.find(e.name);
    if (it == file.end()) {
      missing.push_back(e.name);
      continue;
    }
    used.insert(e.name);
    at::Tensor src = it->second;
    if (src.sizes() != e.tensor.sizes()) {
      // A 1-channel network keeps the R-channel slice of a 3-channel stem (reference §1).
      const bool slice = e.name == first_conv && src.dim() == 4 && e.tensor.dim() == 4 &&
                         e.tensor.size(1) == 1 && src.size(1) == 3 && src.size(0) == e.tensor.size(0) &&
                         src.size(2) == e.tensor.size(2) && src.size(3) == e.tensor.size(3);
      if (!slice) {
        mismatched.push_back(e.name + " (file " + shape_str(src.sizes()) + ", model " +
                             shape_str(e.tensor.sizes()) + ")");
        continue;
      }
      src = src.narrow(1, 0, 1);
      report.first_conv_sliced = true;
    }
    if (src.is_floating_point() != e.tensor.is_floating_point() && e.tensor.scalar_type() != at::kBool) {
      mismatched.push_back(e.name + " (file dtype " + std::string(c10::toString(src.scalar_type())) +
                           ", model " + std::string(c10::toString(e.tensor.scalar_type())) + ")");
      continue;
    }
    plan.emplace_back(e.tensor, src);
  }
  for (const auto& [k, t] : adapted) {
    if (used.count(k)) continue;
    if (!options.keep_head && under_module(k, head))
      report.skipped.push_back(k);
    else
      unexpected.push_back(k);
  }

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || !problems_dup.empty()) {
    // A file of another architecture misses every tensor: name the first few, not hundreds.
    const auto few = [](const std::vector<std::string>& names) {
      constexpr size_t kShown = 8;
      if (names.size() <= kShown) return join(names);
      return join(std::vector<std::string>(names.begin(), names.begin() + kShown)) + ", ... (" +
             std::to_string(names.size() - kShown) + " more)";
    };
    std::string msg = options.source + ": weights do not fit the model";
    if (plan.empty() && !missing.empty())
      msg += " (none of its tensors is in the file: another architecture?)";
    if (!missing.empty()) msg += "; " + std::to_string(missing.size()) + " missing: " + few(missing);
    if (!unexpected.empty())
      msg += "; " + std::to_string(unexpected.size()) + " unexpected: " + few(unexpected);
    if (!mismatched.empty())
      msg += "; " + std::to_string(mismatched.size()) + " mismatched: " + few(mismatched);
    if (!problems_dup.empty()) msg += "; repeated: " + few(problems_dup);
    throw UserError(msg);
  }
  at::NoGradGuard no_grad;
  for (auto& [dst, src] : plan) dst.copy_(src);
  report.loaded = plan.size();
  return report;
}

TensorList network_weights(Network& net, bool with_head) {
  TensorList out;
  const std::string head = net.head_name();
  for (const auto& e : state_entries(net))
    if (with_head || !under_module(e.name, head)) out.emplace_back(e.name, e.tensor.detach());
  return out;
}

}  // namespace featreuse::models
