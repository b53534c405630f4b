#pragma once
// The one way featreuse includes nlohmann::json. Its precondition checks
// (JSON_ASSERT) compile to nothing in a Release build, so reading a missing
// key through a const json& is undefined behaviour there: a crash at best,
// garbage at worst. Here a broken precondition throws instead, and the task
// that hit it fails with a message. Every translation unit must get json
// through this header so that all of them agree on the definition.
#include <stdexcept>
#include <string>

namespace featreuse {
// A function, not a throw expression, so that checks inside nlohmann's
// noexcept members do not warn; there a failure still ends in terminate.
[[noreturn]] inline void json_precondition_failed(const char* condition) {
  throw std::logic_error(std::string("nlohmann::json precondition failed: ") + condition +
                         " (a missing key read through a const json?)");
}
}  // namespace featreuse

#ifndef JSON_ASSERT
#define JSON_ASSERT(condition) \
  ((condition) ? static_cast<void>(0) : ::featreuse::json_precondition_failed(#condition))
#endif
#include <nlohmann/json.hpp>

namespace featreuse {
using json = nlohmann::json;
}  // namespace featreuse
