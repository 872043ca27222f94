// A training process's place in its job. See include/acgan/distributed/job.h.
#include "acgan/distributed/job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "acgan/runtime.h"

namespace acgan {

torch::Device Job::device(const std::string& spec) const {
  if (!launch_ || (spec != "auto" && spec != "cuda")) return resolve_device(spec);
  const auto any = resolve_device(spec);
  if (!any.is_cuda()) return any;
  return resolve_device("cuda:" + std::to_string(launch_->local_rank));
}

int64_t Job::default_threads() const {
  const int64_t local = launch_ ? launch_->local_world_size : 1;
  return std::max<int64_t>(1, usable_cpus() / local);
}

void Job::connect(const std::string& backend, const torch::Device& device, double timeout_seconds) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  communicator_ = std::make_unique<Communicator>(*launch_, backend, device, timeout);
  data_parallel_ = std::make_unique<DataParallel>(*communicator_);
}

std::string Job::from_rank0(const std::string& value) {
  return communicator_ ? communicator_->broadcast_bytes(value) : value;
}

void Job::post_failure(const std::exception_ptr& failure) noexcept {
  if (communicator_) communicator_->post_failure(failure);
}

}  // namespace acgan
