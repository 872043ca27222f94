// MNIST and Fashion-MNIST: the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-...), gzipped or not, as Debian's dataset-fashion-mnist package installs them under
// /usr/share/datasets/fashion-mnist/ and torchvision under <root>/<Name>/raw/. The 28x28 grey
// images are resized (bilinear) to the side the networks take, as the PyTorch-GAN scripts'
// transforms.Resize does.
#pragma once

#include <string>
#include <vector>

#include "acgan/data/data_spec.h"
#include "acgan/data/image_dataset.h"

namespace acgan {

// The folder holding the IDX files under `root` (itself, fashion-mnist/, FashionMNIST/raw/,
// mnist/, MNIST/raw/), or empty.
std::string find_idx_dir(const std::string& root);

// The IDX files of both splits that exist under `root`: the inputs outputs must not replace.
std::vector<std::string> idx_input_files(const std::string& root);

// Images in the training split, from its header (before the images are read); 0 when unreadable.
int64_t idx_train_size(const std::string& root);

// The spec of `kind`'s images resized to `side`: 10 classes, one channel.
DataSpec idx_spec(DatasetKind kind, int64_t side);

// `kind` is kMnist or kFashionMnist (the files are alike; the kind names the classes).
ImageDataset read_idx(const std::string& root, Split split, DatasetKind kind, int64_t side);

// Writes an IDX file (gzipped when `path` ends in .gz): images (N, H, W) uint8 or labels (N) uint8.
void write_idx_file(const std::string& path, const torch::Tensor& data);

}  // namespace acgan
