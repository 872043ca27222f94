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

// CUDA devices this process sees (0 without CUDA).
int cuda_device_count();

// Sets LibTorch's intra-op threads (0: usable_cpus()). Returns the count now in force.
int configure_threads(int64_t threads);

// What may make two runs with the same seed differ on `device`, and what stops it. CPU runs repeat
// bit for bit at the same thread count whatever `deterministic` says. On CUDA, off: cuDNN
// benchmarks kernels and takes the fastest (the step's shapes never change), and convolutions and
// matmuls may use TF32 where LibTorch allows it; on: no autotuning, no TF32, cuDNN's
// deterministic kernels, LibTorch's deterministic algorithms (an op without one warns), and
// cuBLAS's fixed workspace (CUBLAS_WORKSPACE_CONFIG=:4096:8 unless set).
void configure_determinism(bool deterministic, const torch::Device& device);

// A line on this CPU's bfloat16 support, for the start-up log: its native bf16 instructions
// (AVX512-BF16, AMX-BF16) and the measured speed of a bf16 convolution against fp32 on the threads
// now set (a few milliseconds), so users can tell whether --precision bf16 pays on this machine.
// Call guard_against_inexact_onednn() first: where it turns oneDNN off, bf16 cannot pay and the
// line says so without timing kernels the run will not use.
std::string cpu_bf16_support();

}  // namespace acgan
