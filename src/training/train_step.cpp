// The ACGAN step. See include/acgan/training/train_step.h.
#include "acgan/training/train_step.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "acgan/error.h"
#include "acgan/training/class_losses.h"
#include "acgan/training/train_options.h"

namespace F = torch::nn::functional;

namespace acgan {
namespace {

// loss * weight; a weight of 1 is not multiplied, so the original's step keeps its kernels.
torch::Tensor weighted(torch::Tensor loss, double weight) {
  return weight == 1 ? loss : loss * weight;
}

// The source loss plus the --cond's class term (class_losses.h) for `term`, weighted by
// --cond_lambda (a weight of 1 is not multiplied: ac's step is the original's). D's outputs are
// already at least float32 (models.h), so the loss is too.
torch::Tensor source_class_loss(const DiscriminatorOutput& out, SourceTerm term,
                                const torch::Tensor& classes, const StepOptions& options) {
  const auto source =
      source_loss(out.source_logit, term, options.source_loss, options.label_smoothing);
  torch::Tensor class_term;
  switch (term) {
    case SourceTerm::kDReal:
      class_term = d_real_class_loss(out, classes, options.cond);
      break;
    case SourceTerm::kDFake:
      class_term = d_fake_class_loss(out, classes, options.cond, options.d_class_loss_on_fakes);
      break;
    case SourceTerm::kG:
      class_term = g_class_loss(out, classes, options.cond);
      break;
  }
  if (!class_term.defined()) return source;
  return source + weighted(class_term, options.class_weight);
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

StepOptions step_options_for(const TrainOptions& o, LossScaler& scaler) {
  auto step = step_options_for(parse_precision(o.precision), scaler);
  step.source_loss = parse_source_loss(o.loss);
  step.label_smoothing = o.label_smoothing;
  step.d_class_loss_on_fakes = parse_on_off("d_class_loss_on_fakes", o.d_class_loss_on_fakes);
  step.cond = parse_conditioning(o.cond);
  step.class_weight = class_weight(step.cond, o.cond_lambda);
  step.augment = parse_diffaugment(o.diffaugment);
  step.weights = loss_weights_for(parse_arch(o.arch));
  return step;
}

namespace {

// What the D and G updates of a step share: autocast for forward passes (backward passes and
// losses run outside it), DiffAugment, loss weights and scaling, and the optimizer step.
class StepContext {
 public:
  StepContext(const StepOptions& options, c10::DeviceType device_type)
      : options_(options), device_type_(device_type) {}
  const StepOptions& options() const { return options_; }
  AutocastScope autocast() const { return AutocastScope(device_type_, options_.precision); }
  torch::Tensor augment(const torch::Tensor& x) const { return diff_augment(x, options_.augment); }
  void backward(const torch::Tensor& loss) const {
    (options_.scaler ? options_.scaler->scale(loss) : loss).backward();
  }
  void step(torch::optim::Optimizer& opt, torch::nn::Module& network) const {
    // With fp16 the gradients are still scaled here: an Inf on any rank reaches every rank's sum,
    // so all ranks skip the step together.
    if (options_.gradient_hook) options_.gradient_hook->on_gradients(network);
    if (options_.scaler)
      options_.scaler->step(opt);
    else
      opt.step();
  }

 private:
  const StepOptions& options_;
  c10::DeviceType device_type_;
};

struct DStep {
  DiscriminatorOutput on_real, on_fake;
  torch::Tensor fake;  // G's batch, still attached to G's graph for the G step
  torch::Tensor loss_real, loss_fake;
};

// D update: real batch, then the detached fake; both backward passes accumulate into one Adam
// step. keep_fake_graph: the fake stays attached to G's graph for the G step (the step's last D
// update); the others run G without a graph, the same numbers.
DStep d_step(const StepContext& c, GeneratorImpl& g, DiscriminatorImpl& d,
             torch::optim::Optimizer& opt_d, const DBatch& batch, bool keep_fake_graph) {
  const auto& o = c.options();
  const auto& noise = batch.noise;
  DStep r;
  opt_d.zero_grad();
  {
    const auto scope = c.autocast();
    r.on_real = d.forward(c.augment(batch.real));  // (B), (B, K)
  }
  r.loss_real =
      weighted(source_class_loss(r.on_real, SourceTerm::kDReal, batch.labels, o), o.weights.d_real);
  c.backward(r.loss_real);
  {
    const auto scope = c.autocast();
    {
      std::optional<torch::NoGradGuard> no_graph;
      if (!keep_fake_graph) no_graph.emplace();
      r.fake = g.forward(noise.z, noise.c);  // (B, C, S, S)
    }
    r.on_fake = d.forward(c.augment(r.fake.detach()));
  }
  r.loss_fake =
      weighted(source_class_loss(r.on_fake, SourceTerm::kDFake, noise.c, o), o.weights.d_fake);
  c.backward(r.loss_fake);
  c.step(opt_d, d);
  return r;
}

// G step on the same fake; D frozen (when asked) so only G's gradients are computed. Returns D's
// output on the fake and G's loss.
std::pair<DiscriminatorOutput, torch::Tensor> g_step(const StepContext& c, GeneratorImpl& g,
                                                     DiscriminatorImpl& d,
                                                     torch::optim::Optimizer& opt_g,
                                                     const torch::Tensor& fake,
                                                     const Noise& noise) {
  const auto& o = c.options();
  opt_g.zero_grad();
  DiscriminatorOutput on_fake;
  torch::Tensor loss;
  {
    std::optional<FrozenParameters> frozen;
    if (o.freeze_d_in_g_step) frozen.emplace(d);
    {
      const auto scope = c.autocast();
      on_fake = d.forward(c.augment(fake));
    }
    loss = weighted(source_class_loss(on_fake, SourceTerm::kG, noise.c, o), o.weights.g);
    c.backward(loss);
  }
  c.step(opt_g, g);
  return {on_fake, loss};
}

torch::Tensor accuracy_percent(const DiscriminatorOutput& out, const torch::Tensor& classes,
                               Conditioning cond) {
  return class_choice(out.class_logits, cond)
             .eq(classes)
             .to(out.class_logits.scalar_type())
             .mean() *
         100;
}

}  // namespace

torch::Tensor train_step(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                         torch::optim::Optimizer& opt_d, const torch::Tensor& real,
                         const torch::Tensor& labels, const Noise& noise,
                         const StepOptions& options) {
  return train_step(g, d, opt_g, opt_d, {DBatch{real, labels, noise}}, options);
}

torch::Tensor train_step(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                         torch::optim::Optimizer& opt_d, const std::vector<DBatch>& d_batches,
                         const StepOptions& options) {
  TORCH_CHECK(!d_batches.empty(), "train_step: no batch for D");
  const StepContext context(options, d_batches.front().real.device().type());
  std::vector<torch::Tensor> d_stats;  // (6) each: D's statistics of each update
  DStep last;
  for (size_t i = 0; i < d_batches.size(); ++i) {
    const auto& batch = d_batches[i];
    const bool is_last = i + 1 == d_batches.size();
    last = d_step(context, g, d, opt_d, batch, /*keep_fake_graph=*/is_last);
    torch::NoGradGuard no_grad;
    d_stats.push_back(torch::stack({last.loss_real.detach(), last.loss_fake.detach(),
                                    accuracy_percent(last.on_real, batch.labels, options.cond),
                                    accuracy_percent(last.on_fake, batch.noise.c, options.cond),
                                    source_probability(last.on_real).mean(),
                                    source_probability(last.on_fake).mean()}));
  }
  const auto [on_fake_g, loss_g] = g_step(context, g, d, opt_g, last.fake, d_batches.back().noise);
  if (options.scaler) options.scaler->update();

  torch::NoGradGuard no_grad;
  const auto d_mean = torch::stack(d_stats).mean(0);  // one update: its own values, exactly
  return torch::stack({d_mean[0], d_mean[1], loss_g.detach(), d_mean[2], d_mean[3], d_mean[4],
                       d_mean[5], source_probability(on_fake_g).mean()});
}

}  // namespace acgan
