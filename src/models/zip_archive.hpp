#pragma once
// A read-only view of a ZIP archive held in memory, enough for torch.save's
// files: stored (uncompressed) entries, ZIP64 records, CRC-32 checked.
// Every offset is bounds-checked; malformed archives give featreuse::Error.
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace featreuse::models::detail {

class ZipArchive {
 public:
  // `data` must outlive the archive. `name` is used in messages.
  ZipArchive(const uint8_t* data, size_t size, std::string name);

  bool contains(const std::string& entry) const { return entries_.count(entry) > 0; }
  // The entry's bytes (pointer into the buffer, size); CRC checked on first use.
  std::pair<const uint8_t*, size_t> read(const std::string& entry) const;
  const std::map<std::string, size_t>& entry_sizes() const { return sizes_; }

  static bool looks_like_zip(const uint8_t* data, size_t size);

 private:
  struct Entry {
    uint64_t data_offset;
    uint64_t size;
    uint32_t crc;
    uint16_t method;
  };
  const uint8_t* data_;
  size_t size_;
  std::string name_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, size_t> sizes_;
};

uint32_t crc32(const uint8_t* data, size_t size);

}  // namespace featreuse::models::detail
