// Precision names and the autocast scope. See include/acgan/precision.h.
#include "acgan/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "acgan/error.h"

namespace acgan {
namespace {

// LibTorch 2.4 made the autocast switches device-generic and deprecated the per-device ones that
// 1.13 has; these wrappers call whichever the build has.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void set_autocast_enabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
c10::ScalarType autocast_dtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void set_autocast_dtype(c10::DeviceType t, c10::ScalarType dtype) {
  at::autocast::set_autocast_dtype(t, dtype);
}
#else
bool autocast_enabled(c10::DeviceType t) {
  return t == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast_enabled(c10::DeviceType t, bool on) {
  if (t == c10::DeviceType::CUDA)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
}
c10::ScalarType autocast_dtype(c10::DeviceType t) {
  return t == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                    : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(c10::DeviceType t, c10::ScalarType dtype) {
  if (t == c10::DeviceType::CUDA)
    at::autocast::set_autocast_gpu_dtype(dtype);
  else
    at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  throw UsageError("--precision: expected fp32, bf16 or fp16, got '" + name + "'");
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

c10::ScalarType compute_dtype(Precision precision) {
  switch (precision) {
    case Precision::kBf16:
      return c10::ScalarType::BFloat16;
    case Precision::kFp16:
      return c10::ScalarType::Half;
    case Precision::kFp32:
      break;
  }
  return c10::ScalarType::Float;
}

void check_precision_supported(Precision precision, c10::DeviceType device_type) {
  if (precision == Precision::kFp16 && device_type != c10::DeviceType::CUDA) {
    throw UsageError(
        "--precision fp16 needs a CUDA device (float16 autocast with loss scaling is a GPU mode); "
        "on the CPU use bf16 or fp32");
  }
}

std::optional<c10::ScalarType> active_autocast_dtype(c10::DeviceType device_type) {
  if (!autocast_enabled(device_type)) return std::nullopt;
  return autocast_dtype(device_type);
}

AutocastScope::AutocastScope(c10::DeviceType device_type, Precision precision)
    : device_type_(device_type) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  was_enabled_ = autocast_enabled(device_type);
  previous_dtype_ = autocast_dtype(device_type);
  set_autocast_dtype(device_type, compute_dtype(precision));
  set_autocast_enabled(device_type, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  set_autocast_enabled(device_type_, was_enabled_);
  set_autocast_dtype(device_type_, previous_dtype_);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace acgan
