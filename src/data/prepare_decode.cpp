#include "prepare_decode.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "featreuse/core/error.hpp"
#include "featreuse/data/image.hpp"

namespace featreuse::data::detail {

Decoded decode_item(const Layout& layout, int64_t index) {
  Decoded out;
  out.item = index;
  const Item& item = layout.items[index];
  if (!item.invalid.empty()) {
    out.error = item.invalid;
    return out;
  }
  try {
    Image image = layout.load(item, layout.size);
    if (image.channels != layout.channels) image = convert_channels(image, layout.channels);
    if (image.width != layout.size || image.height != layout.size)
      image = resize_bilinear(image, layout.size, layout.size);
    const size_t plane = size_t(layout.size) * layout.size;
    const int c = layout.channels;
    out.planes.resize(plane * c);
    for (int ch = 0; ch < c; ++ch) {
      uint8_t* dst = out.planes.data() + plane * ch;
      const uint8_t* src = image.pixels.data() + ch;
      uint64_t s = 0, q = 0;
      for (size_t i = 0; i < plane; ++i) {
        const uint8_t v = src[i * c];
        dst[i] = v;
        s += v;
        q += uint64_t(v) * v;
      }
      out.sum[ch] = double(s) / 255.0;
      out.sqsum[ch] = double(q) / (255.0 * 255.0);
    }
  } catch (const Error& e) {
    out.planes.clear();
    out.error = e.what();
  }
  return out;
}

void decode_in_order(const Layout& layout, const std::vector<int64_t>& work, int threads,
                     const std::function<void(Decoded&)>& consume) {
  const size_t window = size_t(std::max(4, 4 * threads));
  std::vector<std::optional<Decoded>> ring(window);
  std::mutex lock;
  std::condition_variable changed;
  size_t consumed = 0;
  std::atomic<size_t> next{0};
  bool abort = false;
  std::exception_ptr failure;
  auto worker = [&] {
    while (true) {
      const size_t i = next.fetch_add(1);
      if (i >= work.size()) return;
      {
        std::unique_lock<std::mutex> guard(lock);
        changed.wait(guard, [&] { return abort || i < consumed + window; });
        if (abort) return;
      }
      Decoded d;
      try {
        d = decode_item(layout, work[i]);
      } catch (...) {  // not an image problem (e.g. out of memory): stop everything
        std::lock_guard<std::mutex> guard(lock);
        if (!failure) failure = std::current_exception();
        abort = true;
        changed.notify_all();
        return;
      }
      std::lock_guard<std::mutex> guard(lock);
      ring[i % window] = std::move(d);
      changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  try {
    for (size_t i = 0; i < work.size(); ++i) {
      Decoded d;
      {
        std::unique_lock<std::mutex> guard(lock);
        changed.wait(guard, [&] { return abort || ring[i % window].has_value(); });
        if (abort) break;
        d = std::move(*ring[i % window]);
        ring[i % window].reset();
        ++consumed;
        changed.notify_all();
      }
      consume(d);
    }
  } catch (...) {
    std::lock_guard<std::mutex> guard(lock);
    if (!failure) failure = std::current_exception();
    abort = true;
    changed.notify_all();
  }
  {
    std::lock_guard<std::mutex> guard(lock);
    abort = true;
    changed.notify_all();
  }
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace featreuse::data::detail
