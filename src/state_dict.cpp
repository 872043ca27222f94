// Named tensors in and out of modules and files. See include/acgan/state_dict.h.
#include "acgan/state_dict.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include "acgan/atomic_file.h"
#include "acgan/error.h"

namespace acgan {
namespace {

std::string shape_string(c10::IntArrayRef sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + ")";
}

// First line of an exception message: LibTorch's carry a stack trace after it.
std::string first_line(const std::string& what) { return what.substr(0, what.find('\n')); }

}  // namespace

StateDict state_dict(const torch::nn::Module& module) {
  StateDict dict;
  for (const auto& item : module.named_parameters()) dict.insert(item.key(), item.value());
  for (const auto& item : module.named_buffers()) dict.insert(item.key(), item.value());
  return dict;
}

void load_state_dict(torch::nn::Module& module, const c10::impl::GenericDict& state,
                     const std::string& source, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  auto load = [&](const std::string& name, torch::Tensor& target) {
    const std::string key = prefix + name;
    const auto it = state.find(key);
    if (it == state.end()) {
      throw Error(source + ": missing '" + key +
                  "'; the file does not hold this network's weights");
    }
    if (!it->value().isTensor()) throw Error(source + ": '" + key + "' is not a tensor");
    const auto& value = it->value().toTensor();
    if (value.sizes() != target.sizes()) {
      throw Error(source + ": '" + key + "' has shape " + shape_string(value.sizes()) +
                  ", expected " + shape_string(target.sizes()) +
                  " (was it written with another --nz or network?)");
    }
    target.copy_(value);
  };
  for (auto& item : module.named_parameters()) load(item.key(), item.value());
  for (auto& item : module.named_buffers()) load(item.key(), item.value());
}

void save_state_dict_file(const torch::nn::Module& module, const std::string& path) {
  c10::Dict<std::string, torch::Tensor> cpu;
  for (const auto& item : state_dict(module)) cpu.insert(item.key(), item.value().detach().cpu());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(cpu));
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

c10::impl::GenericDict load_tensor_dict_file(const std::string& path) {
  const std::string bytes = read_file(path);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.find("Expected GenericDict but got None") != std::string::npos) {
      // LibTorch 1.13's unpickler cannot rebuild collections.OrderedDict, which state_dict()
      // returns.
      throw Error(path +
                  ": a state_dict saved by Python (an OrderedDict), which LibTorch cannot read; "
                  "convert it once: python3 -c \"import torch; torch.save(dict(torch.load('" +
                  path + "')), '" + path + "')\"");
    }
    throw Error(path + ": not a readable tensor file (" + first_line(what) + ")");
  }
  if (!value.isGenericDict())
    throw Error(path + ": expected a dict of tensors, found " + value.tagKind());
  return value.toGenericDict();
}

bool all_finite(const torch::nn::Module& module) {
  for (const auto& item : state_dict(module)) {
    const auto& t = item.value();
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>()) return false;
  }
  return true;
}

}  // namespace acgan
