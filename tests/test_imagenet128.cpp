// --arch imagenet128 as networks: clvrai/ACGAN-PyTorch's state_dict keys, the one-hot class in z
// (idempotent, as the cifar G's), the 128-pixel shapes for grey and RGB images, what the family
// refuses, and the oneDNN transposed convolution on its bias-free layers against LibTorch's own.
// Its layer table is checked row by row in test_summary.cpp; training in test_arch_training.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/networks.h"
#include "test_support.h"

namespace acgan {
namespace {

constexpr Arch kArch = Arch::kImagenet128;

GeneratorOptions g_options() { return GeneratorOptions().arch(kArch).image_side(128); }
DiscriminatorOptions d_options() { return DiscriminatorOptions().arch(kArch).image_side(128); }

std::vector<std::string> keys(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& item : m.named_parameters()) out.push_back(item.key());
  for (const auto& item : m.named_buffers()) out.push_back(item.key());
  std::sort(out.begin(), out.end());
  return out;
}

// network.py's keys: fc1 and tconv2..6 in G (BatchNorm in 2..4, no conv bias); conv1..6 (BatchNorm
// from 2), fc_dis and fc_aux in D.
TEST(Imagenet128ModelsTest, KeysAreClvraisNetworks) {
  const auto with_batch_norm = [](std::vector<std::string>& keys, const std::string& block) {
    keys.push_back(block + ".0.weight");
    for (const char* bn : {"bias", "num_batches_tracked", "running_mean", "running_var", "weight"})
      keys.push_back(block + ".1." + bn);
  };
  std::vector<std::string> g_keys = {"fc1.bias", "fc1.weight", "tconv5.0.weight",
                                     "tconv6.0.weight"};
  for (const char* block : {"tconv2", "tconv3", "tconv4"}) with_batch_norm(g_keys, block);
  std::vector<std::string> d_keys = {"conv1.0.weight", "fc_aux.bias", "fc_aux.weight",
                                     "fc_dis.bias", "fc_dis.weight"};
  for (const char* block : {"conv2", "conv3", "conv4", "conv5", "conv6"})
    with_batch_norm(d_keys, block);
  std::sort(g_keys.begin(), g_keys.end());
  std::sort(d_keys.begin(), d_keys.end());
  Generator g(g_options());
  Discriminator d(d_options());
  EXPECT_EQ(keys(*g), g_keys);
  EXPECT_EQ(keys(*d), d_keys);
  EXPECT_EQ(count_parameters(*g), 11465600);
  EXPECT_EQ(count_parameters(*d), 2525563);
}

TEST(Imagenet128ModelsTest, ShapesFollowTheChannelsAndTheClassIsOneHotInZ) {
  torch::manual_seed(2);
  for (const int64_t channels : {1, 3}) {
    Generator g(g_options().channels(channels).num_classes(4).nz(20));
    Discriminator d(d_options().channels(channels).num_classes(4).dropout(0));
    dcgan_init(*g);  // bias-free convolutions: nothing to zero, no throw
    g->eval();
    torch::NoGradGuard no_grad;
    const auto classes = torch::tensor({0, 3});
    const auto z = torch::randn({2, 20});
    const auto images = g->forward(z, classes);
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{2, channels, 128, 128}));
    EXPECT_LE(images.abs().max().item<float>(), 1.0f);
    const auto out = d->forward(images);
    EXPECT_EQ(out.source_logit.sizes(), (std::vector<int64_t>{2}));
    EXPECT_EQ(out.class_logits.sizes(), (std::vector<int64_t>{2, 4}));
    // The one-hot goes into a copy of z's first K entries: z already holding it changes nothing.
    auto with_class = z.clone();
    with_class.narrow(1, 0, 4).copy_(torch::one_hot(classes, 4));
    EXPECT_TRUE(torch::equal(g->forward(with_class, classes), images));
    EXPECT_FALSE(torch::equal(g->forward(z, torch::tensor({1, 2})), images));
    EXPECT_TRUE(torch::equal(z, z.clone())) << "z is not written to";
  }
}

TEST(Imagenet128ModelsTest, WhatTheFamilyTakesIsChecked) {
  testing::expect_error<UsageError>([] { Generator(g_options().image_side(64)); },
                                    {"--image_size: expected 128 with --arch imagenet128"});
  testing::expect_error<UsageError>([] { Discriminator(d_options().image_side(32)); },
                                    {"--image_size: expected 128 with --arch imagenet128"});
  testing::expect_error<UsageError>([] { Generator(g_options().nz(10)); },
                                    {"--nz: expected 11..", "one-hot class"});
  EXPECT_EQ(default_nz(kArch, 10), 110);
  EXPECT_EQ(native_side(kArch), 128);
  EXPECT_EQ(parse_arch("imagenet128"), kArch);
}

// The bias-free 5x5 and 8x8 stride-2 layers through the oneDNN rewrite (LibTorch 1.13's fast
// path; 2.x runs its own) against LibTorch's ConvTranspose2d: outputs and gradients within
// float32 rounding of sums taken in another order.
TEST(Imagenet128ModelsTest, BiasFreeTransposedConvolutionsMatchLibTorch) {
  torch::manual_seed(0);
  struct Layer {
    int64_t in, out, kernel, side;
  };
  for (const auto& l : {Layer{64, 32, 5, 13}, Layer{16, 3, 8, 61}}) {
    torch::nn::ConvTranspose2d conv(
        torch::nn::ConvTranspose2dOptions(l.in, l.out, l.kernel).stride(2).bias(false));
    const auto x = torch::randn({2, l.in, l.side, l.side});
    auto run = [&](bool fast) {
      conv->zero_grad();
      auto xi = x.clone().requires_grad_();
      auto y = conv_transpose_2d(xi, *conv, {/*conv_transpose=*/fast, /*dropout=*/true});
      (y * y.detach().sin()).sum().backward();
      return std::vector<torch::Tensor>{y.detach(), xi.grad(), conv->weight.grad().clone()};
    };
    const auto fast = run(true), plain = run(false);
    for (size_t i = 0; i < fast.size(); ++i) {
      ASSERT_EQ(fast[i].sizes(), plain[i].sizes());
      const double scale = plain[i].abs().max().item<double>();
      EXPECT_LE((fast[i] - plain[i]).abs().max().item<double>(), 1e-5 * scale)
          << l.kernel << "x" << l.kernel << ", tensor " << i;
    }
  }
}

}  // namespace
}  // namespace acgan
