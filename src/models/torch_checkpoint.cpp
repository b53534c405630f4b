// torch.save files -> state_dict: the zip format (<name>/data.pkl plus one
// <name>/data/<key> entry per storage) and the legacy format (magic number,
// protocol, sys_info and the object as consecutive pickles, then the storage
// keys and each storage's raw bytes).
#include <ATen/ATen.h>

#include <map>
#include <set>

#include "featreuse/core/error.hpp"
#include "featreuse/models/weights.hpp"
#include "torch_pickle.hpp"
#include "weight_io.hpp"
#include "zip_archive.hpp"

namespace featreuse::models {

namespace {

using detail::PyObj;
using detail::StorageRef;
using detail::TensorSpec;

using Kind = PyObj::Kind;

// Largest tensor we agree to build (elements); no real weight comes close.
constexpr int64_t kMaxElements = int64_t{1} << 33;

bool has_tensor(const PyObj* o) {
  if (o->kind != Kind::Dict) return false;
  for (const auto& kv : o->dict)
    if (kv.second->kind == Kind::Tensor) return true;
  return false;
}

// The state_dict inside a checkpoint: the top dict, or its "model" /
// "state_dict" entry when that holds the tensors.
std::vector<std::pair<std::string, const TensorSpec*>> select_state_dict(const PyObj* top,
                                                                         const std::string& name) {
  if (top->kind == Kind::Opaque)
    throw Error(name + ": holds a pickled '" + top->s +
                "' object, not a state_dict (save model.state_dict() instead)");
  if (top->kind != Kind::Dict) throw Error(name + ": the pickled object is not a dict of tensors");
  const PyObj* sd = top;
  if (!has_tensor(top))
    for (const std::string wrapper : {"model", "state_dict"}) {
      for (const auto& kv : top->dict)
        if (kv.first->kind == Kind::Str && kv.first->s == wrapper && has_tensor(kv.second)) {
          sd = kv.second;
          break;
        }
      if (sd != top) break;
    }
  std::vector<std::pair<std::string, const TensorSpec*>> out;
  std::set<std::string> seen;
  for (const auto& [k, v] : sd->dict) {
    if (v->kind != Kind::Tensor) continue;  // e.g. extra training state
    if (k->kind != Kind::Str) throw Error(name + ": a state_dict key is not a string");
    if (!seen.insert(k->s).second) throw Error(name + ": state_dict key '" + k->s + "' appears twice");
    out.emplace_back(k->s, &v->tensor);
  }
  if (out.empty()) {
    std::string keys;
    for (const auto& kv : top->dict)
      if (kv.first->kind == Kind::Str) keys += (keys.empty() ? "" : ", ") + kv.first->s;
    throw Error(name + ": no tensors found (top-level keys: " + (keys.empty() ? "none" : keys) + ")");
  }
  return out;
}

// Builds a tensor from its storage's bytes after checking that every element
// it addresses lies inside the storage (view).
at::Tensor materialize(const std::string& key_name, const TensorSpec& spec, const at::Tensor& flat,
                       const std::string& name) {
  const StorageRef& ref = *spec.storage;
  const auto bad = [&](const std::string& why) { return Error(name + ": tensor '" + key_name + "' " + why); };
  int64_t numel = 1;
  bool empty = false;
  for (size_t d = 0; d < spec.sizes.size(); ++d) {
    if (spec.sizes[d] < 0 || spec.strides[d] < 0) throw bad("has a negative size or stride");
    if (spec.sizes[d] == 0) empty = true;
  }
  if (empty) return at::empty(spec.sizes, flat.options());
  int64_t last = spec.offset;
  if (last < 0) throw bad("has a negative storage offset");
  for (size_t d = 0; d < spec.sizes.size(); ++d) {
    if (spec.sizes[d] > kMaxElements / numel) throw bad("is too large");
    numel *= spec.sizes[d];
    const int64_t span = spec.sizes[d] - 1;
    if (spec.strides[d] > 0 && span > (kMaxElements - last) / spec.strides[d])
      throw bad("addresses elements outside its storage");
    last += span * spec.strides[d];
  }
  if (last >= ref.numel)
    throw bad("addresses elements outside its storage (storage holds " + std::to_string(ref.numel) +
              ", tensor needs " + std::to_string(last + 1) + ")");
  return flat.narrow(0, ref.offset, ref.numel).as_strided(spec.sizes, spec.strides, spec.offset).clone();
}

// Root storages by key: dtype and element count must agree between references.
std::map<std::string, const StorageRef*> roots(const std::vector<std::unique_ptr<StorageRef>>& refs,
                                               const std::string& name) {
  std::map<std::string, const StorageRef*> out;
  for (const auto& r : refs) {
    auto [it, fresh] = out.emplace(r->key, r.get());
    if (!fresh && (it->second->dtype != r->dtype || it->second->root_numel != r->root_numel))
      throw Error(name + ": storage '" + r->key + "' is described inconsistently");
  }
  return out;
}

TensorList build(const std::vector<std::pair<std::string, const TensorSpec*>>& specs,
                 const std::map<std::string, at::Tensor>& flats, const std::string& name) {
  TensorList out;
  for (const auto& [key, spec] : specs) {
    auto it = flats.find(spec->storage->key);
    if (it == flats.end())
      throw Error(name + ": storage '" + spec->storage->key + "' of tensor '" + key + "' is missing");
    out.emplace_back(key, materialize(key, *spec, it->second, name));
  }
  return out;
}

// A root storage's bytes -> flat tensor, after the size check.
at::Tensor flat_storage(const StorageRef& r, const uint8_t* bytes, uint64_t available,
                        const std::string& name) {
  const int64_t item = static_cast<int64_t>(c10::elementSize(r.dtype));
  const int64_t need = detail::checked_nbytes({r.root_numel}, item, available);
  if (need < 0 || static_cast<uint64_t>(need) > available)
    throw Error(name + ": storage '" + r.key + "' is truncated (needs " + std::to_string(r.root_numel) +
                " elements of " + std::to_string(item) + " bytes)");
  if (r.dtype == c10::kBool) detail::check_bool_bytes(bytes, static_cast<size_t>(need), name);
  return detail::tensor_from_bytes(bytes, r.dtype, {r.root_numel});
}

TensorList parse_zip(const uint8_t* data, size_t size, const std::string& name) {
  detail::ZipArchive zip(data, size, name);
  std::string prefix;
  int found = 0;
  for (const auto& [entry, bytes] : zip.entry_sizes()) {
    const auto slash = entry.find('/');
    if (slash != std::string::npos && entry.substr(slash + 1) == "data.pkl") {
      prefix = entry.substr(0, slash + 1);
      ++found;
    }
  }
  if (found != 1)
    throw Error(name + ": zip archive " +
                (found ? "has several <dir>/data.pkl entries" : "has no <dir>/data.pkl entry") +
                ": not a torch.save file");
  if (zip.contains(prefix + "byteorder")) {
    auto [p, n] = zip.read(prefix + "byteorder");
    if (std::string(reinterpret_cast<const char*>(p), n) != "little")
      throw Error(name + ": saved on a big-endian machine; only little-endian files are supported");
  }
  auto [pkl, pkl_size] = zip.read(prefix + "data.pkl");
  detail::Unpickler u(pkl, pkl_size, name);
  size_t pos = 0;
  const auto specs = select_state_dict(u.load(pos), name);
  std::map<std::string, at::Tensor> flats;
  for (const auto& [key, ref] : roots(u.storages(), name)) {
    const std::string entry = prefix + "data/" + key;
    if (!zip.contains(entry)) throw Error(name + ": storage entry '" + entry + "' is missing");
    auto [p, n] = zip.read(entry);
    flats[key] = flat_storage(*ref, p, n, name);
  }
  return build(specs, flats, name);
}

TensorList parse_legacy(const uint8_t* data, size_t size, const std::string& name) {
  detail::Unpickler u(data, size, name);
  size_t pos = 0;
  const PyObj* magic = u.load(pos);
  static const std::string kMagic = std::string("int:") + "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
  if (magic->kind != Kind::Opaque || magic->s != kMagic)
    throw Error(name + ": not a torch.save file (zip or legacy format)");
  const PyObj* protocol = u.load(pos);
  if (protocol->kind != Kind::Int || protocol->i != 1001)
    throw Error(name + ": unsupported legacy torch.save protocol version");
  const PyObj* sys_info = u.load(pos);
  if (sys_info->kind == Kind::Dict)
    for (const auto& [k, v] : sys_info->dict)
      if (k->kind == Kind::Str && k->s == "little_endian" && v->kind == Kind::Bool && !v->i)
        throw Error(name + ": saved on a big-endian machine; only little-endian files are supported");
  u.set_legacy(true);
  const auto specs = select_state_dict(u.load(pos), name);
  u.set_legacy(false);
  const PyObj* keys = u.load(pos);
  if (keys->kind != Kind::List) throw Error(name + ": legacy storage key list missing");
  const auto root = roots(u.storages(), name);
  std::map<std::string, at::Tensor> flats;
  for (const PyObj* k : keys->items) {
    if (k->kind != Kind::Str) throw Error(name + ": a legacy storage key is not a string");
    auto it = root.find(k->s);
    if (it == root.end() || flats.count(k->s))
      throw Error(name + ": legacy storage key '" + k->s + "' is unknown or repeated");
    if (size - pos < 8) throw Error(name + ": legacy storage data truncated");
    int64_t numel = 0;
    for (int i = 7; i >= 0; --i) numel = (numel << 8) | data[pos + i];
    pos += 8;
    if (numel != it->second->root_numel)
      throw Error(name + ": legacy storage '" + k->s + "' has the wrong element count");
    const auto bytes = static_cast<uint64_t>(numel) * c10::elementSize(it->second->dtype);
    flats[k->s] = flat_storage(*it->second, data + pos, size - pos, name);
    pos += bytes;
  }
  return build(specs, flats, name);
}

}  // namespace

TensorList parse_torch_checkpoint(const uint8_t* data, size_t size, const std::string& name) {
  if (detail::ZipArchive::looks_like_zip(data, size)) return parse_zip(data, size, name);
  if (size >= 2 && data[0] == 0x80) return parse_legacy(data, size, name);
  throw Error(name + ": not a torch.save file (neither a zip archive nor a pickle)");
}

TensorList read_torch_checkpoint(const std::string& path) {
  const auto bytes = detail::read_file_bytes(path);
  return parse_torch_checkpoint(bytes.data(), bytes.size(), path);
}

}  // namespace featreuse::models
