// The ACGAN step. See include/acgan/training/train_step.h.
#include "acgan/training/train_step.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "acgan/error.h"

namespace F = torch::nn::functional;

namespace acgan {
namespace {

// The source loss plus CE on the class logits: an ACGAN loss term. D's outputs are already at
// least float32 (models.h), so the loss is too.
torch::Tensor source_class_loss(const DiscriminatorOutput& out, SourceTerm term,
                                const torch::Tensor& classes, const StepOptions& options,
                                bool with_class = true) {
  const auto source =
      source_loss(out.source_logit, term, options.source_loss, options.label_smoothing);
  return with_class ? source + F::cross_entropy(out.class_logits, classes) : source;
}

}  // namespace

SourceLoss parse_source_loss(const std::string& name) {
  require_flag(name == "bce" || name == "hinge", "loss", "bce or hinge", name);
  return name == "bce" ? SourceLoss::kBce : SourceLoss::kHinge;
}

torch::Tensor source_loss(const torch::Tensor& logit, SourceTerm term, SourceLoss kind,
                          double label_smoothing) {
  if (kind == SourceLoss::kHinge) {
    if (term == SourceTerm::kG) return -logit.mean();
    return torch::relu(term == SourceTerm::kDReal ? 1 - logit : 1 + logit).mean();
  }
  const float target = term == SourceTerm::kDFake   ? 0.0f
                       : term == SourceTerm::kDReal ? static_cast<float>(1 - label_smoothing)
                                                    : 1.0f;
  return F::binary_cross_entropy_with_logits(logit, torch::full_like(logit, target));
}

FrozenParameters::FrozenParameters(torch::nn::Module& module) {
  for (auto& p : module.parameters()) {
    saved_.emplace_back(p, p.requires_grad());
    p.requires_grad_(false);
  }
}

FrozenParameters::~FrozenParameters() {
  for (auto& [p, requires_grad] : saved_) p.requires_grad_(requires_grad);
}

Noise make_noise_for(const torch::Tensor& classes, int64_t nz) {
  return {torch::randn({classes.size(0), nz}, torch::TensorOptions().device(classes.device())),
          classes};
}

Noise make_noise(int64_t batch, int64_t nz, int64_t num_classes, const torch::Device& device) {
  auto c = torch::randint(0, num_classes, {batch},
                          torch::TensorOptions().dtype(torch::kLong).device(device));
  return make_noise_for(c, nz);
}

std::vector<int64_t> grid_classes(int64_t num_classes) {
  std::vector<int64_t> classes;
  const int64_t rows = std::min(num_classes, kMaxGridRows);
  for (int64_t r = 0; r < rows; ++r) {
    classes.push_back(rows == num_classes ? r : r * (num_classes - 1) / (rows - 1));
  }
  return classes;
}

Noise make_grid_noise(int64_t per_class, int64_t nz, int64_t num_classes,
                      const torch::Device& device) {
  auto c = torch::tensor(grid_classes(num_classes), torch::kLong)
               .to(device)
               .repeat_interleave(per_class);
  return make_noise_for(c, nz);
}

LossWeights loss_weights_for(Arch arch) {
  if (arch == Arch::kMlp) return {0.25, 0.25, 0.5};
  return {};
}

StepOptions step_options_for(Precision precision, LossScaler& scaler) {
  StepOptions options;
  options.precision = precision;
  options.scaler = precision == Precision::kFp16 ? &scaler : nullptr;
  return options;
}

torch::Tensor train_step(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                         torch::optim::Optimizer& opt_d, const torch::Tensor& real,
                         const torch::Tensor& labels, const Noise& noise,
                         const StepOptions& options) {
  const auto device_type = real.device().type();
  // Forward passes run under autocast; backward passes and losses outside it.
  const auto autocast = [&] { return AutocastScope(device_type, options.precision); };
  LossScaler* scaler = options.scaler;
  const LossWeights& w = options.weights;
  const auto backward = [&](const torch::Tensor& loss) {
    (scaler ? scaler->scale(loss) : loss).backward();
  };
  const auto augment = [&](const torch::Tensor& x) { return diff_augment(x, options.augment); };
  const auto step = [&](torch::optim::Optimizer& opt, torch::nn::Module& network) {
    // With fp16 the gradients are still scaled here: an Inf on any rank reaches every rank's sum,
    // so all ranks skip the step together.
    if (options.gradient_hook) options.gradient_hook->on_gradients(network);
    if (scaler)
      scaler->step(opt);
    else
      opt.step();
  };

  // D step: real batch, then the detached fake; both backward passes accumulate into one Adam step.
  opt_d.zero_grad();
  DiscriminatorOutput on_real, on_fake, on_fake_g;
  torch::Tensor fake;
  {
    const auto scope = autocast();
    on_real = d.forward(augment(real));  // (B), (B, 10)
  }
  const auto weighted = [](torch::Tensor loss, double weight) {
    return weight == 1 ? loss : loss * weight;
  };
  auto loss_d_real =
      weighted(source_class_loss(on_real, SourceTerm::kDReal, labels, options), w.d_real);
  backward(loss_d_real);

  {
    const auto scope = autocast();
    fake = g.forward(noise.z, noise.c);  // (B, 3, 32, 32)
    on_fake = d.forward(augment(fake.detach()));
  }
  auto loss_d_fake = weighted(source_class_loss(on_fake, SourceTerm::kDFake, noise.c, options,
                                                options.d_class_loss_on_fakes),
                              w.d_fake);
  backward(loss_d_fake);
  step(opt_d, d);

  // G step on the same fake; D frozen (when asked) so only G's gradients are computed.
  opt_g.zero_grad();
  torch::Tensor loss_g;
  {
    std::optional<FrozenParameters> frozen;
    if (options.freeze_d_in_g_step) frozen.emplace(d);
    {
      const auto scope = autocast();
      on_fake_g = d.forward(augment(fake));
    }
    loss_g = weighted(source_class_loss(on_fake_g, SourceTerm::kG, noise.c, options), w.g);
    backward(loss_g);
  }
  step(opt_g, g);
  if (scaler) scaler->update();

  torch::NoGradGuard no_grad;
  const auto accuracy_percent = [](const DiscriminatorOutput& out, const torch::Tensor& classes) {
    return out.class_logits.argmax(1).eq(classes).to(out.class_logits.scalar_type()).mean() * 100;
  };
  return torch::stack({loss_d_real.detach(), loss_d_fake.detach(), loss_g.detach(),
                       accuracy_percent(on_real, labels), accuracy_percent(on_fake, noise.c),
                       source_probability(on_real).mean(), source_probability(on_fake).mean(),
                       source_probability(on_fake_g).mean()});
}

}  // namespace acgan
