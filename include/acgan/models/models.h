// The generator and discriminator every network family (--arch, arch.h) provides, their options,
// initialisation and layer traces. The families' layers are in networks.h; training, generation,
// evaluation and interop hold a Generator / Discriminator and never need to know which one.
//
// Generator: G(z, classes): z (N, nz) ~ N(0, 1), classes (N) int64 in 0..K-1 -> images
//   (N, C, S, S) in [-1, 1]. Each family puts the class into its own input (cifar, imagenet128:
//   one-hot in a copy of z's first K entries, as the original's caller wrote it; mlp: a learnt
//   embedding in front of z); nothing outside the networks writes it. C and K are the data's
//   (data_spec.h), S the family's side.
// Discriminator: D(x) -> {source logit (N), class logits (N, K)}, and the heads --cond adds
//   (conditioning.h: adc's class head is 2K wide, tac's twin head). The source head's Sigmoid is
//   registered (the original's layout) but left to source_probability(): the loss takes BCE with
//   logits (the same mathematics as BCE on the probability, without a NaN or saturated probability
//   reaching BCE, which on CUDA is a device-side assert).
// Spectral normalisation (spectral_norm.h, --spectral_norm) normalises every family's Conv,
// ConvTranspose and Linear layers under PyTorch's names (fc1.weight_orig, ...) and in D replaces
// BatchNorm, as in SN-GAN's discriminators (Miyato et al. 2018).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/container/any.h>

#include "acgan/models/arch.h"
#include "acgan/models/conditioning.h"
#include "acgan/models/fast_ops.h"

namespace acgan {

// The original's data: 10 classes of 3-channel images. The networks take any class and channel
// count (the data spec's); these are only the defaults.
constexpr int64_t kOriginalClasses = 10;
constexpr int64_t kOriginalChannels = 3;
constexpr int64_t kDefaultNz = 110;

struct GeneratorOptions {
  TORCH_ARG(int64_t, nz) = kDefaultNz;
  TORCH_ARG(int64_t, num_classes) = kOriginalClasses;
  TORCH_ARG(int64_t, channels) = kOriginalChannels;  // of the images it makes
  TORCH_ARG(bool, spectral_norm) = false;
  TORCH_ARG(Arch, arch) = Arch::kCifar;
  TORCH_ARG(int64_t, image_side) = kSeedImageSide;  // of the images it makes (arch.h's sides)
};

// One row of a torchsummary-style table: a leaf layer, its output shape (batch as -1), its
// parameter count.
struct LayerRecord {
  std::string type;                // "Conv2d", "BatchNorm2d", ...
  std::vector<int64_t> out_shape;  // without the batch dimension
  int64_t params = 0;
};

// What every family's G is.
class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const GeneratorOptions& options) : options_(options) {}
  // z (N, nz), classes (N) int64 -> images (N, C, S, S) in [-1, 1]. z is not written to.
  virtual torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& classes) = 0;
  // Runs one forward pass layer by layer on zeros, recording every leaf layer in order.
  virtual std::vector<LayerRecord> trace_layers() = 0;
  int64_t nz() const { return options_.nz(); }
  int64_t num_classes() const { return options_.num_classes(); }
  const GeneratorOptions& options() const { return options_; }

  FastPaths fast_paths;  // the CPU fast paths its forward takes (use_fast_paths)

 private:
  GeneratorOptions options_;
};

// The family's G for `options` (networks.h), its layers registered under the family's keys.
std::shared_ptr<GeneratorImpl> make_generator(const GeneratorOptions& options);

// TORCH_MODULE(Generator), written out so that it builds the family's G from its options.
class Generator : public torch::nn::ModuleHolder<GeneratorImpl> {
 public:
  Generator(std::nullptr_t) : ModuleHolder(nullptr) {}
  Generator(std::shared_ptr<GeneratorImpl> impl) : ModuleHolder(std::move(impl)) {}
  explicit Generator(const GeneratorOptions& options) : ModuleHolder(make_generator(options)) {}
  explicit Generator(int64_t nz) : Generator(GeneratorOptions().nz(nz)) {}
};

