// Dynamic loss scaling. See include/acgan/training/loss_scaler.h.
#include "acgan/training/loss_scaler.h"

#include <torch/torch.h>

namespace acgan {

LossScaler::LossScaler(LossScalerOptions options) : options_(options), scale_(options.init_scale) {}

torch::Tensor LossScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

bool LossScaler::step(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> grads;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& p : group.params()) {
      if (p.grad().defined()) grads.push_back(p.grad());
    }
  }
  if (!grads.empty()) {
    // Multi-tensor kernels: a few launches for all gradients instead of several per tensor.
    at::_foreach_mul_(grads, 1.0 / scale_);
    // A norm is finite iff every element is (up to overflow of the sum of squares, i.e.
    // gradients near 1e19, which is divergence anyway).
    const bool finite = torch::stack(at::_foreach_norm(grads)).isfinite().all().item<bool>();
    if (!finite) {
      skipped_ = true;
      return false;
    }
  }
  optimizer.step();
  return true;
}

void LossScaler::update() {
  if (skipped_) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
  skipped_ = false;
}

void LossScaler::set_state(double scale, int64_t growth_tracker) {
  scale_ = scale;
  growth_tracker_ = growth_tracker;
  skipped_ = false;
}

}  // namespace acgan
