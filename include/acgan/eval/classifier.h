// acgan's own classifier (for any data set acgan reads): the network behind the paper's
// "discriminability" (how often a classifier assigns a sample to its intended class) and a Frechet
// distance in its feature space, trained here (`acgan classifier train`) so that no downloaded
// weights are needed.
//
// A ResNet-9 (Page 2018, the DAWNBench CIFAR-10 network) at a chosen width w:
//   x (N, C, 32, 32) -> conv w (32x32) -> conv 2w, pool (16x16) -> residual 2 x conv 2w
//   -> conv 4w, pool (8x8) -> conv 8w, pool (4x4) -> residual 2 x conv 8w -> global max pool
//   -> features (N, 8w) -> linear -> logits (N, classes)
// every conv 3x3 + BatchNorm + ReLU. Page's network is w = 64; the default is smaller for CPUs.
// Inputs are uint8 pixels; the network normalises them itself (its training data's channel means
// and standard deviations, kept in its file), so every caller feeds it what it feeds the Inception
// network. The file also records the data spec it was trained on (data_spec.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>

#include "acgan/data/data_spec.h"

namespace acgan {

struct ClassifierOptions {
  TORCH_ARG(int64_t, width) = 24;
  TORCH_ARG(int64_t, classes) = 10;
  TORCH_ARG(int64_t, channels) = 3;
};

struct ClassifierOutput {
  torch::Tensor features;  // (N, 8 w) float32
  torch::Tensor logits;    // (N, classes) float32
};

class ClassifierImpl : public torch::nn::Module {
 public:
  explicit ClassifierImpl(const ClassifierOptions& options = {});
  // pixels (N, C, 32, 32) uint8 -> features and logits.
  ClassifierOutput forward(const torch::Tensor& pixels);
  // The same on normalised float input (training's augmented batches).
  ClassifierOutput forward_normalized(const torch::Tensor& x);
  // The mean of forward on the images and on their mirror images (test-time flip).
  ClassifierOutput forward_with_flip(const torch::Tensor& pixels);
  const ClassifierOptions& options() const { return options_; }
  // uint8 pixels -> float normalised by the training data's channel statistics (pixel units).
  torch::Tensor normalize(const torch::Tensor& pixels) const;
  // The statistics, (C) float32 each; CIFAR-10's training set's until set.
  void set_normalization(torch::Tensor mean, torch::Tensor std);
  const torch::Tensor& pixel_mean() const { return pixel_mean_; }
  const torch::Tensor& pixel_std() const { return pixel_std_; }

  torch::nn::Sequential prep{nullptr}, layer1{nullptr}, res1{nullptr}, layer2{nullptr},
      layer3{nullptr}, res3{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  ClassifierOptions options_;
  torch::Tensor pixel_mean_, pixel_std_;  // not module buffers: older files hold neither
};
TORCH_MODULE(Classifier);

// A classifier file: the weights, the width and class count, and the test accuracy measured when
// it was written. Written atomically; read back with a check of every weight.
struct ClassifierFile {
  Classifier network{nullptr};
  double test_accuracy = 0;
  DataSpec spec;  // what it was trained on; CIFAR-10's for a file written before specs were kept
};
void save_classifier(const std::string& path, const Classifier& network, double test_accuracy,
                     const DataSpec& spec);
// Throws acgan::Error naming `path` (and `flag`, e.g. "--classifier") when it is not one.
ClassifierFile load_classifier(const std::string& path, const std::string& flag);

}  // namespace acgan
