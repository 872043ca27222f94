// Spectral normalisation (Miyato et al., ICLR 2018) as PyTorch's torch.nn.utils.spectral_norm
// computes it, for the three layer types of our networks. Each layer keeps PyTorch's state-dict
// names and order (bias, weight_orig, weight_u, weight_v), so weights move between the two.
//
// The layer's weight W (reshaped to a matrix Wm of (rows, cols): rows = the output channels, dim 0
// for Conv2d and Linear, dim 1 for ConvTranspose2d) is divided by sigma, the power-iteration
// estimate of its largest singular value:
//   training: v = normalize(Wm^T u), u = normalize(Wm v)   (one iteration; u, v updated in place,
//             no gradient through them), then sigma = u . (Wm v) with the gradient through Wm;
//   eval:     sigma from the stored u and v, no iteration.
// u and v start as normalised N(0, 1) draws, as PyTorch's. The iteration runs in float32 outside
// autocast: in bf16 or fp16 its rounding would move sigma by ~1 %.
// Not here: which layers are normalised, and what replaces BatchNorm (models.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/options/conv.h>
#include <torch/nn/options/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "acgan/models/fast_ops.h"

namespace acgan {

// W / sigma for weight_orig W. In training (power_iteration) u and v are updated in place first.
// u (rows), v (cols).
torch::Tensor spectral_normalized_weight(const torch::Tensor& weight_orig, torch::Tensor& u,
                                         torch::Tensor& v, int64_t dim, bool power_iteration);

// The largest singular value of weight_orig reshaped as above, exactly (an SVD): for tests and
// reports.
double exact_spectral_norm(const torch::Tensor& weight_orig, int64_t dim);

// What the three layers share: PyTorch's four tensors, registered in its order (bias, weight_orig,
// weight_u, weight_v) from a freshly built plain layer whose default initialisation they keep.
class SpectralNormLayer : public torch::nn::Module {
 public:
  // W / sigma, after one power iteration in training mode (spectral_normalized_weight).
  torch::Tensor weight();
  // W / sigma from the stored u and v, as eval mode computes it, whatever the mode (exports).
  torch::Tensor eval_weight();

  torch::Tensor bias, weight_orig, weight_u, weight_v;

 protected:
  SpectralNormLayer(const torch::Tensor& weight, const torch::Tensor& bias, int64_t dim);

 private:
  int64_t dim_;  // the output channels' dimension of the weight
};

class SNConv2dImpl : public SpectralNormLayer {
 public:
  explicit SNConv2dImpl(const torch::nn::Conv2dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // (N, Cin, H, W) -> (N, Cout, H', W')

  ConvOptions2d options;

 private:
  explicit SNConv2dImpl(const torch::nn::Conv2d& plain);
};
TORCH_MODULE(SNConv2d);

class SNConvTranspose2dImpl : public SpectralNormLayer {
 public:
  explicit SNConvTranspose2dImpl(const torch::nn::ConvTranspose2dOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // (N, Cin, H, W) -> (N, Cout, H', W')

  ConvOptions2d options;
  FastPaths fast_paths;  // its network's (models.h, use_fast_paths)

 private:
  explicit SNConvTranspose2dImpl(const torch::nn::ConvTranspose2d& plain);
};
TORCH_MODULE(SNConvTranspose2d);

class SNLinearImpl : public SpectralNormLayer {
 public:
  explicit SNLinearImpl(const torch::nn::LinearOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // (N, in) -> (N, out)

  torch::nn::LinearOptions options;

 private:
  explicit SNLinearImpl(const torch::nn::Linear& plain);
};
TORCH_MODULE(SNLinear);

}  // namespace acgan
