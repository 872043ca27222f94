// --cond (models/conditioning.h, training/class_losses.h): each class term against its value
// computed by hand on fixed logits (float64), the heads each family's D gets, the gradients going
// where the references send them (TAC's class head learns nothing from generated images, its twin
// does; ADC's one head learns from both), the options' refusals, and a run with each cond resumed
// bit for bit.
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cmath>

#include "acgan/commands/train.h"
#include "acgan/error.h"
#include "acgan/models/conditioning.h"
#include "acgan/models/models.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/class_losses.h"
#include "acgan/training/train_options.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace acgan {
namespace {

const double kLn3 = std::log(3.0);

torch::Tensor logits(std::vector<std::vector<double>> rows) {
  std::vector<torch::Tensor> out;
  for (const auto& row : rows) out.push_back(torch::tensor(row, torch::kDouble));
  return torch::stack(out);
}

torch::Tensor labels(std::vector<int64_t> values) { return torch::tensor(values, torch::kLong); }

double value(const torch::Tensor& t) { return t.item<double>(); }

// D's output with these class (and twin) logits; the source logit plays no part in a class term.
DiscriminatorOutput output(const torch::Tensor& class_logits, const torch::Tensor& twin = {}) {
  DiscriminatorOutput out;
  out.source_logit = torch::zeros({class_logits.size(0)}, torch::kDouble);
  out.class_logits = class_logits;
  out.twin_logits = twin;
  return out;
}

// CE on logits (0, ln 3): ln(4/3) for the class at ln 3, ln 4 for the other.
TEST(ClassLossTest, AcIsTheOriginalsCrossEntropy) {
  const auto out = output(logits({{0, kLn3}}));
  EXPECT_NEAR(value(d_real_class_loss(out, labels({1}), Conditioning::kAc)), std::log(4.0 / 3),
              1e-12);
  EXPECT_NEAR(value(d_fake_class_loss(out, labels({0}), Conditioning::kAc, true)), std::log(4.0),
              1e-12);
  EXPECT_FALSE(d_fake_class_loss(out, labels({0}), Conditioning::kAc, false).defined());
  EXPECT_NEAR(value(g_class_loss(out, labels({1}), Conditioning::kAc)), std::log(4.0 / 3), 1e-12);
}

TEST(ClassLossTest, TacTrainsTheTwinOnGeneratedImagesAndGAgainstIt) {
  // D: the class head on the real image, the twin on the generated one: ln(4/3) each.
  const auto real = output(logits({{0, kLn3}}));
  const auto fake = output(logits({{0, 0}}), logits({{kLn3, 0}}));
  EXPECT_NEAR(value(d_real_class_loss(real, labels({1}), Conditioning::kTac)) +
                  value(d_fake_class_loss(fake, labels({0}), Conditioning::kTac, false)),
              2 * std::log(4.0 / 3), 1e-12);
  // G: CE(class head) - CE(twin) = ln 2 - ln(4/3) = ln 1.5.
  EXPECT_NEAR(value(g_class_loss(fake, labels({0}), Conditioning::kTac)), std::log(1.5), 1e-12);
}

TEST(ClassLossTest, AdcUsesTheRealAndGeneratedColumnsOfOneHead) {
  // K = 2, columns (real 0, fake 0, real 1, fake 1). Softmax of (ln 3, 0, 0, 0) is (1/2, 1/6 ...).
  const auto real = output(logits({{kLn3, 0, 0, 0}}));
  const auto fake = output(logits({{0, 0, 0, kLn3}}));
  EXPECT_NEAR(value(d_real_class_loss(real, labels({0}), Conditioning::kAdc)), std::log(2.0),
              1e-12);
  EXPECT_NEAR(value(d_fake_class_loss(fake, labels({1}), Conditioning::kAdc, false)), std::log(2.0),
              1e-12);
  // G: CE(2c) - CE(2c + 1) = mean(l_2c+1 - l_2c), the log-sum-exps cancel: (1 + 1.5) / 2.
  const auto g = output(logits({{0, 1, .5, 2}, {0, 1, .5, 2}}));
  EXPECT_NEAR(value(g_class_loss(g, labels({0, 1}), Conditioning::kAdc)), 1.25, 1e-12);
  // D's class: the pair of columns with the most probability, ln 4 against ln 2 -> 0.
  EXPECT_EQ(class_choice(logits({{kLn3, 0, 0, 0}, {0, 0, 1, 1}}), Conditioning::kAdc)
                .equal(labels({0, 1})),
            true);
}

TEST(ClassLossTest, NamesAndWeights) {
  EXPECT_EQ(parse_conditioning("tac"), Conditioning::kTac);
  EXPECT_EQ(conditioning_name(Conditioning::kAdc), "adc");
  testing::expect_error<UsageError>([] { parse_conditioning("AC"); },
                                    {"--cond: expected ac, tac or adc, got AC"});
  EXPECT_EQ(class_weight(Conditioning::kTac, 0), 1.0);
  EXPECT_EQ(class_weight(Conditioning::kAc, 0.3), 0.3);
  EXPECT_EQ(class_head_width(Conditioning::kAdc, 10), 20);
}

// Every family's D gets the cond's heads; ac's keys are the family's own.
TEST(ConditioningModelsTest, EveryFamilyHasTheCondsHeads) {
  struct Family {
    Arch arch;
    int64_t channels, side;
  };
  for (const auto& f : {Family{Arch::kCifar, 3, 32}, Family{Arch::kMlp, 1, 28},
                        Family{Arch::kImagenet128, 3, 128}}) {
    SCOPED_TRACE(arch_name(f.arch));
    const auto options =
        DiscriminatorOptions().arch(f.arch).channels(f.channels).image_side(f.side).num_classes(4);
    Discriminator ac(options), tac(DiscriminatorOptions(options).cond(Conditioning::kTac)),
        adc(DiscriminatorOptions(options).cond(Conditioning::kAdc));
    const auto x = torch::rand({2, f.channels, f.side, f.side}) * 2 - 1;
    const auto a = ac->forward(x), t = tac->forward(x), d = adc->forward(x);
    EXPECT_EQ(a.class_logits.sizes(), torch::IntArrayRef({2, 4}));
    EXPECT_FALSE(a.twin_logits.defined());
    EXPECT_EQ(t.twin_logits.sizes(), torch::IntArrayRef({2, 4}));
    EXPECT_EQ(d.class_logits.sizes(), torch::IntArrayRef({2, 8}));
    const auto keys = [](const Discriminator& net) {
      std::vector<std::string> out;
      for (const auto& item : net->named_parameters()) out.push_back(item.key());
      return out;
    };
    auto with_twin = keys(ac);
    with_twin.insert(with_twin.end(), {"fc_twin.weight", "fc_twin.bias"});
    EXPECT_EQ(keys(tac), with_twin);
    EXPECT_EQ(keys(adc), keys(ac));
  }
  Discriminator sn(DiscriminatorOptions().cond(Conditioning::kTac).spectral_norm(true));
  EXPECT_TRUE(sn->named_parameters().contains("fc_twin.weight_orig"));
}

// The gradient of D's class term on generated images, per head: which heads learn from them.
std::map<std::string, double> fake_term_gradients(Conditioning cond) {
  torch::manual_seed(1);
  Discriminator d(DiscriminatorOptions().dropout(0).cond(cond));
  const auto fake = torch::rand({4, 3, 32, 32}) * 2 - 1;
  d_fake_class_loss(d->forward(fake), labels({0, 3, 5, 9}), cond, true).backward();
  std::map<std::string, double> norms;
  for (const auto& item : d->named_parameters()) {
    const auto head = item.key().substr(0, item.key().find('.'));
    if (item.value().grad().defined()) norms[head] += item.value().grad().norm().item<double>();
  }
  return norms;
}

TEST(ConditioningStepTest, GradientsGoWhereTheReferencesSendThem) {
  const auto tac = fake_term_gradients(Conditioning::kTac);
  EXPECT_EQ(tac.count("fc_class") ? tac.at("fc_class") : 0.0, 0.0) << "TAC's C sees real only";
  EXPECT_GT(tac.at("fc_twin"), 0);
  EXPECT_GT(tac.at("conv6"), 0);  // the shared trunk learns from the twin's term
  EXPECT_GT(fake_term_gradients(Conditioning::kAdc).at("fc_class"), 0);
  EXPECT_GT(fake_term_gradients(Conditioning::kAc).at("fc_class"), 0);
}

TEST(ConditioningStepTest, OptionsAreCheckedAndKeptOnResume) {
  TrainOptions o;
  o.cond = "tac";
  o.d_class_loss_on_fakes = "off";
  o.given = {"cond", "d_class_loss_on_fakes"};
  testing::expect_error<UsageError>(
      [&] { validate(o); }, {"--d_class_loss_on_fakes: expected not given with --cond tac"});
  o.given = {"cond"};
  o.cond_lambda = -1;
  testing::expect_error<UsageError>([&] { validate(o); }, {"--cond_lambda: expected 0"});
  EXPECT_EQ(find_train_option("cond")->on_resume, OnResume::kFixed);
}

// The step sends each term to its cond's loss with --cond_lambda's weight: against the same terms
// computed outside the step on the same networks (dropout off; train mode: batch statistics, so the
// order of forward passes does not matter), a weight of 0.5 takes half of each class term off.
TEST(ConditioningStepTest, TheStepAddsEachCondsTermsWithTheirWeight) {
  const auto x = torch::rand({6, 3, 32, 32}) * 2 - 1;
  const auto y = torch::arange(6, torch::kLong).remainder(10);
  torch::manual_seed(3);
  const auto noise = make_noise(6, kDefaultNz, kOriginalClasses, torch::kCPU);
  for (const auto cond : {Conditioning::kTac, Conditioning::kAdc}) {
    SCOPED_TRACE(conditioning_name(cond));
    const auto state = [&] {
      TrainOptions o;
      o.dropout = 0;
      o.cond = conditioning_name(cond);
      torch::manual_seed(1);
      return TrainingState(o, torch::kCPU);
    };
    auto reference = state();
    const auto fake = reference.g->forward(noise.z, noise.c).detach();
    const double real_term = value(d_real_class_loss(reference.d->forward(x), y, cond));
    const double fake_term =
        value(d_fake_class_loss(reference.d->forward(fake), noise.c, cond, true));
    auto full = state(), half = state();
    StepOptions one, weighted;
    one.cond = weighted.cond = cond;
    weighted.class_weight = 0.5;
    const auto a = train_step(*full.g, *full.d, *full.opt_g, *full.opt_d, x, y, noise, one);
    const auto b = train_step(*half.g, *half.d, *half.opt_g, *half.opt_d, x, y, noise, weighted);
    EXPECT_NEAR(value(a[kLossDReal] - b[kLossDReal]), 0.5 * real_term, 1e-5);
    EXPECT_NEAR(value(a[kLossDFake] - b[kLossDFake]), 0.5 * fake_term, 1e-5);
    // The heads D trains on generated images moved (in D's optimizer).
    const auto head = cond == Conditioning::kTac ? "fc_twin.weight" : "fc_class.0.weight";
    EXPECT_FALSE(
        torch::equal(full.d->named_parameters()[head], reference.d->named_parameters()[head]));
  }
}

class ConditioningTrainingTest : public testing::SyntheticCifarTest<4> {  // 20 images
 protected:
  static TrainOptions options(const std::string& cond) {
    TrainOptions o;
    o.root_dir = data_dir();
    o.cond = cond;
    o.given = {"cond"};
    o.batch_size = 10;
    o.num_epochs = 1;
    o.seed = 4;
    o.threads = 2;
    o.num_workers = 0;
    return o;
  }
};

TEST_F(ConditioningTrainingTest, EachCondTrainsAndResumesBitForBit) {
  for (const auto* cond : {"tac", "adc"}) {
    SCOPED_TRACE(cond);
    testing::TempDir out;
    auto o = options(cond);
    o.outdir = out.path();
    ASSERT_EQ(train(o), 0);
    EXPECT_EQ(read_checkpoint_config(out / "checkpoint.pt").at("cond"), cond);
    torch::serialize::InputArchive archive;
    archive.load_from(out / "checkpoint.pt");
    c10::IValue version;
    archive.read("format_version", version);
    EXPECT_EQ(version.toInt(), 3) << "a release without --cond must refuse it by its version";
    // A resume with another cond is refused, the checkpoint untouched.
    auto other = options("ac");
    other.outdir = out.path();
    other.resume = true;
    other.num_epochs = 2;
    testing::expect_error<UsageError>([&] { train(other); }, {"--cond"});
    testing::expect_resume_is_exact(options(cond));
  }
}

}  // namespace
}  // namespace acgan
