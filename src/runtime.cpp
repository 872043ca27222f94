// Device, thread and BLAS set-up. See include/acgan/runtime.h.
#include "acgan/runtime.h"

#include <dlfcn.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <sched.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "acgan/clock.h"
#include "acgan/error.h"

namespace acgan {

BlasInfo configure_blas() {
  BlasInfo info;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info where{};
  if (sgemm && dladdr(sgemm, &where) && where.dli_fname) info.library = where.dli_fname;
  using GetParallel = int (*)();
  using SetThreads = void (*)(int);
  auto get_parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  auto set_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (get_parallel) {
    switch (get_parallel()) {
      case 2:
        info.kind = "OpenBLAS (OpenMP, shares LibTorch's threads)";
        break;
      case 1:
        info.kind = "OpenBLAS (pthreads, limited to 1 thread so it does not fight OpenMP)";
        if (set_threads) set_threads(1);
        info.advice = "apt-get install libopenblas0-openmp lets BLAS use every core";
        break;
      default:
        info.kind = "OpenBLAS (single-threaded)";
    }
  } else if (info.library.find("mkl") != std::string::npos) {
    info.kind = "Intel MKL";
  } else if (info.library.find("/blas/") != std::string::npos) {
    info.kind = "reference BLAS (slow)";
    info.advice =
        "the reference BLAS runs training ~5x slower: apt-get install libopenblas0-openmp";
  } else if (info.library.empty()) {
    info.kind = "none found (LibTorch's own kernels)";
  } else {
    info.kind = "unrecognised BLAS";
  }
  return info;
}

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  if (spec == "cpu") return torch::kCPU;
  if (spec.rfind("cuda", 0) != 0) {
    throw UsageError("--device: expected auto, cpu, cuda or cuda:N, got '" + spec + "'");
  }
  torch::Device device(torch::kCUDA);
  try {
    device = torch::Device(spec);
  } catch (const std::exception&) {
    throw UsageError("--device: expected auto, cpu, cuda or cuda:N, got '" + spec + "'");
  }
  if (!torch::cuda::is_available()) {
    throw UsageError("--device " + spec +
                     ": this LibTorch build or machine has no CUDA GPU; use --device cpu");
  }
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  const int64_t index = device.has_index() ? device.index() : 0;
  if (index >= count) {
    throw UsageError("--device " + spec + ": only " + std::to_string(count) +
                     " CUDA device(s) visible");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int cuda_device_count() {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

int configure_threads(int64_t threads) {
  // LibTorch's own default is not to be trusted: Debian's build starts with 1 thread on a 2-core
  // machine (measured: 89 img/s vs 121 with 2). So 0 means "every CPU this process may run on".
  torch::set_num_threads(threads > 0 ? static_cast<int>(threads) : usable_cpus());
  return torch::get_num_threads();
}

void configure_determinism(bool deterministic, const torch::Device& device) {
  if (!device.is_cuda()) return;
  auto& context = at::globalContext();
  // Fixed shapes every step: autotuning pays once it has picked, but its pick may vary by run.
  context.setBenchmarkCuDNN(!deterministic);
  if (!deterministic) return;
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);  // read when cuBLAS starts
  context.setDeterministicCuDNN(true);
  context.setDeterministicAlgorithms(true, /*warn_only=*/true);
  context.setAllowTF32CuBLAS(false);
  context.setAllowTF32CuDNN(false);
}

namespace {

// Seconds per 3x3 convolution of D's middle size (32 x 64 x 16 x 16 -> 128 channels, 1.2 GFLOP)
// in `dtype`, on oneDNN like the step's: the best of three, after a warm-up.
double convolution_seconds(c10::ScalarType dtype) {
  const auto x = torch::randn({32, 64, 16, 16}).to(dtype);
  const auto w = torch::randn({128, 64, 3, 3}).to(dtype);
  double best = 1e30;
  for (int i = 0; i < 4; ++i) {
    const auto start = std::chrono::steady_clock::now();
    (void)torch::conv2d(x, w, {}, 1, 1);
    const double s = seconds_since(start);
    if (i > 0) best = std::min(best, s);
  }
  return best;
}

}  // namespace

std::string cpu_bf16_support() {
  std::string isa = "no native bf16 instructions";
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  const bool amx = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1u);    // AMX-BF16
  const bool avx512 = __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u);  // AVX512-BF16
  if (amx)
    isa = "AMX-BF16";
  else if (avx512)
    isa = "AVX512-BF16";
#endif
  if (!at::globalContext().userEnabledMkldnn()) {
    // Seen on CI's machine, where oneDNN was turned off as wrong: 2-5 images/s in bf16 at batch
    // 20 on LibTorch's reference kernels (a test that took 60 s took over 300).
    return isa +
           "; oneDNN is off in this process, so bf16 runs on slow reference kernels (keep fp32)";
  }
  // The instructions alone do not say it: Zen 4 has AVX512-BF16 and its bf16 peak is 0.56x fp32's,
  // Zen 5's 2x. A convolution in each takes a few milliseconds and does.
  at::AutoDispatchBelowADInplaceOrView no_autograd;
  const double speedup = convolution_seconds(c10::kFloat) / convolution_seconds(c10::kBFloat16);
  // One convolution does not rank the whole step (measured on a Zen 5: 4.1x here with LibTorch
  // 1.13 for a 1.55x faster step, 1.1x with 2.6 for 1.46x), but below 1 bf16 cannot pay.
  return fmt::format("{}; a bf16 convolution runs at {:.2f}x fp32 here ({})", isa, speedup,
                     speedup < 1.0 ? "keep fp32"
                                   : "bf16 may pay: scripts/bench.sh --precision 'fp32 bf16' "
                                     "measures the whole step");
}

}  // namespace acgan
