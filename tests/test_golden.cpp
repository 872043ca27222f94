// Our networks and our training step against PyTorch 1.13.1 running the original script's networks
// on the same weights and inputs (../shared/golden, see its README), number for number.
//
// Tolerances: outputs and losses are float32 computations of the same kernels in a possibly
// different order, so they agree to ~1e-5 relative. Gradients pass through more reductions, and
// G's transposed convolutions run on oneDNN (fast_ops.h), summing in another order than PyTorch's
// slow_conv_transpose2d: 1e-4 relative, plus 1e-5 of the tensor's largest magnitude for elements
// near zero (measured: 4.7e-7 absolute on D conv1's gradient, whose largest element is ~0.1).
// Post-Adam weights: Adam's first step moves each weight by ~lr * g / (|g| + eps), i.e. by about lr
// whatever |g|, so a weight whose gradient is within rounding of zero may move by anything in
// [-lr, lr]. Two cases follow:
//  - Conv biases that feed a BatchNorm (G conv1-3, D conv2-6) have a mathematically zero gradient
//    (BatchNorm subtracts the channel mean), so theirs is rounding noise in both implementations
//    and their step is +-lr at random. We assert the gradient is ~0, each moved by at most lr, and
//    the running_mean that sees them in the G step's D pass differs by at most momentum * 2 lr.
//  - Every other weight: atol 2e-6 (1 % of lr); a few in 100,000, whose gradient is near zero,
//    may differ by up to 2 lr (measured: at most 11 of 1.18 M, by 1.8e-5; 3 of 295 k).
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fstream>
#include <set>
#include <sstream>

#include "acgan/models.h"
#include "acgan/state_dict.h"
#include "acgan/train_step.h"
#include "test_support.h"

namespace {

class GoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto path = acgan::testing::golden_path();
    if (path.empty()) return;
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    golden_ = new c10::impl::GenericDict(torch::pickle_load(bytes).toGenericDict());
  }
  static void TearDownTestSuite() {
    delete golden_;
    golden_ = nullptr;
  }
  void SetUp() override {
    if (!golden_) GTEST_SKIP() << "../shared/golden/golden.pt not found: golden checks not run";
    torch::set_num_threads(1);  // as the reference was made
  }
  void TearDown() override { torch::set_num_threads(2); }

  static torch::Tensor at(const std::string& key) {
    auto it = golden_->find(key);
    if (it == golden_->end()) throw std::runtime_error("golden.pt lacks " + key);
    return it->value().toTensor();
  }

  static acgan::Generator generator() {
    acgan::Generator g(110);
    acgan::load_state_dict(*g, *golden_, "golden.pt", "init.G.");
    return g;
  }
  static acgan::Discriminator discriminator(double dropout) {
    acgan::Discriminator d(acgan::DiscriminatorOptions().dropout(dropout));
    acgan::load_state_dict(*d, *golden_, "golden.pt", "init.D.");
    return d;
  }

  static c10::impl::GenericDict* golden_;
};
c10::impl::GenericDict* GoldenTest::golden_ = nullptr;

void expect_close(const torch::Tensor& ours, const torch::Tensor& ref, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(ours.sizes(), ref.sizes()) << what;
  const auto diff = (ours.to(torch::kDouble) - ref.to(torch::kDouble)).abs();
  const auto bound = atol + rtol * ref.to(torch::kDouble).abs();
  const auto bad = (diff > bound).sum().item<int64_t>();
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << ref.numel()
                    << " elements out of tolerance; max abs diff " << diff.max().item<double>();
}

TEST_F(GoldenTest, GeneratorEvalAndTrainOutputs) {
  auto g = generator();
  torch::NoGradGuard no_grad;
  g->eval();
  expect_close(g->forward(at("in.z")), at("out.G_eval"), 1e-5, 1e-6, "G eval");
  g->train();
  expect_close(g->forward(at("in.z")), at("out.G_train"), 1e-5, 1e-6, "G train");
}

TEST_F(GoldenTest, DiscriminatorEvalOutputs) {
  auto d = discriminator(0.5);
  torch::NoGradGuard no_grad;
  d->eval();
  auto [source, logits] = d->forward(at("in.x"));
  expect_close(source, at("out.D_eval_src"), 1e-5, 1e-6, "D source");
  expect_close(logits, at("out.D_eval_cls"), 1e-5, 1e-6, "D class logits");
}

