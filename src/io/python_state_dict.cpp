// A pickle reader for torch.save's dicts of tensors. See include/acgan/io/python_state_dict.h.
#include "acgan/io/python_state_dict.h"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "acgan/error.h"

namespace acgan {
namespace {

// A pickled value, as far as a dict of tensors needs: a tree of these.
struct Value {
  enum Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kTensor, kMark };
  Kind kind = kNone;
  int64_t integer = 0;
  double real = 0;
  std::string text;                           // string; global "module.name"
  std::vector<std::shared_ptr<Value>> items;  // tuple, list
  std::vector<std::pair<std::shared_ptr<Value>, std::shared_ptr<Value>>> entries;  // dict
  torch::Tensor tensor;
};
using ValuePtr = std::shared_ptr<Value>;

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// Bounds a file cannot push the reader past: a state dict needs a handful of stack entries, and a
// memo entry and a few containers per tensor.
constexpr size_t kMaxStack = 4096;
constexpr size_t kMaxContainers = size_t{1} << 22;

// The dtype of a legacy storage class name (torch.FloatStorage, ...), as torch.save writes them.
c10::ScalarType storage_dtype(const std::string& global, const std::string& path) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat}, {"torch.DoubleStorage", torch::kDouble},
      {"torch.HalfStorage", torch::kHalf},   {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kLong},   {"torch.IntStorage", torch::kInt},
      {"torch.ShortStorage", torch::kShort}, {"torch.CharStorage", torch::kChar},
      {"torch.ByteStorage", torch::kByte},   {"torch.BoolStorage", torch::kBool},
  };
  const auto it = types.find(global);
  if (it == types.end()) throw Error(path + ": a tensor of storage type " + global + ", not read");
  return it->second;
}

class PickleReader {
 public:
  PickleReader(std::string_view pickle, caffe2::serialize::PyTorchStreamReader& archive,
               std::string path)
      : in_(pickle), archive_(archive), path_(std::move(path)) {}
  // Unlinks every container before any is destroyed: a deeply nested or cyclic file then neither
  // recurses through the destructors nor leaks.
  ~PickleReader() {
    std::vector<ValuePtr> children;
    for (auto& v : containers_) {
      for (auto& item : v->items) children.push_back(std::move(item));
      for (auto& [key, value] : v->entries) {
        children.push_back(std::move(key));
        children.push_back(std::move(value));
      }
      v->items.clear();
      v->entries.clear();
    }
  }
  PickleReader(const PickleReader&) = delete;
  PickleReader& operator=(const PickleReader&) = delete;

