// acgan_eval_bench: the cost of each evaluation metric at the sizes papers use (by default 50,000
// samples against 50,000 real images, Inception's 2048 features and 1008 logits), on random
// features: the mathematics only, no network. Prints one JSON line of seconds per metric.
//   build/acgan_eval_bench [--n 50000] [--dim 2048] [--threads 0]
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>

#include "acgan/eval/feature_metrics.h"
#include "acgan/eval/ms_ssim.h"
#include "acgan/runtime.h"

namespace {

double seconds_of(const std::function<void()>& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acgan_eval_bench: seconds per evaluation metric on random features"};
  int64_t n = 50000, dim = 2048, threads = 0;
  app.add_option("--n", n, "samples on each side")->capture_default_str();
  app.add_option("--dim", dim, "feature size")->capture_default_str();
  app.add_option("--threads", threads, "0: one per core")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const int used_threads = acgan::configure_threads(threads);
  acgan::configure_blas();
  auto generator = at::detail::createCPUGenerator(0);
  const auto real = torch::rand({n, dim}, generator);
  const auto fake = torch::rand({n, dim}, generator) * 1.1;
  const auto logits = torch::randn({n, 1008}, generator);
  acgan::GaussianStats a, b;
  const double stats = seconds_of([&] {
    a = acgan::gaussian_stats(real);
    b = acgan::gaussian_stats(fake);
  });
  double fid = 0;
  const double frechet = seconds_of([&] { fid = acgan::frechet_distance(a, b); });
  const double is = seconds_of([&] { acgan::inception_score(logits); });
  const double kid = seconds_of([&] {
    acgan::kernel_inception_distance(fake, real, 100, 1000, at::detail::createCPUGenerator(1));
  });
  const double pr = seconds_of([&] { acgan::precision_recall(real, fake, 3); });
  const auto images =
      torch::randint(0, 256, {2000, 3, 32, 32}, generator, torch::kLong).to(torch::kUInt8);
  const double ms_ssim =
      seconds_of([&] { acgan::ms_ssim(images.narrow(0, 0, 1000), images.narrow(0, 1000, 1000)); });
  fmt::print(
      "{{\"n\": {}, \"dim\": {}, \"threads\": {}, \"stats_both_sides_s\": {:.2f}, "
      "\"frechet_s\": {:.2f}, \"is_s\": {:.2f}, \"kid_100x1000_s\": {:.2f}, "
      "\"precision_recall_k3_s\": {:.2f}, \"ms_ssim_1000_pairs_s\": {:.3f}, \"fid_value\": "
      "{:.4f}}}\n",
      n, dim, used_threads, stats, frechet, is, kid, pr, ms_ssim, fid);
  return 0;
}
