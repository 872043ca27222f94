// Reading, validating and batching the CIFAR-10 binary files. See include/acgan/data/cifar10.h.
#include "acgan/data/cifar10.h"

#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

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
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw Error(path + ": missing CIFAR-10 file; " + kHowToGet);
  }
  if (ec) throw Error(path + ": cannot stat: " + ec.message());
  if (status.type() != fs::file_type::regular) {
    throw Error(path + ": is " +
                (status.type() == fs::file_type::directory ? std::string("a directory")
                                                           : std::string("not a regular file")) +
                ", expected a CIFAR-10 .bin file of 3,073-byte records");
  }
  const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) throw Error(path + ": cannot read its size: " + ec.message());
  if (bytes == 0 || bytes % Cifar10Layout::kRecordBytes != 0) {
    throw Error(path +
                ": expected a whole number of 3,073-byte CIFAR-10 records (30,730,000 bytes "
                "in an official file), found " +
                std::to_string(bytes) + " bytes; the file is truncated or not CIFAR-10 binary");
  }
  const int64_t records = bytes / Cifar10Layout::kRecordBytes;
  auto raw = torch::empty({records, Cifar10Layout::kRecordBytes}, torch::kUInt8);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading: " + std::strerror(errno));
  if (!in.read(reinterpret_cast<char*>(raw.data_ptr<uint8_t>()), bytes)) {
    throw Error(path + ": read failed after " + std::to_string(in.gcount()) + " of " +
                std::to_string(bytes) + " bytes");
  }
  auto label_bytes = raw.select(1, 0);  // (records)
  const auto bad = (label_bytes >= Cifar10Layout::kClasses).nonzero();
  if (bad.numel() > 0) {
    const int64_t record = bad[0][0].item<int64_t>();
    throw Error(path + ": record " + std::to_string(record) + " has label byte " +
                std::to_string(label_bytes[record].item<int>()) +
                ", expected 0..9; the file is corrupt or not CIFAR-10 binary");
  }
  labels.push_back(label_bytes.to(torch::kLong));
  images.push_back(raw.narrow(1, 1, Cifar10Layout::kImageBytes));
}

}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

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

Cifar10::Cifar10(const std::string& root, Split split) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& file : cifar10_files(find_cifar10_dir(root), split)) {
    read_file(file, images, labels);
  }
  images_ = torch::cat(images).view(
      {-1, Cifar10Layout::kChannels, Cifar10Layout::kSide, Cifar10Layout::kSide});
  labels_ = torch::cat(labels);
}

Cifar10::Cifar10(torch::Tensor images, torch::Tensor labels)
    : images_(std::move(images)), labels_(std::move(labels)) {
  TORCH_CHECK(images_.dim() == 4 && images_.size(1) == Cifar10Layout::kChannels &&
                  images_.size(2) == Cifar10Layout::kSide &&
                  images_.size(3) == Cifar10Layout::kSide,
              "Cifar10: images must be (N, 3, 32, 32), got ", images_.sizes());
  TORCH_CHECK(images_.scalar_type() == torch::kUInt8, "Cifar10: images must be uint8");
  TORCH_CHECK(labels_.dim() == 1 && labels_.size(0) == images_.size(0),
              "Cifar10: labels must be (N) for N images");
  labels_ = labels_.to(torch::kLong);
}

torch::Tensor normalize_pixels(const torch::Tensor& pixels) {
  // The same three operations, in the same order, as torchvision: bit-identical results.
  return pixels.to(torch::kFloat).div_(255).sub_(0.5).div_(0.5);
}

torch::data::Example<> Cifar10::get(size_t index) {
  const auto i = static_cast<int64_t>(index);
  return {normalize_pixels(images_[i]), labels_[i]};
}

torch::optional<size_t> Cifar10::size() const { return static_cast<size_t>(images_.size(0)); }

torch::data::Example<> Cifar10::batch(const torch::Tensor& indices) const {
  const auto idx = indices.to(images_.device(), torch::kLong).contiguous();
  if (!images_.device().is_cpu()) {
    return {normalize_pixels(images_.index_select(0, idx)), labels_.index_select(0, idx)};
  }
  // On the CPU a plain loop through a 256-entry table: bit-identical to normalize_pixels (the table
  // is made by it), several times faster than three ATen passes, and free of OpenMP, so DataLoader
  // worker threads do not start thread teams of their own that fight the training step's.
  static const torch::Tensor table = normalize_pixels(torch::arange(256, torch::kUInt8));
  const float* lut = table.data_ptr<float>();
  const int64_t n = idx.size(0), image_bytes = Cifar10Layout::kImageBytes, count = images_.size(0);
  auto out =
      torch::empty({n, Cifar10Layout::kChannels, Cifar10Layout::kSide, Cifar10Layout::kSide});
  auto labels = torch::empty({n}, torch::kLong);
  const auto images = images_.contiguous();
  const uint8_t* src = images.data_ptr<uint8_t>();
  const int64_t* rows = idx.data_ptr<int64_t>();
  const int64_t* all_labels = labels_.data_ptr<int64_t>();
  float* dst = out.data_ptr<float>();
  int64_t* dst_labels = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    TORCH_CHECK(rows[i] >= 0 && rows[i] < count, "Cifar10::batch: index ", rows[i],
                " out of range");
    const uint8_t* pixels = src + rows[i] * image_bytes;
    for (int64_t j = 0; j < image_bytes; ++j) dst[i * image_bytes + j] = lut[pixels[j]];
    dst_labels[i] = all_labels[rows[i]];
  }
  return {out, labels};
}

Cifar10 Cifar10::head(int64_t n) const {
  TORCH_CHECK(n >= 0 && n <= images_.size(0), "Cifar10::head: n out of range");
  return Cifar10(images_.narrow(0, 0, n), labels_.narrow(0, 0, n));
}

Cifar10 Cifar10::to(const torch::Device& device) const {
  return Cifar10(images_.to(device), labels_.to(device));
}

void write_cifar10_file(const std::string& path, const torch::Tensor& images,
                        const torch::Tensor& labels) {
  auto records = torch::cat({labels.to(torch::kUInt8).view({-1, 1}),
                             images.to(torch::kUInt8).reshape({images.size(0), -1})},
                            1)
                     .contiguous();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(records.data_ptr<uint8_t>()), records.numel());
  if (!out) throw Error(path + ": write failed");
}

}  // namespace acgan
