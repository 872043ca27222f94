// The original script's networks (the cifar family). See include/acgan/models/networks.h.
#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/networks.h"
#include "acgan/models/precision.h"

namespace nn = torch::nn;

namespace acgan {
namespace {

constexpr int64_t kFeatures = 512 * 4 * 4;  // 8192: D's flattened features
constexpr int64_t kFc1Width = 384;          // G's first layer: (N, 384, 1, 1)

// ConvTranspose2d + (BatchNorm2d + ReLU | Tanh), as the original's generator blocks.
nn::Sequential up_block(int64_t in, int64_t out, int64_t stride, int64_t padding, bool last,
                        bool spectral_norm) {
  const auto conv = nn::ConvTranspose2dOptions(in, out, 4).stride(stride).padding(padding);
  nn::Sequential block;
  block->push_back(conv_transpose_layer(conv, spectral_norm));
  if (last) {
    block->push_back(nn::Tanh());
  } else {
    block->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-5).momentum(0.1)));
    block->push_back(nn::ReLU());
  }
  return block;
}

// Conv2d 3x3 + LeakyReLU(0.2), with BatchNorm and Dropout in all but the first block; with
// spectral normalisation the convolution is normalised and BatchNorm left out.
nn::Sequential down_block(int64_t in, int64_t out, int64_t stride, bool first, double dropout,
                          bool spectral_norm) {
  const auto conv = nn::Conv2dOptions(in, out, 3).stride(stride).padding(1);
  nn::Sequential block;
  block->push_back(conv_layer(conv, spectral_norm));
  if (!first && !spectral_norm)
    block->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-5).momentum(0.1)));
  block->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  if (!first) block->push_back(nn::Dropout(nn::DropoutOptions(dropout)));
  return block;
}

}  // namespace

CifarGeneratorImpl::CifarGeneratorImpl(const GeneratorOptions& options) : GeneratorImpl(options) {
  guard_against_inexact_onednn();
  check_nz(Arch::kCifar, options.nz(), options.num_classes());
  check_image_side(Arch::kCifar, options.image_side());
  const bool sn = options.spectral_norm();
  fc1 = linear_layer(nn::LinearOptions(options.nz(), kFc1Width), sn);
  register_module("fc1", fc1.ptr());
  conv1 = register_module("conv1", up_block(kFc1Width, 192, 1, 0, false, sn));
  conv2 = register_module("conv2", up_block(192, 96, 2, 1, false, sn));
  conv3 = register_module("conv3", up_block(96, 48, 2, 1, false, sn));
  conv4 = register_module("conv4", up_block(48, options.channels(), 2, 1, true, sn));
}

torch::Tensor CifarGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& classes) {
  auto x = with_class_one_hot(z.view({-1, nz()}), classes, num_classes());
  x = fc1.forward(x).view({-1, kFc1Width, 1, 1});  // (N, 384, 1, 1)
  x = forward_block(*conv1, x, fast_paths);        // (N, 192, 4, 4)
  x = forward_block(*conv2, x, fast_paths);        // (N, 96, 8, 8)
  x = forward_block(*conv3, x, fast_paths);        // (N, 48, 16, 16)
  return forward_block(*conv4, x, fast_paths);     // (N, C, 32, 32)
}

std::vector<LayerRecord> CifarGeneratorImpl::trace_layers() {
  std::vector<LayerRecord> rows;
  auto x = fc1.forward(torch::zeros({2, nz()}));
  rows.push_back(record_layer(*fc1.ptr(), x));
  x = x.view({-1, kFc1Width, 1, 1});
  for (auto* block : {&conv1, &conv2, &conv3, &conv4}) x = trace_sequential(**block, x, rows);
  return rows;
}

CifarDiscriminatorImpl::CifarDiscriminatorImpl(const DiscriminatorOptions& options)
    : DiscriminatorImpl(options) {
  guard_against_inexact_onednn();
  check_image_side(Arch::kCifar, options.image_side());
  const double p = options.dropout();
  const bool sn = options.spectral_norm();
  conv1 = register_module("conv1", down_block(options.channels(), 16, 2, true, p, sn));
  conv2 = register_module("conv2", down_block(16, 32, 1, false, p, sn));
  conv3 = register_module("conv3", down_block(32, 64, 2, false, p, sn));
  conv4 = register_module("conv4", down_block(64, 128, 1, false, p, sn));
  conv5 = register_module("conv5", down_block(128, 256, 2, false, p, sn));
  conv6 = register_module("conv6", down_block(256, 512, 1, false, p, sn));
  fc_source = register_module("fc_source", nn::Sequential());
  fc_source->push_back(linear_layer(nn::LinearOptions(kFeatures, 1), sn));
  fc_source->push_back(nn::Sigmoid());
  fc_class = register_module("fc_class", nn::Sequential());
  fc_class->push_back(linear_layer(nn::LinearOptions(kFeatures, class_width()), sn));
  add_twin_head(kFeatures);
}

DiscriminatorOutput CifarDiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = forward_block(*conv1, x, fast_paths);  // (N, 16, 16, 16)
  h = forward_block(*conv2, h, fast_paths);       // (N, 32, 16, 16)
  h = forward_block(*conv3, h, fast_paths);       // (N, 64, 8, 8)
  h = forward_block(*conv4, h, fast_paths);       // (N, 128, 8, 8)
  h = forward_block(*conv5, h, fast_paths);       // (N, 256, 4, 4)
  h = forward_block(*conv6, h, fast_paths);       // (N, 512, 4, 4)
  h = h.view({-1, kFeatures});
  // fc_source's Sigmoid (index 1) is left to source_probability(); the loss reads the logit.
  auto logit = fc_source->begin()->forward(h).view({-1});  // (N)
  DiscriminatorOutput out;
  out.source_logit = at_least_float32(logit);
  out.class_logits = at_least_float32(fc_class->forward(h));
  apply_twin_head(h, out);
  return out;
}

std::vector<LayerRecord> CifarDiscriminatorImpl::trace_layers() {
  std::vector<LayerRecord> rows;
  auto x = torch::zeros({2, options().channels(), kSeedImageSide, kSeedImageSide});
  for (auto* block : {&conv1, &conv2, &conv3, &conv4, &conv5, &conv6})
    x = trace_sequential(**block, x, rows);
  x = x.view({-1, kFeatures});
  trace_sequential(*fc_source, x, rows);
  trace_sequential(*fc_class, x, rows);
  trace_twin_head(x, rows);
  return rows;
}

}  // namespace acgan
