// Adam with multi-tensor operations: torch::optim::Adam's mathematics applied to all of a parameter
// group's tensors at once, a handful of dispatches per optimizer step instead of ~8 per parameter
// (ACGAN's G and D have 42 parameter tensors: ~340 per step). Two kernels:
//   foreach: _foreach_ operations, operation for operation torch::optim::Adam's; on CUDA each is
//            one or a few kernel launches; on the CPU LibTorch runs them tensor by tensor with the
//            same kernels, so the results are bit-identical to torch::optim::Adam there.
//   fused:   LibTorch 2.x's _fused_adam_ (CUDA from 2.0, CPU from 2.4): one pass over each tensor,
//            the step count kept on the device, so a CUDA graph can capture the step
//            (cuda_graph_step.h). Equal to torch::optim::Adam within float rounding.
// The state is Adam's own (AdamParamState under Adam's keys): checkpoints written with either load
// into the other. AMSGrad and weight decay, which acgan does not use, take torch::optim::Adam's
// loop.
#pragma once

#include <torch/optim/adam.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace acgan {

enum class AdamKernel {
  kAuto,  // fused on CUDA where LibTorch has it, else foreach
  kForeach,
  kFused,  // refused (Error) where this LibTorch has no fused kernel for the device
};

// Whether this LibTorch has _fused_adam_ for `device_type`.
bool fused_adam_available(c10::DeviceType device_type);

class MultiTensorAdam : public torch::optim::Adam {
 public:
  MultiTensorAdam(const std::vector<torch::Tensor>& params, torch::optim::AdamOptions options,
                  AdamKernel kernel = AdamKernel::kAuto);
  torch::Tensor step(LossClosure closure = nullptr) override;

  // The kernel the next step runs for parameters on `device_type`.
  AdamKernel kernel_for(c10::DeviceType device_type) const;
  // Whether a step on `device_type` reads nothing from the host: the fused kernel, and no group
  // that falls back to torch::optim::Adam's loop. What a CUDA graph needs (cuda_graph_step.h).
  bool steps_on_device(c10::DeviceType device_type) const;
  // A captured step was replayed: its device work (the fused kernel's step counts included) ran,
  // the host's step counts did not; advance those.
  void count_replayed_step();

 private:
  struct Bucket;
  void step_foreach(const torch::optim::AdamOptions& options, Bucket& bucket, int64_t step);
  void step_fused(const torch::optim::AdamOptions& options, Bucket& bucket, int64_t step);
  bool any_group_loops() const;

  AdamKernel kernel_;
  // The fused kernel's per-parameter step count, on the parameter's device, and the host step
  // (AdamParamState::step) it equals: refilled where they differ (a state loaded since).
  struct DeviceStep {
    torch::Tensor count;    // () float32 on the parameter's device
    int64_t host_step = 0;  // the host step it was last known to equal
  };
  std::unordered_map<const void*, DeviceStep> device_steps_;  // by TensorImpl
};

}  // namespace acgan
