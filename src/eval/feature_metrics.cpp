// FID, IS, KID, precision and recall. See include/acgan/eval/feature_metrics.h.
#include "acgan/eval/feature_metrics.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "acgan/error.h"

namespace acgan {
namespace {

constexpr int64_t kRowBlock = 1024;  // rows per block: bounds the memory of (block, N) matrices

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd r;
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  for (double v : values) r.std += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(r.std / static_cast<double>(values.size()));
  return r;
}

// The symmetric square root of a symmetric positive semi-definite matrix.
torch::Tensor symmetric_sqrt(const torch::Tensor& m) {
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(m, "L");
  return torch::matmul(eigenvectors * eigenvalues.clamp_min(0).sqrt().unsqueeze(0),
                       eigenvectors.transpose(0, 1));
}

// Squared Euclidean distances (A, B) between rows of a (A, D) and b (B, D), clamped at 0.
torch::Tensor squared_distances(const torch::Tensor& a, const torch::Tensor& b,
                                const torch::Tensor& b_norms) {
  const auto a_norms = a.pow(2).sum(1, true);
  return (a_norms + b_norms.unsqueeze(0) - 2 * torch::matmul(a, b.t())).clamp_min(0);
}

// Squared distance of each row of x to its k-th nearest other row (x itself excluded).
torch::Tensor knn_radii(const torch::Tensor& x, int64_t k) {
  const auto norms = x.pow(2).sum(1);
  std::vector<torch::Tensor> radii;
  for (int64_t i = 0; i < x.size(0); i += kRowBlock) {
    const auto block = x.narrow(0, i, std::min(kRowBlock, x.size(0) - i));
    // k + 1: the row's distance to itself (0) is the smallest.
    radii.push_back(std::get<0>(squared_distances(block, x, norms).kthvalue(k + 1, 1)));
  }
  return torch::cat(radii);
}

// Share of the rows of `queries` within radius of at least one row of `points`.
double share_inside(const torch::Tensor& queries, const torch::Tensor& points,
                    const torch::Tensor& radii) {
  const auto norms = points.pow(2).sum(1);
  int64_t inside = 0;
  for (int64_t i = 0; i < queries.size(0); i += kRowBlock) {
    const auto block = queries.narrow(0, i, std::min(kRowBlock, queries.size(0) - i));
    const auto within = squared_distances(block, points, norms) <= radii.unsqueeze(0);
    inside += within.any(1).sum().item<int64_t>();
  }
  return static_cast<double>(inside) / static_cast<double>(queries.size(0));
}

torch::Tensor trace_of(const GaussianStats& s) {
  return s.root.defined() ? s.root.pow(2).sum() : s.cov.trace();
}

// tr((C1 C2)^1/2) as the sum of square roots of the eigenvalues of a symmetric PSD matrix with
// the same nonzero spectrum as C1 C2: (R1 R2^T)(R1 R2^T)^T when both are factored, R C R^T when
// one is, C1^1/2 C2 C1^1/2 when neither is.
torch::Tensor trace_of_root_product(const GaussianStats& a, const GaussianStats& b) {
  torch::Tensor product;
  if (a.root.defined() && b.root.defined()) {
    const auto cross = torch::matmul(a.root, b.root.t());  // (Na, Nb)
    product =
        a.count <= b.count ? torch::matmul(cross, cross.t()) : torch::matmul(cross.t(), cross);
  } else if (a.root.defined() || b.root.defined()) {
    const auto& low = a.root.defined() ? a : b;
    const auto& full = a.root.defined() ? b : a;
    product = torch::matmul(torch::matmul(low.root, full.cov), low.root.t());
  } else {
    const auto root_a = symmetric_sqrt(a.cov);
    product = torch::matmul(torch::matmul(root_a, b.cov), root_a);
  }
  product = (product + product.t()) / 2;  // symmetric to the last bit, for eigvalsh
  return torch::linalg_eigvalsh(product, "L").clamp_min(0).sqrt().sum();
}

}  // namespace

GaussianStats gaussian_stats(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2 && features.size(0) >= 2, "gaussian_stats: need (N >= 2, D)");
  const int64_t n = features.size(0), d = features.size(1);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(features.device());
  auto sum = torch::zeros({d}, f64);
  for (int64_t i = 0; i < n; i += kRowBlock)
    sum += features.narrow(0, i, std::min(kRowBlock, n - i)).to(torch::kFloat64).sum(0);
  const auto mean = sum / static_cast<double>(n);
  const double scale = 1.0 / std::sqrt(static_cast<double>(n - 1));
  if (n < d) {  // the factored form: (N, D) is smaller than (D, D)
    return {mean.cpu(), torch::Tensor(), n, ((features.to(torch::kFloat64) - mean) * scale).cpu()};
  }
  // Two passes: centred products, so no cancellation between E[xx^T] and mm^T.
  auto scatter = torch::zeros({d, d}, f64);
  for (int64_t i = 0; i < n; i += kRowBlock) {
    const auto centred =
        features.narrow(0, i, std::min(kRowBlock, n - i)).to(torch::kFloat64) - mean;
    scatter.addmm_(centred.t(), centred);
  }
  return {mean.cpu(), (scatter / static_cast<double>(n - 1)).cpu(), n, torch::Tensor()};
}

