// This process's place in a training job: alone (no launcher's variables: nothing changes, bit for
// bit), or one rank of a data-parallel job (launch_env.h), connected (communicator.h) and
// averaging gradients (data_parallel.h). The trainer asks it who writes (rank 0), which device and
// how many threads the rank gets, and runs its refusable steps through agreed(), so that a failure
// on one rank stops every rank with that rank's message instead of leaving them in a collective.
#pragma once

#include <torch/types.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "acgan/distributed/communicator.h"
#include "acgan/distributed/data_parallel.h"
#include "acgan/distributed/launch_env.h"

namespace acgan {

class Job {
 public:
  // A plain run.
  Job() = default;
  // One rank of `launch`'s job; connect() joins it.
  explicit Job(LaunchEnv launch) : launch_(std::move(launch)) {}

  bool distributed() const { return launch_.has_value(); }
  int64_t rank() const { return launch_ ? launch_->rank : 0; }
  int64_t world_size() const { return launch_ ? launch_->world_size : 1; }
  bool writes() const { return rank() == 0; }  // outdir, logs, evaluations: rank 0's
  const std::optional<LaunchEnv>& launch() const { return launch_; }
  // Started by `acgan --nproc N` (local_launcher.h): a resume command must say --nproc N again.
  bool launched_by_nproc() const { return launch_ && launch_->launcher == kNprocLauncher; }

  // `spec` (--device) for this rank: CUDA ranks take cuda:LOCAL_RANK unless a device index is
  // given.
  torch::Device device(const std::string& spec) const;
  // --threads 0 for this rank: the CPUs this process may use shared by the ranks on its machine.
  int64_t default_threads() const;

  // Joins the job's rendezvous and process group within `timeout_seconds`.
  void connect(const std::string& backend, const torch::Device& device, double timeout_seconds);
  Communicator* communicator() { return communicator_.get(); }
  DataParallel* data_parallel() { return data_parallel_.get(); }

  // Runs `fn` (on rank 0 alone when `rank0_only`) and makes its outcome every rank's: returns
  // everywhere when it succeeded everywhere, else throws everywhere (communicator.h, agree).
  template <typename Fn>
  void agreed(bool rank0_only, Fn&& fn) {
    std::exception_ptr failure;
    try {
      if (!rank0_only || writes()) fn();
    } catch (...) {
      failure = std::current_exception();
    }
    if (communicator_) communicator_->agree(failure);
    if (failure) std::rethrow_exception(failure);
  }

  // Rank 0's `value` on every rank (`value` itself in a plain run).
  std::string from_rank0(const std::string& value);

  // Leaves `failure` for the other ranks to quote (a plain run: nothing).
  void post_failure(const std::exception_ptr& failure) noexcept;

 private:
  std::optional<LaunchEnv> launch_;
  std::unique_ptr<Communicator> communicator_;
  std::unique_ptr<DataParallel> data_parallel_;
};

}  // namespace acgan
