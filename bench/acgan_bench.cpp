// acgan_bench: training throughput of acgan's step (any --arch) on real data, timed the way
// bench/pytorch_step.py times PyTorch eager (steady state, whole step including batch assembly and
// noise), plus the step's exact FLOP count and this machine's float32 matmul peak, as one JSON
// line. scripts/bench.sh runs both and prints the comparison.
#include <fmt/format.h>
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <chrono>

#include "acgan/data/epoch_batches.h"
#include "acgan/error.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/models.h"
#include "acgan/op_counter.h"
#include "acgan/runtime.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/cuda_graph_step.h"
#include "acgan/training/multi_tensor_adam.h"
#include "acgan/training/train_step.h"
#include "acgan/training/training_data.h"

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
    // Minus the bias (imagenet128's convolutions have none: 1 in Cin * k * k too few, < 0.2 %).
    const double weights = static_cast<double>(r.params) - out_channels;
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
double step_flops(const acgan::TrainOptions& options, int64_t batch) {
  acgan::Generator g(acgan::generator_options(options));
  acgan::Discriminator d(acgan::discriminator_options(options));
  const auto& spec = options.data_spec;
  const int64_t nz = options.nz;
  // D's two heads both read the features; trace_layers lists the source head, then the class head.
  const auto fd = forward_macs(acgan::trace_layers(*d), spec.channels * spec.height * spec.width);
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

// The benchmark's flags (scripts/bench.sh passes them).
struct BenchFlags {
  std::string root_dir = "./", device = "cpu", precision = "fp32", adam = "auto", arch = "cifar";
  int64_t batch_size = 100, threads = 2, warmup = 3, steps = 20, repeats = 1;
  double t0 = 0;
  bool matmul = false, plain_convt = false, plain_dropout = false, unfrozen_d = false;
  bool count_ops = false, loop_adam = false, cuda_graphs = false;
};

void add_flags(CLI::App& app, BenchFlags& f) {
  app.add_option("--arch", f.arch, "cifar | mlp | imagenet128: the networks whose step is timed");
  app.add_option("--root_dir", f.root_dir)->required();
  app.add_option("--batch_size", f.batch_size);
  app.add_option("--threads", f.threads);
  app.add_option("--warmup", f.warmup);
  app.add_option("--steps", f.steps);
  app.add_option("--repeats", f.repeats);
  app.add_option("--device", f.device);
  app.add_option("--t0", f.t0, "launch time (epoch seconds) for time-to-first-step");
  app.add_flag("--matmul", f.matmul, "also measure the matmul peak in the step's precision");
  app.add_option("--precision", f.precision, "fp32 | bf16 | fp16");
  app.add_flag("--plain_conv_transpose", f.plain_convt,
               "LibTorch's ConvTranspose2d (no oneDNN rewrite)");
  app.add_flag("--plain_dropout", f.plain_dropout, "LibTorch's dropout (bernoulli_)");
  app.add_flag("--unfrozen_d", f.unfrozen_d, "compute D's unused weight gradients in the G step");
  app.add_flag("--count_ops", f.count_ops,
               "also count the compute operations of one step (op_counter.h)");
  app.add_flag("--loop_adam", f.loop_adam,
               "torch::optim::Adam's per-parameter loop (the former step)");
  app.add_option("--adam", f.adam, "auto | foreach | fused: the multi-tensor Adam's kernel")
      ->check(CLI::IsMember({"auto", "foreach", "fused"}));
  app.add_flag("--cuda_graphs", f.cuda_graphs,
               "capture the step as a CUDA graph and replay it (cuda_graph_step.h)");
}

// Replaces the state's optimizers as the flags ask; returns the Adam that runs: loop, foreach or
// fused.
std::string use_adam(acgan::TrainingState& state, const acgan::TrainOptions& options,
                     const BenchFlags& f, const torch::Device& device) {
  const auto adam = torch::optim::AdamOptions(options.lr).betas({options.beta1, options.beta2});
  if (f.loop_adam) {
    state.opt_g = std::make_unique<torch::optim::Adam>(state.g->parameters(), adam);
    state.opt_d = std::make_unique<torch::optim::Adam>(state.d->parameters(), adam);
  } else if (f.adam != "auto") {
    const auto kernel = f.adam == "fused" ? acgan::AdamKernel::kFused : acgan::AdamKernel::kForeach;
    state.opt_g = std::make_unique<acgan::MultiTensorAdam>(state.g->parameters(), adam, kernel);
    state.opt_d = std::make_unique<acgan::MultiTensorAdam>(state.d->parameters(), adam, kernel);
  }
  const auto* multi = dynamic_cast<const acgan::MultiTensorAdam*>(state.opt_g.get());
  if (!multi) return "loop";
  return multi->kernel_for(device.type()) == acgan::AdamKernel::kFused ? "fused" : "foreach";
}

// The timed subject: acgan's training step on consecutive batches of the data, eager or replayed
// from a CUDA graph, as the trainer runs it.
class BenchStep {
 public:
  BenchStep(const BenchFlags& f, const torch::Device& device)
      : device_(device),
        batch_size_(f.batch_size),
        options_(options_for(f)),
        data_(acgan::load_training_data(options_, device)),
        order_(acgan::epoch_order(0, 0, *data_.size()).to(device)),  // as EpochBatches does
        state_(options_, device) {
    acgan::use_fast_paths(*state_.g, {!f.plain_convt, !f.plain_dropout});
    acgan::use_fast_paths(*state_.d, {!f.plain_convt, !f.plain_dropout});
    adam_ = use_adam(state_, options_, f, device);
    step_options_ = acgan::step_options_for(acgan::parse_precision(f.precision), scaler_);
    step_options_.freeze_d_in_g_step = !f.unfrozen_d;
    step_options_.weights = acgan::loss_weights_for(acgan::parse_arch(options_.arch));
    if (f.cuda_graphs) use_cuda_graph();
    state_.g->train();
    state_.d->train();
  }

  // One training step; its statistics.
  torch::Tensor operator()() {
    if (cursor_ + batch_size_ > order_.size(0)) cursor_ = 0;
    const auto batch = data_.batch(order_.narrow(0, cursor_, batch_size_));
    cursor_ += batch_size_;
    if (graph_) return (*graph_)(batch.data, batch.target);
    const auto noise =
        acgan::make_noise(batch_size_, options_.nz, options_.data_spec.num_classes(), device_);
    return acgan::train_step(*state_.g, *state_.d, *state_.opt_g, *state_.opt_d, batch.data,
                             batch.target, noise, step_options_);
  }
  // G's and D's optimizer steps alone, on the gradients the last step left.
  void adam_steps() {
    state_.opt_d->step();
    state_.opt_g->step();
  }
  void sync() const {
    if (device_.is_cuda()) torch::cuda::synchronize();
  }
  const std::string& adam() const { return adam_; }
  bool replays_a_graph() const { return graph_ && graph_->captured(); }
  const acgan::TrainOptions& options() const { return options_; }

 private:
  // The data set under --root_dir decides the networks' classes and channels, as in training.
  static acgan::TrainOptions options_for(const BenchFlags& f) {
    acgan::TrainOptions options;
    options.batch_size = f.batch_size;
    options.root_dir = f.root_dir;
    options.arch = f.arch;
    acgan::apply_recipe(options);  // the family's own settings (mlp: dropout 0.4)
    acgan::check_data_before_writing(options);
    return options;
  }
  void use_cuda_graph() {
    const auto why_eager = acgan::CudaGraphStep::where_not_capturable(device_, step_options_,
                                                                      *state_.opt_g, *state_.opt_d);
    if (!why_eager.empty()) {
      fmt::print(stderr, "acgan_bench: --cuda_graphs: the step runs eagerly: {}\n", why_eager);
      return;
    }
    acgan::CudaGraphStepOptions graph_options;
    graph_options.nz = options_.nz;
    graph_ = std::make_unique<acgan::CudaGraphStep>(*state_.g, *state_.d, *state_.opt_g,
                                                    *state_.opt_d, step_options_, graph_options);
  }

  torch::Device device_;
  int64_t batch_size_;
  acgan::TrainOptions options_;
  acgan::ImageDataset data_;
  torch::Tensor order_;
  int64_t cursor_ = 0;
  acgan::TrainingState state_;
  acgan::LossScaler scaler_;
  acgan::StepOptions step_options_;
  std::string adam_;
  std::unique_ptr<acgan::CudaGraphStep> graph_;
};

// What --count_ops reports: dispatched operations of a step and of the optimizers alone, and on
// CUDA the kernels of a step.
struct OpCounts {
  int64_t per_step = 0, adam = 0, kernels_per_step = 0;
};

OpCounts count_ops(BenchStep& step, const torch::Device& device) {
  OpCounts counts;
  if (device.is_cuda()) {
    counts.kernels_per_step = acgan::count_cuda_kernels([&] {
      step();
      step.sync();
    });
  }
  {
    const acgan::OpCounter counter;
    step();
    step.sync();
    counts.per_step = counter.count();
  }
  const acgan::OpCounter counter;
  step.adam_steps();
  step.sync();
  counts.adam = counter.count();
  return counts;
}

// Milliseconds of G's and D's optimizer steps together, averaged over 20 rounds.
double adam_milliseconds(BenchStep& step) {
  constexpr int kRounds = 20;
  step.sync();
  const auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i) step.adam_steps();
  step.sync();
  return std::chrono::duration<double>(Clock::now() - start).count() * 1000 / kRounds;
}