double frechet_distance(const GaussianStats& a, const GaussianStats& b) {
  TORCH_CHECK(a.mean.sizes() == b.mean.sizes(), "frechet_distance: feature sizes differ");
  for (const auto* stats : {&a, &b}) {
    if (!torch::isfinite(stats->root.defined() ? stats->root : stats->cov).all().item<bool>() ||
        !torch::isfinite(stats->mean).all().item<bool>()) {
      throw Error("Frechet distance: the features' mean or covariance holds NaN or Inf");
    }
  }
  const auto mean_term = (a.mean - b.mean).pow(2).sum().item<double>();
  torch::Tensor trace_root;
  try {
    trace_root = trace_of_root_product(a, b);
  } catch (const c10::Error& e) {  // LAPACK's eigensolver failing to converge
    throw Error("Frechet distance: the covariance's eigendecomposition failed (" +
                first_line(e.what_without_backtrace()) + ")");
  }
  const auto value = mean_term + (trace_of(a) + trace_of(b) - 2 * trace_root).item<double>();
  return std::max(value, 0.0);
}

MeanStd inception_score(const torch::Tensor& logits, int64_t splits) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(0) >= splits && splits > 0,
              "inception_score: need (N >= splits, C) logits");
  const int64_t n = logits.size(0);
  const auto log_p = torch::log_softmax(logits.to(torch::kFloat64), 1);
  const auto p = log_p.exp();
  std::vector<double> scores;
  for (int64_t s = 0; s < splits; ++s) {
    const int64_t begin = s * n / splits, end = (s + 1) * n / splits;
    const auto part = p.slice(0, begin, end), log_part = log_p.slice(0, begin, end);
    const auto log_marginal = part.mean(0, true).log();
    // p log(p / p_y), 0 where p is 0 (a class no sample of the split gives any probability).
    const auto terms =
        torch::where(part > 0, part * (log_part - log_marginal), torch::zeros_like(part));
    scores.push_back(std::exp(terms.sum(1).mean().item<double>()));
  }
  return mean_std(scores);
}

MeanStd kernel_inception_distance(const torch::Tensor& x, const torch::Tensor& y, int64_t subsets,
                                  int64_t subset_size, torch::Generator generator) {
  TORCH_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1), "kid: feature sizes");
  const int64_t m = std::min({subset_size, x.size(0), y.size(0)});
  TORCH_CHECK(m >= 2, "kid: need at least 2 rows in each set");
  const double d = static_cast<double>(x.size(1));
  // Dot products in float32 (relative error ~1e-6, far below KID's subset scatter), the cube and
  // the sums in float64, where the MMD's cancellation happens.
  const auto kernel = [d](const torch::Tensor& a, const torch::Tensor& b) {
    const auto k = torch::matmul(a, b.t()).to(torch::kFloat64) / d + 1;
    return k * k * k;
  };
  const auto index_options = torch::TensorOptions().dtype(torch::kLong);
  std::vector<double> values;
  for (int64_t s = 0; s < subsets; ++s) {
    const auto xi = torch::randperm(x.size(0), generator, index_options).narrow(0, 0, m);
    const auto yi = torch::randperm(y.size(0), generator, index_options).narrow(0, 0, m);
    const auto a = x.index_select(0, xi.to(x.device())).to(torch::kFloat32);
    const auto b = y.index_select(0, yi.to(y.device())).to(torch::kFloat32);
    const auto kxx = kernel(a, a), kyy = kernel(b, b), kxy = kernel(a, b);
    const double same = ((kxx.sum() - kxx.trace()) + (kyy.sum() - kyy.trace())).item<double>();
    const double mm1 = static_cast<double>(m) * static_cast<double>(m - 1);
    values.push_back(same / mm1 - 2 * kxy.sum().item<double>() / (static_cast<double>(m) * m));
  }
  return mean_std(values);
}

PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int64_t k) {
  TORCH_CHECK(real.size(0) > k && fake.size(0) > k, "precision_recall: need more than k rows");
  const auto r = real.to(torch::kFloat32), f = fake.to(torch::kFloat32);
  return {share_inside(f, r, knn_radii(r, k)), share_inside(r, f, knn_radii(f, k))};
}

}  // namespace acgan
