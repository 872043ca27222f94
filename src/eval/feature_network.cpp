// See include/acgan/eval/feature_network.h.
#include "acgan/eval/feature_network.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <sstream>

#include "acgan/data/image_dataset.h"
#include "acgan/error.h"
#include "acgan/eval/classifier.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/sha256.h"
#include "acgan/io/state_dict.h"

namespace acgan {
namespace {

// inception-2015-12-05.pt as published for stylegan2-ada-pytorch (k-diffusion checks downloads
// against this digest): the network whose numbers papers report.
const char* const kStandardInceptionSha256 =
    "f58cb9b6ec323ed63459aa4fb441fe750cfe39fafad6da5cb504a16f19e958f4";

const char* const kInceptionInterface =
    "forward(img, return_features, use_fp16, no_output_bias) on uint8 (N, 3, H, W)";

// The interface's widths: Inception-v3's pool features and its 1008 logits (1000 ImageNet classes
// and 8 unused, as the TensorFlow graph has them).
constexpr int64_t kInceptionFeatures = 2048;
constexpr int64_t kInceptionLogits = 1008;

class InceptionNetwork : public FeatureNetwork {
 public:
  InceptionNetwork(torch::jit::Module module, const torch::Device& device, std::string path,
                   std::string sha256)
      : FeatureNetwork(NetworkKind::kInception, std::move(path), std::move(sha256)),
        module_(std::move(module)),
        device_(device) {}

  NetworkOutputs run(const torch::Tensor& pixels, bool features, bool logits) override {
    torch::NoGradGuard no_grad;
    NetworkOutputs out;
    // Grey images (MNIST, Fashion-MNIST) as three equal channels, as torchvision's Grayscale(3).
    const auto img = pixels.size(1) == 1 ? pixels.to(device_).expand({-1, 3, -1, -1}).contiguous()
                                         : pixels.to(device_);
    if (features) out.features = call(img, true, false);
    if (logits) out.logits = call(img, false, true);
    return out;
  }

  // Runs forward and checks what it returns, every batch: a finite float (N, D) tensor of the
  // interface's width, so that no file yields a silent FID of 0 or an IS of 1.
  torch::Tensor call(const torch::Tensor& img, bool return_features, bool no_output_bias) {
    c10::IValue result;
    try {
      result = module_.forward({img, return_features, false, no_output_bias});
    } catch (const c10::Error& e) {
      throw Error("--inception " + path() + ": does not run as " + kInceptionInterface + " (" +
                  first_line(e.what_without_backtrace()) + ")");
    } catch (const std::exception& e) {  // a TorchScript `raise`, an interpreter error
      throw Error("--inception " + path() + ": raised an error when run as " + kInceptionInterface +
                  " (" + first_line(e.what()) + ")");
    }
    const char* what = return_features ? "features" : "logits";
    const int64_t width = return_features ? kInceptionFeatures : kInceptionLogits;
    if (!result.isTensor() || result.toTensor().dim() != 2 ||
        result.toTensor().size(0) != img.size(0) || result.toTensor().size(1) != width ||
        !result.toTensor().is_floating_point()) {
      throw Error(fmt::format(
          "--inception {}: expected {} as a float (N, {}) tensor from {}, got {}", path(), what,
          width, kInceptionInterface,
          result.isTensor() ? "a " + std::string(c10::toString(result.toTensor().scalar_type())) +
                                  " tensor of shape " + c10::str(result.toTensor().sizes())
                            : std::string(result.tagKind())));
    }
    auto out = result.toTensor().to(torch::kCPU, torch::kFloat32);
    if (!torch::isfinite(out).all().item<bool>()) {
      throw Error(fmt::format("--inception {}: returned NaN or Inf {} for {} images", path(), what,
                              img.size(0)));
    }
    return out;
  }

 private:
  torch::jit::Module module_;
  torch::Device device_;
};

class ClassifierNetwork : public FeatureNetwork {
 public:
  ClassifierNetwork(Classifier net, std::string path, std::string sha256, int64_t side)
      : FeatureNetwork(NetworkKind::kClassifier, std::move(path), std::move(sha256)),
        net_(std::move(net)),
        side_(side) {}

  NetworkOutputs run(const torch::Tensor& pixels, bool features, bool logits) override {
    torch::NoGradGuard no_grad;
    net_->eval();
    const auto device = net_->parameters().front().device();
    // It judges images at the side it was trained at (classifier train resizes every data set
    // to it): other sides (mlp's 28, imagenet128's 128) are resized as the data was, the real
    // images and the samples alike.
    const auto out = net_->forward_with_flip(resize_pixels(pixels, side_).to(device));
    NetworkOutputs result;
    if (features) result.features = out.features.to(torch::kCPU, torch::kFloat32);
    if (logits) result.logits = out.logits.to(torch::kCPU, torch::kFloat32);
    return result;
  }

 private:
  Classifier net_;
  int64_t side_;
};

}  // namespace

std::string FeatureNetwork::name() const {
  return kind_ == NetworkKind::kInception ? "inception" : "classifier";
}

std::unique_ptr<FeatureNetwork> load_inception(const std::string& path,
                                               const torch::Device& device) {
  const std::string flag = "--inception " + path;
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error& e) {
    throw Error("--inception: " + std::string(e.what()));
  }
  // LibTorch's reader must only see complete, undamaged archives (state_dict.h).
  if (!is_complete_zip(bytes)) {
    throw Error(flag +
                ": not a TorchScript file (not a complete zip archive); expected "
                "inception-2015-12-05.pt or another TorchScript module with " +
                kInceptionInterface);
  }
  if (const auto damage = zip_damage(bytes)) throw Error(flag + ": damaged: " + *damage);
  torch::jit::Module module;
  try {
    std::istringstream stream(bytes);
    module = torch::jit::load(stream, device);
  } catch (const c10::Error& e) {
    throw Error(flag + ": not a TorchScript module (" + first_line(e.what_without_backtrace()) +
                "); expected inception-2015-12-05.pt or a module with " + kInceptionInterface);
  } catch (const std::exception& e) {  // TorchScript source that does not compile
    throw Error(flag + ": its TorchScript code does not compile (" + first_line(e.what()) +
                "); expected inception-2015-12-05.pt or a module with " + kInceptionInterface);
  }
  module.eval();
  if (!module.find_method("forward")) {
    throw Error(flag + ": the TorchScript module has no forward; expected " + kInceptionInterface);
  }
  auto network =
      std::make_unique<InceptionNetwork>(std::move(module), device, path, sha256_hex(bytes));
  // The interface, once, on two blank images.
  network->run(torch::zeros({2, 3, 32, 32}, torch::kUInt8), true, true);
  if (network->sha256() != kStandardInceptionSha256) {
    spdlog::warn(
        "{}: not inception-2015-12-05.pt (SHA-256 {}...): FID, IS, KID, iFID and PR are "
        "not comparable with published numbers",
        flag, network->sha256().substr(0, 16));
  }
  return network;
}

std::unique_ptr<FeatureNetwork> load_classifier_network(const std::string& path,
                                                        const torch::Device& device,
                                                        DataSpec* trained_on) {
  auto file = load_classifier(path, "--classifier");
  if (trained_on) *trained_on = file.spec;
  file.network->to(device);
  return std::make_unique<ClassifierNetwork>(file.network, path, sha256_hex(read_file(path)),
                                             file.spec.height);
}

}  // namespace acgan
