// acgan's own CIFAR-10 classifier: the network behind the paper's "discriminability" (how often a
// classifier assigns a sample to its intended class) and a Frechet distance in its feature space,
// trained here (`acgan classifier train`) so that no downloaded weights are needed.
//
// A ResNet-9 (Page 2018, the DAWNBench CIFAR-10 network) at a chosen width w:
//   x (N, 3, 32, 32) -> conv w (32x32) -> conv 2w, pool (16x16) -> residual 2 x conv 2w
//   -> conv 4w, pool (8x8) -> conv 8w, pool (4x4) -> residual 2 x conv 8w -> global max pool
//   -> features (N, 8w) -> linear -> logits (N, classes)
// every conv 3x3 + BatchNorm + ReLU. Page's network is w = 64; the default is smaller for CPUs.
// Inputs are uint8 pixels; the network normalises them itself (CIFAR-10's channel means and
// standard deviations), so every caller feeds it what it feeds the Inception network.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace acgan {

struct ClassifierOptions {
  TORCH_ARG(int64_t, width) = 24;
  TORCH_ARG(int64_t, classes) = 10;
};

struct ClassifierOutput {
  torch::Tensor features;  // (N, 8 w) float32
  torch::Tensor logits;    // (N, classes) float32
};

class ClassifierImpl : public torch::nn::Module {
 public:
  explicit ClassifierImpl(const ClassifierOptions& options = {});
  // pixels (N, 3, 32, 32) uint8 -> features and logits.
  ClassifierOutput forward(const torch::Tensor& pixels);
  // The same on normalised float input (training's augmented batches).
  ClassifierOutput forward_normalized(const torch::Tensor& x);
  // The mean of forward on the images and on their mirror images (test-time flip).
  ClassifierOutput forward_with_flip(const torch::Tensor& pixels);
  const ClassifierOptions& options() const { return options_; }

  torch::nn::Sequential prep{nullptr}, layer1{nullptr}, res1{nullptr}, layer2{nullptr},
      layer3{nullptr}, res3{nullptr};
  torch::nn::Linear head{nullptr};

 private:
  ClassifierOptions options_;
};
TORCH_MODULE(Classifier);

// uint8 pixels -> float normalised by CIFAR-10's training-set channel statistics.
torch::Tensor normalize_for_classifier(const torch::Tensor& pixels);

// A classifier file: the weights, the width and class count, and the test accuracy measured when
// it was written. Written atomically; read back with a check of every weight.
struct ClassifierFile {
  Classifier network{nullptr};
  double test_accuracy = 0;
};
void save_classifier(const std::string& path, const Classifier& network, double test_accuracy);
// Throws acgan::Error naming `path` (and `flag`, e.g. "--classifier") when it is not one.
ClassifierFile load_classifier(const std::string& path, const std::string& flag);

}  // namespace acgan
