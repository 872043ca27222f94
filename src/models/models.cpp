// The networks, their initialisation and their layer traces. See include/acgan/models/models.h.
#include "acgan/models/models.h"

#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/precision.h"
#include "acgan/models/spectral_norm.h"

namespace nn = torch::nn;

namespace acgan {
namespace {

constexpr int64_t kFeatures = 512 * 4 * 4;  // 8192: D's flattened features

// ConvTranspose2d + (BatchNorm2d + ReLU | Tanh), as the original's generator blocks.
nn::Sequential up_block(int64_t in, int64_t out, int64_t stride, int64_t padding, bool last,
                        bool spectral_norm) {
  const auto conv = nn::ConvTranspose2dOptions(in, out, 4).stride(stride).padding(padding);
  nn::Sequential block;
  if (spectral_norm)
    block->push_back(SNConvTranspose2d(conv));
  else
    block->push_back(nn::ConvTranspose2d(conv));
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
  if (spectral_norm)
    block->push_back(SNConv2d(conv));
  else
    block->push_back(nn::Conv2d(conv));
  if (!first && !spectral_norm)
    block->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(1e-5).momentum(0.1)));
  block->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  if (!first) block->push_back(nn::Dropout(nn::DropoutOptions(dropout)));
  return block;
}

// A Linear layer, spectrally normalised or not.
nn::AnyModule linear(int64_t in, int64_t out, bool spectral_norm) {
  if (spectral_norm) return nn::AnyModule(SNLinear(nn::LinearOptions(in, out)));
  return nn::AnyModule(nn::Linear(in, out));
}

std::string short_type(const nn::Module& m) {
  std::string name = m.name();  // "torch::nn::Conv2dImpl"
  if (const auto colon = name.rfind("::"); colon != std::string::npos)
    name = name.substr(colon + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0)
    name.resize(name.size() - 4);
  return name;
}

int64_t own_parameters(const nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters(/*recurse=*/false)) n += p.numel();
  return n;
}

LayerRecord record(const nn::Module& m, const torch::Tensor& out) {
  return {short_type(m), out.sizes().slice(1).vec(), own_parameters(m)};
}

// Runs x through every layer of `seq`, recording each.
torch::Tensor trace_sequential(nn::SequentialImpl& seq, torch::Tensor x,
                               std::vector<LayerRecord>& rows) {
  for (auto& layer : seq) {  // AnyModule
    x = layer.forward(x);
    rows.push_back(record(*layer.ptr(), x));
  }
  return x;
}

// How the class enters the seed's G: one-hot in the first num_classes entries of z (N, nz).
torch::Tensor with_class_one_hot(const torch::Tensor& z, const torch::Tensor& classes,
                                 int64_t num_classes) {
  auto x = z.clone();
  x.narrow(1, 0, num_classes).copy_(torch::one_hot(classes, num_classes));
  return x;
}

}  // namespace

void check_nz(int64_t nz, int64_t num_classes) {
  if (nz <= num_classes || nz > kMaxNz) {
    throw UsageError("--nz: expected " + std::to_string(num_classes + 1) + ".." +
                     std::to_string(kMaxNz) + " (the first " + std::to_string(num_classes) +
                     " entries of z hold the one-hot class), got " + std::to_string(nz));
  }
}

GeneratorImpl::GeneratorImpl(int64_t nz) : GeneratorImpl(GeneratorOptions().nz(nz)) {}

GeneratorImpl::GeneratorImpl(const GeneratorOptions& options) : options_(options) {
  guard_against_inexact_onednn();
  check_nz(options.nz(), options.num_classes());
  const bool sn = options.spectral_norm();
  fc1 = linear(options.nz(), 384, sn);
  register_module("fc1", fc1.ptr());
  conv1 = register_module("conv1", up_block(384, 192, 1, 0, false, sn));
  conv2 = register_module("conv2", up_block(192, 96, 2, 1, false, sn));
  conv3 = register_module("conv3", up_block(96, 48, 2, 1, false, sn));
  conv4 = register_module("conv4", up_block(48, options.channels(), 2, 1, true, sn));
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& classes) {
  auto x = with_class_one_hot(z.view({-1, nz()}), classes, num_classes());
  x = fc1.forward(x).view({-1, 384, 1, 1});     // (N, 384, 1, 1)
  x = forward_block(*conv1, x, fast_paths);     // (N, 192, 4, 4)
  x = forward_block(*conv2, x, fast_paths);     // (N, 96, 8, 8)
  x = forward_block(*conv3, x, fast_paths);     // (N, 48, 16, 16)
  return forward_block(*conv4, x, fast_paths);  // (N, C, 32, 32)
}

