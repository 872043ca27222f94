// What every network family shares: construction by family, initialisation, the nz check and the
// layer traces. See include/acgan/models/models.h; the families are in *_networks.cpp.
#include "acgan/models/models.h"

#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/networks.h"
#include "acgan/models/precision.h"
#include "acgan/models/spectral_norm.h"

namespace nn = torch::nn;

namespace acgan {
namespace {

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

// Runs `trace` with `network` in eval mode and without gradients, its mode restored after.
template <typename Network>
std::vector<LayerRecord> traced_in_eval_mode(Network& network) {
  torch::NoGradGuard no_grad;
  const bool was_training = network.is_training();
  network.eval();
  auto rows = network.trace_layers();
  network.train(was_training);
  return rows;
}

}  // namespace

std::shared_ptr<GeneratorImpl> make_generator(const GeneratorOptions& options) {
  switch (options.arch()) {
    case Arch::kMlp:
      return std::make_shared<MlpGeneratorImpl>(options);
    case Arch::kImagenet128:
      return std::make_shared<Imagenet128GeneratorImpl>(options);
    case Arch::kCifar:
      break;
  }
  return std::make_shared<CifarGeneratorImpl>(options);
}

std::shared_ptr<DiscriminatorImpl> make_discriminator(const DiscriminatorOptions& options) {
  switch (options.arch()) {
    case Arch::kMlp:
      return std::make_shared<MlpDiscriminatorImpl>(options);
    case Arch::kImagenet128:
      return std::make_shared<Imagenet128DiscriminatorImpl>(options);
    case Arch::kCifar:
      break;
  }
  return std::make_shared<CifarDiscriminatorImpl>(options);
}

torch::Tensor with_class_one_hot(const torch::Tensor& z, const torch::Tensor& classes,
                                 int64_t num_classes) {
  auto x = z.clone();
  x.narrow(1, 0, num_classes).copy_(torch::one_hot(classes, num_classes));
  return x;
}

nn::AnyModule linear_layer(const nn::LinearOptions& options, bool spectral_norm) {
  if (spectral_norm) return nn::AnyModule(SNLinear(options));
  return nn::AnyModule(nn::Linear(options));
}

nn::AnyModule conv_layer(const nn::Conv2dOptions& options, bool spectral_norm) {
  if (spectral_norm) return nn::AnyModule(SNConv2d(options));
  return nn::AnyModule(nn::Conv2d(options));
}

nn::AnyModule conv_transpose_layer(const nn::ConvTranspose2dOptions& options, bool spectral_norm) {
  if (spectral_norm) return nn::AnyModule(SNConvTranspose2d(options));
  return nn::AnyModule(nn::ConvTranspose2d(options));
}

void DiscriminatorImpl::add_twin_head(int64_t features) {
  if (!has_twin_head(options_.cond())) return;
  twin_ =
      linear_layer(nn::LinearOptions(features, options_.num_classes()), options_.spectral_norm());
  register_module("fc_twin", twin_.ptr());
}

void DiscriminatorImpl::apply_twin_head(const torch::Tensor& h, DiscriminatorOutput& out) {
  if (!twin_.is_empty()) out.twin_logits = at_least_float32(twin_.forward(h));
}

void DiscriminatorImpl::trace_twin_head(const torch::Tensor& h, std::vector<LayerRecord>& rows) {
  if (!twin_.is_empty()) rows.push_back(record_layer(*twin_.ptr(), twin_.forward(h)));
}

void check_nz(Arch arch, int64_t nz, int64_t num_classes) {
  if (class_in_noise(arch) && (nz <= num_classes || nz > kMaxNz)) {
    throw UsageError("--nz: expected " + std::to_string(num_classes + 1) + ".." +
                     std::to_string(kMaxNz) + " (the first " + std::to_string(num_classes) +
                     " entries of z hold the one-hot class), got " + std::to_string(nz));
  }
  require_flag(nz >= 1 && nz <= kMaxNz, "nz", "1.." + std::to_string(kMaxNz), nz);
}

torch::Tensor source_probability(const DiscriminatorOutput& out) {
  return torch::sigmoid(out.source_logit);
}

void dcgan_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  // imagenet128's convolutions have no bias (clvrai's bias=False); zeros_ of none would throw.
  const auto zeros_ = [](torch::Tensor& bias) {
    if (bias.defined()) nn::init::zeros_(bias);
  };
  for (auto& m : module.modules(/*include_self=*/true)) {
    if (auto* conv = m->as<nn::Conv2d>()) {
      nn::init::normal_(conv->weight, 0.0, 0.02);
      zeros_(conv->bias);
    } else if (auto* convt = m->as<nn::ConvTranspose2d>()) {
      nn::init::normal_(convt->weight, 0.0, 0.02);
      zeros_(convt->bias);
    } else if (auto* sn_conv = m->as<SNConv2d>()) {
      nn::init::normal_(sn_conv->weight_orig, 0.0, 0.02);
      zeros_(sn_conv->bias);
    } else if (auto* sn_convt = m->as<SNConvTranspose2d>()) {
      nn::init::normal_(sn_convt->weight_orig, 0.0, 0.02);
      zeros_(sn_convt->bias);
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

LayerRecord record_layer(const nn::Module& layer, const torch::Tensor& out) {
  return {short_type(layer), out.sizes().slice(1).vec(), own_parameters(layer)};
}

torch::Tensor trace_sequential(nn::SequentialImpl& seq, torch::Tensor x,
                               std::vector<LayerRecord>& rows) {
  for (auto& layer : seq) {  // AnyModule
    x = layer.forward(x);
    rows.push_back(record_layer(*layer.ptr(), x));
  }
  return x;
}

std::vector<LayerRecord> trace_layers(GeneratorImpl& g) { return traced_in_eval_mode(g); }
std::vector<LayerRecord> trace_layers(DiscriminatorImpl& d) { return traced_in_eval_mode(d); }

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
