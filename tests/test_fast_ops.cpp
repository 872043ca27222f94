// The CPU fast paths (fast_ops.h) against LibTorch's own layers: same values and gradients to
// float rounding, dropout with the right distribution, and a seeded run that stays within rounding
// of the plain implementation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "acgan/models/fast_ops.h"
#include "acgan/models/precision.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace {

// Relative to the reference's largest magnitude: sums of float32 products in another order.
void expect_close(const torch::Tensor& ours, const torch::Tensor& ref, double tol,
                  const std::string& what) {
  ASSERT_EQ(ours.sizes(), ref.sizes()) << what;
  const double scale = std::max(ref.abs().max().item<double>(), 1e-12);
  EXPECT_LE((ours - ref).abs().max().item<double>() / scale, tol) << what;
}

// G's four transposed convolutions (kernel 4): channels in and out, input side, stride, padding.
struct GeneratorLayer {
  int64_t in, out, side, stride, padding;
};
const GeneratorLayer kGeneratorLayers[] = {
    {384, 192, 1, 1, 0}, {192, 96, 4, 2, 1}, {96, 48, 8, 2, 1}, {48, 3, 16, 2, 1}};

// The oneDNN check (fast_ops.h) draws its inputs from the CPU stream and puts it back: a seeded run
// initialises its networks the same with or without it. After it, G's layers are exact in float32
// (1e-4 relative of the largest value against float64; rounding is ~1e-6) on every CPU: where
// oneDNN 3.7 is wrong (off by 0.1-0.3) they run elsewhere. CTest runs each test in its own
// process, where this call is the check's first.
TEST(FastOpsTest, AfterTheOneDnnCheckGeneratorLayersAreExact) {
  torch::manual_seed(3);
  const auto expected = torch::rand({4});
  torch::manual_seed(3);
  const auto verdict = acgan::guard_against_inexact_onednn();
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
  EXPECT_EQ(acgan::guard_against_inexact_onednn(), verdict) << "one verdict a process";
  EXPECT_EQ(at::globalContext().userEnabledMkldnn(), verdict.empty()) << verdict;
  for (const auto& l : kGeneratorLayers) {
    torch::nn::ConvTranspose2d m(
        torch::nn::ConvTranspose2dOptions(l.in, l.out, 4).stride(l.stride).padding(l.padding));
    const auto x = torch::randn({4, l.in, l.side, l.side});
    torch::NoGradGuard no_grad;
    const auto y = acgan::conv_transpose_2d(x, *m, {});
    const auto exact = torch::conv_transpose2d(x.to(torch::kDouble), m->weight.to(torch::kDouble),
                                               m->bias.to(torch::kDouble), l.stride, l.padding);
    EXPECT_LT((y.to(torch::kDouble) - exact).abs().max().item<double>(),
              1e-4 * exact.abs().max().item<double>())
        << l.in << " -> " << l.out << "; the check said: " << verdict;
  }
}

TEST(FastOpsTest, ConvTransposeMatchesLibTorchOnGeneratorShapes) {
  torch::manual_seed(0);
  for (const auto& s : kGeneratorLayers) {
    torch::nn::ConvTranspose2d conv(
        torch::nn::ConvTranspose2dOptions(s.in, s.out, 4).stride(s.stride).padding(s.padding));
    const auto x = torch::randn({6, s.in, s.side, s.side});
    const auto name = std::to_string(s.in) + "->" + std::to_string(s.out);
    auto run = [&](bool fast) {
      conv->zero_grad();
      auto xi = x.clone().requires_grad_();
      auto y = acgan::conv_transpose_2d(xi, *conv, {/*conv_transpose=*/fast, /*dropout=*/true});
      (y * y.detach().sin()).sum().backward();  // a gradient that varies per element
      return std::vector<torch::Tensor>{y.detach(), xi.grad(), conv->weight.grad().clone(),
                                        conv->bias.grad().clone()};
    };
    const auto fast = run(true), plain = run(false);
    expect_close(fast[0], plain[0], 1e-6, name + " output");
    expect_close(fast[1], plain[1], 1e-5, name + " input gradient");
    expect_close(fast[2], plain[2], 1e-5, name + " weight gradient");
    expect_close(fast[3], plain[3], 1e-5, name + " bias gradient");
  }
}

TEST(FastOpsTest, DropoutKeepsOneMinusPScaledAndMasksTheGradient) {
  torch::manual_seed(1);
  const int64_t n = 200000;
  auto x = torch::ones({n}).requires_grad_();
  auto y = acgan::dropout(x, 0.5, {});
  y.sum().backward();
  const double kept = (y > 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.5, 5 * std::sqrt(0.25 / n));  // 5 standard deviations
  EXPECT_TRUE(
      ((y == 0) | (y == 2)).all().item<bool>());    // dropped, or kept and scaled by 1 / (1 - p)
  EXPECT_TRUE(torch::equal(x.grad(), y.detach()));  // d(x * mask)/dx = mask
  EXPECT_FALSE(
      torch::equal(acgan::dropout(x, 0.5, {}), acgan::dropout(x, 0.5, {})));  // random each call
  const double kept_30 =
      (acgan::dropout(torch::ones({n}), 0.3, {}) > 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept_30, 0.7, 5 * std::sqrt(0.21 / n));
  EXPECT_TRUE(torch::equal(acgan::dropout(x, 0.0, {}), x));
}

