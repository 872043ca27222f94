// --precision: names, the autocast scope, a bf16 step against the fp32 step, the transposed
// convolution's fast path under autocast, and fp16's loss scaler (skips, backoff, growth, and a
// scaled step that equals the unscaled one bit for bit). fp16 autocast itself needs CUDA and is not
// run here.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/precision.h"
#include "acgan/runtime.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/loss_scaler.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

using acgan::LossScaler;
using acgan::Precision;

namespace {

TEST(PrecisionTest, ParsesItsThreeNamesAndNamesTheFlagOtherwise) {
  for (const char* name : {"fp32", "bf16", "fp16"})
    EXPECT_EQ(acgan::precision_name(acgan::parse_precision(name)), name);
  acgan::testing::expect_error<acgan::UsageError>(
      [] { acgan::parse_precision("fp8"); },
      {"--precision: expected fp32, bf16 or fp16, got 'fp8'"});
  acgan::testing::expect_error<acgan::UsageError>(
      [] { acgan::check_precision_supported(Precision::kFp16, c10::DeviceType::CPU); },
      {"--precision fp16 needs a CUDA device"});
  EXPECT_NO_THROW(acgan::check_precision_supported(Precision::kBf16, c10::DeviceType::CPU));
  EXPECT_NO_THROW(acgan::check_precision_supported(Precision::kFp16, c10::DeviceType::CUDA));
}

// Where oneDNN was turned off as wrong, the bf16 report must not time oneDNN's kernels (which the
// run will not get) and advise bf16: CI's machine then ran bf16 at 2-5 images/s.
TEST(PrecisionTest, Bf16ReportSaysKeepFp32WhereOneDnnIsOff) {
  auto& context = at::globalContext();
  const bool was = context.userEnabledMkldnn();
  context.setUserEnabledMkldnn(false);
  const auto report = acgan::cpu_bf16_support();
  context.setUserEnabledMkldnn(was);
  EXPECT_NE(report.find("oneDNN is off"), std::string::npos) << report;
  EXPECT_NE(report.find("keep fp32"), std::string::npos) << report;
  if (was) {
    EXPECT_NE(acgan::cpu_bf16_support().find("runs at"), std::string::npos);
  }
}

TEST(PrecisionTest, AutocastScopeLowersConvolutionsAndRestoresTheState) {
  const auto x = torch::randn({2, 3, 8, 8}), w = torch::randn({4, 3, 3, 3});
  {
    acgan::AutocastScope fp32(c10::DeviceType::CPU, Precision::kFp32);
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat);
    EXPECT_FALSE(acgan::active_autocast_dtype(c10::DeviceType::CPU).has_value());
  }
  {
    acgan::AutocastScope bf16(c10::DeviceType::CPU, Precision::kBf16);
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(acgan::active_autocast_dtype(c10::DeviceType::CPU), torch::kBFloat16);
    {
      acgan::AutocastScope nested(c10::DeviceType::CPU, Precision::kBf16);
      EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);  // the outer scope still holds
  }
  EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat);
  EXPECT_FALSE(acgan::active_autocast_dtype(c10::DeviceType::CPU).has_value());
}

// bf16 keeps 8 significant bits: relative rounding 2^-9 = 0.2 % per value, a few tenths of a
// percent after a layer's sums. Tolerances below are 1-2 % relative: room for that, far below what
// a wrong layer (a missing cast, a lost bias) does.
TEST(PrecisionTest, TransposedConvolutionFastPathFollowsAutocast) {
  acgan::guard_against_inexact_onednn();  // as the networks do when built: a bare layer does not
  torch::manual_seed(2);
  torch::nn::ConvTranspose2d m(torch::nn::ConvTranspose2dOptions(96, 48, 4).stride(2).padding(1));
  const auto x = torch::randn({8, 96, 8, 8});
  // In float64: LibTorch's own float32 layer is what oneDNN 3.7 gets wrong on some CPUs.
  const auto reference = torch::conv_transpose2d(x.to(torch::kDouble), m->weight.to(torch::kDouble),
                                                 m->bias.to(torch::kDouble), 2, 1)
                             .to(torch::kFloat)
                             .detach();
  torch::Tensor y;
  {
    acgan::AutocastScope bf16(c10::DeviceType::CPU, Precision::kBf16);
    y = acgan::conv_transpose_2d(x, *m, {});
  }
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  const double scale = reference.abs().max().item<double>();
  EXPECT_LT((y.to(torch::kFloat) - reference).abs().max().item<double>(), 0.02 * scale);
  y.to(torch::kFloat).square().sum().backward();
  ASSERT_TRUE(m->weight.grad().defined());
  EXPECT_EQ(m->weight.grad().scalar_type(), torch::kFloat);  // master weights stay float32
  EXPECT_GT(m->bias.grad().abs().sum().item<double>(), 0);
}

struct StepResult {
  torch::Tensor stats;
  std::vector<torch::Tensor> g_params;
};

// Steps of the same seeded run in the given precision (dropout off: its masks would differ).
acgan::StepOptions step_with(Precision precision, acgan::LossScaler* scaler) {
  acgan::StepOptions options;
  options.precision = precision;
  options.scaler = scaler;
  return options;
}

StepResult seeded_steps(const acgan::StepOptions& precision, int steps) {
  acgan::TrainOptions options;
  options.dropout = 0;
  torch::manual_seed(11);
  acgan::TrainingState s(options, torch::kCPU);
  StepResult result{acgan::testing::steps_on_random_batches(s, steps, 16, precision), {}};
  for (const auto& p : s.g->parameters()) result.g_params.push_back(p.detach().clone());
  return result;
}

