// The paper's 128-pixel ImageNet networks (the imagenet128 family), as clvrai/ACGAN-PyTorch's
// network.py (_netG, _netD) builds them, under its state_dict keys. See
// include/acgan/models/networks.h.
#include <torch/torch.h>

#include "acgan/models/fast_ops.h"
#include "acgan/models/networks.h"
#include "acgan/models/precision.h"

namespace nn = torch::nn;

namespace acgan {
namespace {

constexpr int64_t kFc1Width = 768;  // G's first layer: (N, 768, 1, 1)
// D's last feature map: 128 -> 64 -> 62 -> 31 -> 29 -> 15 -> 13, 512 channels.
constexpr int64_t kFeatureSide = 13;
constexpr int64_t kFeatures = 512 * kFeatureSide * kFeatureSide;  // 86,528

nn::BatchNorm2d batch_norm(int64_t channels) {
  return nn::BatchNorm2d(nn::BatchNorm2dOptions(channels).eps(1e-5).momentum(0.1));
}

// ConvTranspose2d stride 2, padding 0, no bias, then BatchNorm2d + ReLU, or Tanh alone (the
// table's tconv5 and tconv6).
nn::Sequential up_block(int64_t in, int64_t out, int64_t kernel, bool normalize,
                        bool spectral_norm) {
  nn::Sequential block;
  block->push_back(conv_transpose_layer(
      nn::ConvTranspose2dOptions(in, out, kernel).stride(2).bias(false), spectral_norm));
  if (normalize) {
    block->push_back(batch_norm(out));
    block->push_back(nn::ReLU());
  } else {
    block->push_back(nn::Tanh());
  }
  return block;
}

// Conv2d 3x3 without bias (stride 2 padding 1 halves the side, stride 1 padding 0 takes 2 off),
// BatchNorm2d in all but the first block, LeakyReLU(0.2) and Dropout in every block. With
// spectral normalisation the convolution is normalised and BatchNorm left out, as for cifar.
nn::Sequential down_block(int64_t in, int64_t out, int64_t stride, bool first, double dropout,
                          bool spectral_norm) {
  const int64_t padding = stride == 2 ? 1 : 0;
  nn::Sequential block;
  block->push_back(conv_layer(
      nn::Conv2dOptions(in, out, 3).stride(stride).padding(padding).bias(false), spectral_norm));
  if (!first && !spectral_norm) block->push_back(batch_norm(out));
  block->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  block->push_back(nn::Dropout(nn::DropoutOptions(dropout)));
  return block;
}

}  // namespace

Imagenet128GeneratorImpl::Imagenet128GeneratorImpl(const GeneratorOptions& options)
    : GeneratorImpl(options) {
  guard_against_inexact_onednn();
  check_nz(Arch::kImagenet128, options.nz(), options.num_classes());
  check_image_side(Arch::kImagenet128, options.image_side());
  const bool sn = options.spectral_norm();
  fc1 = linear_layer(nn::LinearOptions(options.nz(), kFc1Width), sn);
  register_module("fc1", fc1.ptr());
  tconv2 = register_module("tconv2", up_block(kFc1Width, 384, 5, true, sn));
  tconv3 = register_module("tconv3", up_block(384, 256, 5, true, sn));
  tconv4 = register_module("tconv4", up_block(256, 192, 5, true, sn));
  tconv5 = register_module("tconv5", up_block(192, 64, 5, false, sn));
  tconv6 = register_module("tconv6", up_block(64, options.channels(), 8, false, sn));
}

torch::Tensor Imagenet128GeneratorImpl::forward(const torch::Tensor& z,
                                                const torch::Tensor& classes) {
  auto x = with_class_one_hot(z.view({-1, nz()}), classes, num_classes());
  x = fc1.forward(x).view({-1, kFc1Width, 1, 1});  // (N, 768, 1, 1)
  x = forward_block(*tconv2, x, fast_paths);       // (N, 384, 5, 5)
  x = forward_block(*tconv3, x, fast_paths);       // (N, 256, 13, 13)
  x = forward_block(*tconv4, x, fast_paths);       // (N, 192, 29, 29)
  x = forward_block(*tconv5, x, fast_paths);       // (N, 64, 61, 61)
  return forward_block(*tconv6, x, fast_paths);    // (N, C, 128, 128)
}

std::vector<LayerRecord> Imagenet128GeneratorImpl::trace_layers() {
  std::vector<LayerRecord> rows;
  auto x = fc1.forward(torch::zeros({2, nz()}));
  rows.push_back(record_layer(*fc1.ptr(), x));
  x = x.view({-1, kFc1Width, 1, 1});
  for (auto* block : {&tconv2, &tconv3, &tconv4, &tconv5, &tconv6})
    x = trace_sequential(**block, x, rows);
  return rows;
}

Imagenet128DiscriminatorImpl::Imagenet128DiscriminatorImpl(const DiscriminatorOptions& options)
    : DiscriminatorImpl(options) {
  guard_against_inexact_onednn();
  check_image_side(Arch::kImagenet128, options.image_side());
  const double p = options.dropout();
  const bool sn = options.spectral_norm();
  conv1 = register_module("conv1", down_block(options.channels(), 16, 2, true, p, sn));
  conv2 = register_module("conv2", down_block(16, 32, 1, false, p, sn));
  conv3 = register_module("conv3", down_block(32, 64, 2, false, p, sn));
  conv4 = register_module("conv4", down_block(64, 128, 1, false, p, sn));
  conv5 = register_module("conv5", down_block(128, 256, 2, false, p, sn));
  conv6 = register_module("conv6", down_block(256, 512, 1, false, p, sn));
  fc_dis = linear_layer(nn::LinearOptions(kFeatures, 1), sn);
  register_module("fc_dis", fc_dis.ptr());
  fc_aux = linear_layer(nn::LinearOptions(kFeatures, class_width()), sn);
  register_module("fc_aux", fc_aux.ptr());
  softmax = register_module("softmax", nn::Softmax(1));
  sigmoid = register_module("sigmoid", nn::Sigmoid());
  add_twin_head(kFeatures);
}

DiscriminatorOutput Imagenet128DiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = forward_block(*conv1, x, fast_paths);  // (N, 16, 64, 64)
  h = forward_block(*conv2, h, fast_paths);       // (N, 32, 62, 62)
  h = forward_block(*conv3, h, fast_paths);       // (N, 64, 31, 31)
  h = forward_block(*conv4, h, fast_paths);       // (N, 128, 29, 29)
  h = forward_block(*conv5, h, fast_paths);       // (N, 256, 15, 15)
  h = forward_block(*conv6, h, fast_paths);       // (N, 512, 13, 13)
  h = h.reshape({-1, kFeatures});
  DiscriminatorOutput out;
  out.source_logit = at_least_float32(fc_dis.forward(h).view({-1}));
  out.class_logits = at_least_float32(fc_aux.forward(h));
  apply_twin_head(h, out);
  return out;
}

std::vector<LayerRecord> Imagenet128DiscriminatorImpl::trace_layers() {
  std::vector<LayerRecord> rows;
  const int64_t side = options().image_side();
  auto x = torch::zeros({2, options().channels(), side, side});
  for (auto* block : {&conv1, &conv2, &conv3, &conv4, &conv5, &conv6})
    x = trace_sequential(**block, x, rows);
  x = x.reshape({-1, kFeatures});
  // In the table's order: both heads, then the class head's Softmax and the source head's Sigmoid.
  const auto source = fc_dis.forward(x), classes = fc_aux.forward(x);
  rows.push_back(record_layer(*fc_dis.ptr(), source));
  rows.push_back(record_layer(*fc_aux.ptr(), classes));
  rows.push_back(record_layer(*softmax, softmax->forward(classes)));
  rows.push_back(record_layer(*sigmoid, sigmoid->forward(source)));
  trace_twin_head(x, rows);
  return rows;
}

}  // namespace acgan
