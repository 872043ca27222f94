// The machine a run lands on: which device, how many threads, which BLAS. LibTorch's speed on CPU
// depends on the BLAS it resolves at load time (Debian's alternatives system picks it): the
// reference BLAS is ~5x slower than OpenBLAS, and the pthreads build of OpenBLAS fights LibTorch's
// OpenMP threads (~2x) unless it runs one thread. configure_blas() finds out which is loaded and
// applies that fix itself; the trainer logs what it found.
#pragma once

#include <torch/types.h>

#include <string>

namespace acgan {

struct BlasInfo {
  std::string library;  // file that provides sgemm_, e.g. .../openblas-openmp/libblas.so.3
  std::string kind;     // "OpenBLAS (OpenMP)", "OpenBLAS (pthreads)", "reference BLAS", ...
  std::string advice;   // non-empty when the configuration is slow and can be fixed
};

// Detects the BLAS; limits a pthreads OpenBLAS to one thread.
BlasInfo configure_blas();

// "auto" | "cpu" | "cuda" | "cuda:N" -> a device that exists; throws acgan::UsageError otherwise.
torch::Device resolve_device(const std::string& spec);

// CPUs this process may run on (its affinity mask).
int usable_cpus();

// Sets LibTorch's intra-op threads (0: usable_cpus()). Returns the count now in force.
int configure_threads(int64_t threads);

}  // namespace acgan
