// The training data as a run sees it: CIFAR-10's training split (or its first --subset images),
// checked before anything is written, fingerprinted so a resume on other data is refused, and the
// real examples of the first grid. Reading the files is data/cifar10.h's.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "acgan/data/cifar10.h"
#include "acgan/training/train_options.h"

namespace acgan {

// The data is there, and --subset fits it, from the files' sizes alone: before anything is written.
void check_data_before_writing(const TrainOptions& options);

// The training split on `device`, cut to --subset.
Cifar10 load_training_data(const TrainOptions& options, const torch::Device& device);

// `per_class` real images of each class (the first in data order), one class a row; the cells of
// a class missing from a small subset are black (-1).
torch::Tensor real_examples(const Cifar10& data, int64_t per_class);

// "N:crc(labels):crc(every 16th image)": what a checkpoint records as its data.
std::string data_fingerprint(const Cifar10& data);

// Refuses data whose fingerprint differs from the one `options` carries (from a checkpoint), then
// records this data's.
void check_same_data(const Cifar10& data, TrainOptions& options);

}  // namespace acgan