  ValuePtr read();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": data.pkl: " + what + " at byte " + std::to_string(pos_) +
                "; not a dict of tensors as torch.save writes it");
  }
  std::string_view take(size_t n) {
    if (pos_ + n > in_.size()) fail("truncated");
    const auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  template <typename T>
  T little_endian() {
    T v;
    std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
    return v;
  }
  std::string line() {
    const auto end = in_.find('\n', pos_);
    if (end == std::string_view::npos) fail("truncated");
    std::string s(in_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  ValuePtr pop() {
    if (stack_.empty()) fail("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  // The values above the topmost mark, removing them and the mark.
  std::vector<ValuePtr> pop_to_mark() {
    std::vector<ValuePtr> items;
    while (true) {
      auto v = pop();
      if (v->kind == Value::kMark) break;
      items.push_back(v);
    }
    return {items.rbegin(), items.rend()};
  }
  ValuePtr container(Value::Kind kind) {
    if (containers_.size() >= kMaxContainers) fail("too many containers");
    containers_.push_back(make(kind));
    return containers_.back();
  }
  void push(ValuePtr v) {
    if (stack_.size() >= kMaxStack) fail("a stack deeper than " + std::to_string(kMaxStack));
    stack_.push_back(std::move(v));
  }
  // The value on top of the stack, which `op` needs to be a `kind`.
  Value& top(Value::Kind kind, const char* op) {
    if (stack_.empty() || stack_.back()->kind != kind) fail(std::string(op) + " on the wrong type");
    return *stack_.back();
  }
  void push_string(std::string_view text) {
    auto v = make(Value::kString);
    v->text = std::string(text);
    push(v);
  }
  void push_int(int64_t i) {
    auto v = make(Value::kInt);
    v->integer = i;
    push(v);
  }
  void push_global(std::string name) {
    auto v = make(Value::kGlobal);
    v->text = std::move(name);
    push(v);
  }
  void push_float() {  // BINFLOAT: 8 bytes, big-endian
    const auto bytes = take(8);
    uint64_t u = 0;
    for (size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(bytes[i]);
    auto v = make(Value::kFloat);
    std::memcpy(&v->real, &u, 8);
    push(v);
  }
  int64_t long1() {  // LONG1: a length byte, then that many little-endian two's-complement bytes
    const auto n = little_endian<uint8_t>();
    if (n > 8) fail("an integer of more than 64 bits");
    const auto bytes = take(n);
    uint64_t u = 0;
    for (size_t i = 0; i < n; ++i)
      u |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    if (n > 0 && n < 8 && (static_cast<uint8_t>(bytes[n - 1]) & 0x80)) u |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(u);
  }
  void push_tuple(std::vector<ValuePtr> items) {
    auto v = container(Value::kTuple);
    v->items = std::move(items);
    push(v);
  }
  void memo_put(size_t index) {
    if (stack_.empty()) fail("memo of an empty stack");
    if (memo_.size() >= kMaxContainers) fail("too many memo entries");
    memo_[index] = stack_.back();
  }
  void memo_get(size_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("unknown memo " + std::to_string(index));
    push(it->second);
  }
  void set_items(Value& dict, const std::vector<ValuePtr>& items) {
    if (items.size() % 2) fail("SETITEMS with a key and no value");
    for (size_t i = 0; i < items.size(); i += 2) dict.entries.emplace_back(items[i], items[i + 1]);
  }
  ValuePtr persistent_load(const ValuePtr& id);
  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args);
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args);
  bool step();  // one opcode; false at STOP

  std::string_view in_;
  size_t pos_ = 0;
  caffe2::serialize::PyTorchStreamReader& archive_;
  std::string path_;
  std::vector<ValuePtr> stack_;
  std::map<size_t, ValuePtr> memo_;
  std::map<std::string, torch::Tensor> storages_;  // by key: shared storages stay shared
  std::vector<ValuePtr> containers_;               // every tuple, list and dict made
};

// ('storage', torch.FloatStorage, key, location, numel): the storage's bytes as a 1-D tensor.
ValuePtr PickleReader::persistent_load(const ValuePtr& id) {
  if (id->kind != Value::kTuple || id->items.size() < 5 || id->items[0]->text != "storage" ||
      id->items[1]->kind != Value::kGlobal)
    fail("a persistent id that is not a tensor storage");
  const auto dtype = storage_dtype(id->items[1]->text, path_);
  const std::string key = id->items[2]->text;
  auto it = storages_.find(key);
  if (it != storages_.end() && it->second.scalar_type() != dtype)
    fail("storage " + key + " read as two types");
  if (it == storages_.end()) {
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) fail("no record " + record);
    const auto element = c10::elementSize(dtype);
    // The record's bytes lie inside the archive (parse_tensor_dict checked the zip first).
    auto [data, size] = archive_.getRecord(record);
    if (size % element) fail(record + " holds a partial element");
    // The id's element count must be what the record holds, checked before a tensor is made.
    if (id->items[4]->kind != Value::kInt || id->items[4]->integer < 0 ||
        static_cast<uint64_t>(id->items[4]->integer) != size / element) {
      fail("storage " + key + " claims " +
           (id->items[4]->kind == Value::kInt ? std::to_string(id->items[4]->integer) : "no") +
           " elements, but " + record + " holds " + std::to_string(size / element));
    }
    auto bytes = torch::empty({static_cast<int64_t>(size / element)}, torch::dtype(dtype));
    std::memcpy(bytes.data_ptr(), data.get(), size);
    it = storages_.emplace(key, bytes).first;
  }
  auto v = make(Value::kTensor);
  v->tensor = it->second;
  return v;
}

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
ValuePtr PickleReader::rebuild_tensor(const std::vector<ValuePtr>& args) {
  if (args.size() < 4 || args[0]->kind != Value::kTensor || args[2]->kind != Value::kTuple ||
      args[3]->kind != Value::kTuple)
    fail("_rebuild_tensor_v2 with unexpected arguments");
  const auto& storage = args[0]->tensor;
  const auto ints = [&](const ValuePtr& tuple) {
    std::vector<int64_t> out;
    for (const auto& item : tuple->items) {
      if (item->kind != Value::kInt) fail("a tensor size or stride that is not an integer");
      out.push_back(item->integer);
    }
    return out;
  };
  const auto sizes = ints(args[2]), strides = ints(args[3]);
  const int64_t offset = args[1]->integer;
  if (sizes.size() != strides.size()) fail("a tensor whose size and stride disagree");
  if (offset < 0) fail("a tensor with a negative storage offset");
  // The view lies inside its storage and holds no more elements than it (a state dict's tensors
  // are never expanded views), in overflow-checked arithmetic.
  int64_t last = offset, elements = 1;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0 || strides[i] < 0) fail("a tensor with a negative size or stride");
    int64_t reach = 0;
    if (__builtin_mul_overflow(sizes[i], elements, &elements) ||
        (sizes[i] > 0 && (__builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) ||
                          __builtin_add_overflow(last, reach, &last))))
      fail("a tensor whose size overflows");
  }
  if (elements > 0 && (last >= storage.numel() || elements > storage.numel()))
    fail("a tensor reaching past its storage");
  auto v = make(Value::kTensor);
  v->tensor = storage.as_strided(sizes, strides, offset).clone();
  return v;
}

