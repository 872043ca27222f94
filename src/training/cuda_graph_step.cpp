// The captured training step. See include/acgan/training/cuda_graph_step.h.
#include "acgan/training/cuda_graph_step.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>

#include "acgan/error.h"
#include "acgan/training/multi_tensor_adam.h"

// CMake defines ACGAN_CUDA_GRAPHS where LibTorch was built with CUDA.
#if defined(ACGAN_CUDA_GRAPHS) && TORCH_VERSION_MAJOR >= 2
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define ACGAN_CAN_CAPTURE 1
#else
#define ACGAN_CAN_CAPTURE 0
#endif

namespace acgan {
namespace {

// Why `opt` cannot run inside a graph: its Adam must be the fused kernel, whose step counts are on
// the device (the foreach kernel's bias corrections are host numbers, frozen into a graph).
std::string optimizer_obstacle(const torch::optim::Optimizer& opt, const char* network) {
  const auto* adam = dynamic_cast<const MultiTensorAdam*>(&opt);
  if (adam == nullptr || !adam->steps_on_device(c10::DeviceType::CUDA))
    return std::string(network) +
           "'s optimizer is not the fused Adam (or falls back to the loop: AMSGrad, weight decay)";
  return "";
}

// The autocast weight cache off while in scope: cached casts must not outlive the capture.
class AutocastCacheOff {
 public:
  AutocastCacheOff() : was_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(false);
  }
  ~AutocastCacheOff() { at::autocast::set_autocast_cache_enabled(was_); }
  AutocastCacheOff(const AutocastCacheOff&) = delete;
  AutocastCacheOff& operator=(const AutocastCacheOff&) = delete;

 private:
  bool was_;
};

}  // namespace

std::string CudaGraphStep::where_not_capturable(const torch::Device& device,
                                                const StepOptions& step,
                                                const torch::optim::Optimizer& opt_g,
                                                const torch::optim::Optimizer& opt_d) {
  if (!ACGAN_CAN_CAPTURE)
    return "this acgan is built against LibTorch " TORCH_VERSION
           " without CUDA graphs (they need a CUDA LibTorch 2.x)";
  if (!device.is_cuda()) return "the run is on " + device.str() + ", graphs are CUDA's";
  if (step.scaler != nullptr)
    return "--precision fp16's loss scaler reads an inf/NaN flag back from the device every step";
  if (step.gradient_hook != nullptr)
    return "data parallelism reduces the gradients between backward and Adam, outside a graph";
  auto why = optimizer_obstacle(opt_d, "D");
  return why.empty() ? optimizer_obstacle(opt_g, "G") : why;
}

#if ACGAN_CAN_CAPTURE

namespace {
void count_replayed_step(torch::optim::Optimizer& opt) {
  static_cast<MultiTensorAdam&>(opt).count_replayed_step();
}
}  // namespace

struct CudaGraphStep::Impl {
  Impl(GeneratorImpl& g_, DiscriminatorImpl& d_, torch::optim::Optimizer& opt_g_,
       torch::optim::Optimizer& opt_d_, StepOptions step_, CudaGraphStepOptions options_)
      : g(g_), d(d_), opt_g(opt_g_), opt_d(opt_d_), step(std::move(step_)), options(options_) {}

  GeneratorImpl& g;
  DiscriminatorImpl& d;
  torch::optim::Optimizer& opt_g;
  torch::optim::Optimizer& opt_d;
  StepOptions step;
  CudaGraphStepOptions options;
  int64_t eager_steps = 0;
  int64_t replays = 0;
  bool captured = false;
  at::cuda::CUDAGraph graph;
  torch::Tensor real, labels, stats;  // the graph's static input and output buffers

  torch::Tensor eager(const torch::Tensor& x, const torch::Tensor& y) {
    const auto noise = make_noise(x.size(0), options.nz, g.num_classes(), x.device());
    return train_step(g, d, opt_g, opt_d, x, y, noise, step);
  }

  // Warm-up and capture run on a side stream, as graph capture requires; the full
  // synchronisations around them order them with the default stream (a few steps per run).
  template <typename Work>
  torch::Tensor on_side_stream(const torch::Device& device, Work work) {
    torch::cuda::synchronize(device.index());
    torch::Tensor out;
    {
      const c10::cuda::CUDAStreamGuard guard(
          c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index()));
      const AutocastCacheOff no_cache;
      out = work();
    }
    torch::cuda::synchronize(device.index());
    return out;
  }

  void capture(const torch::Tensor& x, const torch::Tensor& y) {
    real = x.clone();
    labels = y.clone();
    stats = on_side_stream(x.device(), [&] {
      graph.capture_begin();
      torch::Tensor out;
      try {
        out = eager(real, labels);
      } catch (...) {
        try {
          graph.capture_end();
        } catch (...) {  // the first error is the one to report
        }
        throw;
      }
      graph.capture_end();
      return out;
    });
    captured = true;
  }
};

CudaGraphStep::CudaGraphStep(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                             torch::optim::Optimizer& opt_d, StepOptions step,
                             CudaGraphStepOptions options) {
  const auto device = g.parameters().front().device();
  const auto why = where_not_capturable(device, step, opt_g, opt_d);
  if (!why.empty()) throw Error("--cuda_graphs: " + why);
  // Capture needs the Adam states and the fused kernel's device step counts to exist already.
  options.warmup_steps = std::max<int64_t>(options.warmup_steps, 1);
  impl_ = std::make_unique<Impl>(g, d, opt_g, opt_d, std::move(step), options);
}

torch::Tensor CudaGraphStep::operator()(const torch::Tensor& real, const torch::Tensor& labels) {
  auto& s = *impl_;
  if (s.captured && real.sizes() != s.real.sizes()) return s.eager(real, labels);
  if (!s.captured) {
    if (s.eager_steps < s.options.warmup_steps) {
      ++s.eager_steps;
      return s.on_side_stream(real.device(), [&] { return s.eager(real, labels); });
    }
    try {
      s.capture(real, labels);  // records the step; its first replay below runs it
    } catch (const std::exception& e) {
      throw Error(std::string("--cuda_graphs: capturing the training step failed: ") + e.what() +
                  "; run without --cuda_graphs");
    }
  } else {
    s.real.copy_(real, /*non_blocking=*/true);
    s.labels.copy_(labels, /*non_blocking=*/true);
    // The capture counted its step on the host once; each later replay counts its own.
    count_replayed_step(s.opt_d);
    count_replayed_step(s.opt_g);
  }
  s.graph.replay();
  ++s.replays;
  return s.stats.clone();
}

bool CudaGraphStep::captured() const { return impl_->captured; }
int64_t CudaGraphStep::replays() const { return impl_->replays; }

#else  // no CUDA graphs in this build: the constructor refuses, with the reason

struct CudaGraphStep::Impl {};

CudaGraphStep::CudaGraphStep(GeneratorImpl& g, DiscriminatorImpl&, torch::optim::Optimizer& opt_g,
                             torch::optim::Optimizer& opt_d, StepOptions step,
                             CudaGraphStepOptions) {
  const auto device = g.parameters().front().device();
  throw Error("--cuda_graphs: " + where_not_capturable(device, step, opt_g, opt_d));
}

torch::Tensor CudaGraphStep::operator()(const torch::Tensor&, const torch::Tensor&) {
  return {};  // not reached: the constructor throws
}
bool CudaGraphStep::captured() const { return false; }
int64_t CudaGraphStep::replays() const { return 0; }

#endif

CudaGraphStep::~CudaGraphStep() = default;

}  // namespace acgan
