// The CIFAR-100 binary data set (Krizhevsky 2009): train.bin and test.bin, each record a coarse
// label byte (20 superclasses), a fine label byte (100 classes) and 3x32x32 pixels. Class names
// come from fine_label_names.txt / coarse_label_names.txt beside the files (the official archive
// has them), else the classes are numbered.
//
// Does not download anything: scripts/get_cifar100.sh does that, with an md5 check.
#pragma once

#include <string>
#include <vector>

#include "acgan/data/data_spec.h"
#include "acgan/data/image_dataset.h"

namespace acgan {

constexpr int64_t kCifar100CoarseClasses = 20, kCifar100FineClasses = 100;

// The folder holding train.bin / test.bin: `root` itself or `root/cifar-100-binary`; empty when
// neither does.
std::string find_cifar100_dir(const std::string& root);

// The data files of both splits that exist under `root`: the inputs outputs must not replace.
std::vector<std::string> cifar100_input_files(const std::string& root);

// Images in the training split, from the file's size (before anything is read).
int64_t cifar100_train_size(const std::string& root);

// The spec of the data under `root` with `labels` (reads the class-name files only).
DataSpec cifar100_spec(const std::string& root, Cifar100Labels labels);

ImageDataset read_cifar100(const std::string& root, Split split, Cifar100Labels labels);

// Writes images (N, 3, 32, 32) uint8 with their coarse and fine labels as one file in the official
// layout (the tests make CIFAR-100 files from CIFAR-10's bytes with it).
void write_cifar100_file(const std::string& path, const torch::Tensor& images,
                         const torch::Tensor& coarse, const torch::Tensor& fine);

}  // namespace acgan
