// Dynamic loss scaling for --precision fp16, with the semantics and defaults of PyTorch's
// torch.cuda.amp.GradScaler: losses are multiplied by a scale before backward so that small fp16
// gradients do not flush to zero; before each optimizer step the gradients are divided by it and
// checked; a step whose gradients hold an inf or NaN is skipped and the scale halved; after
// `growth_interval` clean iterations in a row the scale doubles.
// Each step() reads one flag back from the device (one host synchronisation per optimizer step, as
// GradScaler does). Powers of two keep scaling exact: on finite gradients a scaled step equals an
// unscaled one bit for bit.
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/types.h>

namespace acgan {

struct LossScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});

  // loss * scale: call backward() on this instead of the loss.
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides the optimizer's gradients by the scale; steps it when they are all finite. Returns
  // whether it stepped.
  bool step(torch::optim::Optimizer& optimizer);
  // Once per iteration, after its step()s: halves the scale if any step was skipped, else counts
  // the iteration towards growth.
  void update();

  double current_scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  // Restores the state a checkpoint recorded.
  void set_state(double scale, int64_t growth_tracker);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;  // clean iterations since the scale last changed
  bool skipped_ = false;        // a step() of this iteration found inf/NaN
};

}  // namespace acgan
