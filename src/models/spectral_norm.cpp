// Spectral normalisation. See include/acgan/models/spectral_norm.h.
#include "acgan/models/spectral_norm.h"

#include <torch/torch.h>

#include "acgan/models/fast_ops.h"
#include "acgan/models/precision.h"

namespace F = torch::nn::functional;
namespace nn = torch::nn;

namespace acgan {
namespace {

constexpr double kEps = 1e-12;  // PyTorch's spectral_norm eps: normalize's floor on the norm

// weight with `dim` moved first, as a (rows, cols) matrix.
torch::Tensor weight_matrix(const torch::Tensor& weight, int64_t dim) {
  auto w = dim == 0 ? weight : weight.transpose(0, dim);
  return w.reshape({w.size(0), -1});
}

torch::Tensor normalized(const torch::Tensor& x) {
  return F::normalize(x, F::NormalizeFuncOptions().dim(0).eps(kEps));
}

}  // namespace

torch::Tensor spectral_normalized_weight(const torch::Tensor& weight_orig, torch::Tensor& u,
                                         torch::Tensor& v, int64_t dim, bool power_iteration) {
  const AutocastPause float32(weight_orig.device().type());
  const auto matrix = weight_matrix(weight_orig, dim);  // (rows, cols)
  torch::Tensor u_now = u, v_now = v;
  if (power_iteration) {
    {
      torch::NoGradGuard no_grad;
      v.copy_(normalized(torch::mv(matrix.t(), u)));
      u.copy_(normalized(torch::mv(matrix, v)));
    }
    // Copies: the buffers change in place at the next step, while autograd still holds these.
    u_now = u.clone();
    v_now = v.clone();
  }
  const auto sigma = torch::dot(u_now, torch::mv(matrix, v_now));
  return weight_orig / sigma;
}

double exact_spectral_norm(const torch::Tensor& weight_orig, int64_t dim) {
  torch::NoGradGuard no_grad;
  const auto matrix = weight_matrix(weight_orig.to(torch::kDouble), dim);
  return std::get<1>(torch::linalg_svd(matrix, /*full_matrices=*/false)).max().item<double>();
}

SpectralNormLayer::SpectralNormLayer(const torch::Tensor& weight, const torch::Tensor& bias_,
                                     int64_t dim)
    : dim_(dim) {
  if (bias_.defined()) bias = register_parameter("bias", bias_.detach());
  weight_orig = register_parameter("weight_orig", weight.detach());
  const auto matrix = weight_matrix(weight_orig, dim);
  weight_u = register_buffer("weight_u", normalized(torch::randn({matrix.size(0)})));
  weight_v = register_buffer("weight_v", normalized(torch::randn({matrix.size(1)})));
}

torch::Tensor SpectralNormLayer::weight() {
  return spectral_normalized_weight(weight_orig, weight_u, weight_v, dim_, is_training());
}

torch::Tensor SpectralNormLayer::eval_weight() {
  return spectral_normalized_weight(weight_orig, weight_u, weight_v, dim_, false);
}

SNConv2dImpl::SNConv2dImpl(const nn::Conv2dOptions& conv) : SNConv2dImpl(nn::Conv2d(conv)) {}

SNConv2dImpl::SNConv2dImpl(const nn::Conv2d& plain)
    : SpectralNormLayer(plain->weight, plain->bias, 0), options(plain->options) {
  TORCH_CHECK(explicit_padding(options.padding()), "SNConv2d: explicit padding expected");
}

torch::Tensor SNConv2dImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(x, weight(), bias, *options.stride(), **explicit_padding(options.padding()),
                       *options.dilation(), options.groups());
}

SNConvTranspose2dImpl::SNConvTranspose2dImpl(const nn::ConvTranspose2dOptions& conv)
    : SNConvTranspose2dImpl(nn::ConvTranspose2d(conv)) {}

SNConvTranspose2dImpl::SNConvTranspose2dImpl(const nn::ConvTranspose2d& plain)
    : SpectralNormLayer(plain->weight, plain->bias, 1), options(plain->options) {}

torch::Tensor SNConvTranspose2dImpl::forward(const torch::Tensor& x) {
  return conv_transpose_2d(x, weight(), bias, options, fast_paths);
}

SNLinearImpl::SNLinearImpl(const nn::LinearOptions& linear) : SNLinearImpl(nn::Linear(linear)) {}

SNLinearImpl::SNLinearImpl(const nn::Linear& plain)
    : SpectralNormLayer(plain->weight, plain->bias, 0), options(plain->options) {}

torch::Tensor SNLinearImpl::forward(const torch::Tensor& x) { return F::linear(x, weight(), bias); }

}  // namespace acgan
