// --cuda_graphs: the whole training step (the noise draws, D's and G's forward and backward
// passes, both Adam steps) captured once as a CUDA graph and replayed for every later batch of
// the same size: one launch a step instead of hundreds, and no host work between the kernels.
// Each batch is copied into the graph's static input buffers; the random draws come from the CUDA
// generator, which a replay advances as eager kernels would. The first `warmup_steps` steps run
// eagerly on a side stream (cuBLAS, cuDNN and the optimizer states allocate there), then one
// step is captured and replayed.
// Needs LibTorch 2.x with CUDA and the fused Adam (multi_tensor_adam.h), whose step counts live on
// the device. where_not_capturable() names what stands in the way otherwise; the trainer logs it
// and steps eagerly: fp16 (its loss scaler reads a flag back every step), data parallelism (the
// gradients are reduced between backward and Adam, outside the graph), a CPU device or build.
// Does not capture: the G weight average (--g_ema, an eager update after each replay) or a batch
// of another size (the short last batch of an epoch: a graph is shape-specific, that step is
// eager).
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "acgan/models/models.h"
#include "acgan/training/train_step.h"

namespace acgan {

struct CudaGraphStepOptions {
  int64_t nz = 110;          // G's input size (the noise drawn inside the graph)
  int64_t warmup_steps = 3;  // eager steps before the capture (PyTorch's recipe uses a few)
};

class CudaGraphStep {
 public:
  // What keeps this run's step from being captured ("" when nothing does): the build, the device,
  // the step's options or an optimizer without the fused, device-counted Adam.
  static std::string where_not_capturable(const torch::Device& device, const StepOptions& step,
                                          const torch::optim::Optimizer& opt_g,
                                          const torch::optim::Optimizer& opt_d);

  // Throws acgan::Error where where_not_capturable() is not empty.
  CudaGraphStep(GeneratorImpl& g, DiscriminatorImpl& d, torch::optim::Optimizer& opt_g,
                torch::optim::Optimizer& opt_d, StepOptions step, CudaGraphStepOptions options);
  ~CudaGraphStep();
  CudaGraphStep(const CudaGraphStep&) = delete;
  CudaGraphStep& operator=(const CudaGraphStep&) = delete;

  // One training step on real (B, 3, 32, 32) and labels (B), on the device: train_step's
  // statistics (kNumStepStats), a tensor of their own (not the graph's output buffer).
  torch::Tensor operator()(const torch::Tensor& real, const torch::Tensor& labels);
  // Whether the step has been captured (after warmup_steps + 1 calls).
  bool captured() const;
  // Steps replayed from the graph so far.
  int64_t replays() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace acgan
