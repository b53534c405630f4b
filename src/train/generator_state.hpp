#pragma once
// Random generator states as bytes, so a resumed task draws the same dropout
// and drop-path masks as a straight run: the default CPU generator's, and on a
// GPU the device's default generator's too (masks of tensors on the device are
// drawn there).
#include <c10/core/Device.h>

#include <string>

namespace featreuse::train {

std::string generator_bytes();
void set_generator(const std::string& bytes);

// The default generator of `device` (a GPU); empty for the CPU, whose
// generator generator_bytes() holds.
std::string device_generator_bytes(const c10::Device& device);
// Restores it; empty bytes (a state saved on the CPU, or before this was
// kept) leave the device's generator as seeded.
void set_device_generator(const c10::Device& device, const std::string& bytes);

}  // namespace featreuse::train
