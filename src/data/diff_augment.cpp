// DiffAugment's transforms. See include/acgan/data/diff_augment.h.
#include "acgan/data/diff_augment.h"

#include <torch/torch.h>

#include <sstream>

#include "acgan/error.h"

namespace acgan {
namespace {

constexpr double kTranslationRatio = 0.125;  // shift of up to 1/8 of the side
constexpr double kCutoutRatio = 0.5;         // a square of half the side

// One U(0, 1) draw per image, shaped to broadcast over (N, C, H, W), in x's dtype and device.
torch::Tensor per_image_uniform(const torch::Tensor& x) {
  return torch::rand({x.size(0), 1, 1, 1}, x.options());
}

torch::Tensor color(const torch::Tensor& x) {
  auto y = x + (per_image_uniform(x) - 0.5);  // brightness
  const auto channel_mean = y.mean(1, /*keepdim=*/true);
  y = (y - channel_mean) * (per_image_uniform(x) * 2) + channel_mean;  // saturation
  const auto image_mean = y.mean({1, 2, 3}, /*keepdim=*/true);
  return (y - image_mean) * (per_image_uniform(x) + 0.5) + image_mean;  // contrast
}

// Integer offsets in [-shift, shift] per image, (N, 1, 1).
torch::Tensor offsets(const torch::Tensor& x, int64_t shift) {
  return torch::randint(-shift, shift + 1, {x.size(0), 1, 1},
                        torch::TensorOptions().dtype(torch::kLong).device(x.device()));
}

torch::Tensor translation(const torch::Tensor& x) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const auto shift_y = offsets(x, static_cast<int64_t>(h * kTranslationRatio + 0.5));
  const auto shift_x = offsets(x, static_cast<int64_t>(w * kTranslationRatio + 0.5));
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  // Output pixel (y, x) reads input pixel (y + dy, x + dx); positions outside read the zero border
  // of a copy padded by one pixel (index 0 or side + 1).
  const auto rows = (torch::arange(h, long_options).view({1, h, 1}) + shift_y + 1).clamp(0, h + 1);
  const auto cols = (torch::arange(w, long_options).view({1, 1, w}) + shift_x + 1).clamp(0, w + 1);
  const auto padded = torch::constant_pad_nd(x, {1, 1, 1, 1}, 0);  // (N, C, H + 2, W + 2)
  const auto batch = torch::arange(n, long_options).view({n, 1, 1});
  // (N, H, W, C) gathered at (batch, rows, cols), back to (N, C, H, W).
  return padded.permute({0, 2, 3, 1})
      .index({batch, rows.expand({n, h, w}), cols.expand({n, h, w})})
      .permute({0, 3, 1, 2})
      .contiguous();  // channels-last strides would carry through D's convolutions
}

torch::Tensor cutout(const torch::Tensor& x) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t size_y = static_cast<int64_t>(h * kCutoutRatio + 0.5);
  const int64_t size_x = static_cast<int64_t>(w * kCutoutRatio + 0.5);
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  // The square's centre, anywhere in the image: its corner at centre - size / 2, clipped.
  const auto centre_y = torch::randint(0, h + (1 - size_y % 2), {n, 1, 1}, long_options);
  const auto centre_x = torch::randint(0, w + (1 - size_x % 2), {n, 1, 1}, long_options);
  const auto row = torch::arange(h, long_options).view({1, h, 1});
  const auto col = torch::arange(w, long_options).view({1, 1, w});
  const auto dy = row - (centre_y - size_y / 2), dx = col - (centre_x - size_x / 2);
  const auto inside = dy.ge(0) & dy.lt(size_y) & dx.ge(0) & dx.lt(size_x);  // (N, H, W)
  return x * inside.logical_not().unsqueeze(1).to(x.scalar_type());
}

}  // namespace

DiffAugmentPolicy parse_diffaugment(const std::string& text) {
  DiffAugmentPolicy policy;
  if (text.empty() || text == "none") return policy;
  std::istringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) {
    if (part == "color")
      policy.color = true;
    else if (part == "translation")
      policy.translation = true;
    else if (part == "cutout")
      policy.cutout = true;
    else
      throw UsageError(
          "--diffaugment: expected none or a comma-separated list of color, "
          "translation, cutout, got '" +
          text + "'");
  }
  return policy;
}

torch::Tensor diff_augment(const torch::Tensor& x, const DiffAugmentPolicy& policy) {
  auto y = x;
  if (policy.color) y = color(y);
  if (policy.translation) y = translation(y);
  if (policy.cutout) y = cutout(y);
  return y;
}

}  // namespace acgan
