// The networks: shapes, parameter counts, the original's state_dict names, DCGAN initialisation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/models.h"
#include "acgan/models/networks.h"
#include "test_support.h"

using acgan::Discriminator;
using acgan::Generator;

TEST(ModelsTest, GeneratorShapeAndParameterCount) {
  Generator g(110);
  EXPECT_EQ(acgan::count_parameters(*g), 1594227);  // the seed README's table
  auto out = g->forward(torch::randn({4, 110}), torch::tensor({0, 1, 2, 9}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_LE(out.abs().max().item<float>(), 1.0f);  // Tanh
  EXPECT_EQ(acgan::count_parameters(*Generator(64)), 1594227 - 384 * (110 - 64));
}

// The class enters inside G exactly as the original's caller wrote it into z: G(z, c) equals the
// fc1 path fed one-hot-in-z, bit for bit, and a z that already holds the one-hot (old checkpoints'
// grid noise, golden inputs) gives the same images. z itself is left as it was.
TEST(ModelsTest, ClassEntersInsideGAsTheOriginalsOneHot) {
  torch::manual_seed(3);
  Generator g(110);
  g->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({4, 110});
  const auto c = torch::tensor({0, 3, 3, 9});
  const auto z_before = z.clone();
  auto one_hot_z = z.clone();
  one_hot_z.narrow(1, 0, 10).copy_(torch::one_hot(c, 10));
  const auto images = g->forward(z, c);
  EXPECT_TRUE(torch::equal(z, z_before)) << "G must not write into its input";
  EXPECT_TRUE(torch::equal(images, g->forward(one_hot_z, c)));
  EXPECT_FALSE(torch::equal(images, g->forward(z, torch::tensor({1, 3, 3, 9}))));
  // The original's own path: fc1 on the one-hot z, then the blocks.
  auto& cifar = *g->as<acgan::CifarGeneratorImpl>();
  auto x = cifar.fc1.forward(one_hot_z).view({-1, 384, 1, 1});
  for (auto* block : {&cifar.conv1, &cifar.conv2, &cifar.conv3, &cifar.conv4})
    x = (*block)->forward(x);
  EXPECT_TRUE(torch::allclose(images, x, 0, 1e-6));
}

TEST(ModelsTest, DiscriminatorShapesAndParameterCount) {
  Discriminator d;
  EXPECT_EQ(acgan::count_parameters(*d), 1664875);
  const auto out = d->forward(torch::randn({5, 3, 32, 32}));
  EXPECT_EQ(out.source_logit.sizes(), (std::vector<int64_t>{5}));
  EXPECT_EQ(out.class_logits.sizes(), (std::vector<int64_t>{5, 10}));
  const auto source = acgan::source_probability(out);  // fc_source's Sigmoid
  EXPECT_TRUE((source > 0).all().item<bool>() && (source < 1).all().item<bool>());
  EXPECT_TRUE(torch::allclose(source, 1 / (1 + (-out.source_logit).exp())));
}

TEST(ModelsTest, NamesAreTheOriginalStateDictKeys) {
  const std::vector<std::string> g_keys = {"fc1.weight",
                                           "fc1.bias",
                                           "conv1.0.weight",
                                           "conv1.0.bias",
                                           "conv1.1.weight",
                                           "conv1.1.bias",
                                           "conv2.0.weight",
                                           "conv2.0.bias",
                                           "conv2.1.weight",
                                           "conv2.1.bias",
                                           "conv3.0.weight",
                                           "conv3.0.bias",
                                           "conv3.1.weight",
                                           "conv3.1.bias",
                                           "conv4.0.weight",
                                           "conv4.0.bias",
                                           "conv1.1.running_mean",
                                           "conv1.1.running_var",
                                           "conv1.1.num_batches_tracked",
                                           "conv2.1.running_mean",
                                           "conv2.1.running_var",
                                           "conv2.1.num_batches_tracked",
                                           "conv3.1.running_mean",
                                           "conv3.1.running_var",
                                           "conv3.1.num_batches_tracked"};
  std::vector<std::string> keys;
  for (const auto& item : acgan::state_dict(*Generator(110))) keys.push_back(item.key());
  EXPECT_EQ(keys, g_keys);

  std::set<std::string> d_keys;
  for (const auto& item : acgan::state_dict(*Discriminator())) d_keys.insert(item.key());
  for (const char* key : {"conv1.0.weight", "conv1.0.bias", "conv2.1.running_mean",
                          "conv6.0.weight", "conv6.1.num_batches_tracked", "fc_source.0.weight",
                          "fc_source.0.bias", "fc_class.0.weight", "fc_class.0.bias"}) {
    EXPECT_EQ(d_keys.count(key), 1u) << key;
  }
  EXPECT_EQ(d_keys.count("conv1.1.weight"), 0u);  // no BatchNorm in D's first block
  // 6 convs (12) + 5 BatchNorms (5 x 5 entries) + 2 heads (4).
  EXPECT_EQ(d_keys.size(), 12u + 25u + 4u);
}

TEST(ModelsTest, DcganInitialisationStatistics) {
  torch::manual_seed(0);
  Generator g(110);
  Discriminator d;
  acgan::dcgan_init(*g);
  acgan::dcgan_init(*d);
  // conv1 of G has 1.18 M weights: mean and std within a few standard errors of N(0, 0.02).
  const auto w = g->named_parameters()["conv1.0.weight"];
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(w.std().item<double>(), 0.02, 2e-4);
  EXPECT_EQ(g->named_parameters()["conv1.0.bias"].abs().max().item<float>(), 0.0f);
  const auto bn = d->named_parameters();
  EXPECT_NEAR(bn["conv6.1.weight"].mean().item<double>(), 1.0, 0.02 * 4 / std::sqrt(512.0));
  EXPECT_EQ(bn["conv6.1.bias"].abs().max().item<float>(), 0.0f);
  // Linear layers keep the default: uniform within +-1/sqrt(fan_in), not N(0, 0.02).
  const auto fc = d->named_parameters()["fc_class.0.weight"];
  EXPECT_LE(fc.abs().max().item<double>(), 1.0 / std::sqrt(8192.0));
  EXPECT_GT(fc.abs().max().item<double>(), 0.9 / std::sqrt(8192.0));
}

TEST(ModelsTest, NzMustExceedTheNumberOfClasses) {
  for (int64_t nz : {10, 0})
    acgan::testing::expect_error<acgan::UsageError>([&] { Generator{nz}; },
                                                    {"--nz: expected 11.."});
  EXPECT_NO_THROW(Generator(11));
}

TEST(ModelsTest, DropoutOptionTurnsDiscriminatorDeterministic) {
  Discriminator d(acgan::DiscriminatorOptions().dropout(0.0));
  d->train();
  auto x = torch::randn({4, 3, 32, 32});
  EXPECT_TRUE(torch::equal(d->forward(x).class_logits, d->forward(x).class_logits));
  Discriminator noisy;
  noisy->train();
  EXPECT_FALSE(torch::equal(noisy->forward(x).class_logits, noisy->forward(x).class_logits));
}

namespace acgan {
namespace {

// The mlp family at any side and channel count: the class embedding in front of z, the image
// flattened into D's first Linear.
TEST(MlpModelsTest, ShapesFollowTheSideAndChannels) {
  for (const auto& [channels, side] : {std::pair<int64_t, int64_t>{1, 28}, {3, 64}}) {
    Generator g(GeneratorOptions().arch(Arch::kMlp).nz(100).channels(channels).image_side(side));
    Discriminator d(DiscriminatorOptions().arch(Arch::kMlp).channels(channels).image_side(side));
    const auto images = g->forward(torch::randn({4, 100}), torch::tensor({0, 1, 2, 9}));
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{4, channels, side, side}));
    EXPECT_LE(images.abs().max().item<float>(), 1.0f);
    const auto out = d->forward(images);
    EXPECT_EQ(out.source_logit.sizes(), (std::vector<int64_t>{4}));
    EXPECT_EQ(out.class_logits.sizes(), (std::vector<int64_t>{4, 10}));
    EXPECT_EQ(d->named_parameters()["model.0.weight"].size(1), channels * side * side);
  }
}

TEST(MlpModelsTest, TheClassEntersThroughTheEmbedding) {
  torch::manual_seed(4);
  Generator g(GeneratorOptions().arch(Arch::kMlp).nz(100).channels(1));
  g->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({1, 100}).repeat({2, 1});
  const auto images = g->forward(z, torch::tensor({2, 5}));
  EXPECT_FALSE(torch::equal(images[0], images[1])) << "the same z, other classes";
  // Only the class's embedding row moves G's input: zeroing another row changes nothing.
  g->named_parameters()["label_emb.weight"][7].zero_();
  EXPECT_TRUE(torch::equal(images, g->forward(z, torch::tensor({2, 5}))));
}

TEST(MlpModelsTest, NoiseWidthAndSideAreChecked) {
  EXPECT_NO_THROW(check_nz(Arch::kMlp, 1, 10));  // the class is not in z: any width from 1
  testing::expect_error<UsageError>([] { check_nz(Arch::kMlp, 0, 10); }, {"--nz: expected 1.."});
  testing::expect_error<UsageError>([] { check_nz(Arch::kCifar, 10, 10); },
                                    {"--nz: expected 11..", "one-hot class"});
  testing::expect_error<UsageError>([] { Generator(GeneratorOptions().image_side(64)); },
                                    {"--image_size: expected 32 with --arch cifar"});
}

TEST(MlpModelsTest, LayerTracesCountEveryParameter) {
  Generator g(GeneratorOptions().arch(Arch::kMlp).nz(100).channels(1));
  Discriminator d(DiscriminatorOptions().arch(Arch::kMlp).channels(1));
  for (const auto& [rows, network] :
       {std::pair{trace_layers(*g), static_cast<torch::nn::Module*>(g.get())},
        {trace_layers(*d), static_cast<torch::nn::Module*>(d.get())}}) {
    int64_t total = 0;
    for (const auto& row : rows) total += row.params;
    EXPECT_EQ(total, count_parameters(*network));
  }
  const auto g_rows = trace_layers(*g);
  EXPECT_EQ(g_rows.front().type, "Embedding");
  EXPECT_EQ(g_rows.back().out_shape, (std::vector<int64_t>{1024}));  // before the view
  EXPECT_EQ(trace_layers(*d).back().type, "Softmax");
}

}  // namespace
}  // namespace acgan