DiscriminatorImpl::DiscriminatorImpl(const DiscriminatorOptions& options) : options_(options) {
  guard_against_inexact_onednn();
  const double p = options.dropout();
  const bool sn = options.spectral_norm();
  conv1 = register_module("conv1", down_block(options.channels(), 16, 2, true, p, sn));
  conv2 = register_module("conv2", down_block(16, 32, 1, false, p, sn));
  conv3 = register_module("conv3", down_block(32, 64, 2, false, p, sn));
  conv4 = register_module("conv4", down_block(64, 128, 1, false, p, sn));
  conv5 = register_module("conv5", down_block(128, 256, 2, false, p, sn));
  conv6 = register_module("conv6", down_block(256, 512, 1, false, p, sn));
  fc_source = register_module("fc_source", nn::Sequential());
  fc_source->push_back(linear(kFeatures, 1, sn));
  fc_source->push_back(nn::Sigmoid());
  fc_class = register_module("fc_class", nn::Sequential());
  fc_class->push_back(linear(kFeatures, options.num_classes(), sn));
}

torch::Tensor source_probability(const DiscriminatorOutput& out) {
  return torch::sigmoid(out.source_logit);
}

DiscriminatorOutput DiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = forward_block(*conv1, x, fast_paths);  // (N, 16, 16, 16)
  h = forward_block(*conv2, h, fast_paths);       // (N, 32, 16, 16)
  h = forward_block(*conv3, h, fast_paths);       // (N, 64, 8, 8)
  h = forward_block(*conv4, h, fast_paths);       // (N, 128, 8, 8)
  h = forward_block(*conv5, h, fast_paths);       // (N, 256, 4, 4)
  h = forward_block(*conv6, h, fast_paths);       // (N, 512, 4, 4)
  h = h.view({-1, kFeatures});
  // fc_source's Sigmoid (index 1) is left to source_probability(); the loss reads the logit.
  auto logit = fc_source->begin()->forward(h).view({-1});  // (N)
  return {at_least_float32(logit), at_least_float32(fc_class->forward(h))};
}

void dcgan_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/true)) {
    if (auto* conv = m->as<nn::Conv2d>()) {
      nn::init::normal_(conv->weight, 0.0, 0.02);
      nn::init::zeros_(conv->bias);
    } else if (auto* convt = m->as<nn::ConvTranspose2d>()) {
      nn::init::normal_(convt->weight, 0.0, 0.02);
      nn::init::zeros_(convt->bias);
    } else if (auto* sn_conv = m->as<SNConv2d>()) {
      nn::init::normal_(sn_conv->weight_orig, 0.0, 0.02);
      nn::init::zeros_(sn_conv->bias);
    } else if (auto* sn_convt = m->as<SNConvTranspose2d>()) {
      nn::init::normal_(sn_convt->weight_orig, 0.0, 0.02);
      nn::init::zeros_(sn_convt->bias);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::normal_(bn->weight, 1.0, 0.02);
      nn::init::zeros_(bn->bias);
    }
  }
}

int64_t count_parameters(const nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

std::vector<LayerRecord> trace_layers(GeneratorImpl& g) {
  torch::NoGradGuard no_grad;
  const bool was_training = g.is_training();
  g.eval();
  std::vector<LayerRecord> rows;
  auto x = g.fc1.forward(torch::zeros({2, g.nz()}));
  rows.push_back(record(*g.fc1.ptr(), x));
  x = x.view({-1, 384, 1, 1});
  for (auto* block : {&g.conv1, &g.conv2, &g.conv3, &g.conv4})
    x = trace_sequential(**block, x, rows);
  g.train(was_training);
  return rows;
}

std::vector<LayerRecord> trace_layers(DiscriminatorImpl& d) {
  torch::NoGradGuard no_grad;
  const bool was_training = d.is_training();
  d.eval();
  std::vector<LayerRecord> rows;
  auto x = torch::zeros({2, d.options().channels(), kSeedImageSide, kSeedImageSide});
  for (auto* block : {&d.conv1, &d.conv2, &d.conv3, &d.conv4, &d.conv5, &d.conv6}) {
    x = trace_sequential(**block, x, rows);
  }
  x = x.view({-1, kFeatures});
  trace_sequential(*d.fc_source, x, rows);
  trace_sequential(*d.fc_class, x, rows);
  d.train(was_training);
  return rows;
}

void use_fast_paths(torch::nn::Module& network, const FastPaths& paths) {
  for (const auto& module : network.modules(/*include_self=*/true)) {
    if (auto* g = module->as<GeneratorImpl>()) {
      g->fast_paths = paths;
    } else if (auto* d = module->as<DiscriminatorImpl>()) {
      d->fast_paths = paths;
    } else if (auto* sn = module->as<SNConvTranspose2dImpl>()) {
      sn->fast_paths = paths;
    }
  }
}

}  // namespace acgan
