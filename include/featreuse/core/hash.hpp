#pragma once
// Stable content ids: the same text gives the same id on every machine, rank and run.
#include <string>

namespace featreuse {

// 12 hex digits (48 bits) of the SHA-1 name-based UUID of `text` under the
// featreuse namespace. Cell ids are this of the canonical resolved config.
std::string stable_id(const std::string& text);

// stable_id of a file's bytes (identifies weight files by content, not path).
std::string file_id(const std::string& path);

}  // namespace featreuse
