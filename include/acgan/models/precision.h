// The arithmetic a training step runs in (--precision):
//  - fp32: everything in float32, the original's numerics (default).
//  - bf16: G's and D's forward passes under autocast to bfloat16 (matmuls and convolutions in
//    bf16, the rest as autocast decides); the losses, the sigmoid in front of BCE, the weights and
//    Adam stay in float32. CPU and CUDA.
//  - fp16: the same in float16 with dynamic loss scaling (loss_scaler.h). CUDA only.
// This file holds the name <-> enum mapping and the RAII scope that turns autocast on; it does not
// decide where the scope goes (train_step.cpp does). Sampling and `generate` always run in fp32.
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

namespace acgan {

enum class Precision { kFp32, kBf16, kFp16 };

// "fp32, bf16 or fp16": the accepted names, for messages.
std::string precision_choices();
// "fp32" | "bf16" | "fp16" -> Precision; throws UsageError naming --precision otherwise.
Precision parse_precision(const std::string& name);
std::string precision_name(Precision precision);
// The dtype matmuls and convolutions run in: Float, BFloat16 or Half.
c10::ScalarType compute_dtype(Precision precision);

// t itself when it is float32 or float64, else t in float32: where low-precision results leave
// autocast (logits into a loss), without narrowing a float64 run.
at::Tensor at_least_float32(const at::Tensor& t);

// Throws UsageError when `precision` cannot run on `device_type` (fp16 off CUDA).
void check_precision_supported(Precision precision, c10::DeviceType device_type);

// The dtype autocast lowers matmuls and convolutions to on `device_type`, when it is on there (for
// code that calls ops autocast does not know about).
std::optional<c10::ScalarType> active_autocast_dtype(c10::DeviceType device_type);

// Autocast for one device type while in scope; a no-op for fp32. On exit it restores the previous
// state and, when leaving the outermost scope, drops autocast's cache of low-precision weight
// copies, so no stale copy outlives an optimizer step.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device_type, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

// Autocast off for one device type while in scope (float32 arithmetic inside a forward pass that
// runs under an AutocastScope), restored on exit.
class AutocastPause {
 public:
  explicit AutocastPause(c10::DeviceType device_type);
  ~AutocastPause();
  AutocastPause(const AutocastPause&) = delete;
  AutocastPause& operator=(const AutocastPause&) = delete;

 private:
  c10::DeviceType device_type_;
  bool was_enabled_;
};

}  // namespace acgan
