// Spectral normalisation (spectral_norm.h): against PyTorch's torch.nn.utils.spectral_norm on the
// same seed (LibTorch and PyTorch 1.13 draw the same stream), against its definition, against an
// exact SVD, and in every family's networks (PyTorch's state-dict names; BatchNorm gone from D
// only; a spectrally normalised gen.pt read back as such, and G as TorchScript).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "acgan/interop/torchscript_export.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/models.h"
#include "acgan/models/networks.h"
#include "acgan/models/spectral_norm.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace acgan {
namespace {

torch::Tensor floats(std::vector<float> values) { return torch::tensor(values); }

// Printed by python3-torch 1.13: torch.manual_seed(0); m = spectral_norm(nn.Linear(5, 3));
// x = torch.linspace(-1, 1, 10).view(2, 5); m(x) twice, then m.eval(); m(x).
TEST(SpectralNormTest, MatchesPyTorchOnTheSameSeed) {
  torch::manual_seed(0);
  SNLinear m(torch::nn::LinearOptions(5, 3));
  const auto x = torch::linspace(-1, 1, 10).view({2, 5});
  // Float32 sums in another order: a few ulps apart.
  constexpr double kTol = 1e-6;
  EXPECT_TRUE(
      torch::allclose(m->weight_u, floats({-0.22251807f, 0.90833169f, 0.35414571f}), 0, kTol));
  EXPECT_TRUE(torch::allclose(
      m->weight_v, floats({0.47948474f, -0.47200450f, -0.45399624f, -0.54417366f, 0.21229379f}), 0,
      kTol));
  const auto y1 = m->forward(x).flatten();
  EXPECT_TRUE(torch::allclose(
      y1, floats({0.25649822f, -0.31868178f, 1.16370690f, -0.86765397f, 0.64812553f, -0.84491670f}),
      0, kTol))
      << y1;
  EXPECT_TRUE(
      torch::allclose(m->weight_u, floats({-0.57893968f, 0.59539139f, -0.55707979f}), 0, kTol));
  const std::vector<float> second = {0.19754878f,  -0.19694582f, 0.94372153f,
                                     -0.65040761f, 0.53232419f,  -0.57139826f};
  EXPECT_TRUE(torch::allclose(m->forward(x).flatten(), floats(second), 0, kTol));
  m->eval();
  const auto u = m->weight_u.clone();
  EXPECT_TRUE(torch::allclose(m->forward(x).flatten(), floats(second), 0, kTol));
  EXPECT_TRUE(torch::equal(m->weight_u, u)) << "eval mode must not iterate";
}

// After enough training-mode passes the power iteration converges: the normalised weight's
// largest singular value is 1 (torch.linalg.matrix_norm(ord=2)), and sigma is the SVD's.
TEST(SpectralNormTest, SigmaConvergesToTheLargestSingularValue) {
  torch::manual_seed(1);
  SNConv2d conv(torch::nn::Conv2dOptions(16, 32, 3).padding(1));
  SNConvTranspose2d convt(torch::nn::ConvTranspose2dOptions(32, 16, 4).stride(2).padding(1));
  const auto x = torch::randn({2, 16, 8, 8});
  for (int i = 0; i < 200; ++i) convt->forward(conv->forward(x));
  const auto check = [](const torch::Tensor& w_orig, torch::Tensor& u, torch::Tensor& v,
                        int64_t dim) {
    torch::NoGradGuard no_grad;
    const auto w = spectral_normalized_weight(w_orig, u, v, dim, /*power_iteration=*/false);
    const auto moved = dim == 0 ? w : w.transpose(0, dim);
    const auto matrix = moved.reshape({moved.size(0), -1}).to(torch::kDouble);
    // 200 iterations leave the estimate within float32 rounding of the top singular value.
    EXPECT_NEAR(at::linalg_matrix_norm(matrix, 2).item<double>(), 1.0, 1e-4);
    const double sigma = (w_orig / w).mean().item<double>();
    EXPECT_NEAR(sigma / exact_spectral_norm(w_orig, dim), 1.0, 1e-4);
  };
  check(conv->weight_orig, conv->weight_u, conv->weight_v, 0);
  // A transposed convolution's output channels are its weight's dim 1, as PyTorch's.
  check(convt->weight_orig, convt->weight_u, convt->weight_v, 1);
  EXPECT_EQ(convt->weight_u.size(0), 16);
  EXPECT_EQ(convt->weight_v.size(0), 32 * 4 * 4);
}

// The gradient flows through sigma to weight_orig, not through u and v.
TEST(SpectralNormTest, GradientReachesTheWeightThroughSigma) {
  torch::manual_seed(2);
  SNLinear m(torch::nn::LinearOptions(4, 3));
  m->forward(torch::randn({2, 4})).sum().backward();
  ASSERT_TRUE(m->weight_orig.grad().defined());
  EXPECT_GT(m->weight_orig.grad().abs().sum().item<double>(), 0);
  EXPECT_FALSE(m->weight_u.requires_grad());
}

std::vector<std::string> keys(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& item : state_dict(m)) out.push_back(item.key());
  return out;
}

