// Restricted unpickler (pickle protocols 2-5, binary opcodes only), enough for
// torch.save's state_dicts. Opcode semantics follow CPython's Lib/pickle.py.
#include "torch_pickle.hpp"

#include <cstring>
#include <unordered_map>

#include "featreuse/core/error.hpp"

namespace featreuse::models::detail {

namespace {

// Caps that no real checkpoint comes near but that bound a hostile file's cost.
constexpr size_t kMaxObjects = size_t{1} << 26;
constexpr size_t kMaxDims = 64;

}  // namespace

bool storage_dtype(const std::string& global, c10::ScalarType& dtype) {
  static const std::pair<const char*, c10::ScalarType> table[] = {
      {"torch.FloatStorage", c10::kFloat},  {"torch.DoubleStorage", c10::kDouble},
      {"torch.HalfStorage", c10::kHalf},    {"torch.BFloat16Storage", c10::kBFloat16},
      {"torch.LongStorage", c10::kLong},    {"torch.IntStorage", c10::kInt},
      {"torch.ShortStorage", c10::kShort},  {"torch.CharStorage", c10::kChar},
      {"torch.ByteStorage", c10::kByte},    {"torch.BoolStorage", c10::kBool},
      {"torch.UntypedStorage", c10::kByte},
  };
  for (const auto& [name, type] : table)
    if (global == name) {
      dtype = type;
      return true;
    }
  return false;
}

Unpickler::Unpickler(const uint8_t* data, size_t size, std::string name)
    : data_(data), size_(size), name_(std::move(name)) {}

Unpickler::~Unpickler() = default;

PyObj* Unpickler::make(PyObj::Kind kind) {
  if (arena_.size() >= kMaxObjects) throw Error(name_ + ": pickle holds too many objects");
  arena_.push_back(std::make_unique<PyObj>());
  arena_.back()->kind = kind;
  return arena_.back().get();
}

namespace {

bool is_int(const PyObj* o) { return o && o->kind == PyObj::Kind::Int; }

std::vector<int64_t> int_tuple(const PyObj* o, const std::string& what, const std::string& name) {
  if (!o || o->kind != PyObj::Kind::Tuple || o->items.size() > kMaxDims)
    throw Error(name + ": malformed tensor record (" + what + " is not a tuple of integers)");
  std::vector<int64_t> out;
  for (const auto* e : o->items) {
    if (!is_int(e)) throw Error(name + ": malformed tensor record (" + what + " holds a non-integer)");
    out.push_back(e->i);
  }
  return out;
}

}  // namespace

PyObj* Unpickler::persistent_load(PyObj* pid) {
  // zip:    ('storage', storage_type, key, location, numel)
  // legacy: ('storage', storage_type, root_key, location, numel, view_metadata)
  const auto bad = [&](const std::string& why) {
    return Error(name_ + ": unsupported persistent id in pickle (" + why + ")");
  };
  if (pid->kind != PyObj::Kind::Tuple) throw bad("not a tuple");
  const auto& t = pid->items;
  if (t.empty() || (t[0]->kind != PyObj::Kind::Str && t[0]->kind != PyObj::Kind::Bytes) ||
      t[0]->s != "storage")
    throw bad("not a storage");
  if (t.size() != (legacy_ ? 6u : 5u)) throw bad("wrong length");
  if (t[1]->kind != PyObj::Kind::Global) throw bad("storage type is not a class");
  auto ref = std::make_unique<StorageRef>();
  if (!storage_dtype(t[1]->s, ref->dtype)) throw bad("unknown storage type '" + t[1]->s + "'");
  if (t[2]->kind != PyObj::Kind::Str && t[2]->kind != PyObj::Kind::Bytes) throw bad("key");
  ref->key = t[2]->s;
  if (!is_int(t[4]) || t[4]->i < 0) throw bad("storage size");
  ref->root_numel = t[4]->i;
  ref->numel = ref->root_numel;
  if (legacy_ && t[5]->kind != PyObj::Kind::None) {
    const auto view = t[5];
    if (view->kind != PyObj::Kind::Tuple || view->items.size() != 3 || !is_int(view->items[1]) ||
        !is_int(view->items[2]))
      throw bad("storage view");
    ref->offset = view->items[1]->i;
    ref->numel = view->items[2]->i;
    if (ref->offset < 0 || ref->numel < 0 || ref->offset > ref->root_numel ||
        ref->numel > ref->root_numel - ref->offset)
      throw bad("storage view outside its storage");
  }
  storages_.push_back(std::move(ref));
  PyObj* out = make(PyObj::Kind::Storage);
  out->storage = storages_.back().get();
  return out;
}

PyObj* Unpickler::reduce(PyObj* callable, PyObj* args) {
  if (callable->kind != PyObj::Kind::Global || args->kind != PyObj::Kind::Tuple) {
    PyObj* o = make(PyObj::Kind::Opaque);
    o->s = "<reduce>";
    return o;
  }
  const std::string& f = callable->s;
  const auto& a = args->items;
  if (f == "collections.OrderedDict" && a.empty()) return make(PyObj::Kind::Dict);
  if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
    if (a.size() < 4 || a[0]->kind != PyObj::Kind::Storage || !is_int(a[1]))
      throw Error(name_ + ": malformed " + f + " record");
    PyObj* o = make(PyObj::Kind::Tensor);
    o->tensor.storage = a[0]->storage;
    o->tensor.offset = a[1]->i;
    o->tensor.sizes = int_tuple(a[2], "size", name_);
    o->tensor.strides = int_tuple(a[3], "stride", name_);
    if (o->tensor.sizes.size() != o->tensor.strides.size())
      throw Error(name_ + ": malformed tensor record (size and stride differ in length)");
    return o;
  }
  // libtorch's pickle_save (featreuse weights export) wraps typed containers
  // as restore_type_tag(value, "Dict[str, Tensor]"); the value is the dict.
  if (f == "torch.jit._pickle.restore_type_tag") {
    if (a.empty()) throw Error(name_ + ": malformed " + f + " record");
    return a[0];
  }
  if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != PyObj::Kind::Tensor) throw Error(name_ + ": malformed " + f + " record");
    return a[0];
  }
  PyObj* o = make(PyObj::Kind::Opaque);
  o->s = f;
  return o;
}

