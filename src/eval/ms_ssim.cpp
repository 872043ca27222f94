// MS-SSIM. See include/acgan/eval/ms_ssim.h.
#include "acgan/eval/ms_ssim.h"

#include <torch/torch.h>

#include <array>
#include <cmath>
#include <limits>

namespace acgan {
namespace {

constexpr std::array<double, 5> kScaleWeights = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
constexpr int64_t kWindow = 11;
constexpr double kSigma = 1.5;
constexpr double kMax = 255.0;
constexpr int64_t kPairChunk = 128;
constexpr double kC1 = (0.01 * kMax) * (0.01 * kMax);
constexpr double kC2 = (0.03 * kMax) * (0.03 * kMax);

// msssim.py's _FSpecialGauss is exp(-(x^2 + y^2) / 2 sigma^2), normalised: the outer product of
// this 1-D kernel with itself, so the filter runs as two 1-D passes (11x fewer operations).
// Centred on the middle pixel, or between the two middle ones for an even size.
torch::Tensor gaussian_1d(int64_t size, double sigma) {
  const double offset = size % 2 == 0 ? 0.5 : 0.0;
  const auto x = torch::arange(size, torch::kFloat64) - static_cast<double>(size / 2) + offset;
  const auto g = torch::exp(-(x * x) / (2 * sigma * sigma));
  return g / g.sum();
}

// (n - size + 1, n): row i holds the kernel at columns i .. i + size - 1, so that B v is v's valid
// convolution with the (symmetric) kernel.
torch::Tensor band_matrix(const torch::Tensor& kernel, int64_t n) {
  const int64_t size = kernel.size(0);
  auto band = torch::zeros({n - size + 1, n}, torch::kFloat64);
  for (int64_t i = 0; i < n - size + 1; ++i) band[i].narrow(0, i, size).copy_(kernel);
  return band;
}

struct ScaleTerms {
  torch::Tensor ssim, cs;  // (P) each
};

// _SSIMForMultiScale on x, y (P, C, H, W) float64.
ScaleTerms ssim_terms(const torch::Tensor& x, const torch::Tensor& y) {
  const int64_t p = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t size = std::min({kWindow, h, w});
  const auto g = gaussian_1d(size, kSigma * static_cast<double>(size) / kWindow);
  // The five maps filtered at once, each 1-D valid convolution as a product with a banded matrix
  // (float64 matrix products run in the BLAS; float64 convolutions do not): (5, P, C, H, W) ->
  // (5, P, C H' W').
  auto maps = torch::stack({x, y, x * x, y * y, x * y});
  maps = torch::matmul(maps, band_matrix(g, w).t());  // along W: (..., H, W')
  maps = torch::matmul(band_matrix(g, h), maps);      // along H: (..., H', W')
  maps = maps.reshape({5, p, -1});
  const auto mu1 = maps[0], mu2 = maps[1];
  const auto mu11 = mu1 * mu1, mu22 = mu2 * mu2, mu12 = mu1 * mu2;
  const auto sigma11 = maps[2] - mu11, sigma22 = maps[3] - mu22, sigma12 = maps[4] - mu12;
  const auto v1 = 2.0 * sigma12 + kC2, v2 = sigma11 + sigma22 + kC2;
  return {(((2.0 * mu12 + kC1) * v1) / ((mu11 + mu22 + kC1) * v2)).mean(1), (v1 / v2).mean(1)};
}

// 2x2 averages; an odd side first gets its last row / column repeated.
torch::Tensor downsample(const torch::Tensor& t) {
  const int64_t pad_w = t.size(3) % 2, pad_h = t.size(2) % 2;
  auto padded = t;
  if (pad_w + pad_h > 0) {
    padded = torch::replication_pad2d(t, {0, pad_w, 0, pad_h});
  }
  return torch::avg_pool2d(padded, 2, 2);
}

}  // namespace

torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.dim() == 4 && a.sizes() == b.sizes(), "ms_ssim: expected two (P, C, H, W)");
  auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  auto result = torch::ones({a.size(0)}, x.options());
  for (size_t level = 0; level < kScaleWeights.size(); ++level) {
    const auto terms = ssim_terms(x, y);
    const bool last = level + 1 == kScaleWeights.size();
    result *= (last ? terms.ssim : terms.cs).clamp_min(0).pow(kScaleWeights[level]);
    if (!last) {
      x = downsample(x);
      y = downsample(y);
    }
  }
  return result;
}

std::vector<double> class_ms_ssim(const torch::Tensor& images, const torch::Tensor& labels,
                                  const std::vector<int64_t>& classes, int64_t pairs,
                                  torch::Generator generator) {
  std::vector<double> means;
  const auto cpu_labels = labels.cpu();
  for (int64_t k : classes) {
    const auto members = torch::nonzero(cpu_labels == k).flatten();
    const int64_t n = members.size(0);
    if (n < 2) {
      means.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    // Two distinct members: j drawn from the n - 1 others.
    const auto i = torch::randint(n, {pairs}, generator, torch::kLong);
    auto j = torch::randint(n - 1, {pairs}, generator, torch::kLong);
    j = j + (j >= i).to(torch::kLong);
    // MS-SSIM is symmetric: each unordered pair is computed once and counted as often as drawn
    // (a small class draws the same pairs many times).
    const auto [keys, inverse, counts] =
        torch::_unique2(torch::min(i, j) * n + torch::max(i, j), /*sorted=*/true,
                        /*return_inverse=*/false, /*return_counts=*/true);
    const auto first = members.index_select(0, keys.div(n, "floor")).to(images.device());
    const auto second = members.index_select(0, keys.remainder(n)).to(images.device());
    const auto weights = counts.to(torch::kFloat64);
    // In chunks: the float64 maps of 1,000 pairs at once would take over 100 MB.
    double sum = 0;
    for (int64_t at = 0; at < keys.size(0); at += kPairChunk) {
      const int64_t m = std::min(kPairChunk, keys.size(0) - at);
      sum += (ms_ssim(images.index_select(0, first.narrow(0, at, m)).cpu(),
                      images.index_select(0, second.narrow(0, at, m)).cpu()) *
              weights.narrow(0, at, m))
                 .sum()
                 .item<double>();
    }
    means.push_back(sum / static_cast<double>(pairs));
  }
  return means;
}

}  // namespace acgan
