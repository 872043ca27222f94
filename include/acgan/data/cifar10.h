// The CIFAR-10 binary data set (Krizhevsky 2009) as a torch::data dataset.
//
// A split is read once into memory as uint8 images (N, 3, 32, 32) and int64 labels (N): 150 MB for
// the 50,000 training images, no file I/O after construction. Images come out as float in [-1, 1],
// computed exactly as torchvision's ToTensor() + Normalize(0.5, 0.5) does ((x / 255 - 0.5) / 0.5),
// either one at a time (`get`, the torch::data interface) or a whole batch from an index tensor in
// one gather (`batch`), which is what training uses. Every file is validated before use.
//
// Does not download anything: scripts/get_cifar10.sh does that, with an md5 check.
#pragma once

#include <torch/data/datasets/base.h>
#include <torch/data/example.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace acgan {

enum class Split { kTrain, kTest };

struct Cifar10Layout {
  static constexpr int64_t kChannels = 3;
  static constexpr int64_t kSide = 32;
  static constexpr int64_t kImageBytes = kChannels * kSide * kSide;  // 3,072
  static constexpr int64_t kRecordBytes = 1 + kImageBytes;           // label byte + pixels
  static constexpr int64_t kRecordsPerFile = 10000;
  static constexpr int64_t kClasses = 10;
};

// Class names in label order.
const std::vector<std::string>& cifar10_class_names();

// The folder holding the .bin files: `root` itself or `root/cifar-10-batches-bin`. Throws
// acgan::Error naming `root` when neither holds them (and says so when it finds the Python version
// instead).
std::string find_cifar10_dir(const std::string& root);

// The files of a split, in order, under a folder returned by find_cifar10_dir.
std::vector<std::string> cifar10_files(const std::string& dir, Split split);

// Every data file of both splits under `root` (see find_cifar10_dir), or none when `root` holds no
// CIFAR-10: the inputs a command's outputs must not replace.
std::vector<std::string> cifar10_input_files(const std::string& root);

class Cifar10 : public torch::data::datasets::Dataset<Cifar10> {
 public:
  // Reads and validates every file of `split` under `root` (see find_cifar10_dir).
  Cifar10(const std::string& root, Split split);
  // Wraps tensors already in memory: images (N, 3, 32, 32) uint8, labels (N) int64.
  Cifar10(torch::Tensor images, torch::Tensor labels);

  // One example: data (3, 32, 32) float in [-1, 1], target () int64.
  torch::data::Example<> get(size_t index) override;
  torch::optional<size_t> size() const override;

  // A whole batch in one gather: data (B, 3, 32, 32) float in [-1, 1], target (B) int64, on the
  // device the data set lives on. `indices` is (B) int64 on any device.
  torch::data::Example<> batch(const torch::Tensor& indices) const;

  // The first n examples (n <= size()), sharing memory.
  Cifar10 head(int64_t n) const;
  // The same data on `device` (CUDA keeps the whole set on the GPU as uint8).
  Cifar10 to(const torch::Device& device) const;

  const torch::Tensor& images() const { return images_; }  // (N, 3, 32, 32) uint8
  const torch::Tensor& labels() const { return labels_; }  // (N) int64

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
};

// uint8 pixels -> float in [-1, 1], bit-identical to ToTensor() + Normalize(0.5, 0.5).
torch::Tensor normalize_pixels(const torch::Tensor& pixels);

// Writes `images` (N, 3, 32, 32) uint8 and `labels` (N) as one file in the official binary layout
// (used by the tests and by anyone making a small data set).
void write_cifar10_file(const std::string& path, const torch::Tensor& images,
                        const torch::Tensor& labels);

}  // namespace acgan
