// Device, thread and BLAS set-up. See include/acgan/runtime.h.
#include "acgan/runtime.h"

#include <dlfcn.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

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

int configure_threads(int64_t threads) {
  // LibTorch's own default is not to be trusted: Debian's build starts with 1 thread on a 2-core
  // machine (measured: 89 img/s vs 121 with 2). So 0 means "every CPU this process may run on".
  torch::set_num_threads(threads > 0 ? static_cast<int>(threads) : usable_cpus());
  return torch::get_num_threads();
}

}  // namespace acgan