bool has(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

TEST(SpectralNormTest, NetworksKeepPyTorchNamesAndDLosesBatchNorm) {
  const auto d = keys(*Discriminator(DiscriminatorOptions().spectral_norm(true)));
  for (const auto* key :
       {"conv1.0.bias", "conv1.0.weight_orig", "conv1.0.weight_u", "conv1.0.weight_v",
        "conv6.0.weight_orig", "fc_source.0.weight_orig", "fc_class.0.weight_v"})
    EXPECT_TRUE(has(d, key)) << key;
  for (const auto& key : d) EXPECT_EQ(key.find("running_mean"), std::string::npos) << key;
  EXPECT_FALSE(has(d, "conv1.0.weight"));
  const auto g = keys(*Generator(GeneratorOptions().spectral_norm(true)));
  for (const auto* key : {"fc1.weight_orig", "fc1.weight_u", "conv1.0.weight_orig",
                          "conv1.1.running_mean", "conv4.0.weight_v"})
    EXPECT_TRUE(has(g, key)) << key;
  // The forward passes keep their shapes.
  Discriminator sn_d(DiscriminatorOptions().spectral_norm(true));
  Generator sn_g(GeneratorOptions().spectral_norm(true));
  const auto images = sn_g->forward(torch::randn({3, kDefaultNz}), torch::tensor({0, 4, 9}));
  EXPECT_EQ(images.sizes(), torch::IntArrayRef({3, 3, 32, 32}));
  const auto out = sn_d->forward(images);
  EXPECT_EQ(out.source_logit.sizes(), torch::IntArrayRef({3}));
  EXPECT_EQ(out.class_logits.sizes(), torch::IntArrayRef({3, 10}));
}

// dcgan_init reaches the normalised layers: their weights N(0, 0.02), as the original's
// weights_init writes into PyTorch's weight_orig.
TEST(SpectralNormTest, DcganInitSetsWeightOrig) {
  torch::manual_seed(3);
  Discriminator d(DiscriminatorOptions().spectral_norm(true));
  dcgan_init(*d);
  const auto w = d->named_parameters()["conv6.0.weight_orig"];
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.001);
  EXPECT_EQ(d->named_parameters()["conv6.0.bias"].abs().sum().item<double>(), 0);
}

// The other families as --spectral_norm both builds them: every Linear and (transposed)
// convolution normalised under PyTorch's names (imagenet128's without bias, as clvrai's), BatchNorm
// kept in G and gone from D, mlp's class embedding plain (G's input, not a layer). G keeps its
// parameter count; a bare gen.pt of it reads back as such, and its TorchScript draws its images.
struct FamilyKeys {
  Arch arch;
  int64_t nz, channels, side;
  std::vector<std::string> g_keys, g_absent, d_keys, d_absent;
};

TEST(SpectralNormTest, EveryFamilyNormalisesEveryLayer) {
  const std::vector<FamilyKeys> families = {
      {Arch::kMlp,
       100,
       1,
       28,
       {"label_emb.weight", "model.0.weight_orig", "model.0.bias", "model.3.running_mean",
        "model.11.weight_u", "model.11.weight_v"},
       {"model.0.weight", "model.11.weight"},
       {"model.0.weight_orig", "model.5.weight_v", "adv_layer.0.weight_orig", "adv_layer.0.bias",
        "aux_layer.0.weight_u"},
       {"model.0.weight", "aux_layer.0.weight"}},
      {Arch::kImagenet128,
       110,
       3,
       128,
       {"fc1.weight_orig", "fc1.bias", "tconv2.0.weight_orig", "tconv2.1.running_mean",
        "tconv6.0.weight_v"},
       {"fc1.weight", "tconv2.0.bias", "tconv2.0.weight"},
       {"conv1.0.weight_orig", "conv6.0.weight_u", "fc_dis.weight_orig", "fc_aux.bias"},
       {"conv1.0.bias", "conv2.1.running_mean", "fc_dis.weight"}},
  };
  for (const auto& f : families) {
    SCOPED_TRACE(arch_name(f.arch));
    const auto g_options =
        GeneratorOptions().arch(f.arch).nz(f.nz).channels(f.channels).image_side(f.side);
    Generator g(GeneratorOptions(g_options).spectral_norm(true));
    Discriminator d(DiscriminatorOptions()
                        .arch(f.arch)
                        .channels(f.channels)
                        .image_side(f.side)
                        .spectral_norm(true));
    const auto g_keys = keys(*g), d_keys = keys(*d);
    for (const auto& key : f.g_keys) EXPECT_TRUE(has(g_keys, key)) << key;
    for (const auto& key : f.g_absent) EXPECT_FALSE(has(g_keys, key)) << key;
    for (const auto& key : f.d_keys) EXPECT_TRUE(has(d_keys, key)) << key;
    for (const auto& key : f.d_absent) EXPECT_FALSE(has(d_keys, key)) << key;
    for (const auto& key : d_keys) EXPECT_EQ(key.find("running_mean"), std::string::npos) << key;
    EXPECT_EQ(count_parameters(*g), count_parameters(*Generator(g_options)));

    const auto z = torch::randn({2, f.nz});
    const auto classes = torch::tensor({1, 7});
    const auto images = g->forward(z, classes);
    EXPECT_EQ(images.sizes(), torch::IntArrayRef({2, f.channels, f.side, f.side}));
    EXPECT_EQ(d->forward(images).class_logits.sizes(), torch::IntArrayRef({2, 10}));

    testing::TempDir dir;
    save_state_dict_file(*g, dir / "gen.pt");
    const auto read =
        generator_options_from_state_dict(load_tensor_dict_file(dir / "gen.pt"), dir / "gen.pt");
    EXPECT_EQ(read.arch(), f.arch);
    EXPECT_TRUE(read.spectral_norm());
    EXPECT_EQ(read.nz(), f.nz);
    EXPECT_EQ(read.channels(), f.channels);
    g->eval();
    torch::NoGradGuard no_grad;
    auto script = generator_torchscript(*g, bare_generator_spec(read));
    const auto scripted = script.forward({z, classes}).toTensor();
    EXPECT_LT((scripted - g->forward(z, classes)).abs().max().item<double>(), 1e-5);
  }
}

}  // namespace
}  // namespace acgan
