// The run's training data. See include/acgan/training/training_data.h.
#include "acgan/training/training_data.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "acgan/error.h"
#include "acgan/io/crc32.h"
#include "acgan/models/models.h"

namespace acgan {
namespace {

void check_subset_fits(const TrainOptions& options, int64_t available) {
  if (options.subset > available) {
    throw UsageError("--subset " + std::to_string(options.subset) + ": the training set has only " +
                     std::to_string(available) + " images");
  }
}

}  // namespace

DatasetRequest data_request(const TrainOptions& options) {
  DatasetRequest request;
  request.root = options.root_dir;
  request.kind = parse_dataset_kind(options.dataset);
  request.labels = parse_cifar100_labels(options.labels);
  request.side =
      options.image_size != 0 ? options.image_size : native_side(parse_arch(options.arch));
  request.channels = options.channels;
  request.skip_bad_images = options.skip_bad_images;
  return request;
}

void check_data_before_writing(TrainOptions& options) {
  const auto request = data_request(options);
  const auto found = detect_dataset(request);
  const auto spec = dataset_spec(request);
  if (options.resume && spec != options.data_spec) {
    throw UsageError("--root_dir " + options.root_dir + ": holds " + spec.describe() +
                     ", the checkpoint's run trained on " + options.data_spec.describe() +
                     "; point --root_dir (and --dataset, --labels) at that data");
  }
  if (!options.resume) {
    if (options.nz == kDefaultNz && !options.given.count("nz")) {
      options.nz = default_nz(parse_arch(options.arch), spec.num_classes());  // cifar: 100 + K
    }
    options.data_spec = spec;
    options.channels = spec.channels;  // recorded resolved: a resume giving the same value agrees
    options.image_size = spec.height;
  }
  spdlog::info("data: {} ({})", spec.describe(), found.reason);
  check_nz(parse_arch(options.arch), options.nz, spec.num_classes());
  check_subset_fits(options, training_set_size(request));  // the loader checks it again
}

ImageDataset load_training_data(const TrainOptions& options, const torch::Device& device) {
  auto full = load_dataset(data_request(options), Split::kTrain);
  if (full.spec() != options.data_spec) {
    throw Error("--root_dir " + options.root_dir + ": changed while starting: now holds " +
                full.spec().describe() + ", expected " + options.data_spec.describe());
  }
  check_subset_fits(options, static_cast<int64_t>(*full.size()));
  return (options.subset > 0 ? full.head(options.subset) : full).to(device);
}

torch::Tensor real_examples(const ImageDataset& data, const std::vector<int64_t>& classes,
                            int64_t per_class) {
  const auto& spec = data.spec();
  std::vector<torch::Tensor> rows;
  const auto labels = data.labels().cpu();
  for (const auto k : classes) {
    auto idx = labels.eq(k).nonzero().view({-1});
    idx = idx.narrow(0, 0, std::min(per_class, idx.size(0)));
    const auto missing = per_class - idx.size(0);
    auto images = idx.numel() > 0 ? data.batch(idx).data.cpu()
                                  : torch::empty({0, spec.channels, spec.height, spec.width});
    // Classes missing from a small subset leave their row's cells black (-1).
    rows.push_back(torch::cat(
        {images, torch::full({missing, spec.channels, spec.height, spec.width}, -1.0f)}));
  }
  return torch::cat(rows);
}

// A fingerprint of the training data (its size, every label, every 16th image): a resume on other
// data is refused, and a run's checkpoint says what it was trained on.
std::string data_fingerprint(const ImageDataset& data) {
  const auto labels = data.labels().cpu().to(torch::kUInt8).contiguous();
  const auto images = data.images().cpu().slice(0, 0, c10::nullopt, 16).contiguous();
  const auto bytes = [](const torch::Tensor& t) {
    return std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes());
  };
  return fmt::format("{}:{:08x}:{:08x}{}", labels.numel(), crc32(bytes(labels)),
                     crc32(bytes(images)),
                     data.source_digest().empty() ? "" : ":" + data.source_digest());
}

void check_same_data(const ImageDataset& data, TrainOptions& options) {
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
