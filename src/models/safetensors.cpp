// safetensors reader and writer. The parser assumes nothing about its input:
// every length and offset is checked against the buffer before use.
#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/core/json.hpp"
#include "featreuse/models/weights.hpp"
#include "weight_io.hpp"

namespace featreuse::models {

namespace {

using nlohmann::json;

// The safetensors reference implementation's cap on the JSON header.
constexpr uint64_t kMaxHeader = 100u * 1024 * 1024;

struct DType {
  const char* name;
  c10::ScalarType type;
  int64_t size;
};
constexpr DType kDTypes[] = {
    {"F64", c10::kDouble, 8}, {"F32", c10::kFloat, 4}, {"F16", c10::kHalf, 2},  {"BF16", c10::kBFloat16, 2},
    {"I64", c10::kLong, 8},   {"I32", c10::kInt, 4},   {"I16", c10::kShort, 2}, {"I8", c10::kChar, 1},
    {"U8", c10::kByte, 1},    {"BOOL", c10::kBool, 1},
};

const DType* dtype_by_name(const std::string& s) {
  for (const auto& d : kDTypes)
    if (s == d.name) return &d;
  return nullptr;
}

const DType* dtype_by_type(c10::ScalarType t) {
  for (const auto& d : kDTypes)
    if (t == d.type) return &d;
  return nullptr;
}

struct Entry {
  std::string name;
  const DType* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

std::vector<int64_t> read_uint_list(const json& v, const std::string& what, size_t exact_size,
                                    const std::string& where) {
  if (!v.is_array()) throw Error(where + ": " + what + " must be a list of integers");
  if (exact_size && v.size() != exact_size)
    throw Error(where + ": " + what + " must have " + std::to_string(exact_size) + " entries");
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_unsigned() || e.get<uint64_t>() > (uint64_t{1} << 62))
      throw Error(where + ": " + what + " must hold non-negative integers below 2^62");
    out.push_back(static_cast<int64_t>(e.get<uint64_t>()));
  }
  return out;
}

}  // namespace

SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name) {
  static_assert(sizeof(uint64_t) == 8);
  if (size < 8) throw Error(name + ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];  // little-endian
  if (n > kMaxHeader)
    throw Error(name + ": safetensors header length " + std::to_string(n) +
                " exceeds the 100 MiB limit (corrupt file?)");
  if (n > size - 8)
    throw Error(name + ": safetensors header length " + std::to_string(n) + " exceeds the file size (" +
                std::to_string(size) + " bytes): truncated or corrupt");
  if (n < 2 || data[8] != '{') throw Error(name + ": safetensors header does not start with a JSON object");
  const char* hbegin = reinterpret_cast<const char*>(data + 8);

  // Parse with a depth limit (the format nests at most 3 deep) and catch
  // duplicate tensor names, which a plain parse would silently merge.
  std::set<std::string> seen;
  json header;
  try {
    header = json::parse(hbegin, hbegin + n, [&](int depth, json::parse_event_t event, json& parsed) {
      if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
          depth > 3)
        throw Error(name + ": safetensors header nests deeper than the format allows");
      if (event == json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second)
        throw Error(name + ": safetensors header names tensor '" + parsed.get<std::string>() + "' twice");
      return true;
    });
  } catch (const json::exception& e) {
    throw Error(name + ": safetensors header is not valid JSON (" + e.what() + ")");
  }
  if (!header.is_object()) throw Error(name + ": safetensors header is not a JSON object");

  SafetensorsFile out;
  std::vector<Entry> entries;
  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string where = name + ": tensor '" + it.key() + "'";
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw Error(name + ": __metadata__ must be a JSON object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw Error(name + ": __metadata__ value '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    if (it.key().empty()) throw Error(name + ": a tensor has an empty name");
    const json& info = *it;
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets"))
      throw Error(where + " needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string()) throw Error(where + ": dtype must be a string");
    Entry e;
    e.name = it.key();
    e.dtype = dtype_by_name(info["dtype"].get<std::string>());
    if (!e.dtype)
      throw Error(where + " has unsupported dtype '" + info["dtype"].get<std::string>() +
                  "' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    e.shape = read_uint_list(info["shape"], "shape", 0, where);
    if (e.shape.size() > 16) throw Error(where + ": more than 16 dimensions");
    const auto offsets = read_uint_list(info["data_offsets"], "data_offsets", 2, where);
    e.begin = static_cast<uint64_t>(offsets[0]);
    e.end = static_cast<uint64_t>(offsets[1]);
    if (e.end < e.begin) throw Error(where + ": data_offsets end before they begin");
    if (e.end > buffer_size)
      throw Error(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  ") reach past the data (" + std::to_string(buffer_size) + " bytes): truncated or corrupt");
    const int64_t nbytes = detail::checked_nbytes(e.shape, e.dtype->size, buffer_size);
    if (nbytes < 0 || static_cast<uint64_t>(nbytes) != e.end - e.begin)
      throw Error(
          where + ": shape and dtype need " +
          (nbytes < 0 ? std::string("more bytes than the file has") : std::to_string(nbytes) + " bytes") +
          ", data_offsets give " + std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }

  // The tensors must tile the data exactly: no overlap, no gap, nothing after.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const auto& e : entries) {
    if (e.begin < expected) throw Error(name + ": tensor '" + e.name + "' overlaps the tensor before it");
    if (e.begin > expected)
      throw Error(name + ": unused bytes before tensor '" + e.name + "' (corrupt offsets)");
    expected = e.end;
  }
  if (expected != buffer_size)
    throw Error(name + ": " + std::to_string(buffer_size - expected) +
                " bytes after the last tensor (corrupt offsets or trailing data)");

  for (const auto& e : entries) {
    const uint8_t* bytes = buffer + e.begin;
    if (e.dtype->type == c10::kBool)
      detail::check_bool_bytes(bytes, e.end - e.begin, name + ": tensor '" + e.name + "'");
    out.tensors.emplace_back(e.name, detail::tensor_from_bytes(bytes, e.dtype->type, e.shape));
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const auto bytes = detail::read_file_bytes(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::string serialize_safetensors(const TensorList& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__" || header.contains(name))
      throw Error("safetensors: cannot write tensor name '" + name + "' (empty, reserved or repeated)");
    const DType* d = dtype_by_type(tensor.scalar_type());
    if (!d)
      throw Error("safetensors: tensor '" + name + "' has dtype " +
                  std::string(c10::toString(tensor.scalar_type())) + ", which safetensors cannot hold");
    auto t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * d->size;
    header[name] = {
        {"dtype", d->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    data.push_back(t);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  std::string out;
  out.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(uint64_t(text.size()) >> (8 * i)));
  out += text;
  for (const auto& t : data)
    out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel() * t.element_size()));
  return out;
}

void write_safetensors(const std::string& path, const TensorList& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::string bytes;
  try {
    bytes = serialize_safetensors(tensors, metadata);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot open for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw Error(path + ": write failed (disk full?)");
}

}  // namespace featreuse::models
