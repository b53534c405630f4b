#include "featreuse/models/probe_pooling.hpp"

#include <ATen/ATen.h>

#include "featreuse/core/enum_names.hpp"

namespace featreuse::models {

namespace {
const EnumNames<Pooling>& poolings() {
  static const EnumNames<Pooling> names("pooling", {{Pooling::none, "none"},
                                                    {Pooling::cls, "cls"},
                                                    {Pooling::patches, "patches"},
                                                    {Pooling::concat, "concat"}});
  return names;
}
}  // namespace

Pooling parse_pooling(const std::string& name) { return poolings().parse(name); }

std::string pooling_name(Pooling pooling) { return poolings().name(pooling); }

std::string pooled_as(int64_t dims, int64_t prefix_tokens, Pooling pooling) {
  if (pooling == Pooling::none) return "raw";
  if (dims == 4 || (dims == 3 && prefix_tokens == 0)) return "mean";
  if (dims == 3) return pooling_name(pooling);
  return "as is";
}

at::Tensor pool_probe(const at::Tensor& t, int64_t prefix_tokens, Pooling pooling) {
  if (pooling == Pooling::none || t.dim() < 3) return t;
  if (t.dim() == 4) return t.mean({2, 3});
  if (prefix_tokens == 0) return t.mean({1});
  const at::Tensor cls = t.select(1, 0);
  const at::Tensor patches = t.narrow(1, prefix_tokens, t.size(1) - prefix_tokens).mean({1});
  if (pooling == Pooling::cls) return cls.clone(at::MemoryFormat::Contiguous);
  if (pooling == Pooling::patches) return patches;
  return at::cat({cls, patches}, 1);
}

}  // namespace featreuse::models
