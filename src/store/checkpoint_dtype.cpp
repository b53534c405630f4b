#include "featreuse/store/checkpoint_dtype.hpp"

#include <cmath>
#include <cstring>

#include "featreuse/core/error.hpp"

namespace featreuse::store {

namespace {

uint32_t bits_of(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// Rounds a mantissa cut at `dropped` bits to nearest, ties to even.
uint32_t round_cut(uint32_t kept, uint32_t rest, uint32_t half) {
  return kept + ((rest > half || (rest == half && (kept & 1))) ? 1 : 0);
}

uint16_t to_bfloat16(float value) {
  const uint32_t bits = bits_of(value);
  if (std::isnan(value)) return uint16_t((bits >> 16) | 0x40);    // stays a quiet NaN
  return uint16_t(round_cut(bits >> 16, bits & 0xFFFF, 0x8000));  // a carry may reach infinity: right
}

uint16_t to_float16(float value) {
  const uint32_t bits = bits_of(value);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude >= 0x7F800000) return sign | (magnitude > 0x7F800000 ? 0x7E00 : 0x7C00);  // NaN, inf
  if (magnitude >= 0x477FF000) return sign | 0x7C00;  // 65520 and above round to infinity
  if (magnitude < 0x38800000) {                       // below 2^-14: a subnormal half (or zero)
    // Its mantissa is |value| * 2^24, exact in float; nearbyint rounds ties to even.
    return sign | uint16_t(std::nearbyint(std::fabs(value) * 16777216.0f));
  }
  const uint32_t exponent = (magnitude >> 23) - 127 + 15, mantissa = magnitude & 0x7FFFFF;
  return sign | uint16_t(round_cut((exponent << 10) | (mantissa >> 13), mantissa & 0x1FFF, 0x1000));
}

}  // namespace

const char* checkpoint_dtype_name(CheckpointDtype dtype) {
  switch (dtype) {
    case CheckpointDtype::float32:
      return "float32";
    case CheckpointDtype::bfloat16:
      return "bfloat16";
    case CheckpointDtype::float16:
      return "float16";
  }
  return "?";
}

CheckpointDtype parse_checkpoint_dtype(const std::string& name) {
  for (auto d : {CheckpointDtype::float32, CheckpointDtype::bfloat16, CheckpointDtype::float16})
    if (name == checkpoint_dtype_name(d)) return d;
  throw Error("unknown checkpoint_dtype '" + name + "' (known: float32, bfloat16, float16)");
}

size_t checkpoint_value_bytes(CheckpointDtype dtype) { return dtype == CheckpointDtype::float32 ? 4 : 2; }

h5::Handle checkpoint_file_type(CheckpointDtype dtype) {
  h5::Handle type(h5::check(H5Tcopy(H5T_IEEE_F32LE), "H5Tcopy"));
  if (dtype == CheckpointDtype::float32) return type;
  // Sign at bit 15; then the exponent and mantissa widths and the bias.
  const bool half = dtype == CheckpointDtype::float16;
  const size_t mantissa = half ? 10 : 7, exponent = half ? 5 : 8;
  h5::check(H5Tset_fields(type, 15, mantissa, exponent, 0, mantissa), "H5Tset_fields");
  h5::check(H5Tset_size(type, 2), "H5Tset_size");
  h5::check(H5Tset_ebias(type, half ? 15 : 127), "H5Tset_ebias");
  return type;
}

std::vector<uint16_t> narrow_values(const std::vector<float>& values, CheckpointDtype dtype) {
  if (dtype == CheckpointDtype::float32) throw Error("narrow_values: float32 needs no narrowing");
  std::vector<uint16_t> out(values.size());
  const bool half = dtype == CheckpointDtype::float16;
  for (size_t i = 0; i < values.size(); ++i) out[i] = half ? to_float16(values[i]) : to_bfloat16(values[i]);
  return out;
}

}  // namespace featreuse::store
