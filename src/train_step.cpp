// The ACGAN step. See include/acgan/train_step.h.
#include "acgan/train_step.h"

#include <torch/torch.h>

#include "acgan/fast_ops.h"

namespace F = torch::nn::functional;

namespace acgan {
namespace {

// BCE on D's source probability plus CE on its class logits: the ACGAN discriminator loss term,
// in float32 whatever precision D ran in (BCE is not autocast-safe, and a loss is one number).
torch::Tensor source_class_loss(const torch::Tensor& source, const torch::Tensor& logits,
                                float target_source, const torch::Tensor& classes) {
  const auto src = source.to(torch::kFloat);
  return F::binary_cross_entropy(src, torch::full_like(src, target_source)) +
         F::cross_entropy(logits.to(torch::kFloat), classes);
}

torch::Tensor accuracy_percent(const torch::Tensor& logits, const torch::Tensor& classes) {
  return logits.argmax(1).eq(classes).to(torch::kFloat).mean() * 100;
}

void set_requires_grad(torch::nn::Module& module, bool value) {
  for (auto& p : module.parameters()) p.requires_grad_(value);
}

}  // namespace

Noise make_noise_for(const torch::Tensor& classes, int64_t nz) {
  auto z = torch::randn({classes.size(0), nz}, torch::TensorOptions().device(classes.device()));
  z.narrow(1, 0, kNumClasses).copy_(F::one_hot(classes, kNumClasses));
  return {z, classes};
}

Noise make_noise(int64_t batch, int64_t nz, const torch::Device& device) {
  auto c = torch::randint(0, kNumClasses, {batch},
                          torch::TensorOptions().dtype(torch::kLong).device(device));
  return make_noise_for(c, nz);
}

Noise make_grid_noise(int64_t per_class, int64_t nz, const torch::Device& device) {
  auto c = torch::arange(kNumClasses, torch::TensorOptions().dtype(torch::kLong).device(device))
               .repeat_interleave(per_class);
  return make_noise_for(c, nz);
}

StepPrecision step_precision_for(Precision precision, LossScaler& scaler) {
  return {precision, precision == Precision::kFp16 ? &scaler : nullptr};
}

torch::Tensor train_step(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                         torch::optim::Optimizer& opt_d, const torch::Tensor& real,
                         const torch::Tensor& labels, const Noise& noise,
                         const StepPrecision& precision) {
  const auto device_type = real.device().type();
  // Forward passes run under autocast; backward passes and losses outside it.
  const auto autocast = [&] { return AutocastScope(device_type, precision.precision); };
  LossScaler* scaler = precision.scaler;
  const auto backward = [&](const torch::Tensor& loss) {
    (scaler ? scaler->scale(loss) : loss).backward();
  };
  const auto step = [&](torch::optim::Optimizer& opt) {
    if (scaler)
      scaler->step(opt);
    else
      opt.step();
  };

  // D step: real batch, then the detached fake; both backward passes accumulate into one Adam step.
  opt_d.zero_grad();
  torch::Tensor src_real, cls_real, fake, src_fake, cls_fake, src_g, cls_g;
  {
    const auto scope = autocast();
    std::tie(src_real, cls_real) = d.forward(real);  // (B), (B, 10)
  }
  auto loss_d_real = source_class_loss(src_real, cls_real, 1.0f, labels);
  backward(loss_d_real);

  {
    const auto scope = autocast();
    fake = g.forward(noise.z);  // (B, 3, 32, 32)
    std::tie(src_fake, cls_fake) = d.forward(fake.detach());
  }
  auto loss_d_fake = source_class_loss(src_fake, cls_fake, 0.0f, noise.c);
  backward(loss_d_fake);
  step(opt_d);

  // G step on the same fake; D is frozen so only G's gradients are computed.
  opt_g.zero_grad();
  const bool freeze = fast_paths().freeze_d_in_g_step;
  if (freeze) set_requires_grad(d, false);
  {
    const auto scope = autocast();
    std::tie(src_g, cls_g) = d.forward(fake);
  }
  auto loss_g = source_class_loss(src_g, cls_g, 1.0f, noise.c);
  backward(loss_g);
  if (freeze) set_requires_grad(d, true);
  step(opt_g);
  if (scaler) scaler->update();

  torch::NoGradGuard no_grad;
  return torch::stack({loss_d_real.detach(), loss_d_fake.detach(), loss_g.detach(),
                       accuracy_percent(cls_real, labels), accuracy_percent(cls_fake, noise.c),
                       src_real.mean(), src_fake.mean(), src_g.mean()});
}

}  // namespace acgan
