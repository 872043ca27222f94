// G's weight average. See include/acgan/models/generator_ema.h.
#include "acgan/models/generator_ema.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <algorithm>

namespace acgan {

Generator copy_generator(GeneratorImpl& g) {
  // Building a network draws its default initialisation from the CPU generator: put its state back.
  auto cpu = at::globalContext().defaultGenerator(torch::kCPU);
  torch::Tensor saved;
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    saved = cpu.get_state();
  }
  Generator copy(g.options());
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(saved);
  }
  const auto device = g.parameters().front().device();
  copy->to(device);
  torch::NoGradGuard no_grad;
  const auto from = g.named_parameters(), to = copy->named_parameters();
  for (const auto& item : from) to[item.key()].copy_(item.value());
  const auto from_buffers = g.named_buffers(), to_buffers = copy->named_buffers();
  for (const auto& item : from_buffers) to_buffers[item.key()].copy_(item.value());
  copy->train(g.is_training());
  return copy;
}

GeneratorEma::GeneratorEma(GeneratorImpl& g, double decay)
    : ema_(copy_generator(g)), decay_(decay) {
  for (auto& p : ema_->parameters()) {
    p.requires_grad_(false);
    params_.push_back(p);
  }
  buffers_ = ema_->buffers();
  ema_->eval();  // it only ever samples
}

double GeneratorEma::decay_at(int64_t step) const {
  return std::min(decay_, static_cast<double>(step) / static_cast<double>(step + 9));
}

void GeneratorEma::update(GeneratorImpl& g, int64_t step) {
  torch::NoGradGuard no_grad;
  const double d = decay_at(step);
  const auto params = g.parameters();
  at::_foreach_mul_(params_, d);
  at::_foreach_add_(params_, params, 1 - d);
  const auto buffers = g.buffers();
  for (size_t i = 0; i < buffers_.size(); ++i) buffers_[i].copy_(buffers[i]);
}

}  // namespace acgan
