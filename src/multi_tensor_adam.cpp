// Multi-tensor Adam. See include/acgan/multi_tensor_adam.h.
#include "acgan/multi_tensor_adam.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <sstream>
#include <type_traits>

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

// One group's parameters that have gradients, and their states, by step count (equal for all in
// practice; kept apart so that a parameter that missed a step keeps its own bias correction).
struct Bucket {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

}  // namespace

torch::Tensor MultiTensorAdam::step(LossClosure closure) {
  for (const auto& group : param_groups_) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad() || options.weight_decay() != 0) return torch::optim::Adam::step(closure);
  }
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
    const auto [beta1, beta2] = options.betas();
    for (auto& [step, b] : buckets) {
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
  }
  return loss;
}

}  // namespace acgan
