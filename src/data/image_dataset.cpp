// A labelled image set in memory. See include/acgan/data/image_dataset.h.
#include "acgan/data/image_dataset.h"

#include <torch/torch.h>

#include <algorithm>

namespace acgan {

ImageDataset::ImageDataset(torch::Tensor images, torch::Tensor labels, DataSpec spec)
    : images_(std::move(images)), labels_(std::move(labels)), spec_(std::move(spec)) {
  TORCH_CHECK(images_.dim() == 4 && images_.size(1) == spec_.channels &&
                  images_.size(2) == spec_.height && images_.size(3) == spec_.width,
              "ImageDataset: images must be (N, ", spec_.channels, ", ", spec_.height, ", ",
              spec_.width, "), got ", images_.sizes());
  TORCH_CHECK(images_.scalar_type() == torch::kUInt8, "ImageDataset: images must be uint8");
  TORCH_CHECK(labels_.dim() == 1 && labels_.size(0) == images_.size(0),
              "ImageDataset: labels must be (N) for N images");
  labels_ = labels_.to(torch::kLong);
}

ImageDataset ImageDataset::with_channels(int64_t channels) const {
  TORCH_CHECK(channels == 1 || channels == 3, "with_channels: 1 or 3, got ", channels);
  if (channels == spec_.channels) return *this;
  TORCH_CHECK(spec_.channels == 1 || spec_.channels == 3, "with_channels: from ", spec_.channels,
              " channels");
  auto spec = spec_;
  spec.channels = channels;
  torch::Tensor images;
  if (channels == 3) {
    images = images_.expand({-1, 3, -1, -1}).contiguous();
  } else {
    // In chunks: an int32 copy of a whole set would take 12 bytes a pixel.
    images = torch::empty({images_.size(0), 1, spec.height, spec.width}, torch::kUInt8);
    for (int64_t start = 0; start < images_.size(0); start += 1024) {
      const auto rgb = images_.narrow(0, start, std::min<int64_t>(1024, images_.size(0) - start))
                           .to(torch::kInt);
      auto y = rgb.select(1, 0) * 77 + rgb.select(1, 1) * 150 + rgb.select(1, 2) * 29;
      images.narrow(0, start, rgb.size(0)).select(1, 0).copy_(y.div_(256, "floor"));
    }
  }
  ImageDataset converted(images, labels_, spec);
  converted.set_source_digest(source_digest_);
  return converted;
}

ImageDataset ImageDataset::with_side(int64_t side) const {
  if (spec_.height == side && spec_.width == side) return *this;
  std::vector<torch::Tensor> parts;  // in chunks: bounded float memory
  for (const auto& part : images_.split(4096)) parts.push_back(resize_pixels(part, side));
  auto spec = spec_;
  spec.height = spec.width = side;
  ImageDataset resized(torch::cat(parts), labels_, spec);
  resized.set_source_digest(source_digest_);
  return resized;
}

torch::Tensor resize_pixels(const torch::Tensor& pixels, int64_t side) {
  if (pixels.size(2) == side && pixels.size(3) == side) return pixels;
  namespace F = torch::nn::functional;
  const auto size = F::InterpolateFuncOptions()
                        .size(std::vector<int64_t>{side, side})
                        .mode(torch::kBilinear)
                        .align_corners(false);
  return F::interpolate(pixels.to(torch::kFloat), size).round_().clamp_(0, 255).to(torch::kUInt8);
}

torch::Tensor normalize_pixels(const torch::Tensor& pixels) {
  // The same three operations, in the same order, as torchvision: bit-identical results.
  return pixels.to(torch::kFloat).div_(255).sub_(0.5).div_(0.5);
}

torch::data::Example<> ImageDataset::get(size_t index) {
  const auto i = static_cast<int64_t>(index);
  return {normalize_pixels(images_[i]), labels_[i]};
}

torch::optional<size_t> ImageDataset::size() const { return static_cast<size_t>(images_.size(0)); }

torch::data::Example<> ImageDataset::batch(const torch::Tensor& indices) const {
  const auto idx = indices.to(images_.device(), torch::kLong).contiguous();
  if (!images_.device().is_cpu()) {
    return {normalize_pixels(images_.index_select(0, idx)), labels_.index_select(0, idx)};
  }
  // On the CPU a plain loop through a 256-entry table: bit-identical to normalize_pixels (the table
  // is made by it), several times faster than three ATen passes, and free of OpenMP, so DataLoader
  // worker threads do not start thread teams of their own that fight the training step's.
  static const torch::Tensor table = normalize_pixels(torch::arange(256, torch::kUInt8));
  const float* lut = table.data_ptr<float>();
  const int64_t n = idx.size(0), count = images_.size(0);
  const int64_t image_bytes = spec_.channels * spec_.height * spec_.width;
  auto out = torch::empty({n, spec_.channels, spec_.height, spec_.width});
  auto labels = torch::empty({n}, torch::kLong);
  const auto images = images_.contiguous();
  const uint8_t* src = images.data_ptr<uint8_t>();
  const int64_t* rows = idx.data_ptr<int64_t>();
  const int64_t* all_labels = labels_.data_ptr<int64_t>();
  float* dst = out.data_ptr<float>();
  int64_t* dst_labels = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    TORCH_CHECK(rows[i] >= 0 && rows[i] < count, "ImageDataset::batch: index ", rows[i],
                " out of range");
    const uint8_t* pixels = src + rows[i] * image_bytes;
    for (int64_t j = 0; j < image_bytes; ++j) dst[i * image_bytes + j] = lut[pixels[j]];
    dst_labels[i] = all_labels[rows[i]];
  }
  return {out, labels};
}

ImageDataset ImageDataset::head(int64_t n) const {
  TORCH_CHECK(n >= 0 && n <= images_.size(0), "ImageDataset::head: n out of range");
  ImageDataset head(images_.narrow(0, 0, n), labels_.narrow(0, 0, n), spec_);
  head.source_digest_ = source_digest_;
  return head;
}

ImageDataset ImageDataset::to(const torch::Device& device) const {
  ImageDataset moved(images_.to(device), labels_.to(device), spec_);
  moved.source_digest_ = source_digest_;
  return moved;
}

}  // namespace acgan
