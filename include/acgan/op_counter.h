// Counts the compute operations LibTorch dispatches while an OpCounter is in scope, through
// RecordFunction, the hook its profiler uses: every ATen operation that calls no other operation
// (a leaf: what runs a kernel), views and allocations excluded, and each multi-tensor (_foreach_)
// operation once (one launch on CUDA; on the CPU LibTorch splits it per tensor), on every thread
// (the backward pass included). On the CPU this is a proxy for the kernel launches of the same step
// on CUDA, which the suite can watch without a GPU. One counter at a time per process.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace acgan {

class OpCounter {
 public:
  OpCounter();
  ~OpCounter();
  OpCounter(const OpCounter&) = delete;
  OpCounter& operator=(const OpCounter&) = delete;

  int64_t count() const;
  std::map<std::string, int64_t> by_name() const;  // "aten::addmm" -> 12, ...

 private:
  uint64_t handle_ = 0;
};

// The CUDA kernels, copies and fills `work` runs on the device, through LibTorch's Kineto
// profiler (CUPTI): what PyTorch's torch.profiler counts, so the two sides of scripts/bench.sh are
// compared alike; a CUDA graph's replay counts each kernel it holds. `work` should end with a
// device synchronisation. -1 where this LibTorch cannot trace CUDA (a CPU build, no Kineto).
int64_t count_cuda_kernels(const std::function<void()>& work);

}  // namespace acgan
