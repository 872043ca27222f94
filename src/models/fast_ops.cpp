// Transposed convolution on oneDNN and a cheaper dropout mask. See include/acgan/models/fast_ops.h.
#include "acgan/models/fast_ops.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <variant>
#include <vector>

#include "acgan/models/precision.h"

namespace acgan {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// conv_transpose2d(x, w, b; stride, padding) with x (N, Cin, H, W), w (Cin, Cout, k, k):
// the gradient of conv2d(., w; stride, padding) with respect to its input, at grad_output = x.
struct OneDnnConvTranspose : public torch::autograd::Function<OneDnnConvTranspose> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b, int64_t stride, int64_t padding) {
    const int64_t k = w.size(2);
    const int64_t h = (x.size(2) - 1) * stride - 2 * padding + k;
    const int64_t wd = (x.size(3) - 1) * stride - 2 * padding + k;
    // Only its shape is read: the gradient with respect to the input does not depend on the input.
    const auto shape_only = torch::empty({x.size(0), w.size(1), h, wd}, x.options());
    auto y = std::get<0>(at::convolution_backward(x, shape_only, w, c10::nullopt, {stride, stride},
                                                  {padding, padding}, {1, 1}, false, {0, 0}, 1,
                                                  {true, false, false}));
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return y.add_(b.view({1, -1, 1, 1}));  // (N, Cout, H', W')
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto& g = grads[0];  // (N, Cout, H', W')
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const int64_t s = ctx->saved_data["stride"].toInt(), p = ctx->saved_data["padding"].toInt();
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) gx = at::conv2d(g, w, {}, {s, s}, {p, p});
    if (ctx->needs_input_grad(1)) {
      // d<g, convT(x, w)>/dw = d<conv2d(g, w), x>/dw: a weight gradient with input g, output grad
      // x.
      gw = std::get<1>(at::convolution_backward(x, g, w, c10::nullopt, {s, s}, {p, p}, {1, 1},
                                                false, {0, 0}, 1, {false, true, false}));
    }
    torch::Tensor gb = ctx->needs_input_grad(2) ? g.sum({0, 2, 3}) : torch::Tensor();
    return {gx, gw, gb, torch::Tensor(), torch::Tensor()};
  }
};

// LibTorch 2.x runs ConvTranspose2d on oneDNN itself: measured on LibTorch 2.6 (Zen 5, 2 threads,
// batch 100) the rewrite gives 497 images/s against 497 in fp32 and 727 against 710 in bf16, where
// on 1.13 it is 501 against 387. It is kept where it pays.
constexpr bool kOneDnnConvTransposePays = TORCH_VERSION_MAJOR < 2;

bool onednn_applies(const torch::Tensor& x, const ConvOptions2d& o) {
  const auto stride = *o.stride(), kernel = *o.kernel_size();
  const auto* padding = explicit_padding(o.padding());
  const auto dtype = x.scalar_type();
  return kOneDnnConvTransposePays && x.device().is_cpu() &&
         (dtype == torch::kFloat || dtype == torch::kBFloat16) && x.dim() == 4 && padding &&
         stride[0] == stride[1] && (*padding)->at(0) == (*padding)->at(1) &&
         kernel[0] == kernel[1] && o.groups() == 1 && (*o.dilation())[0] == 1 &&
         (*o.dilation())[1] == 1 && (*o.output_padding())[0] == 0 &&
         (*o.output_padding())[1] == 0 && at::globalContext().userEnabledMkldnn();
}

// A transposed convolution of the networks' shapes, to check oneDNN on.
struct ConvTransposeCase {
  int64_t in, out, side, kernel, stride, padding, output_padding;
};

// cifar G's four layers at their input sides, D's first layer's input gradient (32x32x3 from
// 16x16x16, kernel 3: a convolution's input gradient runs the same kernel), and imagenet128 G's
// 5x5 and 8x8 padding-0 kernels on fewer channels (the check runs in every process).
const std::vector<ConvTransposeCase>& onednn_cases() {
  static const std::vector<ConvTransposeCase> cases = {
      {384, 192, 1, 4, 1, 0, 0}, {192, 96, 4, 4, 2, 1, 0}, {96, 48, 8, 4, 2, 1, 0},
      {48, 3, 16, 4, 2, 1, 0},   {16, 3, 16, 3, 2, 1, 1},  {32, 16, 13, 5, 2, 0, 0},
      {16, 3, 61, 8, 2, 0, 0}};
  return cases;
}

// Largest |result - float64| over the largest |float64| of one case in `dtype`, on inputs already
// rounded to `dtype`; NaN where LibTorch cannot run the case in that dtype.
double relative_error(const ConvTransposeCase& c, c10::ScalarType dtype) {
  const auto x = torch::randn({4, c.in, c.side, c.side}).to(dtype);
  const auto w = (torch::randn({c.in, c.out, c.kernel, c.kernel}) * 0.05).to(dtype);
  try {
    const auto y = torch::conv_transpose2d(x, w, {}, c.stride, c.padding, c.output_padding);
    const auto exact = torch::conv_transpose2d(x.to(torch::kDouble), w.to(torch::kDouble), {},
                                               c.stride, c.padding, c.output_padding);
    return (y.to(torch::kDouble) - exact).abs().max().item<double>() /
           exact.abs().max().item<double>();
  } catch (const c10::Error&) {
    return std::nan("");
  }
}

