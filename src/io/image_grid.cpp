// Grid layout and PNG encoding. See include/acgan/io/image_grid.h.
#include "acgan/io/image_grid.h"

#include <stb_image.h>
#include <stb_image_write.h>
#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"

namespace acgan {

torch::Tensor to_pixels(const torch::Tensor& images) {
  auto pixels = images.detach().to(torch::kCPU, torch::kFloat).clamp(-1, 1).add(1).div(2);
  return pixels.mul(255).add_(0.5).clamp_(0, 255).to(torch::kUInt8);
}

torch::Tensor make_grid(const torch::Tensor& images, int64_t nrow, int64_t padding) {
  TORCH_CHECK(images.dim() == 4 && (images.size(1) == 3 || images.size(1) == 1),
              "make_grid: expected (N, 3, H, W) or (N, 1, H, W)");
  if (images.size(1) == 1) return make_grid(images.expand({-1, 3, -1, -1}), nrow, padding);
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  const int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  const int64_t cell_h = h + padding, cell_w = w + padding;
  const auto pixels = to_pixels(images);  // (N, 3, H, W)
  auto grid = torch::zeros({3, rows * cell_h + padding, cols * cell_w + padding}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y = (i / cols) * cell_h + padding, x = (i % cols) * cell_w + padding;
    grid.narrow(1, y, h).narrow(2, x, w).copy_(pixels[i]);
  }
  return grid.permute({1, 2, 0}).contiguous();  // (H', W', 3)
}

std::string encode_png(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == torch::kUInt8,
              "encode_png: expected (H, W, 3) uint8");
  const auto pixels = image.contiguous();
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
  };
  const int width = static_cast<int>(pixels.size(1)), height = static_cast<int>(pixels.size(0));
  if (!stbi_write_png_to_func(append, &bytes, width, height, 3, pixels.data_ptr<uint8_t>(),
                              width * 3)) {
    throw Error("PNG encoding failed");
  }
  return bytes;
}

void save_grid_png(const std::string& path, const torch::Tensor& images, int64_t nrow) {
  write_file_atomic(path, encode_png(make_grid(images, nrow)));
}

torch::Tensor read_png(const std::string& path) {
  const std::string bytes = read_file(path);
  int width = 0, height = 0, channels = 0;
  unsigned char* data =
      stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()), &width, &height, &channels, 3);
  if (!data) throw Error(path + ": not a readable PNG");
  auto image = torch::from_blob(data, {height, width, 3}, torch::kUInt8).clone();
  stbi_image_free(data);
  return image;
}

}  // namespace acgan
