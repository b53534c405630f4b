#pragma once
// A restricted unpickler for torch.save's state_dict pickles. It knows
// Python's plain containers and scalars, collections.OrderedDict,
// torch._utils._rebuild_tensor(_v2) / _rebuild_parameter(_with_state) and
// torch's persistent storage ids; any other global becomes an opaque value
// (never imported or called). All objects live in one arena, so hostile
// nesting or cycles cannot overflow the stack on destruction.
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace featreuse::models::detail {

struct PyObj;

// A storage named by a persistent id: the root storage's key, dtype and
// element count, and the element range [offset, offset + numel) of it that
// this reference sees (the whole storage, except legacy-format views).
struct StorageRef {
  std::string key;
  c10::ScalarType dtype = c10::kFloat;
  int64_t root_numel = 0;
  int64_t offset = 0;
  int64_t numel = 0;
};

// What _rebuild_tensor_v2 was asked to build, materialised later once the
// storage bytes are known.
struct TensorSpec {
  const StorageRef* storage = nullptr;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

struct PyObj {
  enum class Kind {
    None,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    Tuple,
    List,
    Dict,
    Set,
    Global,
    Storage,
    Tensor,
    Opaque,
    Mark
  };
  Kind kind = Kind::None;
  int64_t i = 0;
  double f = 0;
  std::string s;                                // Str, Bytes, Global ("module.name"), Opaque's type
  std::vector<PyObj*> items;                    // Tuple, List, Set
  std::vector<std::pair<PyObj*, PyObj*>> dict;  // Dict, in insertion order
  const StorageRef* storage = nullptr;          // Storage
  TensorSpec tensor;                            // Tensor
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string name);
  ~Unpickler();

  // Unpickles one object starting at byte `pos`; returns it and sets `pos` to
  // the byte after its STOP. Throws featreuse::Error on anything malformed.
  PyObj* load(size_t& pos);

  // Storages named by persistent ids so far (owned here).
  const std::vector<std::unique_ptr<StorageRef>>& storages() const { return storages_; }

  // The legacy (pre-zip) format's persistent ids carry a view description.
  void set_legacy(bool legacy) { legacy_ = legacy; }

 private:
  PyObj* make(PyObj::Kind kind);
  PyObj* persistent_load(PyObj* pid);
  PyObj* reduce(PyObj* callable, PyObj* args);

  const uint8_t* data_;
  size_t size_;
  std::string name_;
  bool legacy_ = false;
  std::vector<std::unique_ptr<PyObj>> arena_;
  std::vector<std::unique_ptr<StorageRef>> storages_;
};

// dtype of a storage class name ("torch.FloatStorage"), false if unknown.
bool storage_dtype(const std::string& global, c10::ScalarType& dtype);

}  // namespace featreuse::models::detail
