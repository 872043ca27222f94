// The training options against ACGAN's failure modes (train_options.h): each against its
// definition computed by hand, the defaults unchanged (the golden trajectory in test_golden.cpp
// runs them), and a resume with every option on bit-exact.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "acgan/atomic_file.h"
#include "acgan/checkpoint.h"
#include "acgan/error.h"
#include "acgan/train_step.h"
#include "test_support.h"

namespace acgan {
namespace {

TEST(SourceLossTest, HingeMatchesItsDefinition) {
  // logits -2, 0.5, 3: relu(1 - l) = 3, 0.5, 0; relu(1 + l) = 0, 1.5, 4; -mean(l) = -0.5.
  const auto logit = torch::tensor({-2.0f, 0.5f, 3.0f});
  EXPECT_FLOAT_EQ(source_loss(logit, SourceTerm::kDReal, SourceLoss::kHinge).item<float>(),
                  3.5f / 3);
  EXPECT_FLOAT_EQ(source_loss(logit, SourceTerm::kDFake, SourceLoss::kHinge).item<float>(),
                  5.5f / 3);
  EXPECT_FLOAT_EQ(source_loss(logit, SourceTerm::kG, SourceLoss::kHinge).item<float>(), -0.5f);
}

TEST(SourceLossTest, LabelSmoothingMovesOnlyTheRealTarget) {
  // BCE(l, t) = -(t log sigmoid(l) + (1 - t) log(1 - sigmoid(l))), here l = 2 and t = 0.9.
  const double l = 2, p = 1 / (1 + std::exp(-l));
  const double expected = -(0.9 * std::log(p) + 0.1 * std::log(1 - p));
  const auto logit = torch::full({4}, 2.0f);
  EXPECT_NEAR(source_loss(logit, SourceTerm::kDReal, SourceLoss::kBce, 0.1).item<float>(), expected,
              1e-6);
  // The fake target stays 0 and G's stays 1.
  EXPECT_NEAR(source_loss(logit, SourceTerm::kDFake, SourceLoss::kBce, 0.1).item<float>(),
              -std::log(1 - p), 1e-6);
  EXPECT_NEAR(source_loss(logit, SourceTerm::kG, SourceLoss::kBce, 0.1).item<float>(), -std::log(p),
              1e-6);
}

// A state whose step is deterministic given the default generator: no dropout.
TrainingState fresh_state(uint64_t seed) {
  TrainOptions o;
  o.dropout = 0;
  torch::manual_seed(seed);
  return TrainingState(o, torch::kCPU);
}

TEST(RecipeTest, NoClassLossOnFakesDropsExactlyTheClassTerm) {
  const auto x = torch::rand({8, 3, 32, 32}, torch::kFloat32) * 2 - 1;
  const auto y = torch::arange(8, torch::kLong).remainder(10);
  torch::manual_seed(3);
  const auto noise = make_noise(8, kDefaultNz, torch::kCPU);
  // The class term D's fake loss holds by default, computed outside the step on the same
  // networks (train mode: batch statistics, so the order of forwards does not matter).
  auto reference = fresh_state(1);
  const auto fake = reference.g->forward(noise.z).detach();
  const double class_term =
      torch::nn::functional::cross_entropy(reference.d->forward(fake).class_logits, noise.c)
          .item<double>();
  auto with = fresh_state(1), without = fresh_state(1);
  StepOptions off;
  off.d_class_loss_on_fakes = false;
  const auto a = train_step(*with.g, *with.d, *with.opt_g, *with.opt_d, x, y, noise, {});
  const auto b =
      train_step(*without.g, *without.d, *without.opt_g, *without.opt_d, x, y, noise, off);
  EXPECT_EQ(a[kLossDReal].item<float>(), b[kLossDReal].item<float>());
  EXPECT_NEAR(a[kLossDFake].item<double>() - b[kLossDFake].item<double>(), class_term, 1e-5);
  // D's class head then learns from real images only: its weights differ after the step.
  EXPECT_FALSE(
      torch::equal(with.d->fc_class->parameters()[0], without.d->fc_class->parameters()[0]));
}

TEST(RecipeTest, EachNetworkGetsItsLearningRateAndBeta2) {
  TrainOptions o;
  o.lr_g = 1e-3;
  o.lr_d = 4e-4;
  o.beta2 = 0.99;
  TrainingState state(o, torch::kCPU);
  const auto& g = static_cast<torch::optim::AdamOptions&>(state.opt_g->param_groups()[0].options());
  const auto& d = static_cast<torch::optim::AdamOptions&>(state.opt_d->param_groups()[0].options());
  EXPECT_EQ(g.lr(), 1e-3);
  EXPECT_EQ(d.lr(), 4e-4);
  EXPECT_EQ(std::get<0>(g.betas()), 0.5);
  EXPECT_EQ(std::get<1>(g.betas()), 0.99);
  EXPECT_EQ(std::get<1>(d.betas()), 0.99);
  TrainOptions defaults;
  TrainingState plain(defaults, torch::kCPU);
  const auto& p = static_cast<torch::optim::AdamOptions&>(plain.opt_g->param_groups()[0].options());
  EXPECT_EQ(p.lr(), 0.0002);
  EXPECT_EQ(std::get<1>(p.betas()), 0.999);
}

class RecipeCliTest : public testing::SyntheticCifarTest<20> {
 protected:
  std::vector<std::string> args(const std::string& outdir) {
    return {"--root_dir",
            data_dir(),
            "--outdir",
            outdir,
            "--batch_size",
            "20",
            "--seed",
            "7",
            "--num_workers",
            "0",
            "--loss",
            "hinge",
            "--d_class_loss_on_fakes",
            "off",
            "--lr_g",
            "0.0004",
            "--lr_d",
            "0.0001",
            "--beta2",
            "0.99"};
  }
};

// Every option on: stopped after epoch 1 and resumed (the options taken from the checkpoint),
// the weights equal a run that was never stopped, bit for bit.
TEST_F(RecipeCliTest, ResumeWithEveryOptionOnIsBitExact) {
  testing::TempDir dir;
  auto straight = args(dir / "straight");
  straight.insert(straight.end(), {"--num_epochs", "2"});
  ASSERT_EQ(testing::run_acgan(straight).exit_code, 0);
  auto first = args(dir / "stopped");
  first.insert(first.end(), {"--num_epochs", "1"});
  ASSERT_EQ(testing::run_acgan(first).exit_code, 0);
  const auto resumed = testing::run_acgan({"--root_dir", data_dir(), "--outdir", dir / "stopped",
                                           "--num_workers", "0", "--num_epochs", "2", "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("losses: hinge, D's class loss on fakes off"), std::string::npos)
      << resumed.output;
  EXPECT_EQ(read_file(dir / "straight/gen.pt"), read_file(dir / "stopped/gen.pt"));
  EXPECT_EQ(read_file(dir / "straight/disc.pt"), read_file(dir / "stopped/disc.pt"));
}

TEST_F(RecipeCliTest, BadValuesGetOneLineEach) {
  testing::TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--loss", "mse"}, "--loss: expected bce or hinge"},
      {{"--label_smoothing", "1"}, "--label_smoothing: expected a number in [0, 1)"},
      {{"--label_smoothing", "0.1"}, "--label_smoothing: expected 0 with --loss hinge"},
      {{"--d_class_loss_on_fakes", "maybe"}, "--d_class_loss_on_fakes: expected on or off"},
      {{"--lr_g", "-1"}, "--lr_g"},
      {{"--beta2", "1"}, "--beta2"},
  };
  for (const auto& [flags, needle] : cases) {
    auto a = args(dir / "out");
    a.insert(a.end(), flags.begin(), flags.end());
    testing::expect_one_line_error(testing::run_acgan(a), kExitUsage, needle, flags[0]);
  }
}

}  // namespace
}  // namespace acgan
