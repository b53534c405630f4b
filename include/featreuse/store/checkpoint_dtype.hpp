#pragma once
// The precision a store keeps checkpoints in (recipe `checkpoint_dtype`):
// float32 by default, or bfloat16 / float16 for half the bytes. Training is
// always float32; only the stored `initial` and `best` are rounded (to
// nearest, ties to even, as torch's and numpy's casts), and every reader gets
// float32 back (HDF5 widens exactly).
#include <cstdint>
#include <string>
#include <vector>

#include "featreuse/store/h5.hpp"

namespace featreuse::store {

enum class CheckpointDtype { float32, bfloat16, float16 };

const char* checkpoint_dtype_name(CheckpointDtype dtype);
// Throws featreuse::Error naming `name` and the known ones.
CheckpointDtype parse_checkpoint_dtype(const std::string& name);
size_t checkpoint_value_bytes(CheckpointDtype dtype);

// The HDF5 file type: IEEE float32, IEEE binary16, or bfloat16 (a float of 8
// exponent and 7 mantissa bits that h5py and HDF5 read as a float).
h5::Handle checkpoint_file_type(CheckpointDtype dtype);

// float32 values rounded to the 16-bit type's bit patterns (not for float32).
std::vector<uint16_t> narrow_values(const std::vector<float>& values, CheckpointDtype dtype);

}  // namespace featreuse::store