struct DiscriminatorOptions {
  // Dropout in D's blocks; 0 makes the network deterministic (used by the golden tests).
  TORCH_ARG(double, dropout) = 0.5;
  TORCH_ARG(int64_t, num_classes) = kOriginalClasses;  // the class head's width
  TORCH_ARG(int64_t, channels) = kOriginalChannels;    // of the images it takes
  TORCH_ARG(bool, spectral_norm) = false;
  TORCH_ARG(Arch, arch) = Arch::kCifar;
  TORCH_ARG(int64_t, image_side) = kSeedImageSide;    // of the images it takes (arch.h's sides)
  TORCH_ARG(Conditioning, cond) = Conditioning::kAc;  // its class heads (conditioning.h)
};

// What D says about a batch. Both are at least float32 whatever precision D ran in (precision.h).
struct DiscriminatorOutput {
  torch::Tensor source_logit;  // (N): logit of "x is real"
  torch::Tensor class_logits;  // (N, K); (N, 2K) with --cond adc
  torch::Tensor twin_logits;   // (N, K) with --cond tac; undefined otherwise
};
// sigmoid(source_logit) (N): D(x) as the original reports it.
torch::Tensor source_probability(const DiscriminatorOutput& out);

// What every family's D is.
class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const DiscriminatorOptions& options) : options_(options) {}
  // x (N, C, S, S) -> {source logit (N), class logits (N, K)}.
  virtual DiscriminatorOutput forward(const torch::Tensor& x) = 0;
  // Runs one forward pass layer by layer on zeros, recording every leaf layer in order.
  virtual std::vector<LayerRecord> trace_layers() = 0;
  const DiscriminatorOptions& options() const { return options_; }

  FastPaths fast_paths;  // the CPU fast paths its forward takes (use_fast_paths)

 protected:
  // The class head's width: class_head_width(cond, K).
  int64_t class_width() const { return class_head_width(options_.cond(), options_.num_classes()); }
  // tac's twin head, a Linear (features -> K, spectrally normalised with D) under "fc_twin",
  // registered after the family's own heads so that ac's modules, keys and initial draws stay the
  // family's; nothing for the other conds. The families call it last in their constructors.
  void add_twin_head(int64_t features);
  // out.twin_logits from D's features h (N, features), where D has the twin head.
  void apply_twin_head(const torch::Tensor& h, DiscriminatorOutput& out);
  void trace_twin_head(const torch::Tensor& h, std::vector<LayerRecord>& rows);

 private:
  DiscriminatorOptions options_;
  torch::nn::AnyModule twin_;
};

std::shared_ptr<DiscriminatorImpl> make_discriminator(const DiscriminatorOptions& options);

// TORCH_MODULE(Discriminator), written out so that it builds the family's D from its options.
class Discriminator : public torch::nn::ModuleHolder<DiscriminatorImpl> {
 public:
  Discriminator() : Discriminator(DiscriminatorOptions()) {}
  Discriminator(std::nullptr_t) : ModuleHolder(nullptr) {}
  Discriminator(std::shared_ptr<DiscriminatorImpl> impl) : ModuleHolder(std::move(impl)) {}
  explicit Discriminator(const DiscriminatorOptions& options)
      : ModuleHolder(make_discriminator(options)) {}
};

// Sets the fast paths (fast_ops.h) `network` and each of its layers that has a choice take: all
// on by default; the benchmark and the equivalence tests turn them off.
void use_fast_paths(torch::nn::Module& network, const FastPaths& paths);

// The original's weights_init: Conv/ConvT weights N(0, 0.02) and biases 0, BatchNorm2d weights
// N(1, 0.02) and biases 0 (where a layer has one: imagenet128's convolutions have none); Linear
// layers keep LibTorch's default (the same as PyTorch's). The mlp family has none of those layers:
// its script applies no init, and neither does this.
void dcgan_init(torch::nn::Module& module);

// nz's bound: G's first layer then holds 384 x 65,536 = 25 M weights.
constexpr int64_t kMaxNz = 65536;

// Throws acgan::UsageError unless nz fits the family: where the class is one-hot in z (cifar,
// imagenet128) nz must hold it and some noise (nz > num_classes); every family's nz <= kMaxNz.
void check_nz(Arch arch, int64_t nz, int64_t num_classes);

int64_t count_parameters(const torch::nn::Module& module);

// The layer tables (summary.h): one eval-mode forward pass, G back in its mode after.
std::vector<LayerRecord> trace_layers(GeneratorImpl& g);
std::vector<LayerRecord> trace_layers(DiscriminatorImpl& d);

}  // namespace acgan