// The keep rate must be 1 - p in every precision the step runs in, for any --dropout: the mask's
// uniform draw is float32 even for a bf16 input. Drawn in bf16 it takes multiples of 2^-8 (LibTorch
// 1.13), so P(u >= 0.3) is 179/256 = 0.69922, not 0.7. 2^24 elements: one standard deviation of
// the rate is at most 1.2e-4, and 5 of them (at most 6e-4) is the bound.
TEST(FastOpsTest, DropoutKeepRateIsOneMinusPInEveryPrecision) {
  torch::manual_seed(2);
  const int64_t n = int64_t{1} << 24;
  for (auto precision : {acgan::Precision::kFp32, acgan::Precision::kBf16}) {
    const auto dtype = acgan::compute_dtype(precision);
    const acgan::AutocastScope autocast(torch::kCPU, precision);
    for (const double p : {0.5, 0.3}) {
      const auto what = acgan::precision_name(precision) + " p " + std::to_string(p);
      const auto y = acgan::dropout(torch::ones({n}, dtype), p, {});
      EXPECT_EQ(y.scalar_type(), dtype) << what;
      const double kept = (y > 0).to(torch::kDouble).mean().item<double>();
      EXPECT_NEAR(kept, 1 - p, 5 * std::sqrt(p * (1 - p) / static_cast<double>(n))) << what;
    }
  }
}

TEST(FastOpsTest, FrozenParametersAreRestoredOnException) {
  torch::nn::Linear layer(3, 2);
  layer->bias.requires_grad_(false);  // a parameter frozen before stays frozen after
  try {
    const acgan::FrozenParameters frozen(*layer);
    EXPECT_FALSE(layer->weight.requires_grad());
    throw std::runtime_error("a step that fails half-way");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(layer->weight.requires_grad());
  EXPECT_FALSE(layer->bias.requires_grad());
}

// D frozen in the G step (the fast path) skips only gradients nobody reads: the weights after
// each step equal those of the original's unfrozen step (same ops on the same values).
TEST(FastOpsTest, FrozenAndUnfrozenGStepsGiveTheSameWeights) {
  acgan::TrainOptions options;
  options.dropout = 0;
  auto run = [&](bool freeze) {
    torch::manual_seed(6);
    acgan::TrainingState s(options, torch::kCPU);
    acgan::StepOptions step;
    step.freeze_d_in_g_step = freeze;
    acgan::testing::steps_on_random_batches(s, 2, 16, step);
    std::vector<torch::Tensor> weights;
    for (const auto& p : s.g->parameters()) weights.push_back(p.detach().clone());
    for (const auto& p : s.d->parameters()) {
      weights.push_back(p.detach().clone());
      EXPECT_TRUE(p.requires_grad());  // the freeze ended with the step
    }
    return weights;
  };
  const auto frozen = run(true), unfrozen = run(false);
  ASSERT_EQ(frozen.size(), unfrozen.size());
  for (size_t i = 0; i < frozen.size(); ++i) EXPECT_TRUE(torch::equal(frozen[i], unfrozen[i])) << i;
}

TEST(FastOpsTest, SeededRunStaysWithinRoundingOfThePlainImplementation) {
  acgan::TrainOptions options;
  options.dropout = 0;  // dropout masks come from different draws; the rest must agree
  auto run = [&](bool fast) {
    torch::manual_seed(5);
    acgan::TrainingState s(options, torch::kCPU);
    acgan::use_fast_paths(*s.g, {fast, fast});
    acgan::use_fast_paths(*s.d, {fast, fast});
    return acgan::testing::steps_on_random_batches(s, 4);  // (4, kNumStepStats)
  };
  const auto fast = run(true), plain = run(false);
  using torch::indexing::Slice;
  const auto losses = Slice(acgan::kLossDReal, acgan::kLossG + 1);
  // Step 1 differs by summation order only.
  EXPECT_TRUE(torch::allclose(fast.index({0, losses}), plain.index({0, losses}), 1e-5, 1e-6))
      << fast << plain;
  // Later steps drift slowly: Adam moves every weight by about +-lr whatever its gradient's size,
  // so a weight whose gradient is at rounding level gets a random sign in either implementation
  // (measured: 1.6e-3 relative by step 4). Same trajectory, not a different one:
  EXPECT_TRUE(
      torch::allclose(fast.index({Slice(1), losses}), plain.index({Slice(1), losses}), 5e-3, 0))
      << fast << plain;
}

}  // namespace
