// Reading and validating the CIFAR-100 binary files. See include/acgan/data/cifar100.h.
#include "acgan/data/cifar100.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "acgan/data/record_file.h"
#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

constexpr const char* kFolder = "cifar-100-binary";
constexpr const char* kHowToGet =
    "get the binary version (cifar-100-binary.tar.gz) with scripts/get_cifar100.sh DIR, or point "
    "--root_dir at a folder holding train.bin and test.bin";
constexpr int64_t kChannels = 3, kSide = 32;
constexpr int64_t kImageBytes = kChannels * kSide * kSide;
constexpr int64_t kRecordBytes = 2 + kImageBytes;  // coarse label, fine label, pixels
constexpr int64_t kCoarseClasses = kCifar100CoarseClasses, kFineClasses = kCifar100FineClasses;

std::string split_file(const std::string& dir, Split split) {
  return (fs::path(dir) / (split == Split::kTrain ? "train.bin" : "test.bin")).string();
}

// The names in `file` (one per line, blank lines skipped), or numbers when it is absent.
std::vector<std::string> class_names(const fs::path& file, int64_t classes) {
  std::vector<std::string> names;
  std::ifstream in(file);
  for (std::string line; in && std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (!in.is_open()) names.clear();
  if (names.empty()) {
    for (int64_t k = 0; k < classes; ++k) names.push_back(std::to_string(k));
  } else if (static_cast<int64_t>(names.size()) != classes) {
    throw Error(file.string() + ": expected " + std::to_string(classes) + " class names, found " +
                std::to_string(names.size()));
  }
  return names;
}

}  // namespace

std::string find_cifar100_dir(const std::string& root) {
  const fs::path base(root.empty() ? "." : root);
  std::error_code ec;
  for (const auto& dir : {base, base / kFolder}) {
    if (fs::is_regular_file(dir / "train.bin", ec) || fs::is_regular_file(dir / "test.bin", ec)) {
      return dir.string();
    }
  }
  return "";
}

std::vector<std::string> cifar100_input_files(const std::string& root) {
  const auto dir = find_cifar100_dir(root);
  if (dir.empty()) return {};
  return {split_file(dir, Split::kTrain), split_file(dir, Split::kTest)};
}

int64_t cifar100_train_size(const std::string& root) {
  std::error_code ec;
  const auto bytes = fs::file_size(split_file(find_cifar100_dir(root), Split::kTrain), ec);
  return ec ? 0 : static_cast<int64_t>(bytes) / kRecordBytes;
}

DataSpec cifar100_spec(const std::string& root, Cifar100Labels labels) {
  const fs::path dir = find_cifar100_dir(root);
  DataSpec spec;
  spec.kind = DatasetKind::kCifar100;
  spec.channels = kChannels;
  spec.height = spec.width = kSide;
  spec.class_names = labels == Cifar100Labels::kFine
                         ? class_names(dir / "fine_label_names.txt", kFineClasses)
                         : class_names(dir / "coarse_label_names.txt", kCoarseClasses);
  return spec;
}

ImageDataset read_cifar100(const std::string& root, Split split, Cifar100Labels labels) {
  const auto dir = find_cifar100_dir(root);
  if (dir.empty()) {
    throw Error("--root_dir " + root +
                ": no CIFAR-100 binary files (train.bin, test.bin) there or in " +
                (fs::path(root) / kFolder).string() + "; " + kHowToGet);
  }
  const auto path = split_file(dir, split);
  const auto raw = read_fixed_records(path, kRecordBytes, "CIFAR-100", kHowToGet);
  check_label_bytes(raw.select(1, 0), kCoarseClasses, path, "CIFAR-100 (coarse label)");
  check_label_bytes(raw.select(1, 1), kFineClasses, path, "CIFAR-100 (fine label)");
  const bool fine = labels == Cifar100Labels::kFine;
  const auto spec = cifar100_spec(root, labels);
  auto images = raw.narrow(1, 2, kImageBytes).reshape({-1, kChannels, kSide, kSide});
  return ImageDataset(images, raw.select(1, fine ? 1 : 0).to(torch::kLong), spec);
}

void write_cifar100_file(const std::string& path, const torch::Tensor& images,
                         const torch::Tensor& coarse, const torch::Tensor& fine) {
  write_fixed_records(path, {coarse, fine, images});
}

}  // namespace acgan
