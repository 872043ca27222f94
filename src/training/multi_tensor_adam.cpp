// Multi-tensor Adam. See include/acgan/training/multi_tensor_adam.h.
#include "acgan/training/multi_tensor_adam.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <map>
#include <sstream>
#include <type_traits>

#include "acgan/error.h"

namespace acgan {
namespace {

// The key torch::optim::Adam files a parameter's state under: its TensorImpl's address, as text
// in LibTorch 1.x (c10::guts::to_string), as the pointer itself in 2.x.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << p.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

bool loop_only(const torch::optim::AdamOptions& options) {
  return options.amsgrad() || options.weight_decay() != 0;
}

}  // namespace

bool fused_adam_available(c10::DeviceType device_type) {
#if TORCH_VERSION_MAJOR >= 2
  if (device_type == c10::DeviceType::CUDA) return true;
  return device_type == c10::DeviceType::CPU &&
         (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4);
#else
  (void)device_type;
  return false;
#endif
}

// One group's parameters that have gradients, and their states, by step count (equal for all in
// practice; kept apart so that a parameter that missed a step keeps its own bias correction).
struct MultiTensorAdam::Bucket {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

MultiTensorAdam::MultiTensorAdam(const std::vector<torch::Tensor>& params,
                                 torch::optim::AdamOptions options, AdamKernel kernel)
    : torch::optim::Adam(params, std::move(options)), kernel_(kernel) {}

AdamKernel MultiTensorAdam::kernel_for(c10::DeviceType device_type) const {
  if (kernel_ == AdamKernel::kFused && !fused_adam_available(device_type)) {
    throw Error("the fused Adam kernel is not in this LibTorch (" TORCH_VERSION ") for " +
                c10::DeviceTypeName(device_type, /*lower_case=*/true) +
                " tensors (CUDA needs 2.0, the CPU 2.4); use the foreach kernel");
  }
  if (kernel_ != AdamKernel::kAuto) return kernel_;
  return device_type == c10::DeviceType::CUDA && fused_adam_available(device_type)
             ? AdamKernel::kFused
             : AdamKernel::kForeach;
}

bool MultiTensorAdam::any_group_loops() const {
  for (const auto& group : param_groups_) {
    if (loop_only(static_cast<const torch::optim::AdamOptions&>(group.options()))) return true;
  }
  return false;
}

bool MultiTensorAdam::steps_on_device(c10::DeviceType device_type) const {
  return !any_group_loops() && kernel_for(device_type) == AdamKernel::kFused;
}

torch::Tensor MultiTensorAdam::step(LossClosure closure) {
  if (any_group_loops()) return torch::optim::Adam::step(closure);
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    std::map<int64_t, Bucket> buckets;  // by the step each parameter is about to take
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "MultiTensorAdam: sparse gradients are not supported");
      const auto key = state_key(state_, p);
      auto it = state_.find(key);
      if (it == state_.end()) {  // as torch::optim::Adam initialises it
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state_.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*it->second);
      state.step(state.step() + 1);
      auto& bucket = buckets[state.step()];
      bucket.params.push_back(p);
      bucket.grads.push_back(p.grad());
      bucket.exp_avgs.push_back(state.exp_avg());
      bucket.exp_avg_sqs.push_back(state.exp_avg_sq());
    }
    for (auto& [step, b] : buckets) {
      if (kernel_for(b.params.front().device().type()) == AdamKernel::kFused)
        step_fused(options, b, step);
      else
        step_foreach(options, b, step);
    }
  }
  return loss;
}

void MultiTensorAdam::step_foreach(const torch::optim::AdamOptions& options, Bucket& b,
                                   int64_t step) {
  const auto [beta1, beta2] = options.betas();
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  // exp_avg = beta1 exp_avg + (1 - beta1) g; exp_avg_sq = beta2 exp_avg_sq + (1 - beta2) g^2
  torch::_foreach_mul_(b.exp_avgs, beta1);
  torch::_foreach_add_(b.exp_avgs, b.grads, 1 - beta1);
  torch::_foreach_mul_(b.exp_avg_sqs, beta2);
  torch::_foreach_addcmul_(b.exp_avg_sqs, b.grads, b.grads, 1 - beta2);
  // p -= lr / bc1 * exp_avg / (sqrt(exp_avg_sq) / sqrt(bc2) + eps)
  auto denom = torch::_foreach_sqrt(b.exp_avg_sqs);
  torch::_foreach_div_(denom, std::sqrt(bias_correction2));
  torch::_foreach_add_(denom, options.eps());
  torch::_foreach_addcdiv_(b.params, b.exp_avgs, denom, -options.lr() / bias_correction1);
}

void MultiTensorAdam::step_fused(const torch::optim::AdamOptions& options, Bucket& b,
                                 int64_t step) {
#if TORCH_VERSION_MAJOR >= 2
  std::vector<torch::Tensor> steps;
  for (const auto& p : b.params) {
    auto& entry = device_steps_[p.unsafeGetTensorImpl()];
    if (!entry.count.defined() || entry.host_step != step - 1) {
      // A fill, not a copy from the host: no synchronisation.
      entry.count = torch::full({}, static_cast<double>(step - 1),
                                torch::TensorOptions().dtype(torch::kFloat).device(p.device()));
    }
    entry.host_step = step;
    steps.push_back(entry.count);
  }
  torch::_foreach_add_(steps, 1);  // the kernel reads the step it is taking, as PyTorch's does
  const auto [beta1, beta2] = options.betas();
  at::_fused_adam_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps,
                   options.lr(), beta1, beta2, /*weight_decay=*/0, options.eps(),
                   /*amsgrad=*/false, /*maximize=*/false);
#else
  (void)options, (void)b, (void)step;
  TORCH_INTERNAL_ASSERT(false, "kernel_for() never picks the fused kernel before LibTorch 2.0");
#endif
}

void MultiTensorAdam::count_replayed_step() {
  for (auto& group : param_groups_) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto it = state_.find(state_key(state_, p));
      if (it == state_.end()) continue;
      auto& state = static_cast<torch::optim::AdamParamState&>(*it->second);
      state.step(state.step() + 1);
      auto entry = device_steps_.find(p.unsafeGetTensorImpl());
      if (entry != device_steps_.end()) entry->second.host_step = state.step();
    }
  }
}

}  // namespace acgan
