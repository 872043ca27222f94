// The training options against ACGAN's failure modes (train_options.h): each against its
// definition computed by hand, the defaults unchanged (the golden trajectory in test_golden.cpp
// runs them), and a resume with every option on bit-exact.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "acgan/data/diff_augment.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/generator_ema.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_step.h"
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
  const auto noise = make_noise(8, kDefaultNz, kOriginalClasses, torch::kCPU);
  // The class term D's fake loss holds by default, computed outside the step on the same
  // networks (train mode: batch statistics, so the order of forwards does not matter).
  auto reference = fresh_state(1);
  const auto fake = reference.g->forward(noise.z, noise.c).detach();
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
  EXPECT_FALSE(torch::equal(with.d->named_parameters()["fc_class.0.weight"],
                            without.d->named_parameters()["fc_class.0.weight"]));
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

TEST(RecipeTest, ModSetsItsFlagsUnlessGiven) {
  TrainOptions o;
  o.recipe = "mod";
  o.loss = "bce";
  o.given = {"loss", "recipe"};
  apply_recipe(o);
  EXPECT_EQ(o.loss, "bce");  // given: kept
  EXPECT_EQ(o.d_class_loss_on_fakes, "off");
  EXPECT_EQ(o.spectral_norm, "both");
  EXPECT_EQ(o.g_ema, 0.999);
  TrainOptions original;
  apply_recipe(original);
  EXPECT_EQ(config_of(original), config_of(TrainOptions{}));
}

// ema after k updates, by its definition, in float64 from the same start.
TEST(GeneratorEmaTest, AverageAfterKStepsMatchesItsDefinition) {
  torch::manual_seed(4);
  Generator g(GeneratorOptions().nz(16));
  const double decay = 0.9;
  GeneratorEma ema(*g, decay);
  const auto name = std::string("conv2.0.weight");
  auto expected = g->named_parameters()[name].detach().to(torch::kDouble);
  for (int64_t step = 1; step <= 30; ++step) {
    torch::NoGradGuard no_grad;
    for (auto& p : g->parameters()) p.add_(torch::randn_like(p) * 0.1);
    ema.update(*g, step);
    const double d = std::min(decay, (1.0 + (step - 1)) / (10.0 + (step - 1)));
    EXPECT_EQ(ema.decay_at(step), d);
    expected = d * expected + (1 - d) * g->named_parameters()[name].detach().to(torch::kDouble);
  }
  // 30 float32 multiply-adds against float64: a few ulps of |w| ~ 0.1 each.
  const auto got = ema.generator()->named_parameters()[name].to(torch::kDouble);
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-6);
  // Buffers are copied, not averaged.
  EXPECT_TRUE(torch::equal(ema.generator()->named_buffers()["conv1.1.running_var"],
                           g->named_buffers()["conv1.1.running_var"]));
}

// Building the average draws nothing from the global generator, so a run with --g_ema trains
// exactly as one without.
TEST(GeneratorEmaTest, BuildingItLeavesTheRandomStreamAlone) {
  Generator g(GeneratorOptions().nz(16).spectral_norm(true));
  torch::manual_seed(5);
  const auto without = torch::randn({4});
  torch::manual_seed(5);
  GeneratorEma ema(*g, 0.999);
  EXPECT_TRUE(torch::equal(torch::randn({4}), without));
  EXPECT_TRUE(torch::equal(ema.generator()->named_buffers()["fc1.weight_u"],
                           g->named_buffers()["fc1.weight_u"]));
}

// With the draws fixed (the same seed before each call) the augmentation is a differentiable
// function of x: autograd's gradient equals central differences, in float64.
TEST(DiffAugmentTest, GradientMatchesFiniteDifferences) {
  const auto policy = parse_diffaugment("color,translation,cutout");
  const auto x = torch::rand({3, 3, 32, 32}, torch::kDouble) * 2 - 1;
  const auto w = torch::randn({3, 3, 32, 32}, torch::kDouble);
  const auto f = [&](const torch::Tensor& input) {
    torch::manual_seed(6);
    return (diff_augment(input, policy) * w).sum();
  };
  auto leaf = x.clone().requires_grad_(true);
  f(leaf).backward();
  const auto grad = leaf.grad();
  EXPECT_GT(grad.abs().sum().item<double>(), 0);
  const double h = 1e-6;
  for (const int64_t flat : {0, 1000, 3071, 5000, 9215}) {
    auto plus = x.clone(), minus = x.clone();
    plus.view({-1})[flat] += h;
    minus.view({-1})[flat] -= h;
    const double numeric = (f(plus).item<double>() - f(minus).item<double>()) / (2 * h);
    // Central differences of a polynomial in float64: error ~ h^2 plus rounding ~ 1e-16 / h.
    EXPECT_NEAR(grad.view({-1})[flat].item<double>(), numeric, 1e-7) << flat;
  }
}

