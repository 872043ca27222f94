// MS-SSIM (Wang, Simoncelli, Bovik 2003) as the ACGAN paper uses it to measure a class's sample
// diversity: the mean MS-SSIM of random pairs of one class, lower meaning more diverse. Defined
// as tensorflow/models' research/compression/image_encoder/msssim.py (the MATLAB-matching code):
// 5 scales weighted (0.0448, 0.2856, 0.3001, 0.2363, 0.1333); at each scale a Gaussian window of
// size min(11, H, W) and sigma 1.5 * size / 11, valid convolution, K1 = 0.01, K2 = 0.03, pixels in
// [0, 255]; contrast-structure at the first four scales, full SSIM at the last; 2x2 averaging
// between scales (an odd side's last pixel mirrored, as its reflect-mode filter does). The
// per-scale means are clipped at 0 before the weighted product, as progressive_growing_of_gans'
// metrics/ms_ssim.py does (a negative mean would give NaN). One pair is one call of msssim.py:
// the means run over channels and positions.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace acgan {

// a, b (P, C, H, W), uint8 or real in [0, 255] -> (P) float64: the MS-SSIM of each pair.
torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b);

// Mean MS-SSIM of `pairs` random pairs of distinct images of each class in `classes`: images
// (N, C, H, W) uint8 with labels (N). A class with fewer than 2 images gets NaN. Pairs are drawn
// by `generator`.
std::vector<double> class_ms_ssim(const torch::Tensor& images, const torch::Tensor& labels,
                                  const std::vector<int64_t>& classes, int64_t pairs,
                                  torch::Generator generator);

}  // namespace acgan
