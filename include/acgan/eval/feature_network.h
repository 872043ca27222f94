// The networks the metrics look through. Both take uint8 images (N, 3, H, W) in [0, 255], as the
// files on disk hold them, and return float32 on the CPU:
//   Inception  a TorchScript Inception-v3 with the interface of inception-2015-12-05.pt (the file
//              clean-fid and stylegan2-ada-pytorch use): forward(img, return_features, use_fp16,
//              no_output_bias); 2048 pool features, or 1008 logits (IS takes them without the
//              output bias, as stylegan2-ada's is50k does). It resizes to 299 itself.
//   classifier acgan's own (classifier.h): its 8w pooled features and its class logits, each the
//              mean over the image and its mirror image.
// Loading checks the file and runs the interface once on two blank images, so a wrong file fails
// at the start with one line, not after minutes of sampling.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "acgan/data/data_spec.h"

namespace acgan {

enum class NetworkKind { kInception, kClassifier };

struct NetworkOutputs {
  torch::Tensor features;  // (N, D), when asked for
  torch::Tensor logits;    // (N, C), when asked for
};

class FeatureNetwork {
 public:
  virtual ~FeatureNetwork() = default;
  // Features and / or logits of pixels (N, 3, H, W) uint8 on any device.
  virtual NetworkOutputs run(const torch::Tensor& pixels, bool features, bool logits) = 0;
  NetworkKind kind() const { return kind_; }
  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }
  // "inception" / "classifier"
  std::string name() const;

 protected:
  FeatureNetwork(NetworkKind kind, std::string path, std::string sha256)
      : kind_(kind), path_(std::move(path)), sha256_(std::move(sha256)) {}

 private:
  NetworkKind kind_;
  std::string path_, sha256_;
};

// --inception FILE. Throws acgan::Error naming the flag and file: missing, not TorchScript, or
// without the interface.
std::unique_ptr<FeatureNetwork> load_inception(const std::string& path,
                                               const torch::Device& device);
// --classifier FILE (written by `acgan classifier train`).
std::unique_ptr<FeatureNetwork> load_classifier_network(const std::string& path,
                                                        const torch::Device& device,
                                                        DataSpec* trained_on = nullptr);

}  // namespace acgan
