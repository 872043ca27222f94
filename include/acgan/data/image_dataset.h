// A labelled image set held in memory, as a torch::data dataset: uint8 images (N, C, H, W), int64
// labels (N) and the spec saying what they are (data_spec.h). The readers (datasets.h) make one;
// nothing here reads a file.
//
// Images come out as float in [-1, 1], computed exactly as torchvision's ToTensor() +
// Normalize(0.5, 0.5) does ((x / 255 - 0.5) / 0.5), either one at a time (`get`, the torch::data
// interface) or a whole batch from an index tensor in one gather (`batch`), which training uses.
#pragma once

#include <torch/data/datasets/base.h>
#include <torch/data/example.h>
#include <torch/types.h>

#include <string>

#include "acgan/data/data_spec.h"

namespace acgan {

enum class Split { kTrain, kTest };

class ImageDataset : public torch::data::datasets::Dataset<ImageDataset> {
 public:
  // images (N, spec.channels, spec.height, spec.width) uint8, labels (N) integers in
  // 0..spec.num_classes()-1 (checked by the readers, which name the file).
  ImageDataset(torch::Tensor images, torch::Tensor labels, DataSpec spec);

  // One example: data (C, H, W) float in [-1, 1], target () int64.
  torch::data::Example<> get(size_t index) override;
  torch::optional<size_t> size() const override;

  // A whole batch in one gather: data (B, C, H, W) float in [-1, 1], target (B) int64, on the
  // device the data set lives on. `indices` is (B) int64 on any device.
  torch::data::Example<> batch(const torch::Tensor& indices) const;

  // The first n examples (n <= size()), sharing memory.
  ImageDataset head(int64_t n) const;
  // The images with `channels` planes (1 or 3): grey is repeated into RGB, RGB becomes grey as
  // stb_image makes it ((77 R + 150 G + 29 B) >> 8), so an image folder and a binary set agree.
  ImageDataset with_channels(int64_t channels) const;
  // The images resized to side x side, bilinear (align_corners false, rounded), in chunks; the same
  // data when they already are.
  ImageDataset with_side(int64_t side) const;
  // The same data on `device` (CUDA keeps the whole set on the GPU as uint8).
  ImageDataset to(const torch::Device& device) const;

  const torch::Tensor& images() const { return images_; }  // (N, C, H, W) uint8
  const torch::Tensor& labels() const { return labels_; }  // (N) int64
  const DataSpec& spec() const { return spec_; }
  // A digest of the files the images came from, where the reader makes one (an image folder's
  // list and bytes); part of the training data's fingerprint.
  const std::string& source_digest() const { return source_digest_; }
  void set_source_digest(std::string digest) { source_digest_ = std::move(digest); }

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
  DataSpec spec_;
  std::string source_digest_;
};

// uint8 pixels -> float in [-1, 1], bit-identical to ToTensor() + Normalize(0.5, 0.5).
torch::Tensor normalize_pixels(const torch::Tensor& pixels);

// uint8 images (N, C, H, W) -> (N, C, side, side) uint8, bilinear (align_corners false), rounded:
// how with_side resizes a data set, so images resized later (eval's samples) match it.
torch::Tensor resize_pixels(const torch::Tensor& pixels, int64_t side);

}  // namespace acgan
