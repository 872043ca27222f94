// The CIFAR-10 binary data set (Krizhevsky 2009): finding, validating and reading its files.
//
// A split is read once into memory (image_dataset.h) as uint8 images (N, 3, 32, 32) and int64
// labels (N): 150 MB for the 50,000 training images, no file I/O after that. Every file is
// validated before use.
//
// Does not download anything: scripts/get_cifar10.sh does that, with an md5 check.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "acgan/data/image_dataset.h"

namespace acgan {

struct Cifar10Layout {
  static constexpr int64_t kChannels = 3;
  static constexpr int64_t kSide = 32;
  static constexpr int64_t kImageBytes = kChannels * kSide * kSide;  // 3,072
  static constexpr int64_t kRecordBytes = 1 + kImageBytes;           // label byte + pixels
  static constexpr int64_t kRecordsPerFile = 10000;
  static constexpr int64_t kClasses = 10;
};

// The folder holding the .bin files: `root` itself or `root/cifar-10-batches-bin`. Throws
// acgan::Error naming `root` when neither holds them (and says so when it finds the Python version
// instead).
std::string find_cifar10_dir(const std::string& root);

// The files of a split, in order, under a folder returned by find_cifar10_dir.
std::vector<std::string> cifar10_files(const std::string& dir, Split split);

// Every data file of both splits under `root` (see find_cifar10_dir), or none when `root` holds no
// CIFAR-10: the inputs a command's outputs must not replace.
std::vector<std::string> cifar10_input_files(const std::string& root);

// Reads and validates every file of `split` under `root` (see find_cifar10_dir).
ImageDataset read_cifar10(const std::string& root, Split split);

// Writes `images` (N, 3, 32, 32) uint8 and `labels` (N) as one file in the official binary layout
// (used by the tests and by anyone making a small data set).
void write_cifar10_file(const std::string& path, const torch::Tensor& images,
                        const torch::Tensor& labels);

}  // namespace acgan
