// The sample-quality metrics that work on a network's outputs, defined as the reference tools
// define them (docs/evaluation.md gives each source):
//   FID  the Frechet distance between Gaussians fitted to two feature sets (float64 statistics);
//   IS   exp(E[KL(p(y|x) || p(y))]) over 10 splits in sample order, from logits;
//   KID  the unbiased MMD^2 with the cubic polynomial kernel over random subsets;
//   precision / recall  Kynkaanniemi et al. 2019: k-NN radii in feature space.
// Inputs are tensors on any device; nothing here reads files or runs a network (feature_network.h).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace acgan {

// A feature set's Gaussian: mean (D) and unbiased covariance, float64. With fewer samples than
// features (N < D: 2048 Inception features, a few hundred samples) the covariance has rank < N
// and is kept factored, cov = root^T root with root (N, D) = (x - mean) / sqrt(N - 1), and `cov`
// is undefined; the Frechet distance then needs (N, N) eigenproblems, not (D, D) ones.
struct GaussianStats {
  torch::Tensor mean;
  torch::Tensor cov;  // (D, D); undefined when factored
  int64_t count = 0;
  torch::Tensor root;  // (N, D); defined when N < D
};

// features (N, D), N >= 2, accumulated in float64 in chunks (no (N, D) float64 copy).
GaussianStats gaussian_stats(const torch::Tensor& features);

// |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr((C1 C2)^1/2). The trace of the square root is computed as
// the sum of the square roots of the eigenvalues of C1^1/2 C2 C1^1/2 (symmetric, so a symmetric
// eigensolver; eigenvalues clamped at 0 against rounding): never NaN, never complex, unlike
// scipy's sqrtm on a near-singular product. Where a side is factored, C1 = R^T R, C1 C2 has the
// nonzero eigenvalues of R C2 R^T (of (R1 R2^T)(R1 R2^T)^T when both are): the same sum from a
// smaller matrix, and exact where the (D, D) form takes square roots of rounding noise. Clamped
// at 0.
double frechet_distance(const GaussianStats& a, const GaussianStats& b);

struct MeanStd {
  double mean = 0;
  double std = 0;  // population std over the splits / subsets, as the reference tools report
};

// logits (N, C) -> IS over `splits` consecutive splits, split i holding rows [i N / s, (i + 1) N /
// s) (stylegan2-ada's is50k). N >= splits.
MeanStd inception_score(const torch::Tensor& logits, int64_t splits = 10);

// KID between feature sets x (N, D) and y (M, D): `subsets` subsets of min(subset_size, N, M)
// rows drawn without replacement from each set by `generator`; kernel k(a, b) = (a.b / D + 1)^3.
MeanStd kernel_inception_distance(const torch::Tensor& x, const torch::Tensor& y, int64_t subsets,
                                  int64_t subset_size, torch::Generator generator);

struct PrecisionRecall {
  double precision = 0;  // share of fake samples inside the real manifold
  double recall = 0;     // share of real samples inside the fake manifold
};

// Kynkaanniemi et al. 2019: a set's manifold is the union of balls around its points, each with
// the radius of the distance to its k-th nearest neighbour in the set. Distances are computed in
// row blocks (never an N x M matrix at once).
PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake,
                                 int64_t k = 3);

}  // namespace acgan
