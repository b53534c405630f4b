#include "npy.hpp"

#include <ATen/ATen.h>
#include <zip.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "featreuse/core/error.hpp"

namespace featreuse::app {

namespace {

struct NpyHeader {
  at::ScalarType type = at::kFloat;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
};

// The header's value for `key` ('descr', 'fortran_order', 'shape'), by regex.
std::string header_field(const std::string& header, const std::string& key, const std::string& pattern,
                         const std::string& name) {
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'" + key + "'\\s*:\\s*" + pattern)))
    throw Error(name + ": .npy header has no " + key);
  return m[1];
}

NpyHeader parse_header(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw Error(name + ": not a .npy file");
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = b[6];
  uint32_t header_len = 0;
  size_t start = 0;
  if (major == 1) {
    header_len = b[8] | (b[9] << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(name + ": truncated header");
    header_len = b[8] | (b[9] << 8) | (b[10] << 16) | (uint32_t(b[11]) << 24);
    start = 12;
  } else {
    throw Error(name + ": unsupported .npy version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) throw Error(name + ": .npy header too long");
  if (bytes.size() < start + header_len) throw Error(name + ": truncated header");
  const std::string header = bytes.substr(start, header_len);

  NpyHeader out;
  out.data_offset = start + header_len;
  const std::string descr = header_field(header, "descr", "'([^']*)'", name);
  if (descr == "<f4")
    out.type = at::kFloat;
  else if (descr == "<f8")
    out.type = at::kDouble;
  else if (descr == "<f2")
    out.type = at::kHalf;
  else
    throw Error(name + ": .npy dtype '" + descr + "' is not supported (use little-endian float16/32/64)");
  if (header_field(header, "fortran_order", "(True|False)", name) == "True")
    throw Error(name + ": Fortran-ordered arrays are not supported (use np.ascontiguousarray)");
  const std::string dims = header_field(header, "shape", "\\(([^)]*)\\)", name);
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    if (it->str().size() > 12) throw Error(name + ": .npy dimension too large");
    out.shape.push_back(std::stoll(it->str()));
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// libzip's message for an archive-level error code.
std::string zip_message(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

using Archive = std::unique_ptr<zip_t, decltype(&zip_discard)>;

std::string read_member(zip_t* archive, zip_uint64_t index, const std::string& name) {
  zip_stat_t stat;
  if (zip_stat_index(archive, index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE))
    throw Error(name + ": cannot read its size");
  std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(archive, index, 0), &zip_fclose);
  if (!file) throw Error(name + ": " + zip_strerror(archive));
  std::string bytes(stat.size, '\0');
  if (zip_fread(file.get(), bytes.data(), stat.size) != zip_int64_t(stat.size))
    throw Error(name + ": " + zip_file_strerror(file.get()));
  return bytes;
}

}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  const NpyHeader header = parse_header(bytes, name);
  const int64_t item = header.type == at::kDouble ? 8 : header.type == at::kFloat ? 4 : 2;
  // Check the size against the bytes before allocating anything.
  const int64_t available = int64_t(bytes.size() - header.data_offset);
  int64_t expected = item;
  for (int64_t d : header.shape) {
    if (d != 0 && expected > available / d)
      throw Error(name + ": .npy data truncated (shape needs more bytes than the file has)");
    expected *= d;
  }
  if (expected > available) throw Error(name + ": .npy data truncated");
  auto t = at::empty(header.shape, at::TensorOptions().dtype(header.type));
  if (t.numel() > 0) std::memcpy(t.data_ptr(), bytes.data() + header.data_offset, t.numel() * item);
  return t;
}

at::Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path).to(at::kFloat); }

std::string npy_bytes(const at::Tensor& tensor) {
  const at::Tensor t = tensor.contiguous();
  if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
    throw Error("npy: only float32 and float64 arrays are written");
  std::string shape;  // as Python prints a tuple: "(3,)", "(3, 4)"
  for (int64_t i = 0; i < t.dim(); ++i) shape += (i ? ", " : "") + std::to_string(t.size(i));
  if (t.dim() == 1) shape += ",";
  shape = "(" + shape + ")";
  std::string header = std::string("{'descr': '") + (t.scalar_type() == at::kDouble ? "<f8" : "<f4") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // NumPy pads the header with spaces to a multiple of 64 bytes, ending in '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> read_npz(const std::string& path) {
  int code = 0;
  Archive archive(zip_open(path.c_str(), ZIP_RDONLY, &code), &zip_discard);
  if (!archive) throw Error(path + ": not a readable .npz file (" + zip_message(code) + ")");
  std::vector<std::pair<std::string, at::Tensor>> out;
  const zip_int64_t members = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < members; ++i) {
    const std::string member = zip_get_name(archive.get(), zip_uint64_t(i), 0);
    if (member.size() < 5 || member.compare(member.size() - 4, 4, ".npy") != 0) continue;
    const std::string name = path + ":" + member;
    out.emplace_back(member.substr(0, member.size() - 4),
                     parse_npy(read_member(archive.get(), zip_uint64_t(i), name), name));
  }
  return out;
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& arrays) {
  const std::string temporary = path + ".partial";
  std::remove(temporary.c_str());
  int code = 0;
  Archive archive(zip_open(temporary.c_str(), ZIP_CREATE | ZIP_EXCL, &code), &zip_discard);
  if (!archive) throw Error(temporary + ": cannot create (" + zip_message(code) + ")");
  std::vector<std::string> contents;  // libzip reads the buffers when the archive closes
  contents.reserve(arrays.size());
  for (const auto& [name, tensor] : arrays) {
    contents.push_back(npy_bytes(tensor));
    zip_source_t* source =
        zip_source_buffer(archive.get(), contents.back().data(), contents.back().size(), 0);
    const zip_int64_t index =
        source ? zip_file_add(archive.get(), (name + ".npy").c_str(), source, ZIP_FL_OVERWRITE) : -1;
    if (index < 0) {
      if (source) zip_source_free(source);
      throw Error(temporary + ": " + zip_strerror(archive.get()));
    }
    zip_set_file_compression(archive.get(), zip_uint64_t(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive.get()) != 0) {
    const std::string message = zip_strerror(archive.get());
    std::remove(temporary.c_str());
    throw Error(temporary + ": " + message);
  }
  archive.release();  // zip_close freed it
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw Error(path + ": cannot write (rename failed)");
}

}  // namespace featreuse::app