TEST_F(GoldenTest, OneTrainingStepMatchesPyTorch) {
  auto g = generator();
  auto d = discriminator(0.0);
  g->train();
  d->train();
  auto adam = torch::optim::AdamOptions(2e-4).betas({0.5, 0.999});
  torch::optim::Adam opt_g(g->parameters(), adam), opt_d(d->parameters(), adam);
  const acgan::Noise noise{at("in.z"), at("in.c")};
  const auto stats = acgan::train_step(*g, *d, opt_g, opt_d, at("in.x"), at("in.y"), noise);

  const std::vector<std::pair<acgan::StepStat, std::string>> scalars = {
      {acgan::kLossDReal, "step.loss_d_real"},
      {acgan::kLossDFake, "step.loss_d_fake"},
      {acgan::kLossG, "step.loss_g"},
      {acgan::kAccReal, "step.acc_real"},
      {acgan::kDx, "step.d_x"},
      {acgan::kDGz1, "step.d_g_z1"},
      {acgan::kDGz2, "step.d_g_z2"}};
  for (const auto& [index, key] : scalars) {
    expect_close(stats[index], at(key), 1e-5, 1e-6, key);
  }
  // D's gradients after its two backward passes (the G step leaves them alone: D is frozen there).
  auto expect_grad_close = [&](const torch::Tensor& ours, const std::string& key) {
    const auto ref = at(key);
    expect_close(ours, ref, 1e-4, 1e-5 * ref.abs().max().item<double>(), key);
  };
  expect_grad_close(d->conv1[0]->as<torch::nn::Conv2d>()->weight.grad(), "grad.D.conv1.0.weight");
  expect_grad_close(d->fc_class[0]->as<torch::nn::Linear>()->weight.grad(),
                    "grad.D.fc_class.0.weight");
  expect_grad_close(g->conv4[0]->as<torch::nn::ConvTranspose2d>()->weight.grad(),
                    "grad.G.conv4.0.weight");
  expect_grad_close(g->fc1->weight.grad(), "grad.G.fc1.weight");

  // Every weight and buffer after the step (BatchNorm running stats: three D passes, one G pass).
  constexpr double kLr = 2e-4, kMomentum = 0.1;
  const std::set<std::string> bias_before_bn = {
      "G.conv1.0.bias", "G.conv2.0.bias", "G.conv3.0.bias", "D.conv2.0.bias",
      "D.conv3.0.bias", "D.conv4.0.bias", "D.conv5.0.bias", "D.conv6.0.bias"};
  for (const auto& [name, net] :
       {std::pair<std::string, torch::nn::Module*>{"G", g.get()}, {"D", d.get()}}) {
    const auto grads = net->named_parameters();
    for (const auto& item : acgan::state_dict(*net)) {
      const auto short_key = name + "." + item.key();
      const auto key = "after." + short_key;
      const auto& ours = item.value();
      if (!ours.is_floating_point()) {
        EXPECT_TRUE(torch::equal(ours, at(key))) << key;
      } else if (bias_before_bn.count(short_key)) {
        // ~0: a thousandth of the largest gradient of the same conv's weights, or less.
        const auto weight_key = item.key().substr(0, item.key().size() - 4) + "weight";
        EXPECT_LT(grads[item.key()].grad().abs().max().item<double>(),
                  1e-3 * grads[weight_key].grad().abs().max().item<double>())
            << key << ": gradient not ~0";
        expect_close(ours, at("init." + short_key), 0, kLr * 1.001, key + " moved by <= lr");
        expect_close(ours, at(key), 0, 2 * kLr * 1.001, key);
      } else if (name == "D" && item.key().find("running_mean") != std::string::npos) {
        expect_close(ours, at(key), 1e-5, kMomentum * 2 * kLr * 1.001, key);
      } else {
        expect_close(ours, at(key), 0, 2 * kLr, key + " (bound)");
        const auto off =
            ((ours - at(key)).abs() > 2e-6 + 1e-5 * at(key).abs()).sum().item<int64_t>();
        EXPECT_LE(off, std::max<int64_t>(3, ours.numel() / 50000))
            << key << ": " << off << " elements off";
      }
    }
  }
}

}  // namespace
