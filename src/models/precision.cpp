// Precision names and the autocast scope. See include/acgan/models/precision.h.
#include "acgan/models/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <iterator>

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

// Every precision once: its flag value and the dtype it computes in.
struct PrecisionInfo {
  Precision precision;
  const char* name;
  c10::ScalarType dtype;
};
constexpr PrecisionInfo kPrecisions[] = {
    {Precision::kFp32, "fp32", c10::ScalarType::Float},
    {Precision::kBf16, "bf16", c10::ScalarType::BFloat16},
    {Precision::kFp16, "fp16", c10::ScalarType::Half},
};

const PrecisionInfo& info(Precision precision) {
  for (const auto& p : kPrecisions) {
    if (p.precision == precision) return p;
  }
  return kPrecisions[0];
}

}  // namespace

std::string precision_choices() {
  std::string names;
  const size_t n = std::size(kPrecisions);
  for (size_t i = 0; i < n; ++i) {
    names += i == 0 ? "" : i + 1 == n ? " or " : ", ";
    names += kPrecisions[i].name;
  }
  return names;
}

Precision parse_precision(const std::string& name) {
  for (const auto& p : kPrecisions) {
    if (name == p.name) return p.precision;
  }
  throw UsageError("--precision: expected " + precision_choices() + ", got '" + name + "'");
}

std::string precision_name(Precision precision) { return info(precision).name; }

c10::ScalarType compute_dtype(Precision precision) { return info(precision).dtype; }

void check_precision_supported(Precision precision, c10::DeviceType device_type) {
  if (precision == Precision::kFp16 && device_type != c10::DeviceType::CUDA) {
    throw UsageError(
        "--precision fp16 needs a CUDA device (float16 autocast with loss scaling is a GPU mode); "
        "on the CPU use bf16 or fp32");
  }
}

at::Tensor at_least_float32(const at::Tensor& t) {
  const auto dtype = t.scalar_type();
  return dtype == c10::ScalarType::Float || dtype == c10::ScalarType::Double ? t
                                                                             : t.to(c10::kFloat);
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

AutocastPause::AutocastPause(c10::DeviceType device_type)
    : device_type_(device_type), was_enabled_(autocast_enabled(device_type)) {
  if (was_enabled_) set_autocast_enabled(device_type, false);
}

AutocastPause::~AutocastPause() {
  if (was_enabled_) set_autocast_enabled(device_type_, true);
}

}  // namespace acgan
