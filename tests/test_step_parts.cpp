// The training step's and `generate`'s parts, in-process and fast: the CUDA graph step's refusal,
// a NaN step, and the grid noise (class numbers and names, shared noise, interpolation). Whole
// training runs are in test_train.cpp (label training).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "acgan/commands/generate.h"
#include "acgan/error.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/cuda_graph_step.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

using acgan::TrainOptions;

namespace {

// The graph step's refusal names what stands in the way.
TEST(CudaGraphStepTest, NamesWhyAStepCannotBeCaptured) {
  TrainOptions options;
  acgan::TrainingState state(options, torch::kCPU);
  const auto why =
      acgan::CudaGraphStep::where_not_capturable(torch::kCPU, {}, *state.opt_g, *state.opt_d);
  EXPECT_TRUE(why.find("without CUDA graphs") != std::string::npos ||
              why.find("the run is on cpu") != std::string::npos)
      << why;
  const auto error = acgan::testing::error_of(
      [&] { acgan::CudaGraphStep step(*state.g, *state.d, *state.opt_g, *state.opt_d, {}, {}); });
  EXPECT_EQ(error, "--cuda_graphs: " + why);
}

// D gone NaN: the step returns NaN losses for the divergence check to report (with the checkpoint
// kept), instead of failing inside BCE on a probability out of [0, 1], which on CUDA is a
// device-side assert that kills the process.
TEST(TrainStepTest, NaNWeightsGiveNaNLossesNotAnError) {
  TrainOptions o;
  torch::manual_seed(8);
  acgan::TrainingState state(o, torch::kCPU);
  {
    torch::NoGradGuard no_grad;
    state.d->named_parameters()["fc_source.0.weight"].fill_(NAN);
  }
  torch::Tensor stats;
  ASSERT_NO_THROW(stats = acgan::testing::steps_on_random_batches(state, 1));
  EXPECT_TRUE(torch::isnan(stats[0][acgan::kLossDReal]).item<bool>()) << stats;
}

TEST(GenerateTest, ParsesClassNumbersAndNames) {
  EXPECT_EQ(acgan::parse_classes("0,3,9", acgan::cifar10_spec()), (std::vector<int64_t>{0, 3, 9}));
  EXPECT_EQ(acgan::parse_classes("cat,dog,1", acgan::cifar10_spec()),
            (std::vector<int64_t>{3, 5, 1}));
  EXPECT_EQ(acgan::parse_classes("", acgan::cifar10_spec()).size(), 10u);
  for (const char* bad : {"10", "cats", "1,,2"})
    acgan::testing::expect_error<acgan::UsageError>(
        [&] { acgan::parse_classes(bad, acgan::cifar10_spec()); },
        {"--classes: expected class numbers 0..9"});
}

TEST(GenerateTest, SameNoiseSharesEachColumnAcrossClassRows) {
  torch::manual_seed(1);
  const auto [z, c] = acgan::grid_noise({2, 7, 9}, 4, 20, /*same_noise=*/true, false);  // (12, 20)
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{12, 20}));
  const auto noise = z.view({3, 4, 20});
  EXPECT_TRUE(torch::equal(noise[0], noise[1]));
  EXPECT_TRUE(torch::equal(noise[0], noise[2]));
  EXPECT_FALSE(torch::equal(noise[0][0], noise[0][1])) << "columns differ";
  EXPECT_TRUE(torch::equal(c, torch::tensor({2, 2, 2, 2, 7, 7, 7, 7, 9, 9, 9, 9})));
  // The default draws are those of before the modes: make_noise_for on the repeated classes.
  torch::manual_seed(1);
  const auto plain = acgan::grid_noise({2, 7}, 3, 20, false, false).z;
  torch::manual_seed(1);
  const auto before = acgan::make_noise_for(torch::tensor({2, 2, 2, 7, 7, 7}), 20).z;
  EXPECT_TRUE(torch::equal(plain, before));
}

TEST(GenerateTest, InterpolateWalksLinearlyBetweenTwoDraws) {
  torch::manual_seed(2);
  const auto z = acgan::grid_noise({0, 1}, 5, 16, false, /*interpolate=*/true).z.view({2, 5, 16});
  for (int64_t row = 0; row < 2; ++row) {
    const auto a = z[row][0].narrow(0, 10, 6), b = z[row][4].narrow(0, 10, 6);
    EXPECT_FALSE(torch::allclose(a, b));
    for (int64_t j = 0; j < 5; ++j) {
      // z_j = a + (b - a) j / 4, up to float32 rounding.
      EXPECT_TRUE(torch::allclose(z[row][j].narrow(0, 10, 6), a + (b - a) * (j / 4.0), 0, 1e-6))
          << row << " " << j;
    }
  }
  EXPECT_FALSE(torch::allclose(z[0][0].narrow(0, 10, 6), z[1][0].narrow(0, 10, 6)))
      << "each row its own walk";
  const auto shared = acgan::grid_noise({0, 1}, 5, 16, true, true).z.view({2, 5, 16});
  EXPECT_TRUE(torch::equal(shared[0].narrow(1, 10, 6), shared[1].narrow(1, 10, 6)));
}

}  // namespace
