#pragma once
// Decoding a layout's items for the cache: each image brought to the layout's
// channels and size, with its pixel sums for the statistics; on threads,
// handed on in item order.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "featreuse/data/layout.hpp"

namespace featreuse::data::detail {

struct Decoded {
  int64_t item = -1;
  std::vector<uint8_t> planes;                      // C x S x S
  double sum[3] = {0, 0, 0}, sqsum[3] = {0, 0, 0};  // per channel, in [0, 1] units
  std::string error;                                // non-empty: skipped
};

// One item; an image that cannot be read gives `error`, not an exception.
Decoded decode_item(const Layout& layout, int64_t index);

// Decodes `work` (item positions) on `threads` threads and hands the results
// to `consume` in order, with a bounded window between the two. An exception
// in `consume` or one that is not an image problem stops everything and is
// rethrown.
void decode_in_order(const Layout& layout, const std::vector<int64_t>& work, int threads,
                     const std::function<void(Decoded&)>& consume);

}  // namespace featreuse::data::detail
