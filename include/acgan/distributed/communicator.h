// The collectives a data-parallel run needs, on PyTorch's own c10d: a TCPStore rendezvous held by
// rank 0 and a Gloo (CPU) or NCCL (CUDA) process group, as DistributedDataParallel uses them.
// c10d's types stay in communicator.cpp, the one file that includes its headers: its API moved
// between LibTorch 1.13 (ProcessGroup) and 2.x (Backend), and that difference is handled there.
//
// Failure is never a hang. Every collective gives up after the timeout (a hung rank) or at once
// (a rank whose connections closed), and then names the rank: survivors check in at the store,
// and the ranks that do not are the dead or hung ones. agree() turns one rank's error into every
// rank's, so that no rank waits in a collective another will never join.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "acgan/distributed/launch_env.h"

namespace acgan {

// Which backends this build has: Gloo when LibTorch was built with it and its headers
// (libgloo-dev) were found, NCCL in CUDA builds.
bool gloo_available();
bool nccl_available();

// "auto" (NCCL on CUDA, Gloo on CPU), "gloo" or "nccl" -> the backend to use; throws UsageError
// naming --backend when it does not fit the device or this build.
std::string resolve_backend(const std::string& backend, const torch::Device& device);

class Communicator {
 public:
  // Joins the job: every rank must call it within `timeout`. Throws Error naming MASTER_ADDR and
  // MASTER_PORT when the rendezvous cannot be reached or held.
  Communicator(const LaunchEnv& env, const std::string& backend, const torch::Device& device,
               std::chrono::milliseconds timeout);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int64_t rank() const;
  int64_t world_size() const;
  const std::string& backend() const;

  // In place, on every rank, the same shapes and dtypes everywhere (on the backend's device).
  void all_reduce_sum(torch::Tensor& tensor);
  void broadcast(torch::Tensor& tensor, int64_t root = 0);
  // Rank 0's `bytes` on every rank (through the store: any size, any backend).
  std::string broadcast_bytes(const std::string& bytes);

  // Leaves this rank's failure at the store, where the others' failed collectives find it and
  // quote it; best effort (the store may be gone).
  void post_failure(const std::exception_ptr& failure) noexcept;

  // Called by every rank at the same point with its own outcome (nullptr: it succeeded). Returns
  // when every rank succeeded; otherwise throws on every rank: the failed rank its own exception,
  // the others an Error naming it and quoting its message (a UsageError when it was one).
  void agree(const std::exception_ptr& local_failure);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace acgan