// Translation moves each image by one offset in [-4, 4] each way, filling with zeros; cutout zeroes
// one square of at most 16 x 16, at least 8 x 8 (its centre may sit on the edge).
TEST(DiffAugmentTest, TranslationShiftsAndCutoutMasks) {
  // Pixel values 1..N that name their position, so each output pixel says where it came from.
  const int64_t n = 8;
  const auto x = torch::arange(1, n * 32 * 32 + 1, torch::kDouble).view({n, 1, 32, 32});
  torch::manual_seed(7);
  const auto moved = diff_augment(x, parse_diffaugment("translation"));
  for (int64_t i = 0; i < n; ++i) {
    const auto image = moved[i][0];
    const auto kept = image.nonzero();  // (K, 2): output positions with a source pixel
    ASSERT_GT(kept.size(0), 0);
    const auto source = (image.index({kept.select(1, 0), kept.select(1, 1)}).to(torch::kLong) - 1)
                            .remainder(32 * 32);
    const auto dy = source.div(32, "floor") - kept.select(1, 0);
    const auto dx = source.remainder(32) - kept.select(1, 1);
    EXPECT_EQ(dy.min().item<int64_t>(), dy.max().item<int64_t>()) << i;
    EXPECT_EQ(dx.min().item<int64_t>(), dx.max().item<int64_t>()) << i;
    EXPECT_LE(dy.abs().max().item<int64_t>(), 4);
    EXPECT_LE(dx.abs().max().item<int64_t>(), 4);
    const int64_t visible =
        (32 - dy.abs().max().item<int64_t>()) * (32 - dx.abs().max().item<int64_t>());
    EXPECT_EQ(kept.size(0), visible) << i;
  }
  const auto ones = torch::ones({64, 3, 32, 32});
  const auto cut = diff_augment(ones, parse_diffaugment("cutout"));
  for (int64_t i = 0; i < 64; ++i) {
    const auto zeros = cut[i][0].eq(0).nonzero();
    const int64_t rows =
        zeros.select(1, 0).max().item<int64_t>() - zeros.select(1, 0).min().item<int64_t>() + 1;
    const int64_t cols =
        zeros.select(1, 1).max().item<int64_t>() - zeros.select(1, 1).min().item<int64_t>() + 1;
    EXPECT_EQ(zeros.size(0), rows * cols) << i << ": not a rectangle";
    EXPECT_TRUE(rows >= 8 && rows <= 16 && cols >= 8 && cols <= 16) << rows << "x" << cols;
    EXPECT_TRUE(torch::equal(cut[i][0], cut[i][2])) << "one mask for all channels";
  }
}

TEST(DiffAugmentTest, EmptyPolicyIsTheIdentity) {
  const auto x = torch::rand({2, 3, 32, 32});
  EXPECT_TRUE(diff_augment(x, parse_diffaugment("none")).is_same(x));
  EXPECT_FALSE(parse_diffaugment("").any());
  testing::expect_error<UsageError>(
      [] { parse_diffaugment("color,blur"); },
      {"--diffaugment: expected none or a comma-separated list", "got 'color,blur'"});
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
            "0.99",
            "--spectral_norm",
            "both",
            "--g_ema",
            "0.9",
            "--diffaugment",
            "color,translation,cutout"};
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
  EXPECT_EQ(read_file(dir / "straight/gen_ema.pt"), read_file(dir / "stopped/gen_ema.pt"));
  // generate samples the weight average, and says so.
  const auto generated = testing::run_acgan(
      {"generate", "--checkpoint", dir / "stopped/checkpoint.pt", "--out", dir / "g.png"});
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  EXPECT_NE(generated.output.find("using G's weight average"), std::string::npos)
      << generated.output;
  // gen_ema.pt alone is a spectrally normalised G's state dict: generate builds that network.
  const auto from_dict = testing::run_acgan(
      {"generate", "--checkpoint", dir / "stopped/gen_ema.pt", "--out", dir / "e.png"});
  ASSERT_EQ(from_dict.exit_code, 0) << from_dict.output;
  EXPECT_EQ(read_file(dir / "g.png"), read_file(dir / "e.png"));
  // An export's gen.pt is the average too, with G's own weights beside it.
  ASSERT_EQ(testing::run_acgan(
                {"export", "--checkpoint", dir / "stopped/checkpoint.pt", "--out", dir / "export"})
                .exit_code,
            0);
  const auto exported = load_tensor_dict_file(dir / "export/gen.pt");
  const auto average = load_tensor_dict_file(dir / "stopped/gen_ema.pt");
  const auto raw = load_tensor_dict_file(dir / "export/gen_raw.pt");
  const auto own = load_tensor_dict_file(dir / "stopped/gen.pt");
  for (const auto& item : average) {
    EXPECT_TRUE(torch::equal(exported.at(item.key()).toTensor(), item.value().toTensor()));
    EXPECT_TRUE(torch::equal(raw.at(item.key()).toTensor(), own.at(item.key()).toTensor()));
  }
  EXPECT_NE(read_file(dir / "export/metadata.json").find("G's weight average"), std::string::npos);
}

