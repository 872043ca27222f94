// The evaluation's mathematics against closed forms and an independent reference: FID, IS, KID,
// precision / recall, MS-SSIM, SHA-256. The command and its files are tested in test_eval_cli.cpp.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "acgan/data/image_dataset.h"
#include "acgan/eval/classifier.h"
#include "acgan/eval/feature_metrics.h"
#include "acgan/eval/feature_network.h"
#include "acgan/eval/ms_ssim.h"
#include "acgan/io/sha256.h"
#include "test_support.h"

namespace acgan {
namespace {

torch::Generator seeded(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

GaussianStats stats_of(torch::Tensor mean, torch::Tensor cov) {
  return {mean.to(torch::kFloat64), cov.to(torch::kFloat64), 0, torch::Tensor()};
}

TEST(FrechetDistanceTest, SetAgainstItselfIsZero) {
  const auto features = torch::randn({500, 16}, seeded(1));
  const auto s = gaussian_stats(features);
  // The square-root trace of C C in float64: rounding on a 16 x 16 eigenproblem is ~1e-13.
  EXPECT_NEAR(frechet_distance(s, s), 0.0, 1e-9);
}

TEST(FrechetDistanceTest, MatchesTheClosedFormOfDiagonalGaussians) {
  // |m1 - m2|^2 + sum (sqrt(a) - sqrt(b))^2 for diagonal covariances a, b.
  const auto m1 = torch::tensor({0.0, 1.0, 2.0, -1.0}), m2 = torch::tensor({1.0, 1.0, 0.0, 0.5});
  const auto a = torch::tensor({1.0, 4.0, 0.25, 9.0}), b = torch::tensor({4.0, 1.0, 1.0, 9.0});
  const double expected =
      (m1 - m2).pow(2).sum().item<double>() + (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
  EXPECT_NEAR(frechet_distance(stats_of(m1, a.diag()), stats_of(m2, b.diag())), expected, 1e-10);
}

TEST(FrechetDistanceTest, MatchesTheClosedFormOfScaledFullCovariances) {
  // C2 = 4 C1: (C1 C2)^1/2 = 2 C1, so FID = tr C1 + 4 tr C1 - 4 tr C1 = tr C1 (means equal).
  const auto root = torch::randn({8, 8}, seeded(2)).to(torch::kFloat64);
  const auto c1 = root.matmul(root.t()) + torch::eye(8, torch::kFloat64);
  const auto zero = torch::zeros({8}, torch::kFloat64);
  EXPECT_NEAR(frechet_distance(stats_of(zero, c1), stats_of(zero, 4 * c1)),
              c1.trace().item<double>(), 1e-9 * c1.trace().item<double>());
}

TEST(FrechetDistanceTest, SampledGaussiansApproachTheClosedForm) {
  // N(0, I) against N(1, 4 I) in 4 dimensions: 4 * 1 + 4 * (1 - 2)^2 = 8. With 40,000 samples
  // each the estimate's standard error is about 0.05.
  const auto x = torch::randn({40000, 4}, seeded(3));
  const auto y = torch::randn({40000, 4}, seeded(4)) * 2 + 1;
  EXPECT_NEAR(frechet_distance(gaussian_stats(x), gaussian_stats(y)), 8.0, 0.25);
}

TEST(FrechetDistanceTest, SingularCovariancesGiveAFiniteValue) {
  // 50 samples of 64 features of rank 1: scipy's sqrtm returns complex or NaN on such products.
  const auto direction = torch::randn({1, 64}, seeded(5));
  const auto a = torch::randn({50, 1}, seeded(6)).matmul(direction);
  const auto b = torch::randn({50, 1}, seeded(7)).matmul(direction) + 0.5;
  const double d = frechet_distance(gaussian_stats(a), gaussian_stats(b));
  EXPECT_TRUE(std::isfinite(d));
  EXPECT_GE(d, 0.0);
}

TEST(FrechetDistanceTest, FewerSamplesThanFeaturesUseTheFactoredCovariance) {
  // 30 and 60 samples of 200 features. With C = R^T R, tr((Ca Cb)^1/2) is the sum of the singular
  // values of Ra Rb^T: an SVD, another algorithm than the eigensolver frechet_distance uses, on
  // the same float64 numbers; they agree to ~1e-12 relative.
  const auto x = torch::randn({30, 200}, seeded(8));
  const auto y = torch::randn({60, 200}, seeded(9)) * 1.5 + 0.2;
  const auto a = gaussian_stats(x), b = gaussian_stats(y);
  ASSERT_TRUE(a.root.defined() && b.root.defined());
  const double expected =
      (a.mean - b.mean).pow(2).sum().item<double>() + a.root.pow(2).sum().item<double>() +
      b.root.pow(2).sum().item<double>() -
      2 * torch::linalg_svdvals(torch::matmul(a.root, b.root.t())).sum().item<double>();
  EXPECT_NEAR(frechet_distance(a, b), expected, 1e-9 * expected);
  EXPECT_NEAR(frechet_distance(b, a), expected, 1e-9 * expected);
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-9 * expected);
  // The (D, D) path on the same statistics: its product has D - N eigenvalues that are 0 but for
  // rounding (~1e-13), whose square roots (~3e-7 each, ~170 of them) are why the factored form is
  // used; it stays within 1e-6 relative.
  const auto full = [](GaussianStats s) {
    s.cov = torch::matmul(s.root.t(), s.root);
    s.root = torch::Tensor();
    return s;
  };
  EXPECT_NEAR(frechet_distance(full(a), full(b)), expected, 1e-6 * expected);
  // One side factored: R C R^T is (N, N), but C from 30 samples has rank 29, so up to 31 of its
  // eigenvalues are rounding too: 1e-7 relative (real use has a full-rank C, N >= D).
  EXPECT_NEAR(frechet_distance(a, full(b)), expected, 1e-7 * expected);
  EXPECT_NEAR(frechet_distance(full(a), b), expected, 1e-7 * expected);
}

TEST(InceptionScoreTest, UniformLogitsScoreOne) {
  const auto is = inception_score(torch::zeros({100, 1008}));
  EXPECT_NEAR(is.mean, 1.0, 1e-12);
  EXPECT_NEAR(is.std, 0.0, 1e-12);
}

TEST(InceptionScoreTest, BalancedConfidentLogitsScoreTheClassCount) {
  // Sample i certain of class i % 10: every split holds each class equally, so p(y) is uniform
  // and KL = log 10 for each sample.
  const auto labels = torch::arange(1000, torch::kLong).remainder(10);
  const auto logits = torch::one_hot(labels, 10).to(torch::kFloat32) * 100;
  const auto is = inception_score(logits);
  EXPECT_NEAR(is.mean, 10.0, 1e-6);
  EXPECT_NEAR(is.std, 0.0, 1e-6);
}

TEST(InceptionScoreTest, SplitsFollowSampleOrder) {
  // Sorted by class, each split holds one class: p(y) equals p(y|x) and every split scores 1.
  const auto labels = torch::arange(1000, torch::kLong).floor_divide(100);
  const auto logits = torch::one_hot(labels, 10).to(torch::kFloat32) * 100;
  EXPECT_NEAR(inception_score(logits).mean, 1.0, 1e-6);
}

TEST(KernelInceptionDistanceTest, SameDistributionIsNearZeroAndAShiftIsNot) {
  const auto x = torch::randn({2000, 32}, seeded(8)), y = torch::randn({2000, 32}, seeded(9));
  const auto same = kernel_inception_distance(x, y, 20, 500, seeded(10));
  const auto shifted = kernel_inception_distance(x, y + 0.5, 20, 500, seeded(10));
  // The unbiased estimate scatters around 0 by about its std / sqrt(subsets).
  EXPECT_LT(std::abs(same.mean), 4 * same.std / std::sqrt(20.0) + 1e-6);
  EXPECT_GT(shifted.mean, 100 * std::abs(same.mean));
}

TEST(KernelInceptionDistanceTest, SubsetsAreDrawnFromTheGeneratorGiven) {
  const auto x = torch::randn({300, 8}, seeded(11)), y = torch::randn({300, 8}, seeded(12));
  const auto first = kernel_inception_distance(x, y, 5, 100, seeded(13));
  const auto again = kernel_inception_distance(x, y, 5, 100, seeded(13));
  EXPECT_EQ(first.mean, again.mean);
  EXPECT_EQ(first.std, again.std);
}

TEST(PrecisionRecallTest, IdenticalSetsAreOneAndFarSetsAreZero) {
  const auto x = torch::randn({400, 16}, seeded(14));
  const auto same = precision_recall(x, x.clone());
  EXPECT_EQ(same.precision, 1.0);
  EXPECT_EQ(same.recall, 1.0);
  const auto far = precision_recall(x, x + 100);
  EXPECT_EQ(far.precision, 0.0);
  EXPECT_EQ(far.recall, 0.0);
}

TEST(PrecisionRecallTest, ACollapsedSetHasPrecisionButNoRecall) {
  // Fakes clustered at one real point: inside the real manifold, but covering almost none of it.
  const auto real = torch::randn({400, 8}, seeded(15));
  const auto fake = real[0].unsqueeze(0) + 1e-3 * torch::randn({400, 8}, seeded(16));
  const auto pr = precision_recall(real, fake);
  EXPECT_EQ(pr.precision, 1.0);
  EXPECT_LT(pr.recall, 0.05);
}

// The images of tests/data/ms_ssim_reference.py: (1, 3, H, W) uint8.
std::pair<torch::Tensor, torch::Tensor> reference_pair(int64_t height, int64_t width) {
  const auto y = torch::arange(height, torch::kLong).view({1, height, 1});
  const auto x = torch::arange(width, torch::kLong).view({1, 1, width});
  const auto c = torch::arange(3, torch::kLong).view({3, 1, 1});
  const auto a = (x * 7 + y * 13 + c * 29 + (x * y).remainder(17)).remainder(256);
  const auto b = (a + (x * x + y * 3 + c * 11).remainder(256)).floor_divide(2);
  return {a.unsqueeze(0).to(torch::kUInt8), b.unsqueeze(0).to(torch::kUInt8)};
}

TEST(MsSsimTest, MatchesTheIndependentReference) {
  // tests/data/ms_ssim_reference.py (numpy + scipy, TF's msssim.py algorithm). 48x40 takes the
  // odd-side path at 6x5 -> 3x3. Both sides compute in float64: agreement to 1e-9.
  const auto [a32, b32] = reference_pair(32, 32);
  EXPECT_NEAR(ms_ssim(a32, b32).item<double>(), 0.6599606277543306, 1e-9);
  const auto [a48, b48] = reference_pair(48, 40);
  EXPECT_NEAR(ms_ssim(a48, b48).item<double>(), 0.7373721370653062, 1e-9);
}

TEST(MsSsimTest, IdenticalImagesScoreOneAndNoiseLowersIt) {
  const auto image =
      torch::randint(0, 256, {4, 3, 32, 32}, seeded(17), torch::kLong).to(torch::kUInt8);
  const auto same = ms_ssim(image, image);
  EXPECT_TRUE(torch::allclose(same, torch::ones_like(same), 0, 1e-12));
  double previous = 1.0;
  for (double level : {5.0, 20.0, 60.0}) {
    const auto noisy = (image.to(torch::kFloat64) +
                        level * torch::randn({4, 3, 32, 32}, seeded(18), torch::kFloat64))
                           .clamp(0, 255);
    const double value = ms_ssim(image, noisy).mean().item<double>();
    EXPECT_LT(value, previous) << "noise level " << level;
    previous = value;
  }
}

TEST(MsSsimTest, ClassMeansUseDistinctPairsOfOneClass) {
  // Class 0 holds copies of one image (MS-SSIM 1), class 1 unrelated noise, class 2 one image.
  auto images = torch::randint(0, 256, {21, 3, 32, 32}, seeded(19), torch::kLong).to(torch::kUInt8);
  images.narrow(0, 0, 10).copy_(images[0].unsqueeze(0).expand({10, 3, 32, 32}));
  auto labels = torch::cat({torch::zeros({10}, torch::kLong), torch::ones({10}, torch::kLong),
                            torch::full({1}, 2, torch::kLong)});
  const auto means = class_ms_ssim(images, labels, {0, 1, 2}, 50, seeded(20));
  EXPECT_NEAR(means[0], 1.0, 1e-12);
  EXPECT_LT(means[1], 0.2);
  EXPECT_TRUE(std::isnan(means[2]));
}

TEST(MsSsimTest, ASmallClassCountsEachDrawnPairAsOftenAsDrawn) {
  // 4 images, 300 draws: 6 distinct pairs, each computed once and weighted by its count. The
  // reference draws the same (i, j) from the same seed and averages every draw; the sums differ
  // in order only (~1e-16).
  const auto images =
      torch::randint(0, 256, {4, 3, 32, 32}, seeded(21), torch::kLong).to(torch::kUInt8);
  const auto labels = torch::zeros({4}, torch::kLong);
  const auto means = class_ms_ssim(images, labels, {0}, 300, seeded(22));
  auto generator = seeded(22);
  const auto i = torch::randint(4, {300}, generator, torch::kLong);
  auto j = torch::randint(3, {300}, generator, torch::kLong);
  j = j + (j >= i).to(torch::kLong);
  const double drawn =
      ms_ssim(images.index_select(0, i), images.index_select(0, j)).mean().item<double>();
  EXPECT_NEAR(means[0], drawn, 1e-12);
}

TEST(Sha256Test, KnownDigests) {
  // FIPS 180-4's examples: one block, two blocks, and the empty message.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
// acgan's classifier judges at the side it was trained at: 64-pixel images give exactly what
// their resize to 32 (the data sets' bilinear resize) gives, and differ from the 64-pixel input
// run as it is.
TEST(ClassifierNetworkTest, ImagesOfAnotherSideAreResizedToItsOwn) {
  acgan::testing::TempDir dir;
  torch::manual_seed(1);
  acgan::Classifier net(acgan::ClassifierOptions().width(2));
  acgan::save_classifier(dir / "c.pt", net, 0.5, acgan::cifar10_spec());
  const auto network = acgan::load_classifier_network(dir / "c.pt", torch::kCPU, nullptr);
  const auto pixels = torch::randint(0, 256, {4, 3, 64, 64}).to(torch::kUInt8);
  const auto at_64 = network->run(pixels, true, true);
  const auto at_32 = network->run(acgan::resize_pixels(pixels, 32), true, true);
  EXPECT_TRUE(torch::equal(at_64.logits, at_32.logits));
  EXPECT_TRUE(torch::equal(at_64.features, at_32.features));
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(torch::allclose(net->forward_with_flip(pixels).logits, at_64.logits))
      << "the 64-pixel input run as it is";
}

}  // namespace acgan