// Turns oneDNN off for the process where any case is wrong, before any network computes (so a
// run's kernels, and its bit-exact resume, never change mid-process); says what it found, or "".
std::string check_onednn_convolutions() {
  if (!at::globalContext().userEnabledMkldnn()) return "";
  torch::NoGradGuard no_grad;
  auto cpu_generator = at::globalContext().defaultGenerator(torch::kCPU);
  const auto rng_state = cpu_generator.get_state();
  std::vector<std::string> wrong;
  // float32 rounds at ~1e-7 relative and bf16 at ~4e-3 (its sums stay float32); the broken
  // kernel is off by 10-60 %.
  for (const auto& [dtype, tolerance] :
       {std::pair{torch::kFloat, 1e-4}, {torch::kBFloat16, 5e-2}}) {
    for (const auto& c : onednn_cases()) {
      const double error = relative_error(c, dtype);
      if (std::isfinite(error) && error > tolerance) {
        wrong.push_back(fmt::format("{} {} -> {} at {}x{} off by {:.2g}", c10::toString(dtype),
                                    c.in, c.out, c.side, c.side, error));
      }
    }
  }
  cpu_generator.set_state(rng_state);  // seeded runs draw as if it had not run
  if (wrong.empty()) return "";
  at::globalContext().setUserEnabledMkldnn(false);
  return fmt::format(
      "oneDNN's transposed convolution is wrong on this CPU ({} of its largest value); it is "
      "turned off for this process, so LibTorch's own convolutions run: correct, slower. A "
      "LibTorch built with another oneDNN version avoids it",
      fmt::join(wrong, ", "));
}

}  // namespace

std::string guard_against_inexact_onednn() {
  static std::once_flag once;
  static std::string verdict;
  std::call_once(once, [] {
    verdict = check_onednn_convolutions();
    if (!verdict.empty()) spdlog::warn("{}", verdict);
  });
  return verdict;
}

torch::Tensor conv_transpose_2d(const torch::Tensor& x, torch::nn::ConvTranspose2dImpl& m,
                                const FastPaths& paths) {
  if (!paths.conv_transpose || !onednn_applies(x, m.options)) return m.forward(x);
  return conv_transpose_2d(x, m.weight, m.bias, m.options, paths);
}

torch::Tensor conv_transpose_2d(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, const ConvOptions2d& options,
                                const FastPaths& paths) {
  if (!paths.conv_transpose || !onednn_applies(x, options)) {
    namespace F = torch::nn::functional;
    const auto* padding = explicit_padding(options.padding());
    TORCH_CHECK(padding, "conv_transpose_2d: explicit padding expected");
    return F::conv_transpose2d(x, weight,
                               F::ConvTranspose2dFuncOptions()
                                   .bias(bias)
                                   .stride(options.stride())
                                   .padding(*padding)
                                   .output_padding(options.output_padding())
                                   .groups(options.groups())
                                   .dilation(options.dilation()));
  }
  const auto* padding = explicit_padding(options.padding());
  // The custom op is invisible to autocast, so it casts as autocast would for conv_transpose2d.
  const auto lower = active_autocast_dtype(x.device().type());
  const auto cast = [&](const torch::Tensor& t) { return lower ? t.to(*lower) : t; };
  const auto w = cast(weight);
  // A layer without bias (imagenet128's) adds zeros: LibTorch 1.13's autograd functions take no
  // undefined input, and a zero bias needs no gradient.
  const auto b = bias.defined() ? cast(bias) : torch::zeros({w.size(1)}, w.options());
  return OneDnnConvTranspose::apply(cast(x).contiguous(), w, b, (*options.stride())[0],
                                    (*padding)->at(0));
}

torch::Tensor dropout(const torch::Tensor& x, double p, const FastPaths& paths) {
  if (p == 0) return x;
  if (!paths.dropout || !x.device().is_cpu()) return torch::dropout(x, p, /*train=*/true);
  // keep = (u >= p) / (1 - p) with u ~ U[0, 1) in float32: P(keep) = 1 - p, as bernoulli_(1 - p).
  auto u = torch::empty(x.sizes(), x.options().dtype(torch::kFloat)).uniform_(0, 1);
  return x * u.ge_(p).to(x.scalar_type()).mul_(1.0 / (1.0 - p));
}

torch::Tensor forward_block(torch::nn::SequentialImpl& block, torch::Tensor x,
                            const FastPaths& paths) {
  for (auto& layer : block) {
    auto* module = layer.ptr().get();
    if (auto* convt = module->as<torch::nn::ConvTranspose2d>()) {
      x = conv_transpose_2d(x, *convt, paths);
    } else if (auto* drop = module->as<torch::nn::Dropout>()) {
      x = drop->is_training() ? dropout(x, drop->options.p(), paths) : x;
    } else {
      x = layer.forward(x);
    }
  }
  return x;
}

}  // namespace acgan