ValuePtr PickleReader::reduce(const ValuePtr& callable, const ValuePtr& args) {
  if (callable->kind != Value::kGlobal || args->kind != Value::kTuple)
    fail("REDUCE of a non-global");
  const auto& name = callable->text;
  if (name == "collections.OrderedDict") {
    if (!args->items.empty()) fail("OrderedDict with arguments");
    return container(Value::kDict);
  }
  if (name == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args->items);
  fail("a call of " + name);
}

// clang-format off: one opcode a line reads best
bool PickleReader::step() {
  const auto op = static_cast<unsigned char>(take(1)[0]);
  switch (op) {
    // Framing and the end.
    case 0x80:
      take(1);
      break;  // PROTO
    case 0x95:
      take(8);
      break;  // FRAME (protocol 4)
    case '.':
      return false;  // STOP
    // Scalars and strings.
    case '(':
      push(make(Value::kMark));
      break;  // MARK
    case 'N':
      push(make(Value::kNone));
      break;      // NONE
    case 0x88:    // NEWTRUE
    case 0x89: {  // NEWFALSE
      auto v = make(Value::kBool);
      v->integer = op == 0x88;
      push(v);
      break;
    }
    case 'K':
      push_int(little_endian<uint8_t>());
      break;  // BININT1
    case 'M':
      push_int(little_endian<uint16_t>());
      break;  // BININT2
    case 'J':
      push_int(little_endian<int32_t>());
      break;  // BININT
    case 0x8a:
      push_int(long1());
      break;  // LONG1
    case 'G':
      push_float();
      break;  // BINFLOAT
    case 'X':
      push_string(take(little_endian<uint32_t>()));
      break;  // BINUNICODE
    case 0x8c:
      push_string(take(little_endian<uint8_t>()));
      break;  // SHORT_BINUNICODE
    // Globals: the callables REDUCE may call (reduce() allows two).
    case 'c': {  // GLOBAL
      const auto module = line();
      push_global(module + "." + line());
      break;
    }
    case 0x93: {  // STACK_GLOBAL (protocol 4)
      auto name = pop();
      auto module = pop();
      if (module->kind != Value::kString || name->kind != Value::kString)
        fail("STACK_GLOBAL of non-strings");
      push_global(module->text + "." + name->text);
      break;
    }
    // The memo.
    case 'q':
      memo_put(little_endian<uint8_t>());
      break;  // BINPUT
    case 'r':
      memo_put(little_endian<uint32_t>());
      break;  // LONG_BINPUT
    case 0x94:
      memo_put(memo_.size());
      break;  // MEMOIZE
    case 'h':
      memo_get(little_endian<uint8_t>());
      break;  // BINGET
    case 'j':
      memo_get(little_endian<uint32_t>());
      break;  // LONG_BINGET
    // Containers.
    case ')':
      push_tuple({});
      break;  // EMPTY_TUPLE
    case 't':
      push_tuple(pop_to_mark());
      break;      // TUPLE
    case 0x85:    // TUPLE1
    case 0x86:    // TUPLE2
    case 0x87: {  // TUPLE3
      std::vector<ValuePtr> items(op - 0x84);
      for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
      push_tuple(std::move(items));
      break;
    }
    case ']':
      push(container(Value::kList));
      break;     // EMPTY_LIST
    case 'a': {  // APPEND
      auto item = pop();
      top(Value::kList, "APPEND").items.push_back(item);
      break;
    }
    case 'e': {  // APPENDS
      auto items = pop_to_mark();
      auto& list = top(Value::kList, "APPENDS");
      for (auto& item : items) list.items.push_back(item);
      break;
    }
    case '}':
      push(container(Value::kDict));
      break;     // EMPTY_DICT
    case 's': {  // SETITEM
      auto value = pop();
      auto key = pop();
      set_items(top(Value::kDict, "SETITEM"), {key, value});
      break;
    }
    case 'u': {  // SETITEMS
      auto items = pop_to_mark();
      set_items(top(Value::kDict, "SETITEMS"), items);
      break;
    }
    // Tensors and calls.
    case 'Q':
      push(persistent_load(pop()));
      break;     // BINPERSID
    case 'R': {  // REDUCE
      auto args = pop();
      auto callable = pop();
      push(reduce(callable, args));
      break;
    }
    case 'b':  // BUILD: an OrderedDict's state ({'_metadata': ...}) is dropped
      pop();
      top(Value::kDict, "BUILD");
      break;
    default:
      fail(fmt::format("pickle opcode 0x{:02x}", op));
  }
  return true;
}

