// acgan_bench: training throughput of acgan's step on real CIFAR-10, timed the way
// bench/pytorch_step.py times PyTorch eager (steady state, whole step including batch assembly and
// noise), plus the step's exact FLOP count and this machine's float32 matmul peak, as one JSON
// line. scripts/bench.sh runs both and prints the comparison.
#include <fmt/format.h>
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>

#include "acgan/checkpoint.h"
#include "acgan/cifar10.h"
#include "acgan/cuda_graph_step.h"
#include "acgan/epoch_batches.h"
#include "acgan/error.h"
#include "acgan/fast_ops.h"
#include "acgan/models.h"
#include "acgan/multi_tensor_adam.h"
#include "acgan/op_counter.h"
#include "acgan/runtime.h"
#include "acgan/train_step.h"

namespace {

using Clock = std::chrono::steady_clock;

// Multiply-accumulates of one forward pass for one example, from the traced layer shapes.
struct ForwardMacs {
  double total = 0;
  double first_layer = 0;  // its input gradient is never needed (the input is data or noise)
};

ForwardMacs forward_macs(const std::vector<acgan::LayerRecord>& rows, int64_t input_elements) {
  ForwardMacs macs;
  double in_elements = static_cast<double>(input_elements);
  int64_t in_channels = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    double out_elements = 1;
    for (auto d : r.out_shape) out_elements *= static_cast<double>(d);
    const double out_channels = static_cast<double>(r.out_shape[0]);
    const double weights = static_cast<double>(r.params) - out_channels;  // minus the bias
    double layer = 0;
    if (r.type == "Conv2d" || r.type == "Linear") {
      layer = out_elements * weights / out_channels;  // each output: Cin * k * k (or in) MACs
    } else if (r.type == "ConvTranspose2d") {
      layer = in_elements * weights / static_cast<double>(in_channels);  // each input: Cout * k * k
    }
    if (i == 0) macs.first_layer = layer;
    macs.total += layer;
    if (r.type != "Sigmoid" || i + 1 == rows.size()) {
      in_elements = out_elements;
      in_channels = r.out_shape[0];
    }
  }
  return macs;
}

// FLOPs of one ACGAN step at `batch` as PyTorch eager runs it: D three times forward and backward
// (weight gradients each time; input gradients except D's first layer on the real and detached
// passes), G forward and backward. Element-wise work (BatchNorm, activations, Adam) not counted.
double step_flops(int64_t nz, int64_t batch) {
  acgan::Generator g(nz);
  acgan::Discriminator d;
  // D's two heads both read the 8192 features; trace_layers lists fc_source then fc_class.
  const auto fd = forward_macs(acgan::trace_layers(*d), 3 * 32 * 32);
  const auto fg = forward_macs(acgan::trace_layers(*g), nz);
  const double d_macs = 3 * fd.total + 3 * fd.total + (2 * (fd.total - fd.first_layer) + fd.total);
  const double g_macs = fg.total + fg.total + (fg.total - fg.first_layer);
  return 2.0 * (d_macs + g_macs) * static_cast<double>(batch);
}

// Best of 8 runs of `op`, as GFLOP/s.
template <typename Op>
double best_gflops(const torch::Device& device, double flop, Op op) {
  double best = 0;
  for (int i = 0; i < 8; ++i) {
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto t = Clock::now();
    op().sum().template item<float>();
    const double s = std::chrono::duration<double>(Clock::now() - t).count();
    best = std::max(best, flop / s / 1e9);
  }
  return best;
}

