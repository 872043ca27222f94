// The original script's Generator and Discriminator (layer tables in ../shared/seeds), as LibTorch
// modules whose parameter and buffer names equal the original's state_dict keys (fc1.weight,
// conv1.0.weight, conv1.1.running_mean, ..., fc_source.0.bias), so weights move between the two.
//
// Generator: z (N, nz) -> Linear(nz, 384) -> (N, 384, 1, 1) -> ConvT 384->192 (4x4) -> 96 (8x8)
//   -> 48 (16x16) -> C (32x32), BatchNorm + ReLU between, Tanh at the end. G takes the classes
//   beside z and writes them one-hot into the first K entries of a copy of z, as the original feeds
//   its noise; nothing outside G writes the one-hot. C and K are the data's (data_spec.h); the
//   original's are 3 and 10.
// Discriminator: x (N, C, 32, 32) -> six 3x3 convs (16, 32, 64, 128, 256, 512 channels; stride 2 at
//   1, 3, 5) with LeakyReLU(0.2), BatchNorm and Dropout from the second on -> (N, 8192) -> two
//   heads: source (Linear + Sigmoid, N) and class logits (Linear, N x K). forward returns the
//   source head's logit, before its Sigmoid: the loss takes BCE with logits on it (the same
//   mathematics as BCE on the probability, without a NaN or saturated probability reaching BCE,
//   which on CUDA is a device-side assert). source_probability() applies the Sigmoid.
// Spectral normalisation (spectral_norm.h, --spectral_norm) normalises every Conv, ConvTranspose
// and Linear layer of a network, under PyTorch's names (fc1.weight_orig, ...). In D it replaces
// BatchNorm, as in SN-GAN's discriminators (Miyato et al. 2018): D's blocks become conv + LeakyReLU
// (+ Dropout). G keeps its BatchNorm, as SN-GAN's and BigGAN's generators do.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "acgan/models/fast_ops.h"

namespace acgan {

// The original's data: 10 classes of 3-channel images. The networks take any class and channel
// count (the data spec's); these are only the defaults.
constexpr int64_t kOriginalClasses = 10;
constexpr int64_t kOriginalChannels = 3;
constexpr int64_t kDefaultNz = 110;
// The image side the seed's networks produce and take (their layer tables fix it).
constexpr int64_t kSeedImageSide = 32;

struct GeneratorOptions {
  TORCH_ARG(int64_t, nz) = kDefaultNz;
  TORCH_ARG(int64_t, num_classes) = kOriginalClasses;  // G writes them one-hot into z's first K
  TORCH_ARG(int64_t, channels) = kOriginalChannels;    // of the images it makes
  TORCH_ARG(bool, spectral_norm) = false;
};

class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(int64_t nz = kDefaultNz);
  explicit GeneratorImpl(const GeneratorOptions& options);
  // z (N, nz) ~ N(0, 1), classes (N) int64 in 0..K-1 -> images (N, C, 32, 32) in [-1, 1].
  // z's first K entries are replaced by one_hot(classes) (in a copy), so a z that already holds
  // the one-hot gives the same images.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& classes);
  int64_t nz() const { return options_.nz(); }
  int64_t num_classes() const { return options_.num_classes(); }
  const GeneratorOptions& options() const { return options_; }

  FastPaths fast_paths;      // the CPU fast paths its forward takes (use_fast_paths)
  torch::nn::AnyModule fc1;  // Linear(nz, 384), or SNLinear
  torch::nn::Sequential conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr};

 private:
  GeneratorOptions options_;
};
TORCH_MODULE(Generator);

struct DiscriminatorOptions {
  // Dropout after each BatchNorm block; 0 makes the network deterministic (used by the golden
  // test).
  TORCH_ARG(double, dropout) = 0.5;
  TORCH_ARG(int64_t, num_classes) = kOriginalClasses;  // the class head's width
  TORCH_ARG(int64_t, channels) = kOriginalChannels;    // of the images it takes
  TORCH_ARG(bool, spectral_norm) = false;
};

// What D says about a batch. Both are at least float32 whatever precision D ran in (precision.h).
struct DiscriminatorOutput {
  torch::Tensor source_logit;  // (N): logit of "x is real"
  torch::Tensor class_logits;  // (N, K)
};
// sigmoid(source_logit) (N): D(x) as the original reports it.
torch::Tensor source_probability(const DiscriminatorOutput& out);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const DiscriminatorOptions& options = {});
  // x (N, C, 32, 32) -> {source logit (N), class logits (N, K)}.
  DiscriminatorOutput forward(const torch::Tensor& x);
  const DiscriminatorOptions& options() const { return options_; }

  FastPaths fast_paths;  // the CPU fast paths its forward takes (use_fast_paths)
  torch::nn::Sequential conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr},
      conv5{nullptr}, conv6{nullptr};
  torch::nn::Sequential fc_source{nullptr}, fc_class{nullptr};

 private:
  DiscriminatorOptions options_;
};
TORCH_MODULE(Discriminator);

// Sets the fast paths (fast_ops.h) `network` and each of its layers that has a choice take: all
// on by default; the benchmark and the equivalence tests turn them off.
void use_fast_paths(torch::nn::Module& network, const FastPaths& paths);

// The original's weights_init: Conv/ConvT weights N(0, 0.02) and biases 0, BatchNorm weights
// N(1, 0.02) and biases 0; Linear layers keep LibTorch's default (the same as PyTorch's).
void dcgan_init(torch::nn::Module& module);

// nz's bound: G's first layer then holds 384 x 65,536 = 25 M weights.
constexpr int64_t kMaxNz = 65536;

// Throws acgan::UsageError unless nz can hold the one-hot class and some noise (nz > num_classes),
// and nz <= kMaxNz.
void check_nz(int64_t nz, int64_t num_classes);

int64_t count_parameters(const torch::nn::Module& module);

// One row of a torchsummary-style table: a leaf layer, its output shape (batch as -1), its
// parameter count.
struct LayerRecord {
  std::string type;                // "Conv2d", "BatchNorm2d", ...
  std::vector<int64_t> out_shape;  // without the batch dimension
  int64_t params = 0;
};
// Runs one eval-mode forward pass layer by layer and records every leaf layer in order.
std::vector<LayerRecord> trace_layers(GeneratorImpl& g);
std::vector<LayerRecord> trace_layers(DiscriminatorImpl& d);

}  // namespace acgan