// clang-format on

ValuePtr PickleReader::read() {
  while (step()) {
  }
  if (stack_.size() != 1) fail("a pickle leaving " + std::to_string(stack_.size()) + " values");
  return stack_.back();
}

}  // namespace

namespace {

c10::Dict<std::string, torch::Tensor> read_state_dict(
    caffe2::serialize::PyTorchStreamReader& archive, const std::string& path) {
  if (!archive.hasRecord("data.pkl"))
    throw Error(path + ": no data.pkl; not written by torch.save");
  auto [data, size] = archive.getRecord("data.pkl");
  const std::string_view pickle(static_cast<const char*>(data.get()), size);
  PickleReader reader(pickle, archive, path);  // its values live as long as it does
  const auto root = reader.read();
  if (root->kind != Value::kDict) throw Error(path + ": holds a pickled value that is not a dict");
  c10::Dict<std::string, torch::Tensor> out;
  for (const auto& [key, value] : root->entries) {
    if (key->kind != Value::kString || value->kind != Value::kTensor) {
      throw Error(path + ": a dict entry that is not name -> tensor" +
                  (key->kind == Value::kString ? " ('" + key->text + "')" : ""));
    }
    // A state dict cannot hold a name twice: a repeated key is a made file, not torch.save's.
    if (out.contains(key->text)) throw Error(path + ": the key '" + key->text + "' appears twice");
    out.insert(key->text, value->tensor);
  }
  return out;
}

}  // namespace

c10::Dict<std::string, torch::Tensor> read_python_state_dict(std::string_view bytes,
                                                             const std::string& path) {
  auto adapter = std::make_shared<caffe2::serialize::MemoryReadAdapter>(
      bytes.data(), static_cast<off_t>(bytes.size()));
  try {
    caffe2::serialize::PyTorchStreamReader archive(adapter);
    return read_state_dict(archive, path);
  } catch (const c10::Error& e) {  // the archive reader's own complaints, as one line of ours
    throw Error(path + ": not a readable torch.save archive (" +
                first_line(e.what_without_backtrace()) + ")");
  }
}

}  // namespace acgan
