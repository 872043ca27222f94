// One ACGAN training step, exactly as the golden reference (../shared/golden/make_golden.py) runs
// it with --cond ac (the other conds change the class terms: class_losses.h):
//   D step: BCE(D_src(x), 1) + CE(D_cls(x), y), backward; fake = G(z, c) detached:
//           BCE(D_src(fake), 0) + CE(D_cls(fake), c), backward; one Adam step on the summed
//           gradients.
//   G step: on the same fake, BCE(D_src(fake), 1) + CE(D_cls(fake), c), backward; one Adam step.
// With DiffAugment (StepOptions::augment) D sees T(x), T(fake) and T(fake) again, each with its own
// draws, T differentiable so that G's gradient passes through it.
// The source terms are BCE with logits on D's source logit (models.h): the original's BCE on the
// sigmoid, better conditioned. During the G step D's parameters are frozen (StepOptions), so the
// backward pass skips D's weight gradients that nobody reads (the result is unchanged: D's
// optimizer zeroes them before its next use); the freeze is scoped, so an exception cannot leave D
// frozen.
//
// The statistics come back as one small tensor on the training device, so a CUDA loop can keep them
// there and read them only when it logs (no host synchronisation per step).
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "acgan/data/diff_augment.h"
#include "acgan/models/models.h"
#include "acgan/models/precision.h"
#include "acgan/training/loss_scaler.h"

namespace acgan {

// The noise and classes G is fed: z (B, nz) ~ N(0, 1), pure noise (G puts the class in, models.h),
// and the classes, K the data's class count.
struct Noise {
  torch::Tensor z;  // (B, nz) float
  torch::Tensor c;  // (B) int64 in 0..K-1
};

// Draws c ~ U{0..K-1}, then z ~ N(0, 1), from the device's default generator.
Noise make_noise(int64_t batch, int64_t nz, int64_t num_classes, const torch::Device& device);
// Noise for given classes (B) int64: z ~ N(0, 1) on their device.
Noise make_noise_for(const torch::Tensor& classes, int64_t nz);

// The classes a sample grid shows, one row each: all of them up to kMaxGridRows, else
// kMaxGridRows spread evenly over 0..K-1 (the first and the last included).
constexpr int64_t kMaxGridRows = 20;
constexpr int64_t kGridColumns = 10;  // samples of each class in a training grid
std::vector<int64_t> grid_classes(int64_t num_classes);
// The fixed sample-grid noise: `per_class` rows of noise for each of grid_classes(K), in order.
Noise make_grid_noise(int64_t per_class, int64_t nz, int64_t num_classes,
                      const torch::Device& device);

// Indices into the tensor returned by train_step. With several D updates a step (--d_steps), D's
// entries are their mean.
enum StepStat : int64_t {
  kLossDReal,  // BCE + CE of D on the real batch
  kLossDFake,  // BCE + CE of D on the detached fake batch
  kLossG,      // BCE(., 1) + CE of D on the fake batch, as G sees it
  kAccReal,    // % of the real batch whose class D gets right
  kAccFake,    // % of the fake batch whose class (c) D gets right
  kDx,         // mean D_src(x)
  kDGz1,       // mean D_src(G(z)) in the D step
  kDGz2,       // mean D_src(G(z)) in the G step
  kNumStepStats
};

// How a step runs. precision: the forward passes under autocast (precision.h), the losses in
// float32 (float64 for a float64 model), and for fp16 the losses scaled by `scaler`
// (loss_scaler.h). A scaler also works with fp32: scaling by a power of two changes nothing there,
// which the tests use. freeze_d_in_g_step: the fast path above; off, D's unused gradients are
// computed as the original does.
// The source (real / fake) loss on D's logit l, by whose term it is.
//   BCE (the original's): D real BCE(l, 1 - label_smoothing), D fake BCE(l, 0), G BCE(l, 1).
//   hinge (SN-GAN, BigGAN): D real mean(relu(1 - l)), D fake mean(relu(1 + l)), G -mean(l).
enum class SourceLoss { kBce, kHinge };
// --loss's names: bce | hinge; another is --loss's usage error.
SourceLoss parse_source_loss(const std::string& name);
enum class SourceTerm { kDReal, kDFake, kG };
torch::Tensor source_loss(const torch::Tensor& logit, SourceTerm term, SourceLoss kind,
                          double label_smoothing = 0);

// Sees each network's gradients after its backward passes, before its optimizer step: data
// parallelism averages them over ranks there (distributed/data_parallel.h).
class GradientHook {
 public:
  virtual ~GradientHook() = default;
  virtual void on_gradients(torch::nn::Module& network) = 0;
};

// How much each of the step's three losses counts, by network family (arch.h). cifar: the
// original's, 1 each. mlp: its script averages D's two terms and halves each of the three
// (d_loss = ((src_r + cls_r) / 2 + (src_f + cls_f) / 2) / 2, g_loss = (src_g + cls_g) / 2), so
// 1/4, 1/4 and 1/2; the step's stats hold the weighted terms, Loss_D their sum as the script's.
struct LossWeights {
  double d_real = 1, d_fake = 1, g = 1;
};
LossWeights loss_weights_for(Arch arch);

struct StepOptions {
  Precision precision = Precision::kFp32;
  LossScaler* scaler = nullptr;
  bool freeze_d_in_g_step = true;
  SourceLoss source_loss = SourceLoss::kBce;
  double label_smoothing = 0;             // D's real target 1 - s (BCE)
  bool d_class_loss_on_fakes = true;      // false: D's fake term is the source loss alone (ac only)
  Conditioning cond = Conditioning::kAc;  // the class terms (class_losses.h)
  double class_weight = 1;                // their weight (class_weight(), already resolved)
  DiffAugmentPolicy augment;              // on every image D sees (diff_augment.h)
  GradientHook* gradient_hook = nullptr;
  LossWeights weights;  // a weight of 1 is not multiplied: the original's step is unchanged
};
// `precision` with `scaler` where it needs one (fp16).
StepOptions step_options_for(Precision precision, LossScaler& scaler);
// The step the training flags (train_options.h) ask for, --precision's scaler from `scaler`.
struct TrainOptions;
StepOptions step_options_for(const TrainOptions& options, LossScaler& scaler);

// Sets every parameter of a module to requires_grad(false) while in scope, restoring each one's
// previous value on exit, exception or not.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module);
  ~FrozenParameters();
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<std::pair<torch::Tensor, bool>> saved_;
};

// real (B, C, S, S) in [-1, 1], labels (B) int64; G and D in train mode. Returns (kNumStepStats)
// float on the device, detached.
torch::Tensor train_step(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                         torch::optim::Optimizer& opt_d, const torch::Tensor& real,
                         const torch::Tensor& labels, const Noise& noise,
                         const StepOptions& options = {});

// One D update's inputs: a real batch and the noise of its fakes.
struct DBatch {
  torch::Tensor real, labels;
  Noise noise;
};
// --d_steps N: N D updates, each on its own batch and fakes, then one G update on the last D
// update's fake (its noise and classes), as the one-batch step does. D's statistics are their mean
// over the N updates (one update: its own values, bit for bit); G's are the G update's.
torch::Tensor train_step(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                         torch::optim::Optimizer& opt_d, const std::vector<DBatch>& d_batches,
                         const StepOptions& options = {});

}  // namespace acgan
