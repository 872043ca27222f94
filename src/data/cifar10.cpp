// Reading and validating the CIFAR-10 binary files. See include/acgan/data/cifar10.h.
#include "acgan/data/cifar10.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "acgan/data/record_file.h"
#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

constexpr const char* kBinFolder = "cifar-10-batches-bin";
constexpr const char* kPyFolder = "cifar-10-batches-py";
constexpr const char* kHowToGet =
    "get the binary version (cifar-10-binary.tar.gz) with scripts/get_cifar10.sh DIR, or point "
    "--root_dir at a folder holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin";

bool holds_bin_files(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "data_batch_1.bin", ec) ||
         fs::is_regular_file(dir / "test_batch.bin", ec);
}

// Reads one file: appends its images (records, 3072) and labels (records) to the outputs.
void read_file(const std::string& path, std::vector<torch::Tensor>& images,
               std::vector<torch::Tensor>& labels) {
  const auto raw = read_fixed_records(path, Cifar10Layout::kRecordBytes, "CIFAR-10", kHowToGet);
  auto label_bytes = raw.select(1, 0);  // (records)
  check_label_bytes(label_bytes, Cifar10Layout::kClasses, path, "CIFAR-10");
  labels.push_back(label_bytes.to(torch::kLong));
  images.push_back(raw.narrow(1, 1, Cifar10Layout::kImageBytes));
}

}  // namespace

std::string find_cifar10_dir(const std::string& root) {
  const fs::path base(root.empty() ? "." : root);
  std::error_code ec;
  if (!fs::is_directory(base, ec)) {
    throw Error("--root_dir " + root + ": no such directory; " + kHowToGet);
  }
  if (holds_bin_files(base)) return base.string();
  if (holds_bin_files(base / kBinFolder)) return (base / kBinFolder).string();
  if (fs::is_directory(base / kPyFolder, ec) || fs::is_regular_file(base / "data_batch_1", ec)) {
    throw Error("--root_dir " + root +
                ": found cifar-10-batches-py, the Python (pickle) version that torchvision "
                "downloads; acgan reads the binary version: " +
                kHowToGet);
  }
  throw Error("--root_dir " + root +
              ": no CIFAR-10 binary files (data_batch_1.bin ...) there or in " +
              (base / kBinFolder).string() + "; " + kHowToGet);
}

std::vector<std::string> cifar10_files(const std::string& dir, Split split) {
  if (split == Split::kTest) return {(fs::path(dir) / "test_batch.bin").string()};
  std::vector<std::string> files;
  for (int i = 1; i <= 5; ++i) {
    files.push_back((fs::path(dir) / ("data_batch_" + std::to_string(i) + ".bin")).string());
  }
  return files;
}

std::vector<std::string> cifar10_input_files(const std::string& root) {
  std::string dir;
  try {
    dir = find_cifar10_dir(root);
  } catch (const Error&) {
    return {};
  }
  auto files = cifar10_files(dir, Split::kTrain);
  files.push_back(cifar10_files(dir, Split::kTest).front());
  return files;
}

ImageDataset read_cifar10(const std::string& root, Split split) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& file : cifar10_files(find_cifar10_dir(root), split)) {
    read_file(file, images, labels);
  }
  const auto spec = cifar10_spec();
  return ImageDataset(torch::cat(images).view({-1, spec.channels, spec.height, spec.width}),
                      torch::cat(labels), spec);
}

void write_cifar10_file(const std::string& path, const torch::Tensor& images,
                        const torch::Tensor& labels) {
  write_fixed_records(path, {labels, images});
}

}  // namespace acgan