// The matrix-multiply peak in `dtype`: the better of BLAS (torch::mm, 2048^3) and oneDNN (the same
// product as a 1x1 convolution, 1024 channels over 32x32 pixels). In float32 OpenBLAS reaches ~63
// GFLOP/s here and oneDNN ~300, close to the 2 x AVX-512 FMA limit; the convolutions of the step
// run on oneDNN.
double matmul_peak_gflops(const torch::Device& device, torch::ScalarType dtype) {
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const auto a = torch::randn({2048, 2048}, options), b = torch::randn({2048, 2048}, options);
  const double blas =
      best_gflops(device, 2.0 * 2048 * 2048 * 2048, [&] { return torch::mm(a, b); });
  const auto x = torch::randn({1, 1024, 32, 32}, options),
             w = torch::randn({1024, 1024, 1, 1}, options);
  const double onednn =
      best_gflops(device, 2.0 * 1024 * 1024 * 1024, [&] { return torch::conv2d(x, w); });
  return std::max(blas, onednn);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acgan_bench: acgan's training-step throughput on real CIFAR-10 (JSON line)"};
  std::string root_dir = "./", device_spec = "cpu";
  int64_t batch_size = 100, threads = 2, warmup = 3, steps = 20, repeats = 1;
  double t0 = 0;
  bool matmul = false;
  app.add_option("--root_dir", root_dir)->required();
  app.add_option("--batch_size", batch_size);
  app.add_option("--threads", threads);
  app.add_option("--warmup", warmup);
  app.add_option("--steps", steps);
  app.add_option("--repeats", repeats);
  app.add_option("--device", device_spec);
  app.add_option("--t0", t0, "launch time (epoch seconds) for time-to-first-step");
  app.add_flag("--matmul", matmul, "also measure the matmul peak in the step's precision");
  std::string precision_spec = "fp32";
  app.add_option("--precision", precision_spec, "fp32 | bf16 | fp16");
  bool plain_convt = false, plain_dropout = false, unfrozen_d = false;
  app.add_flag("--plain_conv_transpose", plain_convt,
               "LibTorch's ConvTranspose2d (no oneDNN rewrite)");
  app.add_flag("--plain_dropout", plain_dropout, "LibTorch's dropout (bernoulli_)");
  app.add_flag("--unfrozen_d", unfrozen_d, "compute D's unused weight gradients in the G step");
  bool count_ops = false, loop_adam = false, cuda_graphs = false;
  std::string adam_kernel = "auto";
  app.add_flag("--count_ops", count_ops,
               "also count the compute operations of one step (op_counter.h)");
  app.add_flag("--loop_adam", loop_adam,
               "torch::optim::Adam's per-parameter loop (the former step)");
  app.add_option("--adam", adam_kernel, "auto | foreach | fused: the multi-tensor Adam's kernel")
      ->check(CLI::IsMember({"auto", "foreach", "fused"}));
  app.add_flag("--cuda_graphs", cuda_graphs,
               "capture the step as a CUDA graph and replay it (cuda_graph_step.h)");
  CLI11_PARSE(app, argc, argv);
  // Bad flags or data: one line, as acgan prints them.
  const auto bench = [&]() -> int {
    const auto device = acgan::resolve_device(device_spec);
    const auto precision = acgan::parse_precision(precision_spec);
    acgan::check_precision_supported(precision, device.type());
    acgan::LossScaler scaler;
    auto step_options = acgan::step_options_for(precision, scaler);
    step_options.freeze_d_in_g_step = !unfrozen_d;
    acgan::configure_threads(threads);
    acgan::configure_blas();
    torch::manual_seed(0);
    const auto data = acgan::Cifar10(root_dir, acgan::Split::kTrain).to(device);
    acgan::TrainOptions options;
    options.batch_size = batch_size;
    acgan::TrainingState state(options, device);
    acgan::use_fast_paths(*state.g, {!plain_convt, !plain_dropout});
    acgan::use_fast_paths(*state.d, {!plain_convt, !plain_dropout});
    const auto adam = torch::optim::AdamOptions(options.lr).betas({options.beta1, options.beta2});
    if (loop_adam) {
      state.opt_g = std::make_unique<torch::optim::Adam>(state.g->parameters(), adam);
      state.opt_d = std::make_unique<torch::optim::Adam>(state.d->parameters(), adam);
    } else if (adam_kernel != "auto") {
      const auto kernel =
          adam_kernel == "fused" ? acgan::AdamKernel::kFused : acgan::AdamKernel::kForeach;
      state.opt_g = std::make_unique<acgan::MultiTensorAdam>(state.g->parameters(), adam, kernel);
      state.opt_d = std::make_unique<acgan::MultiTensorAdam>(state.d->parameters(), adam, kernel);
    }
    std::string adam_used = "loop";
    if (const auto* multi = dynamic_cast<const acgan::MultiTensorAdam*>(state.opt_g.get()))
      adam_used =
          multi->kernel_for(device.type()) == acgan::AdamKernel::kFused ? "fused" : "foreach";
    std::unique_ptr<acgan::CudaGraphStep> graph;
    const auto why_eager = acgan::CudaGraphStep::where_not_capturable(device, step_options,
                                                                      *state.opt_g, *state.opt_d);
    if (cuda_graphs && !why_eager.empty())
      fmt::print(stderr, "acgan_bench: --cuda_graphs: the step runs eagerly: {}\n", why_eager);
    if (cuda_graphs && why_eager.empty()) {
      acgan::CudaGraphStepOptions graph_options;
      graph_options.nz = options.nz;
      graph = std::make_unique<acgan::CudaGraphStep>(*state.g, *state.d, *state.opt_g, *state.opt_d,
                                                     step_options, graph_options);
    }
    state.g->train();
    state.d->train();
    const int64_t n = *data.size();
    const auto order = acgan::epoch_order(0, 0, n).to(device);  // as EpochBatches does
    int64_t cursor = 0;
    auto step = [&] {
      if (cursor + batch_size > n) cursor = 0;
      const auto batch = data.batch(order.narrow(0, cursor, batch_size));
      cursor += batch_size;
      if (graph) return (*graph)(batch.data, batch.target);
      const auto noise = acgan::make_noise(batch_size, options.nz, device);
      return acgan::train_step(*state.g, *state.d, *state.opt_g, *state.opt_d, batch.data,
                               batch.target, noise, step_options);
    };
    auto sync = [&] {
      if (device.is_cuda()) torch::cuda::synchronize();
    };
    step();
    sync();
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double first_step = t0 > 0 ? now - t0 : -1;
    for (int64_t i = 0; i < warmup; ++i) step();
    // The optimizers alone (G's and D's steps on the gradients the last step left), counted and
    // timed: what the multi-tensor Adam changes.
    const auto adam_steps = [&] {
      state.opt_d->step();
      state.opt_g->step();
    };
    int64_t ops_per_step = 0, adam_ops = 0, kernels_per_step = 0;
    if (count_ops && device.is_cuda()) {
      kernels_per_step = acgan::count_cuda_kernels([&] {
        step();
        sync();
      });
    }
    if (count_ops) {
      {
        const acgan::OpCounter counter;
        step();
        sync();
        ops_per_step = counter.count();
      }
      const acgan::OpCounter counter;
      adam_steps();
      sync();
      adam_ops = counter.count();
    }
    sync();
    const auto adam_start = Clock::now();
    constexpr int kAdamRounds = 20;
    for (int i = 0; i < kAdamRounds; ++i) adam_steps();
    sync();
    const double adam_ms =
        std::chrono::duration<double>(Clock::now() - adam_start).count() * 1000 / kAdamRounds;
    std::vector<double> rates;
    for (int64_t r = 0; r < repeats; ++r) {
      sync();
      const auto t = Clock::now();
      torch::Tensor stats;
      for (int64_t i = 0; i < steps; ++i) stats = step();
      stats[0].item<float>();
      sync();
      rates.push_back(static_cast<double>(steps * batch_size) /
                      std::chrono::duration<double>(Clock::now() - t).count());
    }
    auto sorted = rates;
    std::sort(sorted.begin(), sorted.end());
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    fmt::print(
        "{{\"impl\": \"acgan\", \"batch_size\": {}, \"threads\": {}, \"precision\": \"{}\", "
        "\"images_per_s\": {:.2f}, "
        "\"repeats\": [{:.2f}], \"first_step_s\": {:.3f}, \"peak_rss_mb\": {:.1f}, "
        "\"step_gflop\": {:.3f}, \"matmul_peak_gflops\": {:.1f}, \"adam\": \"{}\", "
        "\"cuda_graphs\": {}, "
        "\"ops_per_step\": {}, \"kernels_per_step\": {}, \"adam_ops\": {}, \"adam_ms\": {:.2f}}}\n",
        batch_size, torch::get_num_threads(), precision_spec, sorted[sorted.size() / 2],
        fmt::join(rates, ", "), first_step, usage.ru_maxrss / 1024.0,
        step_flops(options.nz, batch_size) / 1e9,
        matmul ? matmul_peak_gflops(device, acgan::compute_dtype(precision)) : 0.0, adam_used,
        graph && graph->captured() ? "true" : "false", ops_per_step, kernels_per_step, adam_ops,
        adam_ms);
    return 0;
  };
  try {
    return bench();
  } catch (const acgan::Error& e) {
    fmt::print(stderr, "acgan_bench: error: {}\n", e.what());
    return 2;
  }
}
