// An exponential moving average of G's weights (--g_ema DECAY; Karras et al. 2018, Yazici et al.
// 2019), kept in a second Generator of the same architecture:
//   after G step t:     ema_p = d * ema_p + (1 - d) * p,  d = min(decay, t / (t + 9)),
//                                                                  for every parameter p
//                       ema_b = b                                  for every buffer (BatchNorm's
//                                                                  statistics, spectral norm's u,
//                                                                  v)
// on the device, with foreach kernels and no host synchronisation. It starts as a copy of G; the
// warm-up of d (TensorFlow's ExponentialMovingAverage, (1 + n) / (10 + n) after n = t - 1
// earlier updates) keeps G's random
// initialisation from lingering in the average of a short run (0.999^2500 = 8 % after 5 epochs).
// Building it does not touch the global generator, so a run with an EMA trains exactly as one
// without. Sample grids, evaluations, generate and eval use it when a run has one.
#pragma once

#include <torch/types.h>

#include <vector>

#include "acgan/models/models.h"

namespace acgan {

class GeneratorEma {
 public:
  // A copy of g, on g's device.
  GeneratorEma(GeneratorImpl& g, double decay);

  // After G's step `step` (1 for the first).
  void update(GeneratorImpl& g, int64_t step);
  // The decay that update() applies after step `step`.
  double decay_at(int64_t step) const;
  Generator& generator() { return ema_; }
  double decay() const { return decay_; }

 private:
  Generator ema_;
  double decay_;
  std::vector<torch::Tensor> params_, buffers_;  // ema_'s, in G's order
};

// A Generator with g's options, its weights and buffers copied, on g's device; the global generator
// is left as it was (the copy's default initialisation draws are undone).
Generator copy_generator(GeneratorImpl& g);

}  // namespace acgan