// The recipe's spectral norm, weight average and DiffAugment under bf16 autocast: a run completes
// with finite losses (the power iteration stays in float32).
TEST_F(RecipeCliTest, ModWithDiffAugmentRunsInBf16) {
  testing::TempDir dir;
  const auto r =
      testing::run_acgan({"--root_dir", data_dir(), "--outdir", dir / "bf16", "--batch_size", "25",
                          "--num_workers", "0", "--num_epochs", "1", "--recipe", "mod",
                          "--diffaugment", "translation,cutout", "--precision", "bf16"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto metrics = read_file(dir / "bf16/metrics.csv");
  EXPECT_EQ(metrics.find("nan"), std::string::npos) << metrics;
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 1 + 4) << "a header and 4 steps";
}

// A --recipe is kept in the checkpoint: a resume continues it, and another recipe is refused.
TEST_F(RecipeCliTest, RecipeModIsKeptOnResume) {
  testing::TempDir dir;
  const std::vector<std::string> base = {"--root_dir",   data_dir(), "--outdir",      dir / "run",
                                         "--batch_size", "50",       "--num_workers", "0"};
  auto first = base;
  first.insert(first.end(), {"--recipe", "mod", "--num_epochs", "1"});
  const auto started = testing::run_acgan(first);
  ASSERT_EQ(started.exit_code, 0) << started.output;
  EXPECT_NE(started.output.find("recipe mod | spectral norm both | G's weight average decay 0.999"),
            std::string::npos)
      << started.output;
  auto resume = base;
  resume.insert(resume.end(), {"--num_epochs", "2", "--resume"});
  const auto resumed = testing::run_acgan(resume);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("losses: hinge, D's class loss on fakes off"), std::string::npos)
      << resumed.output;
  resume.insert(resume.end(), {"--recipe", "original", "--num_epochs", "3"});
  testing::expect_one_line_error(testing::run_acgan(resume), kExitUsage,
                                 "--recipe original contradicts the checkpoint", "recipe");
}

// DiffAugment is for D's eyes only: the epoch's grid is G (in eval mode) on the fixed noise,
// exactly.
TEST_F(RecipeCliTest, DiffAugmentIsOffAtSampling) {
  testing::TempDir dir;
  const auto r = testing::run_acgan({"--root_dir", data_dir(), "--outdir", dir / "run",
                                     "--batch_size", "25", "--num_workers", "0", "--num_epochs",
                                     "1", "--diffaugment", "color,translation,cutout"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  TrainOptions options;
  TrainingState state(options, torch::kCPU);
  load_checkpoint(dir / "run/checkpoint.pt", state);
  state.g->eval();
  torch::NoGradGuard no_grad;
  save_grid_png(dir / "expected.png", state.g->forward(state.grid_z, state.grid_c),
                kOriginalClasses);
  EXPECT_EQ(read_file(dir / "expected.png"), read_file(dir / "run/images/epoch_001.png"));
}

// The weight average changes nothing in the training: G's weights equal a run without it.
TEST_F(RecipeCliTest, WeightAverageLeavesTheTrainingAlone) {
  testing::TempDir dir;
  const auto run = [&](const std::string& outdir, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--root_dir",   data_dir(), "--outdir",      dir / outdir,
                                  "--batch_size", "20",       "--num_workers", "0",
                                  "--seed",       "3",        "--num_epochs",  "1"};
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = testing::run_acgan(a);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  };
  run("plain", {});
  run("ema", {"--g_ema", "0.99"});
  EXPECT_EQ(read_file(dir / "plain/gen.pt"), read_file(dir / "ema/gen.pt"));
  EXPECT_NE(read_file(dir / "ema/gen.pt"), read_file(dir / "ema/gen_ema.pt"));
  // The grids are the average's: they differ from the plain run's.
  EXPECT_NE(read_file(dir / "plain/images/epoch_001.png"),
            read_file(dir / "ema/images/epoch_001.png"));
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
      {{"--spectral_norm", "g"}, "--spectral_norm: expected none, d or both"},
      {{"--g_ema", "1"}, "--g_ema: expected 0 (none) or a decay in (0, 1)"},
      {{"--diffaugment", "blur"}, "--diffaugment: expected none or a comma-separated list"},
      {{"--recipe", "best"}, "--recipe: expected original or mod"},
  };
  for (const auto& [flags, needle] : cases) {
    auto a = args(dir / "out");
    a.insert(a.end(), flags.begin(), flags.end());
    testing::expect_one_line_error(testing::run_acgan(a), kExitUsage, needle, flags[0]);
  }
}

}  // namespace
}  // namespace acgan
