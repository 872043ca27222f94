// Adam with multi-tensor (_foreach_) operations: torch::optim::Adam's mathematics, operation for
// operation, applied to all of a parameter group's tensors at once, a handful of dispatches per
// optimizer step instead of ~8 per parameter (ACGAN's G and D have 42 parameter tensors: ~340 per
// step). On CUDA each _foreach_ operation is one or a few kernel launches; on the CPU LibTorch runs
// them tensor by tensor, with the same kernels, so the results are bit-identical to
// torch::optim::Adam there. The state is Adam's own (AdamParamState under Adam's keys): checkpoints
// written with either load into the other. AMSGrad and weight decay, which acgan does not use,
// take torch::optim::Adam's loop.
#pragma once

#include <torch/optim/adam.h>

namespace acgan {

class MultiTensorAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace acgan
