// CPU fast paths for two layers of the original networks, same mathematics, measured faster:
//  - ConvTranspose2d: LibTorch 1.13 runs it on the CPU as slow_conv_transpose2d (~26 GFLOP/s here),
//    while a transposed convolution is exactly the input gradient of a convolution, which oneDNN
//    computes at ~300 GFLOP/s. The forward pass calls convolution_backward for that gradient; the
//    backward pass is a convolution (input gradient) and a convolution weight gradient, both
//    oneDNN. G's four layers: ~264 ms -> ~45 ms per batch-100 step on 2 cores.
//    LibTorch 2.x already runs ConvTranspose2d on oneDNN, so there the module's own forward runs.
//  - Dropout: a mask from uniform_() >= p instead of bernoulli_(), same distribution, fewer cycles
//    on the CPU (227 -> 301 images/s at batch 100 on 2 cores). The uniform draw is float32 in every
//    precision: drawn in bf16 it rounds up to p too often, and the keep rate drifts from 1 - p.
//    CUDA's dropout is one fused kernel where this is three, so the GPU keeps LibTorch's.
// Off the CPU, or for shapes the rewrite does not cover, the module's own forward runs.
#pragma once

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <string>
#include <variant>

namespace acgan {

// Which fast paths a call takes: each network holds its own (models.h, use_fast_paths), so the
// benchmark and the equivalence tests turn them off per network, not process-wide. (The third fast
// path, D frozen in the G step, is a StepOptions field: train_step.h.)
struct FastPaths {
  bool conv_transpose = true;
  bool dropout = true;
};

// oneDNN's transposed convolution (a convolution's input gradient runs the same kernel), checked
// once per process against float64 on G's four layers and on D's first layer's input gradient, in
// float32 and bf16. Where a result is off by more than rounding (oneDNN 3.7 in Debian trixie's
// LibTorch 2.6 on some AVX-512 CPUs puts G's 96 -> 48 layer 0.2 off, where float32 rounds at
// 1e-6), oneDNN is turned off for the process before any network computes, so LibTorch's own
// kernels run (exact, slower), with one warning. Returns that warning's text, or "" where oneDNN
// is exact. The networks call it when they are built (models.cpp); later calls return the first
// verdict.
std::string guard_against_inexact_onednn();

// A convolution module's options (padding as a variant: explicit, or kValid / kSame).
using ConvOptions2d = torch::nn::detail::ConvNdOptions<2>;

// The explicit padding of a convolution's options, or nullptr (kValid / kSame). The options hold a
// c10::variant in LibTorch 1.13 and a std::variant from 2.2 on: the unqualified call finds
// c10::get_if or std::get_if by argument-dependent lookup, so both builds compile.
template <typename PaddingVariant>
const torch::ExpandingArray<2>* explicit_padding(const PaddingVariant& padding) {
  using std::get_if;
  return get_if<torch::ExpandingArray<2>>(&padding);
}

// y = conv_transpose(x, m.weight) + m.bias through oneDNN where possible, else m.forward(x).
torch::Tensor conv_transpose_2d(const torch::Tensor& x, torch::nn::ConvTranspose2dImpl& m,
                                const FastPaths& paths);
// The same for a weight and bias held elsewhere (spectral_norm.h's layer): the rewrite where it
// applies, else LibTorch's conv_transpose2d with `options`.
torch::Tensor conv_transpose_2d(const torch::Tensor& x, const torch::Tensor& weight,
                                const torch::Tensor& bias, const ConvOptions2d& options,
                                const FastPaths& paths);

// Inverted dropout with keep-mask (uniform >= p) / (1 - p) on the CPU, LibTorch's elsewhere;
// identity for p == 0.
torch::Tensor dropout(const torch::Tensor& x, double p, const FastPaths& paths);

// Runs x through every layer of `block`, taking the fast paths above where they apply.
torch::Tensor forward_block(torch::nn::SequentialImpl& block, torch::Tensor x,
                            const FastPaths& paths);

}  // namespace acgan
