// Files of fixed-size records (CIFAR-10's and CIFAR-100's binary layouts): read whole, with every
// check a damaged or wrong file needs, each failure one acgan::Error line naming the file.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace acgan {

// The file's bytes as (records, record_bytes) uint8. `format` names the layout in messages
// ("CIFAR-10"), `how_to_get` says where the right files come from.
torch::Tensor read_fixed_records(const std::string& path, int64_t record_bytes,
                                 const std::string& format, const std::string& how_to_get);

// Writes records made of `fields`, each (N, ...) of N rows, side by side as uint8 (the tests' and
// users' small data sets in an official layout). Throws Error naming `path` when it fails.
void write_fixed_records(const std::string& path, const std::vector<torch::Tensor>& fields);

// Throws Error naming `path` and the first record whose label byte (`labels`, (records) uint8) is
// `classes` or more.
void check_label_bytes(const torch::Tensor& labels, int64_t classes, const std::string& path,
                       const std::string& format);

}  // namespace acgan
