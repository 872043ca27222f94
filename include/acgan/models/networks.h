// The families' networks behind Generator and Discriminator (models.h), their layers public so
// that TorchScript export and the tests can walk them. Member and child names are the Python
// state_dict keys of each family's script, so weights move between the two unchanged.
//
// cifar (the original script's, ../shared/seeds):
//   G: z -> with the one-hot class in z[:, :K] -> fc1 Linear(nz, 384) -> (N, 384, 1, 1) -> conv1..4
//      ConvT 4x4 (192 4x4, 96 8x8, 48 16x16, C 32x32), BatchNorm + ReLU between, Tanh at the end.
//   D: x (N, C, 32, 32) -> conv1..6 3x3 (16, 32, 64, 128, 256, 512; stride 2 at 1, 3, 5) with
//      LeakyReLU(0.2), BatchNorm and Dropout from the second on -> (N, 8192) -> fc_source (Linear +
//      Sigmoid), fc_class (Linear).
// mlp (PyTorch-GAN's fully connected ACGAN, ../shared/golden/mlp_models.py):
//   G: cat(label_emb(c) (N, K), z) -> model: Linear 128, LeakyReLU(0.2), then 256, 512, 1024 each
//      Linear + BatchNorm1d(eps 0.8, the script's quirk) + LeakyReLU(0.2), Linear C*S*S, Tanh.
//   D: x flattened -> model: Linear 512, LeakyReLU, Linear 256, Dropout, LeakyReLU, Linear 128,
//      Dropout, LeakyReLU -> adv_layer (Linear 1 + Sigmoid), aux_layer (Linear K + Softmax). D
//      returns the logits: the Softmax is registered but not applied (the class loss is
//      cross-entropy on logits, not the script's softmax taken twice).
// imagenet128 (the paper's 128-pixel ImageNet networks, clvrai/ACGAN-PyTorch network.py):
//   G: z -> one-hot class in z[:, :K] -> fc1 Linear(nz, 768) -> (N, 768, 1, 1) -> tconv2..4
//      ConvT 5x5 stride 2 padding 0, no bias (384 5x5, 256 13x13, 192 29x29) + BatchNorm + ReLU ->
//      tconv5 ConvT 5x5 (64 61x61) + Tanh (no BatchNorm: the table's quirk, kept) -> tconv6 ConvT
//      8x8 stride 2 (C 128x128) + Tanh.
//   D: x (N, C, 128, 128) -> conv1..6 3x3, no bias (16, 32, 64, 128, 256, 512; stride 2 padding 1
//      at 1, 3, 5, stride 1 padding 0 at 2, 4, 6: 64, 62, 31, 29, 15, 13), LeakyReLU(0.2) and
//      Dropout in every block, BatchNorm from the second -> (N, 86528) -> fc_dis Linear 1, fc_aux
//      Linear K (logits: the table's Softmax and Sigmoid are registered, hold no weights, and are
//      not applied).
#pragma once

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "acgan/models/models.h"

namespace acgan {

class CifarGeneratorImpl : public GeneratorImpl {
 public:
  explicit CifarGeneratorImpl(const GeneratorOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& classes) override;
  std::vector<LayerRecord> trace_layers() override;

  torch::nn::AnyModule fc1;  // Linear(nz, 384), or SNLinear
  torch::nn::Sequential conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr};
};

class CifarDiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit CifarDiscriminatorImpl(const DiscriminatorOptions& options);
  DiscriminatorOutput forward(const torch::Tensor& x) override;
  std::vector<LayerRecord> trace_layers() override;

  torch::nn::Sequential conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr},
      conv5{nullptr}, conv6{nullptr};
  torch::nn::Sequential fc_source{nullptr}, fc_class{nullptr};
};

class MlpGeneratorImpl : public GeneratorImpl {
 public:
  explicit MlpGeneratorImpl(const GeneratorOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& classes) override;
  std::vector<LayerRecord> trace_layers() override;

  torch::nn::Embedding label_emb{nullptr};  // (K, K)
  torch::nn::Sequential model{nullptr};
};

class MlpDiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit MlpDiscriminatorImpl(const DiscriminatorOptions& options);
  DiscriminatorOutput forward(const torch::Tensor& x) override;
  std::vector<LayerRecord> trace_layers() override;

  torch::nn::Sequential model{nullptr}, adv_layer{nullptr}, aux_layer{nullptr};
};

class Imagenet128GeneratorImpl : public GeneratorImpl {
 public:
  explicit Imagenet128GeneratorImpl(const GeneratorOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& classes) override;
  std::vector<LayerRecord> trace_layers() override;

  torch::nn::AnyModule fc1;  // (nz, 768): Linear, or SNLinear with --spectral_norm both
  torch::nn::Sequential tconv2{nullptr}, tconv3{nullptr}, tconv4{nullptr}, tconv5{nullptr},
      tconv6{nullptr};
};

class Imagenet128DiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit Imagenet128DiscriminatorImpl(const DiscriminatorOptions& options);
  DiscriminatorOutput forward(const torch::Tensor& x) override;
  std::vector<LayerRecord> trace_layers() override;

  torch::nn::Sequential conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr},
      conv5{nullptr}, conv6{nullptr};
  torch::nn::AnyModule fc_dis, fc_aux;  // Linear, or SNLinear with --spectral_norm
  // The table's heads end in these; they hold no weights, and D returns the logits instead.
  torch::nn::Softmax softmax{nullptr};
  torch::nn::Sigmoid sigmoid{nullptr};
};

// How the class enters the cifar and imagenet128 G: a copy of z (N, nz) with the one-hot class in
// its first num_classes entries, as the original's caller wrote it into z.
torch::Tensor with_class_one_hot(const torch::Tensor& z, const torch::Tensor& classes,
                                 int64_t num_classes);
// A layer of any family, spectrally normalised (PyTorch's spectral_norm keys: weight_orig,
// weight_u, weight_v) or plain, as the network's --spectral_norm says.
torch::nn::AnyModule linear_layer(const torch::nn::LinearOptions& options, bool spectral_norm);
torch::nn::AnyModule conv_layer(const torch::nn::Conv2dOptions& options, bool spectral_norm);
torch::nn::AnyModule conv_transpose_layer(const torch::nn::ConvTranspose2dOptions& options,
                                          bool spectral_norm);

// For the families' trace_layers(): a leaf layer's row, and every layer of a Sequential run and
// recorded in order.
LayerRecord record_layer(const torch::nn::Module& layer, const torch::Tensor& out);
torch::Tensor trace_sequential(torch::nn::SequentialImpl& seq, torch::Tensor x,
                               std::vector<LayerRecord>& rows);

}  // namespace acgan
