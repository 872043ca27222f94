// Sample grids as torchvision's make_grid + save_image draw them: images in [-1, 1] mapped to
// [0, 255] ((x + 1) / 2 * 255, rounded), laid out `nrow` to a row with `padding` black pixels
// around each, written as PNG (stb_image_write) through write_file_atomic.
#pragma once

#include <torch/types.h>

#include <string>

namespace acgan {

// images (N, 3, H, W) float in [-1, 1] -> uint8 pixels on the CPU, as save_image quantises them.
torch::Tensor to_pixels(const torch::Tensor& images);

// images (N, 3, H, W) float in [-1, 1] -> grid (H', W', 3) uint8 on the CPU.
torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow, int64_t padding = 2);

// image (H, W, 3) uint8 -> PNG bytes.
std::string encode_png(const torch::Tensor& image);

// make_grid + encode_png + write_file_atomic.
void save_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow);

// Reads a PNG back as (H, W, 3) uint8 (tests and tools).
torch::Tensor read_png(const std::string& path);

}  // namespace acgan
