// The run's training data. See include/acgan/training/training_data.h.
#include "acgan/training/training_data.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "acgan/error.h"
#include "acgan/io/crc32.h"
#include "acgan/models/models.h"  // kNumClasses

namespace fs = std::filesystem;

namespace acgan {
namespace {

void check_subset_fits(const TrainOptions& options, int64_t available) {
  if (options.subset > available) {
    throw UsageError("--subset " + std::to_string(options.subset) + ": the training set has only " +
                     std::to_string(available) + " images");
  }
}

}  // namespace

// The data is there, and --subset fits it, from the files' sizes alone: before anything is written.
void check_data_before_writing(const TrainOptions& options) {
  int64_t records = 0;
  for (const auto& file : cifar10_files(find_cifar10_dir(options.root_dir), Split::kTrain)) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (!ec) records += static_cast<int64_t>(size) / Cifar10Layout::kRecordBytes;
  }
  check_subset_fits(options, records);  // the loader checks it again on the records it reads
}

Cifar10 load_training_data(const TrainOptions& options, const torch::Device& device) {
  Cifar10 full(options.root_dir, Split::kTrain);
  check_subset_fits(options, static_cast<int64_t>(*full.size()));
  return (options.subset > 0 ? full.head(options.subset) : full).to(device);
}

// 10 real images of each class (the first ones in data order), one class a row.
torch::Tensor real_examples(const Cifar10& data, int64_t per_class) {
  std::vector<torch::Tensor> rows;
  const auto labels = data.labels().cpu();
  for (int64_t k = 0; k < kNumClasses; ++k) {
    auto idx = labels.eq(k).nonzero().view({-1});
    idx = idx.narrow(0, 0, std::min(per_class, idx.size(0)));
    auto images = idx.numel() > 0 ? data.batch(idx).data.cpu() : torch::empty({0, 3, 32, 32});
    // Classes missing from a small subset leave their row's cells black (-1).
    rows.push_back(torch::cat({images, torch::full({per_class - idx.size(0), 3, 32, 32}, -1.0f)}));
  }
  return torch::cat(rows);
}

// A fingerprint of the training data (its size, every label, every 16th image): a resume on other
// data is refused, and a run's checkpoint says what it was trained on.
std::string data_fingerprint(const Cifar10& data) {
  const auto labels = data.labels().cpu().to(torch::kUInt8).contiguous();
  const auto images = data.images().cpu().slice(0, 0, c10::nullopt, 16).contiguous();
  const auto bytes = [](const torch::Tensor& t) {
    return std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes());
  };
  return fmt::format("{}:{:08x}:{:08x}", labels.numel(), crc32(bytes(labels)),
                     crc32(bytes(images)));
}

void check_same_data(const Cifar10& data, TrainOptions& options) {
  const auto fingerprint = data_fingerprint(data);
  if (!options.data_fingerprint.empty() && options.data_fingerprint != fingerprint) {
    throw UsageError("--root_dir " + options.root_dir +
                     ": not the data this run was trained on (fingerprint " + fingerprint +
                     ", the checkpoint records " + options.data_fingerprint +
                     "); point --root_dir at that data set");
  }
  options.data_fingerprint = fingerprint;
}

}  // namespace acgan