PyObj* Unpickler::load(size_t& pos) {
  std::vector<PyObj*> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, PyObj*> memo;

  auto need = [&](size_t n) {
    if (n > size_ - pos) throw Error(name_ + ": pickle data truncated");
  };
  auto u8 = [&]() {
    need(1);
    return data_[pos++];
  };
  auto le = [&](int n) {
    need(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | data_[pos + i];
    pos += n;
    return v;
  };
  auto bytes = [&](uint64_t n) {
    if (n > size_ - pos) throw Error(name_ + ": pickle data truncated");
    std::string s(reinterpret_cast<const char*>(data_ + pos), n);
    pos += n;
    return s;
  };
  auto line = [&]() {
    const void* nl = std::memchr(data_ + pos, '\n', size_ - pos);
    if (!nl) throw Error(name_ + ": pickle data truncated");
    const size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos);
    std::string s = bytes(n);
    ++pos;
    return s;
  };
  auto pop = [&]() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
      throw Error(name_ + ": malformed pickle (stack underflow)");
    PyObj* o = stack.back();
    stack.pop_back();
    return o;
  };
  auto top = [&]() {
    if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
      throw Error(name_ + ": malformed pickle (stack underflow)");
    return stack.back();
  };
  auto pop_mark = [&]() {
    if (marks.empty()) throw Error(name_ + ": malformed pickle (no mark)");
    const size_t m = marks.back();
    marks.pop_back();
    std::vector<PyObj*> items(stack.begin() + static_cast<long>(m), stack.end());
    stack.resize(m);
    return items;
  };
  auto push_str = [&](PyObj::Kind k, std::string s) {
    PyObj* o = make(k);
    o->s = std::move(s);
    stack.push_back(o);
  };
  auto push_int = [&](int64_t v) {
    PyObj* o = make(PyObj::Kind::Int);
    o->i = v;
    stack.push_back(o);
  };
  auto tuple_of = [&](std::vector<PyObj*> items) {
    PyObj* o = make(PyObj::Kind::Tuple);
    o->items = std::move(items);
    return o;
  };
  auto set_items = [&](PyObj* target, const std::vector<PyObj*>& kv) {
    if (kv.size() % 2) throw Error(name_ + ": malformed pickle (odd SETITEMS)");
    if (target->kind != PyObj::Kind::Dict) return;  // e.g. an opaque object's state
    // Duplicate keys are kept; the state_dict reader rejects them.
    for (size_t i = 0; i < kv.size(); i += 2) target->dict.emplace_back(kv[i], kv[i + 1]);
  };
  auto append = [&](PyObj* target, const std::vector<PyObj*>& items) {
    if (target->kind != PyObj::Kind::List && target->kind != PyObj::Kind::Set) return;
    target->items.insert(target->items.end(), items.begin(), items.end());
  };
  auto memo_get = [&](uint64_t i) {
    auto it = memo.find(i);
    if (it == memo.end()) throw Error(name_ + ": malformed pickle (unknown memo entry)");
    stack.push_back(it->second);
  };

  for (;;) {
    const uint8_t op = u8();
    switch (op) {
      case 0x80:
        u8();
        break;  // PROTO
      case 0x95:
        le(8);
        break;   // FRAME
      case '.':  // STOP
        if (stack.empty()) throw Error(name_ + ": malformed pickle (empty stack at STOP)");
        return stack.back();
      case '(':
        marks.push_back(stack.size());
        break;  // MARK
      case '0':
        pop();
        break;  // POP
      case '1':
        pop_mark();
        break;  // POP_MARK
      case '2':
        stack.push_back(top());
        break;  // DUP
      case 'N':
        stack.push_back(make(PyObj::Kind::None));
        break;
      case 0x88:
      case 0x89: {  // NEWTRUE / NEWFALSE
        PyObj* o = make(PyObj::Kind::Bool);
        o->i = op == 0x88;
        stack.push_back(o);
        break;
      }
      case 'J':
        push_int(static_cast<int32_t>(le(4)));
        break;  // BININT
      case 'K':
        push_int(static_cast<int64_t>(le(1)));
        break;  // BININT1
      case 'M':
        push_int(static_cast<int64_t>(le(2)));
        break;  // BININT2
      case 0x8a:
      case 0x8b: {  // LONG1 / LONG4
        const uint64_t n = op == 0x8a ? le(1) : le(4);
        if (n > 8) {  // beyond int64: only the legacy magic number; keep it opaque
          push_str(PyObj::Kind::Opaque, "int:" + bytes(n));
          break;
        }
        uint64_t v = n ? le(static_cast<int>(n)) : 0;
        if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push_int(static_cast<int64_t>(v));
        break;
      }
      case 'G': {  // BINFLOAT (big-endian)
        need(8);
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | data_[pos + i];
        pos += 8;
        PyObj* o = make(PyObj::Kind::Float);
        std::memcpy(&o->f, &v, 8);
        stack.push_back(o);
        break;
      }
      case 'X':
        push_str(PyObj::Kind::Str, bytes(le(4)));
        break;  // BINUNICODE
      case 0x8c:
        push_str(PyObj::Kind::Str, bytes(le(1)));
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push_str(PyObj::Kind::Str, bytes(le(8)));
        break;  // BINUNICODE8
      case 'T':
        push_str(PyObj::Kind::Str, bytes(le(4)));
        break;  // BINSTRING (py2)
      case 'U':
        push_str(PyObj::Kind::Str, bytes(le(1)));
        break;  // SHORT_BINSTRING
      case 'B':
        push_str(PyObj::Kind::Bytes, bytes(le(4)));
        break;  // BINBYTES
      case 'C':
        push_str(PyObj::Kind::Bytes, bytes(le(1)));
        break;  // SHORT_BINBYTES
      case 0x8e:
        push_str(PyObj::Kind::Bytes, bytes(le(8)));
        break;  // BINBYTES8
      case ')':
        stack.push_back(tuple_of({}));
        break;  // EMPTY_TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<PyObj*> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        stack.push_back(tuple_of(std::move(items)));
        break;
      }
      case 't':
        stack.push_back(tuple_of(pop_mark()));
        break;  // TUPLE
      case ']':
        stack.push_back(make(PyObj::Kind::List));
        break;     // EMPTY_LIST
      case 'l': {  // LIST
        PyObj* o = make(PyObj::Kind::List);
        o->items = pop_mark();
        stack.push_back(o);
        break;
      }
      case '}':
        stack.push_back(make(PyObj::Kind::Dict));
        break;     // EMPTY_DICT
      case 'd': {  // DICT
        PyObj* o = make(PyObj::Kind::Dict);
        set_items(o, pop_mark());
        stack.push_back(o);
        break;
      }
      case 0x8f:
        stack.push_back(make(PyObj::Kind::Set));
        break;      // EMPTY_SET
      case 0x91: {  // FROZENSET
        PyObj* o = make(PyObj::Kind::Set);
        o->items = pop_mark();
        stack.push_back(o);
        break;
      }
      case 'a': {  // APPEND
        PyObj* v = pop();
        append(top(), {v});
        break;
      }
      case 'e':
      case 0x90: {  // APPENDS / ADDITEMS
        auto items = pop_mark();
        append(top(), items);
        break;
      }
      case 's': {  // SETITEM
        PyObj* v = pop();
        PyObj* k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {  // SETITEMS
        auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'q':
        memo[le(1)] = top();
        break;  // BINPUT
      case 'r':
        memo[le(4)] = top();
        break;  // LONG_BINPUT
      case 0x94:
        memo[memo.size()] = top();
        break;  // MEMOIZE
      case 'h':
        memo_get(le(1));
        break;  // BINGET
      case 'j':
        memo_get(le(4));
        break;     // LONG_BINGET
      case 'c': {  // GLOBAL
        std::string module = line();
        std::string nm = line();
        push_str(PyObj::Kind::Global, module + "." + nm);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyObj* nm = pop();
        PyObj* module = pop();
        if (nm->kind != PyObj::Kind::Str || module->kind != PyObj::Kind::Str)
          throw Error(name_ + ": malformed pickle (STACK_GLOBAL needs strings)");
        push_str(PyObj::Kind::Global, module->s + "." + nm->s);
        break;
      }
      case 'R': {  // REDUCE
        PyObj* args = pop();
        PyObj* callable = pop();
        stack.push_back(reduce(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ
        pop();
        PyObj* cls = pop();
        push_str(PyObj::Kind::Opaque, cls->kind == PyObj::Kind::Global ? cls->s : "<object>");
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();
        pop();
        PyObj* cls = pop();
        push_str(PyObj::Kind::Opaque, cls->kind == PyObj::Kind::Global ? cls->s : "<object>");
        break;
      }
      case 'b':
        pop();
        top();
        break;     // BUILD: attribute state (e.g. _metadata) is not needed
      case 'Q': {  // BINPERSID
        PyObj* pid = pop();
        stack.push_back(persistent_load(pid));
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        throw Error(name_ + ": unsupported pickle opcode " + hex + " at byte " + std::to_string(pos - 1) +
                    " (not a torch.save state_dict?)");
      }
    }
  }
}

}  // namespace featreuse::models::detail
