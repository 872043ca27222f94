// State dicts: a network's parameters and buffers by name, the form the original script saved
// (gen.pt / disc.pt) and golden.pt holds. Loading checks every name, shape and dtype and reports a
// mismatch with the file it came from, instead of LibTorch's silent reshape.
#pragma once

#include <ATen/core/Dict.h>
#include <torch/nn/module.h>

#include <optional>
#include <string>
#include <string_view>

namespace acgan {

using StateDict = c10::Dict<std::string, torch::Tensor>;

// Every parameter and buffer of `module`, by its dotted name (conv1.0.weight, ...).
StateDict state_dict(const torch::nn::Module& module);

// Copies `state` into `module`. Every parameter and buffer must be present with the same shape;
// keys are read as `prefix + name`. Throws acgan::Error naming `source` otherwise.
void load_state_dict(torch::nn::Module& module, const c10::impl::GenericDict& state,
                     const std::string& source, const std::string& prefix = "");

// torch.save-compatible files: a dict of tensors that Python's torch.load reads, written
// atomically.
void save_state_dict_file(const torch::nn::Module& module, const std::string& path);
// Parses a dict of tensors written by save_state_dict_file or Python's torch.save(dict); `path`
// names the source in errors. The only caller of LibTorch's pickle_load: checks is_complete_zip
// first.
c10::impl::GenericDict parse_tensor_dict(std::string_view bytes, const std::string& path);
// read_file + parse_tensor_dict.
c10::impl::GenericDict load_tensor_dict_file(const std::string& path);

// True when `bytes` is a complete zip archive (the container of torch.save and of LibTorch's
// archives): a local header at the start and an end-of-central-directory record whose directory
// lies inside the file. LibTorch 1.13's pickle_load reads past the end of a buffer that is not one
// (AddressSanitizer: heap-buffer-overflow in mz_zip_reader_init), so every byte string from a
// user's file is checked with this first.
bool is_complete_zip(std::string_view bytes);

// What is wrong with a zip archive, or nothing: not complete, a damaged directory, or an entry
// whose bytes fail its CRC-32 (a flipped byte inside a tensor, which LibTorch's reader does not
// check). Stored entries are checked, as torch.save and LibTorch write them.
std::optional<std::string> zip_damage(std::string_view bytes);

// True when every parameter and buffer is finite.
bool all_finite(const torch::nn::Module& module);

}  // namespace acgan
