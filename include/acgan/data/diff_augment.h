// Differentiable augmentation (DiffAugment; Zhao, Liu, Lin, Zhu and Han, NeurIPS 2020): random
// transforms applied to every image D sees, real and generated, in the D step and in the G step,
// built from differentiable ops so that G's gradient flows through them. Sampling (grids,
// `generate`, `eval`) never applies them. The three policies, each drawn per image:
//   color:       brightness + U(-0.5, 0.5); saturation: (x - channel mean) * U(0, 2) + mean;
//                contrast: (x - image mean) * U(0.5, 1.5) + mean
//   translation: a shift of up to 1/8 of the side (4 pixels at 32x32) each way, zeros filled in
//   cutout:      a zeroed square of half the side, centred anywhere in the image
// The draws come from the device's default generator, so a checkpoint's RNG state resumes them.
#pragma once

#include <torch/types.h>

#include <string>

namespace acgan {

struct DiffAugmentPolicy {
  bool color = false, translation = false, cutout = false;
  bool any() const { return color || translation || cutout; }
};

// "" or "none": no augmentation; else a comma-separated list of color, translation, cutout.
// Throws UsageError naming --diffaugment otherwise.
DiffAugmentPolicy parse_diffaugment(const std::string& text);

// x (N, C, H, W) -> the same shape, each image transformed by the policy's draws; x itself when the
// policy is empty.
torch::Tensor diff_augment(const torch::Tensor& x, const DiffAugmentPolicy& policy);

}  // namespace acgan
