// PyTorch-GAN's fully connected ACGAN (the mlp family). See include/acgan/models/networks.h and
// ../shared/golden/mlp_models.py, whose layers and keys these are.
#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/networks.h"
#include "acgan/models/precision.h"

namespace nn = torch::nn;

namespace acgan {
namespace {

constexpr double kSlope = 0.2;
// BatchNorm1d(cout, 0.8) in the script: the second positional argument is eps, not momentum. Kept,
// so that its weights and running statistics mean what they mean there.
constexpr double kBatchNormEps = 0.8;

nn::LeakyReLU leaky_relu() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kSlope)); }

int64_t image_elements(int64_t channels, int64_t side) { return channels * side * side; }

}  // namespace

MlpGeneratorImpl::MlpGeneratorImpl(const GeneratorOptions& options) : GeneratorImpl(options) {
  check_nz(Arch::kMlp, options.nz(), options.num_classes());
  check_image_side(Arch::kMlp, options.image_side());
  const int64_t k = options.num_classes();
  const bool sn = options.spectral_norm();
  // The class embedding is G's input, not a layer: it stays plain (as BigGAN's shared embedding).
  label_emb = register_module("label_emb", nn::Embedding(k, k));
  model = register_module("model", nn::Sequential());
  const auto block = [&](int64_t in, int64_t out, bool normalize) {
    model->push_back(linear_layer(nn::LinearOptions(in, out), sn));
    if (normalize)
      model->push_back(nn::BatchNorm1d(nn::BatchNorm1dOptions(out).eps(kBatchNormEps)));
    model->push_back(leaky_relu());
  };
  block(options.nz() + k, 128, false);
  block(128, 256, true);
  block(256, 512, true);
  block(512, 1024, true);
  model->push_back(linear_layer(
      nn::LinearOptions(1024, image_elements(options.channels(), options.image_side())), sn));
  model->push_back(nn::Tanh());
}

torch::Tensor MlpGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& classes) {
  // The class embedding first, then the noise, as the script concatenates them.
  const auto x =
      torch::cat({label_emb->forward(classes).to(z.scalar_type()), z.view({-1, nz()})}, -1);
  const auto side = options().image_side();
  return forward_block(*model, x, fast_paths).view({-1, options().channels(), side, side});
}

std::vector<LayerRecord> MlpGeneratorImpl::trace_layers() {
  std::vector<LayerRecord> rows;
  const auto emb = label_emb->forward(torch::zeros({2}, torch::kLong));
  rows.push_back(record_layer(*label_emb, emb));
  trace_sequential(*model, torch::cat({emb, torch::zeros({2, nz()})}, -1), rows);
  return rows;
}

MlpDiscriminatorImpl::MlpDiscriminatorImpl(const DiscriminatorOptions& options)
    : DiscriminatorImpl(options) {
  check_image_side(Arch::kMlp, options.image_side());
  const double p = options.dropout();
  const bool sn = options.spectral_norm();
  const auto linear = [sn](int64_t in, int64_t out) {
    return linear_layer(nn::LinearOptions(in, out), sn);
  };
  model = register_module("model", nn::Sequential());
  model->push_back(linear(image_elements(options.channels(), options.image_side()), 512));
  model->push_back(leaky_relu());
  model->push_back(linear(512, 256));
  model->push_back(nn::Dropout(nn::DropoutOptions(p)));
  model->push_back(leaky_relu());
  model->push_back(linear(256, 128));
  model->push_back(nn::Dropout(nn::DropoutOptions(p)));
  model->push_back(leaky_relu());
  adv_layer = register_module("adv_layer", nn::Sequential());
  adv_layer->push_back(linear(128, 1));
  adv_layer->push_back(nn::Sigmoid());
  aux_layer = register_module("aux_layer", nn::Sequential());
  aux_layer->push_back(linear(128, class_width()));
  aux_layer->push_back(nn::Softmax(nn::SoftmaxOptions(1)));
  add_twin_head(128);
}

DiscriminatorOutput MlpDiscriminatorImpl::forward(const torch::Tensor& x) {
  const auto h = forward_block(*model, x.reshape({x.size(0), -1}), fast_paths);  // (N, 128)
  // The heads' Sigmoid and Softmax are left out: the losses take logits (networks.h).
  const auto logit = adv_layer->begin()->forward(h).view({-1});
  DiscriminatorOutput out;
  out.source_logit = at_least_float32(logit);
  out.class_logits = at_least_float32(aux_layer->begin()->forward(h));
  apply_twin_head(h, out);
  return out;
}

std::vector<LayerRecord> MlpDiscriminatorImpl::trace_layers() {
  std::vector<LayerRecord> rows;
  const auto side = options().image_side();
  const auto h =
      trace_sequential(*model, torch::zeros({2, image_elements(options().channels(), side)}), rows);
  trace_sequential(*adv_layer, h, rows);
  trace_sequential(*aux_layer, h, rows);
  trace_twin_head(h, rows);
  return rows;
}

}  // namespace acgan
