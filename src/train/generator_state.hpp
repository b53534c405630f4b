#pragma once
// The default CPU generator's state as bytes, so a resumed task draws the
// same dropout and drop-path masks as a straight run.
#include <string>

namespace featreuse::train {

std::string generator_bytes();
void set_generator(const std::string& bytes);

}  // namespace featreuse::train
