// Minimal ZIP reader for torch.save archives (PKWARE APPNOTE 6.3: end of
// central directory, ZIP64 locator/record, central and local headers).
#include "zip_archive.hpp"

#include <array>

#include "featreuse/core/error.hpp"

namespace featreuse::models::detail {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;

// Bounds-checked little-endian reads.
struct Reader {
  const uint8_t* data;
  size_t size;
  const std::string& name;

  void need(uint64_t off, uint64_t n, const char* what) const {
    if (off > size || n > size - off)
      throw Error(name + ": zip archive truncated or corrupt (" + what + " out of range)");
  }
  uint64_t le(uint64_t off, int n, const char* what) const {
    need(off, n, what);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | data[off + i];
    return v;
  }
  uint16_t u16(uint64_t off, const char* what) const { return uint16_t(le(off, 2, what)); }
  uint32_t u32(uint64_t off, const char* what) const { return uint32_t(le(off, 4, what)); }
  uint64_t u64(uint64_t off, const char* what) const { return le(off, 8, what); }
};

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool ZipArchive::looks_like_zip(const uint8_t* data, size_t size) {
  return size >= 4 && data[0] == 'P' && data[1] == 'K' && data[2] == 3 && data[3] == 4;
}

ZipArchive::ZipArchive(const uint8_t* data, size_t size, std::string name)
    : data_(data), size_(size), name_(std::move(name)) {
  const Reader r{data, size, name_};
  if (size < 22) throw Error(name_ + ": too short to be a zip archive");
  // The end record sits in the last 22 + 65535 (comment) bytes.
  uint64_t end = 0;
  bool found = false;
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t off = size - 22 + 1; off-- > lowest;)
    if (r.u32(off, "end record") == kEndSig) {
      end = off;
      found = true;
      break;
    }
  if (!found) throw Error(name_ + ": zip archive has no end-of-central-directory record (truncated?)");

  uint64_t count = r.u16(end + 10, "end record");
  uint64_t cd_size = r.u32(end + 12, "end record");
  uint64_t cd_offset = r.u32(end + 16, "end record");
  if (end >= 20 && r.u32(end - 20, "zip64 locator") == kLocator64Sig) {
    const uint64_t rec = r.u64(end - 20 + 8, "zip64 locator");
    if (r.u32(rec, "zip64 end record") != kEnd64Sig)
      throw Error(name_ + ": zip64 end record missing where the locator points");
    count = r.u64(rec + 32, "zip64 end record");
    cd_size = r.u64(rec + 40, "zip64 end record");
    cd_offset = r.u64(rec + 48, "zip64 end record");
  }
  r.need(cd_offset, cd_size, "central directory");
  if (count > cd_size / 46) throw Error(name_ + ": zip entry count does not fit the central directory");

  uint64_t off = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (r.u32(off, "central header") != kCentralSig)
      throw Error(name_ + ": corrupt zip central directory (entry " + std::to_string(i) + ")");
    const uint16_t method = r.u16(off + 10, "central header");
    const uint32_t crc = r.u32(off + 16, "central header");
    uint64_t csize = r.u32(off + 20, "central header");
    uint64_t usize = r.u32(off + 24, "central header");
    const uint16_t name_len = r.u16(off + 28, "central header");
    const uint16_t extra_len = r.u16(off + 30, "central header");
    const uint16_t comment_len = r.u16(off + 32, "central header");
    uint64_t local = r.u32(off + 42, "central header");
    r.need(off + 46, uint64_t(name_len) + extra_len + comment_len, "central header");
    std::string entry(reinterpret_cast<const char*>(data + off + 46), name_len);
    // ZIP64 extra field: 8-byte values for the fields saturated at 0xFFFFFFFF.
    for (uint64_t e = off + 46 + name_len; e + 4 <= off + 46 + name_len + extra_len;) {
      const uint16_t id = r.u16(e, "extra field"), len = r.u16(e + 2, "extra field");
      if (e + 4 + len > off + 46 + name_len + extra_len)
        throw Error(name_ + ": corrupt zip extra field in '" + entry + "'");
      if (id == 0x0001) {
        uint64_t p = e + 4;
        auto take = [&](uint64_t& v) {
          if (v != 0xFFFFFFFFu) return;
          if (p + 8 > e + 4 + len) throw Error(name_ + ": short zip64 field in '" + entry + "'");
          v = r.u64(p, "zip64 field");
          p += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      e += 4 + len;
    }
    off += 46 + uint64_t(name_len) + extra_len + comment_len;

    if (r.u32(local, "local header") != kLocalSig)
      throw Error(name_ + ": zip entry '" + entry + "' has no local header where it should");
    const uint64_t data_offset =
        local + 30 + r.u16(local + 26, "local header") + uint64_t(r.u16(local + 28, "local header"));
    r.need(data_offset, csize, "entry data");
    if (method == 0 && csize != usize)
      throw Error(name_ + ": stored zip entry '" + entry + "' has inconsistent sizes");
    if (!entries_.emplace(entry, Entry{data_offset, csize, crc, method}).second)
      throw Error(name_ + ": zip entry '" + entry + "' appears twice");
    sizes_[entry] = static_cast<size_t>(usize);
  }
}

std::pair<const uint8_t*, size_t> ZipArchive::read(const std::string& entry) const {
  auto it = entries_.find(entry);
  if (it == entries_.end()) throw Error(name_ + ": zip archive has no entry '" + entry + "'");
  const Entry& e = it->second;
  if (e.method != 0)
    throw Error(name_ + ": zip entry '" + entry +
                "' is compressed; torch.save writes stored entries (re-save the file with torch.save)");
  const uint8_t* p = data_ + e.data_offset;
  if (crc32(p, e.size) != e.crc)
    throw Error(name_ + ": zip entry '" + entry + "' fails its CRC-32 check (corrupt file)");
  return {p, static_cast<size_t>(e.size)};
}

}  // namespace featreuse::models::detail
