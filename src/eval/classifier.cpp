// The classifier network and its file. See include/acgan/eval/classifier.h.
#include "acgan/eval/classifier.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/output_file.h"
#include "acgan/io/state_dict.h"

namespace acgan {
namespace {

namespace nn = torch::nn;

const char* const kWidthKey = "acgan_classifier.width";
const char* const kClassesKey = "acgan_classifier.classes";
const char* const kAccuracyKey = "acgan_classifier.test_accuracy";
const char* const kMeanKey = "acgan_classifier.pixel_mean";
const char* const kStdKey = "acgan_classifier.pixel_std";
const char* const kSpecKey = "acgan_classifier.data_spec";  // the spec's fields as text bytes
const char* const kWeightsPrefix = "net.";
constexpr double kLogitScale = 0.125;

nn::Sequential conv_bn(int64_t in, int64_t out, bool pool) {
  nn::Sequential block(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
                       nn::BatchNorm2d(out), nn::Functional(torch::relu));
  if (pool) block->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  return block;
}

nn::Sequential residual_pair(int64_t channels) {
  auto pair = conv_bn(channels, channels, false);
  const auto second = conv_bn(channels, channels, false);
  for (const auto& layer : *second) pair->push_back(layer);
  return pair;
}

}  // namespace

torch::Tensor spec_bytes(const DataSpec& spec) {
  std::string text;
  for (const auto& [key, value] : spec.as_fields()) text += key + "=" + value + "\n";
  return torch::tensor(std::vector<uint8_t>(text.begin(), text.end()), torch::kUInt8);
}

DataSpec spec_of(const torch::Tensor& bytes, const std::string& path) {
  const auto b = bytes.to(torch::kUInt8).contiguous();
  const std::string text(reinterpret_cast<const char*>(b.data_ptr<uint8_t>()),
                         static_cast<size_t>(b.numel()));
  std::map<std::string, std::string> fields;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) fields[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (fields.empty()) throw Error(path + ": its " + kSpecKey + " is empty; the file is damaged");
  return data_spec_from_fields(fields, path);
}

ClassifierImpl::ClassifierImpl(const ClassifierOptions& options) : options_(options) {
  // CIFAR-10's training set channel means and standard deviations, in pixel units: the statistics
  // of every classifier written before they were kept in its file.
  pixel_mean_ = torch::tensor({125.31f, 122.95f, 113.87f});
  pixel_std_ = torch::tensor({62.99f, 62.09f, 66.70f});
  const int64_t w = options.width();
  // Grey images enter as three equal planes: oneDNN trains a 1-channel first convolution slower
  // than a 3-channel one (Fashion-MNIST at 150 against 167 img/s on 2 EPYC cores).
  prep = register_module("prep", conv_bn(std::max<int64_t>(options.channels(), 3), w, false));
  layer1 = register_module("layer1", conv_bn(w, 2 * w, true));
  res1 = register_module("res1", residual_pair(2 * w));
  layer2 = register_module("layer2", conv_bn(2 * w, 4 * w, true));
  layer3 = register_module("layer3", conv_bn(4 * w, 8 * w, true));
  res3 = register_module("res3", residual_pair(8 * w));
  head = register_module("head", nn::Linear(nn::LinearOptions(8 * w, options.classes())));
}

ClassifierOutput ClassifierImpl::forward_normalized(const torch::Tensor& x) {
  const auto input = x.size(1) == 1 ? x.expand({-1, 3, -1, -1}) : x;
  auto h = layer1->forward(prep->forward(input));  // (N, 2w, 16, 16)
  h = h + res1->forward(h);
  h = layer3->forward(layer2->forward(h));  // (N, 8w, 4, 4)
  h = h + res3->forward(h);
  const auto features = std::get<0>(h.flatten(2).max(2));  // (N, 8w)
  // Page's scaling of the logits: the max-pooled features are large, and unscaled logits make the
  // first steps' loss explode.
  return {features, head->forward(features) * kLogitScale};
}

void ClassifierImpl::set_normalization(torch::Tensor mean, torch::Tensor std) {
  TORCH_CHECK(mean.numel() == options_.channels() && std.numel() == options_.channels(),
              "set_normalization: one mean and one std per channel");
  pixel_mean_ = mean.to(torch::kCPU, torch::kFloat32).contiguous();
  pixel_std_ = std.to(torch::kCPU, torch::kFloat32).contiguous();
}

torch::Tensor ClassifierImpl::normalize(const torch::Tensor& pixels) const {
  const auto c = options_.channels();
  const auto mean = pixel_mean_.to(pixels.device()).view({1, c, 1, 1});
  const auto std = pixel_std_.to(pixels.device()).view({1, c, 1, 1});
  return (pixels.to(torch::kFloat32) - mean) / std;
}

ClassifierOutput ClassifierImpl::forward(const torch::Tensor& pixels) {
  return forward_normalized(normalize(pixels));
}

ClassifierOutput ClassifierImpl::forward_with_flip(const torch::Tensor& pixels) {
  const auto x = normalize(pixels);
  const auto both = forward_normalized(torch::cat({x, x.flip(3)}));
  const int64_t n = x.size(0);
  return {(both.features.narrow(0, 0, n) + both.features.narrow(0, n, n)) / 2,
          (both.logits.narrow(0, 0, n) + both.logits.narrow(0, n, n)) / 2};
}

void save_classifier(const std::string& path, const Classifier& network, double test_accuracy,
                     const DataSpec& spec) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& item : state_dict(*network))
    dict.insert(kWeightsPrefix + item.key(), item.value().detach().cpu());
  dict.insert(kWidthKey, torch::tensor(network->options().width()));
  dict.insert(kClassesKey, torch::tensor(network->options().classes()));
  dict.insert(kAccuracyKey, torch::tensor(test_accuracy, torch::kFloat64));
  dict.insert(kMeanKey, network->pixel_mean());
  dict.insert(kStdKey, network->pixel_std());
  dict.insert(kSpecKey, spec_bytes(spec));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_file_atomic(path, std::string_view(bytes.data(), bytes.size()));
}