TEST(PrecisionTest, Bf16StepTracksTheFp32StepAndKeepsFloat32Weights) {
  const auto fp32 = seeded_steps(step_with(Precision::kFp32, nullptr), 1);
  const auto bf16 = seeded_steps(step_with(Precision::kBf16, nullptr), 1);
  EXPECT_EQ(bf16.stats.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::isfinite(bf16.stats).all().item<bool>());
  EXPECT_FALSE(torch::equal(bf16.stats, fp32.stats)) << "autocast had no effect";
  using torch::indexing::Slice;
  const auto losses = Slice(acgan::kLossDReal, acgan::kLossG + 1);
  // Measured: the three losses within 0.25 % of fp32's.
  EXPECT_TRUE(
      torch::allclose(bf16.stats.index({0, losses}), fp32.stats.index({0, losses}), 0.01, 0))
      << bf16.stats << fp32.stats;
  // Adam's first step moves each weight by about lr * sign(gradient): the two runs must move G's
  // weights the same way wherever the gradient is above bf16's rounding. Measured: 93 % of them
  // on Zen 4 and Zen 5, 86 % on a Zen 3 (no bf16 instructions: oneDNN's AVX2 kernels round
  // elsewhere); the rest have gradients near zero, such as the biases in front of BatchNorm. A
  // gradient that autocast gets wrong agrees by chance, 50 %.
  const auto start = seeded_steps(step_with(Precision::kFp32, nullptr), 0);
  int64_t same = 0, total = 0;
  for (size_t i = 0; i < fp32.g_params.size(); ++i) {
    EXPECT_EQ(bf16.g_params[i].scalar_type(), torch::kFloat);
    const auto d32 = (fp32.g_params[i] - start.g_params[i]).sign();
    const auto d16 = (bf16.g_params[i] - start.g_params[i]).sign();
    same += d32.eq(d16).sum().item<int64_t>();
    total += d32.numel();
  }
  EXPECT_GT(static_cast<double>(same) / static_cast<double>(total), 0.75)
      << same << " of " << total;
}

TEST(LossScalerTest, ScaledStepEqualsTheUnscaledStepBitForBit) {
  LossScaler scaler;  // 2^16: scaling by a power of two is exact in float32
  const auto plain = seeded_steps(step_with(Precision::kFp32, nullptr), 2);
  const auto scaled = seeded_steps(step_with(Precision::kFp32, &scaler), 2);
  EXPECT_TRUE(torch::equal(plain.stats, scaled.stats));
  for (size_t i = 0; i < plain.g_params.size(); ++i)
    EXPECT_TRUE(torch::equal(plain.g_params[i], scaled.g_params[i])) << i;
  EXPECT_EQ(scaler.current_scale(), 65536.0);
  EXPECT_EQ(scaler.growth_tracker(), 2);
}

TEST(LossScalerTest, OverflowSkipsTheStepAndHalvesTheScale) {
  // 2^127 times a loss of ~3 overflows float32: every gradient is inf or NaN.
  LossScaler scaler(acgan::LossScalerOptions{std::ldexp(1.0, 127)});
  const auto start = seeded_steps(step_with(Precision::kFp32, nullptr), 0);
  const auto skipped = seeded_steps(step_with(Precision::kFp32, &scaler), 1);
  for (size_t i = 0; i < start.g_params.size(); ++i)
    EXPECT_TRUE(torch::equal(start.g_params[i], skipped.g_params[i])) << i;
  EXPECT_EQ(scaler.current_scale(), std::ldexp(1.0, 126));
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(LossScalerTest, GrowsAfterTheIntervalAndSkipsOnlyNonFiniteSteps) {
  LossScaler scaler(acgan::LossScalerOptions{8.0, 2.0, 0.5, 3});
  auto w = torch::zeros({2}).requires_grad_();
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(1.0));
  auto iterate = [&](float g0, float g1) {
    w.mutable_grad() = torch::tensor({g0, g1}) * scaler.current_scale();
    const bool stepped = scaler.step(sgd);
    scaler.update();
    return stepped;
  };
  EXPECT_TRUE(iterate(1, 2));
  EXPECT_TRUE(torch::equal(w.detach(), torch::tensor({-1.0f, -2.0f})));  // unscaled, then stepped
  EXPECT_TRUE(iterate(0, 0));
  EXPECT_EQ(scaler.current_scale(), 8.0);
  EXPECT_TRUE(iterate(0, 0));  // third clean iteration in a row
  EXPECT_EQ(scaler.current_scale(), 16.0);
  EXPECT_FALSE(iterate(1, INFINITY));
  EXPECT_FALSE(iterate(NAN, 0));
  EXPECT_EQ(scaler.current_scale(), 4.0);
  EXPECT_TRUE(torch::equal(w.detach(), torch::tensor({-1.0f, -2.0f})));  // skipped steps left w
}

TEST(LossScalerTest, StateTravelsInTheCheckpoint) {
  acgan::testing::TempDir dir;
  acgan::TrainOptions options;
  acgan::TrainingState saved(options, torch::kCPU);
  saved.scaler.set_state(1024.0, 7);
  acgan::save_checkpoint(dir / "c.pt", saved, options);
  acgan::TrainingState loaded(options, torch::kCPU);
  acgan::load_checkpoint(dir / "c.pt", loaded);
  EXPECT_EQ(loaded.scaler.current_scale(), 1024.0);
  EXPECT_EQ(loaded.scaler.growth_tracker(), 7);
}

}  // namespace
