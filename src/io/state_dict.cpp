// Named tensors in and out of modules and files. See include/acgan/io/state_dict.h.
#include "acgan/io/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <optional>
#include <set>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/crc32.h"
#include "acgan/io/python_state_dict.h"

namespace acgan {
namespace {

std::string shape_string(c10::IntArrayRef sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + ")";
}

uint32_t little_endian(std::string_view bytes, size_t at, int width) {
  uint32_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

uint64_t little_endian64(std::string_view bytes, size_t at) {
  return little_endian(bytes, at, 4) |
         (static_cast<uint64_t>(little_endian(bytes, at + 4, 4)) << 32);
}

// Where the central directory of a complete zip lies (zip64 included).
struct CentralDirectory {
  uint64_t offset = 0, size = 0;
};

std::optional<CentralDirectory> central_directory(std::string_view bytes) {
  constexpr size_t kEndRecord = 22, kMaxComment = 65535;
  if (bytes.size() < kEndRecord || bytes.substr(0, 4) != std::string_view("PK\x03\x04", 4))
    return std::nullopt;
  const size_t last = bytes.size() - kEndRecord;
  const size_t first = last > kMaxComment ? last - kMaxComment : 0;
  for (size_t at = last + 1; at-- > first;) {
    if (bytes.substr(at, 4) != std::string_view("PK\x05\x06", 4)) continue;
    const uint32_t comment = little_endian(bytes, at + 20, 2);
    if (at + kEndRecord + comment != bytes.size()) continue;
    CentralDirectory cd{little_endian(bytes, at + 16, 4), little_endian(bytes, at + 12, 4)};
    if (cd.offset == 0xFFFFFFFFu || cd.size == 0xFFFFFFFFu) {  // zip64: locator just before
      if (at < 20 || bytes.substr(at - 20, 4) != std::string_view("PK\x06\x07", 4))
        return std::nullopt;
      const uint64_t record = little_endian64(bytes, at - 20 + 8);
      if (record + 56 > at || bytes.substr(record, 4) != std::string_view("PK\x06\x06", 4))
        return std::nullopt;
      cd = {little_endian64(bytes, record + 48), little_endian64(bytes, record + 40)};
    }
    if (cd.offset > at || cd.size > at - cd.offset) return std::nullopt;
    return cd;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> zip_damage(std::string_view bytes) {
  const auto cd = central_directory(bytes);
  if (!cd) return "not a complete zip archive (truncated, or another format)";
  const uint64_t directory_end = cd->offset + cd->size;  // inside `bytes` (central_directory)
  for (uint64_t at = cd->offset; at < directory_end;) {
    if (at + 46 > directory_end || bytes.substr(at, 4) != std::string_view("PK\x01\x02", 4))
      return "its zip directory is damaged";
    const uint32_t method = little_endian(bytes, at + 10, 2);
    const uint32_t crc = little_endian(bytes, at + 16, 4);
    uint64_t size = little_endian(bytes, at + 20, 4);
    const uint32_t name_length = little_endian(bytes, at + 28, 2);
    const uint32_t extra_length = little_endian(bytes, at + 30, 2);
    const uint32_t comment_length = little_endian(bytes, at + 32, 2);
    uint64_t local = little_endian(bytes, at + 42, 4);
    const uint64_t extra = at + 46 + name_length, next = extra + extra_length + comment_length;
    if (next > directory_end) return "its zip directory is damaged";
    const std::string name(bytes.substr(at + 46, name_length));
    // zip64 sizes and offset live in extra field 0x0001, in this order, when the 32-bit ones are
    // saturated; every read stays inside the field.
    for (uint64_t e = extra; e + 4 <= extra + extra_length;) {
      const uint32_t id = little_endian(bytes, e, 2), length = little_endian(bytes, e + 2, 2);
      if (e + 4 + length > extra + extra_length) return "its zip directory is damaged";
      if (id == 1) {
        uint64_t field = e + 4;
        const auto take = [&](uint64_t& value) {
          if (field + 8 > e + 4 + length) return false;
          value = little_endian64(bytes, field);
          field += 8;
          return true;
        };
        uint64_t uncompressed = little_endian(bytes, at + 24, 4);
        if ((uncompressed == 0xFFFFFFFFu && !take(uncompressed)) ||
            (size == 0xFFFFFFFFu && !take(size)) || (local == 0xFFFFFFFFu && !take(local)))
          return "entry '" + name + "' has a damaged zip64 field";
      }
      e += 4 + length;
    }
    at = next;
    if (local + 30 > bytes.size() || bytes.substr(local, 4) != std::string_view("PK\x03\x04", 4))
      return "entry '" + name + "' points outside the file";
    const uint64_t data =
        local + 30 + little_endian(bytes, local + 26, 2) + little_endian(bytes, local + 28, 2);
    if (data > bytes.size() || size > bytes.size() - data)
      return "entry '" + name + "' runs past the end of the file";
    if (method == 0 && crc32(bytes.substr(data, size)) != crc)
      return "entry '" + name + "' fails its CRC-32 check (the file was altered or corrupted)";
  }
  return std::nullopt;
}

bool is_complete_zip(std::string_view bytes) { return central_directory(bytes).has_value(); }

StateDict state_dict(const torch::nn::Module& module) {
  StateDict dict;
  for (const auto& item : module.named_parameters()) dict.insert(item.key(), item.value());
  for (const auto& item : module.named_buffers()) dict.insert(item.key(), item.value());
  return dict;
}

void load_state_dict(torch::nn::Module& module, const c10::impl::GenericDict& state,
                     const std::string& source, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> missing, unexpected, wrong;  // every problem, reported at once
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::set<std::string> expected;
  const auto check = [&](const std::string& name, const torch::Tensor& target) {
    const std::string key = prefix + name;
    expected.insert(key);
    const auto it = state.find(key);
    if (it == state.end()) return missing.push_back("'" + key + "'");
    if (!it->value().isTensor()) return wrong.push_back("'" + key + "' is not a tensor");
    const auto& value = it->value().toTensor();
    if (value.sizes() != target.sizes()) {
      return wrong.push_back("'" + key + "' has shape " + shape_string(value.sizes()) +
                             ", expected " + shape_string(target.sizes()));
    }
    if (value.scalar_type() != target.scalar_type()) {
      return wrong.push_back(
          "'" + key + "' holds " + std::string(c10::toString(value.scalar_type())) + ", expected " +
          c10::toString(target.scalar_type()) + " (acgan reads and writes float32 weights)");
    }
    copies.emplace_back(target, value);
  };
  for (const auto& item : module.named_parameters()) check(item.key(), item.value());
  for (const auto& item : module.named_buffers()) check(item.key(), item.value());
  if (prefix.empty()) {  // a prefixed dict holds other things besides
    for (const auto& item : state) {
      const auto key = item.key().isString() ? item.key().toStringRef() : "?";
      if (!expected.count(key)) unexpected.push_back("'" + key + "'");
    }
  }
  // At most 6 of each kind, so that a wholly foreign file still gets a readable line.
  const auto list = [](const std::vector<std::string>& items, const std::string& separator) {
    const size_t shown = std::min<size_t>(items.size(), 6);
    std::string text =
        fmt::format("{}", fmt::join(items.begin(), items.begin() + shown, separator));
    return shown < items.size() ? text + fmt::format(" and {} more", items.size() - shown) : text;
  };
  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back("missing " + list(missing, ", "));
  if (!wrong.empty()) problems.push_back(list(wrong, "; "));
  if (!unexpected.empty()) problems.push_back("unexpected " + list(unexpected, ", "));
  if (!problems.empty()) {
    const bool shapes = std::any_of(wrong.begin(), wrong.end(), [](const std::string& w) {
      return w.find("has shape") != std::string::npos;
    });
    throw Error(source +
                ": not this network's weights: " + fmt::format("{}", fmt::join(problems, "; ")) +
                (shapes ? " (was it written with another --nz or network?)" : ""));
  }
  for (auto& [target, value] : copies) target.copy_(value);
}

void save_state_dict_file(const torch::nn::Module& module, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> cpu;
  for (const auto& item : state_dict(module)) cpu.insert(item.key(), item.value().detach().cpu());
  // torch::pickle_save's layout, without its type tag on the dict (a GLOBAL that
  // torch.load(weights_only=True), PyTorch 2.6's default, refuses): a plain dict of tensors.
  std::vector<char> pickle;
  torch::jit::Pickler pickler(  // no tensor table: tensors go out as torch.save's storages
      [&](const char* data, size_t size) { pickle.insert(pickle.end(), data, data + size); },
      nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(c10::IValue(cpu));
  pickler.stop();
  std::string bytes;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
    torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(),
                                       writer);
    writer.writeEndOfFile();
  }
  write_file_atomic(path, bytes);
}

c10::impl::GenericDict parse_tensor_dict(std::string_view bytes, const std::string& path) {
  // torch.save before PyTorch 1.6 (or with _use_new_zipfile_serialization=False) starts with a
  // pickled magic number, LONG1 0x1950a86a20f9469cfc6c, instead of a zip header.
  constexpr std::string_view kLegacyMagic =
      "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
  if (bytes.substr(0, kLegacyMagic.size()) == kLegacyMagic) {
    throw Error(path +
                ": a torch.save file in the format before PyTorch 1.6, which acgan does not read; "
                "convert it once: python3 -c \"import torch; torch.save(torch.load('" +
                path + "'), '" + path + "')\"");
  }
  if (!is_complete_zip(bytes)) {
    throw Error(path +
                ": not a readable tensor file (not a complete zip archive: truncated, or not "
                "written by torch.save / acgan)");
  }
  if (const auto damage = zip_damage(bytes)) throw Error(path + ": damaged: " + *damage);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.find("Expected GenericDict but got None") != std::string::npos ||
        what.find("Only Pickle protocol 2 is supported") != std::string::npos ||
        what.find("CUDA") != std::string::npos || what.find("cuda") != std::string::npos) {
      // LibTorch's unpickler turns collections.OrderedDict, which state_dict() returns, into
      // None, reads protocol 2 only, and moves storages saved on a GPU back to one (which this
      // machine or build may not have): our own reader takes such files, every storage on the
      // CPU, as torch.load(map_location="cpu") does.
      c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
      for (const auto& item : read_python_state_dict(bytes, path))
        dict.insert(item.key(), item.value());
      return dict;
    }
    throw Error(path + ": not a readable tensor file (" + first_line(what) + ")");
  }
  if (!value.isGenericDict())
    throw Error(path + ": expected a dict of tensors, found " + value.tagKind());
  return value.toGenericDict();
}

c10::impl::GenericDict load_tensor_dict_file(const std::string& path) {
  return parse_tensor_dict(read_file(path), path);
}

bool all_finite(const torch::nn::Module& module) {
  for (const auto& item : state_dict(module)) {
    const auto& t = item.value();
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace acgan