// Images per second of each timed repeat of `steps` steps.
std::vector<double> images_per_second(BenchStep& step, const BenchFlags& f) {
  std::vector<double> rates;
  for (int64_t r = 0; r < f.repeats; ++r) {
    step.sync();
    const auto t = Clock::now();
    torch::Tensor stats;
    for (int64_t i = 0; i < f.steps; ++i) stats = step();
    stats[0].item<float>();
    step.sync();
    rates.push_back(static_cast<double>(f.steps * f.batch_size) /
                    std::chrono::duration<double>(Clock::now() - t).count());
  }
  return rates;
}

int bench(const BenchFlags& f) {
  const auto device = acgan::resolve_device(f.device);
  const auto precision = acgan::parse_precision(f.precision);
  acgan::check_precision_supported(precision, device.type());
  acgan::configure_threads(f.threads);
  acgan::configure_blas();
  torch::manual_seed(0);
  BenchStep step(f, device);
  step();
  step.sync();
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double first_step = f.t0 > 0 ? now - f.t0 : -1;
  for (int64_t i = 0; i < f.warmup; ++i) step();
  const auto ops = f.count_ops ? count_ops(step, device) : OpCounts{};
  const double adam_ms = adam_milliseconds(step);
  const auto rates = images_per_second(step, f);
  auto sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  fmt::print(
      "{{\"impl\": \"acgan\", \"arch\": \"{}\", \"batch_size\": {}, \"threads\": {}, "
      "\"precision\": \"{}\", "
      "\"images_per_s\": {:.2f}, "
      "\"repeats\": [{:.2f}], \"first_step_s\": {:.3f}, \"peak_rss_mb\": {:.1f}, "
      "\"step_gflop\": {:.3f}, \"matmul_peak_gflops\": {:.1f}, \"adam\": \"{}\", "
      "\"cuda_graphs\": {}, "
      "\"ops_per_step\": {}, \"kernels_per_step\": {}, \"adam_ops\": {}, \"adam_ms\": {:.2f}}}\n",
      f.arch, f.batch_size, torch::get_num_threads(), f.precision, sorted[sorted.size() / 2],
      fmt::join(rates, ", "), first_step, usage.ru_maxrss / 1024.0,
      step_flops(step.options(), f.batch_size) / 1e9,
      f.matmul ? matmul_peak_gflops(device, acgan::compute_dtype(precision)) : 0.0, step.adam(),
      step.replays_a_graph() ? "true" : "false", ops.per_step, ops.kernels_per_step, ops.adam,
      adam_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acgan_bench: acgan's training-step throughput on real CIFAR-10 (JSON line)"};
  BenchFlags flags;
  add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  try {
    return bench(flags);
  } catch (const acgan::Error& e) {  // bad flags or data: one line, as acgan prints them
    fmt::print(stderr, "acgan_bench: error: {}\n", e.what());
    return 2;
  }
}
