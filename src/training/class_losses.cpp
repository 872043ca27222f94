// The class terms of each --cond. See include/acgan/training/class_losses.h.
#include "acgan/training/class_losses.h"

#include <torch/torch.h>

namespace F = torch::nn::functional;

namespace acgan {
namespace {

// adc's column of class k: 2k + `generated`.
torch::Tensor adc_column(const torch::Tensor& classes, bool generated) {
  return classes * 2 + (generated ? 1 : 0);
}

}  // namespace

torch::Tensor d_real_class_loss(const DiscriminatorOutput& out, const torch::Tensor& labels,
                                Conditioning cond) {
  switch (cond) {
    case Conditioning::kAdc:
      return F::cross_entropy(out.class_logits, adc_column(labels, false));
    case Conditioning::kAc:
    case Conditioning::kTac:
      break;
  }
  return F::cross_entropy(out.class_logits, labels);
}

torch::Tensor d_fake_class_loss(const DiscriminatorOutput& out, const torch::Tensor& classes,
                                Conditioning cond, bool ac_on_fakes) {
  switch (cond) {
    case Conditioning::kTac:
      return F::cross_entropy(out.twin_logits, classes);
    case Conditioning::kAdc:
      return F::cross_entropy(out.class_logits, adc_column(classes, true));
    case Conditioning::kAc:
      break;
  }
  return ac_on_fakes ? F::cross_entropy(out.class_logits, classes) : torch::Tensor();
}

torch::Tensor g_class_loss(const DiscriminatorOutput& out, const torch::Tensor& classes,
                           Conditioning cond) {
  switch (cond) {
    case Conditioning::kTac:
      return F::cross_entropy(out.class_logits, classes) -
             F::cross_entropy(out.twin_logits, classes);
    case Conditioning::kAdc:
      return F::cross_entropy(out.class_logits, adc_column(classes, false)) -
             F::cross_entropy(out.class_logits, adc_column(classes, true));
    case Conditioning::kAc:
      break;
  }
  return F::cross_entropy(out.class_logits, classes);
}

torch::Tensor class_choice(const torch::Tensor& class_logits, Conditioning cond) {
  if (cond == Conditioning::kAdc)
    return class_logits.view({class_logits.size(0), -1, 2}).logsumexp(2).argmax(1);
  return class_logits.argmax(1);
}

double class_weight(Conditioning /*cond*/, double cond_lambda) {
  return cond_lambda == 0 ? 1.0 : cond_lambda;
}

}  // namespace acgan
