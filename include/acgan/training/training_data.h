// The training data as a run sees it: the training split of the data set --root_dir holds (or its
// first --subset images), its spec found and checked before anything is written, fingerprinted so
// a resume on other data is refused, and the real examples of the first grid. Reading the files is
// data/datasets.h's.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "acgan/data/datasets.h"
#include "acgan/training/train_options.h"

namespace acgan {

// What --root_dir, --dataset and --labels ask for, at the side the networks take.
DatasetRequest data_request(const TrainOptions& options);

// From the files' names and sizes alone, before anything is written: the data is there, its spec
// is the checkpoint's on --resume (else it becomes the run's, and an --nz left at the original's
// default becomes 100 + the class count), nz holds the one-hot class, and --subset fits.
void check_data_before_writing(TrainOptions& options);

// The training split on `device`, cut to --subset.
ImageDataset load_training_data(const TrainOptions& options, const torch::Device& device);

// `per_class` real images of each of `classes` (the first in data order), one class a row; the
// cells of a class missing from a small subset are black (-1).
torch::Tensor real_examples(const ImageDataset& data, const std::vector<int64_t>& classes,
                            int64_t per_class);

// "N:crc(labels):crc(every 16th image)": what a checkpoint records as its data.
std::string data_fingerprint(const ImageDataset& data);

// Refuses data whose fingerprint differs from the one `options` carries (from a checkpoint), then
// records this data's.
void check_same_data(const ImageDataset& data, TrainOptions& options);

}  // namespace acgan
