#pragma once
// The safetensors fuzz entry point, shared by the libFuzzer target
// (fuzz_safetensors.cpp) and the corpus-replay unit test (test_weights.cpp).
// Any input must either parse or raise featreuse::Error; anything else (a
// crash, another exception, a sanitizer report) is a finding. A parsed file
// must survive a write/parse round trip unchanged.
#include <ATen/ATen.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "featreuse/core/error.hpp"
#include "featreuse/models/weights.hpp"

namespace featreuse::fuzz {

inline int safetensors_one_input(const uint8_t* data, size_t size) {
  models::SafetensorsFile parsed;
  try {
    parsed = models::parse_safetensors(data, size, "fuzz-input");
  } catch (const Error&) {
    return 0;  // rejected cleanly
  }
  const std::string again = models::serialize_safetensors(parsed.tensors, parsed.metadata);
  const auto reparsed =
      models::parse_safetensors(reinterpret_cast<const uint8_t*>(again.data()), again.size(), "round-trip");
  if (reparsed.tensors.size() != parsed.tensors.size() || reparsed.metadata != parsed.metadata) std::abort();
  for (size_t i = 0; i < parsed.tensors.size(); ++i) {
    const auto& a = parsed.tensors[i];
    const auto& b = reparsed.tensors[i];
    if (a.first != b.first || a.second.scalar_type() != b.second.scalar_type() ||
        a.second.sizes() != b.second.sizes())
      std::abort();
    // Compare bytes (NaN payloads included) rather than values.
    const auto n = static_cast<size_t>(a.second.numel() * a.second.element_size());
    if (n && std::memcmp(a.second.data_ptr(), b.second.data_ptr(), n) != 0) std::abort();
  }
  return 0;
}

}  // namespace featreuse::fuzz