ClassifierFile load_classifier(const std::string& path, const std::string& flag) {
  const auto dict = load_tensor_dict_file(path);
  const auto scalar = [&](const char* key) {
    if (!dict.contains(key) || !dict.at(key).isTensor() || dict.at(key).toTensor().numel() != 1) {
      throw Error(flag + " " + path +
                  ": not a classifier written by `acgan classifier train` (no " + key +
                  "); make one with: acgan classifier train --root_dir DATA --out " +
                  unused_path(std::filesystem::path(path).parent_path().string(), "classifier.pt"));
    }
    return dict.at(key).toTensor();
  };
  const int64_t width = scalar(kWidthKey).item<int64_t>();
  const int64_t classes = scalar(kClassesKey).item<int64_t>();
  if (width < 1 || width > 1024 || classes < 2 || classes > 100000) {
    throw Error(flag + " " + path + ": implausible classifier size (width " +
                std::to_string(width) + ", classes " + std::to_string(classes) + ")");
  }
  ClassifierFile file;
  const bool has_spec = dict.contains(kSpecKey) && dict.at(kSpecKey).isTensor();
  file.spec = has_spec ? spec_of(dict.at(kSpecKey).toTensor(), flag + " " + path) : cifar10_spec();
  const int64_t channels = file.spec.channels;
  if (file.spec.num_classes() != classes) {
    throw Error(fmt::format("{} {}: {} classes, but it records data of {}; the file is damaged",
                            flag, path, classes, file.spec.describe()));
  }
  file.network = Classifier(ClassifierOptions().width(width).classes(classes).channels(channels));
  load_state_dict(*file.network, dict, flag + " " + path, kWeightsPrefix);
  if (dict.contains(kMeanKey) && dict.contains(kStdKey) && dict.at(kMeanKey).isTensor() &&
      dict.at(kStdKey).isTensor()) {
    const auto mean = dict.at(kMeanKey).toTensor(), std = dict.at(kStdKey).toTensor();
    if (mean.numel() != channels || std.numel() != channels || !(std > 0).all().item<bool>()) {
      throw Error(flag + " " + path + ": its pixel statistics do not fit " +
                  std::to_string(channels) + " channels; the file is damaged");
    }
    file.network->set_normalization(mean, std);
  }
  file.test_accuracy = scalar(kAccuracyKey).item<double>();
  file.network->eval();
  return file;
}

}  // namespace acgan
