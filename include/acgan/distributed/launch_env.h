// Who this process is in a data-parallel job, read from the variables the launchers users already
// have set: torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
// TORCHELASTIC_RESTART_COUNT), Slurm's srun (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID,
// with MASTER_ADDR or the first host of SLURM_JOB_NODELIST) and Open MPI's mpirun
// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE). It only reads: connecting is
// process_group.h's job, starting local workers local_launcher.h's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace acgan {

// LaunchEnv::launcher of the workers `acgan --nproc N` starts (local_launcher.h).
constexpr const char* kNprocLauncher = "acgan --nproc";

struct LaunchEnv {
  std::string launcher;  // "torchrun", "slurm" or "mpirun": which variables were read
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;        // the process's index on its machine: its CUDA device
  int64_t local_world_size = 1;  // processes on this machine: they share its CPUs
  std::string master_addr;       // rank 0's host, which holds the rendezvous (a TCPStore)
  int port = 0;
  int64_t restart_count = 0;  // torchrun's restarts of a failed job: > 0 resumes by itself
};

// Reads a variable; nullptr when unset.
using EnvLookup = std::function<const char*(const char*)>;

// The job this process belongs to, or nullopt when no launcher's variables are set (a plain run).
// Throws UsageError naming the variable for one that is missing, not a number or out of range
// (RANK >= WORLD_SIZE, no MASTER_PORT, ...).
std::optional<LaunchEnv> read_launch_env(const EnvLookup& lookup);
std::optional<LaunchEnv> read_launch_env();  // this process's environment

// The first host of a Slurm node list: "gpu[07-09,12],cpu1" -> "gpu07".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace acgan
