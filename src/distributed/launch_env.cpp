// The launchers' variables. See include/acgan/distributed/launch_env.h.
#include "acgan/distributed/launch_env.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "acgan/error.h"

namespace acgan {
namespace {

class Variables {
 public:
  Variables(const EnvLookup& lookup, std::string launcher)
      : lookup_(lookup), launcher_(std::move(launcher)) {}

  bool has(const char* name) const { return lookup_(name) != nullptr; }

  std::string text(const char* name, const std::string& hint) const {
    const char* value = lookup_(name);
    if (!value || !*value) {
      throw UsageError(std::string(name) + ": not set, but " + launcher_ +
                       "'s other variables are; " + hint);
    }
    return value;
  }

  int64_t number(const char* name, int64_t min, int64_t max, const std::string& hint = "") const {
    const std::string value = text(name, hint.empty() ? "is the launcher complete?" : hint);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(value.c_str(), &end, 10);
    if (errno != 0 || end == value.c_str() || *end != '\0' || n < min || n > max) {
      throw UsageError(std::string(name) + "=" + value + ": expected an integer in " +
                       std::to_string(min) + ".." + std::to_string(max) + " (set by " + launcher_ +
                       ")");
    }
    return n;
  }

  // `name`'s number when set, else `fallback`.
  int64_t number_or(const char* name, int64_t min, int64_t max, int64_t fallback) const {
    return has(name) ? number(name, min, max) : fallback;
  }

  // The leading count of Slurm's "4(x2),3" task lists, or `fallback`.
  int64_t leading_count(const char* name, int64_t fallback) const {
    const char* value = lookup_(name);
    if (!value) return fallback;
    const long long n = std::strtoll(value, nullptr, 10);
    return n > 0 ? n : fallback;
  }

 private:
  const EnvLookup& lookup_;
  std::string launcher_;
};

constexpr int64_t kMaxWorld = 1 << 20;

void read_master(const Variables& v, LaunchEnv& env, const std::string& default_addr) {
  env.master_addr = v.has("MASTER_ADDR") || default_addr.empty()
                        ? v.text("MASTER_ADDR", "export MASTER_ADDR=<rank 0's host>")
                        : default_addr;
  env.port = static_cast<int>(v.number("MASTER_PORT", 1, 65535,
                                       "export MASTER_PORT=<a free port on rank 0's host>, "
                                       "the same for every process (torchrun's is 29500)"));
}

void check_ranks(const LaunchEnv& env, const char* rank_name, const char* size_name) {
  if (env.rank >= env.world_size) {
    throw UsageError(std::string(rank_name) + "=" + std::to_string(env.rank) + ": expected 0.." +
                     std::to_string(env.world_size - 1) + " (" + size_name + "=" +
                     std::to_string(env.world_size) + ")");
  }
  if (env.local_rank >= env.local_world_size) {
    throw UsageError("local rank " + std::to_string(env.local_rank) + ": expected 0.." +
                     std::to_string(env.local_world_size - 1) + " (" +
                     std::to_string(env.local_world_size) + " processes on this machine, set by " +
                     env.launcher + ")");
  }
}

LaunchEnv read_torchrun(const EnvLookup& lookup) {
  const Variables v(lookup, "torchrun");
  LaunchEnv env;
  // acgan --nproc sets torchrun's variables and says so.
  env.launcher = lookup("ACGAN_NPROC_LAUNCHER") ? kNprocLauncher : "torchrun";
  env.world_size = v.number("WORLD_SIZE", 1, kMaxWorld);
  env.rank = v.number("RANK", 0, kMaxWorld);
  env.local_rank = v.number_or("LOCAL_RANK", 0, kMaxWorld, 0);
  env.local_world_size = v.number_or("LOCAL_WORLD_SIZE", 1, kMaxWorld, 1);
  env.restart_count = v.number_or("TORCHELASTIC_RESTART_COUNT", 0, kMaxWorld, 0);
  read_master(v, env, "");
  check_ranks(env, "RANK", "WORLD_SIZE");
  return env;
}

LaunchEnv read_slurm(const EnvLookup& lookup) {
  const Variables v(lookup, "Slurm");
  LaunchEnv env;
  env.launcher = "slurm";
  // srun's step has its own task count; SLURM_NTASKS is the allocation's.
  env.world_size = v.number("SLURM_STEP_NUM_TASKS", 1, kMaxWorld);
  env.rank = v.number("SLURM_PROCID", 0, kMaxWorld);
  env.local_rank = v.number_or("SLURM_LOCALID", 0, kMaxWorld, 0);
  env.local_world_size = v.leading_count(
      "SLURM_STEP_TASKS_PER_NODE", v.leading_count("SLURM_NTASKS_PER_NODE", env.local_rank + 1));
  const char* nodes =
      lookup("SLURM_STEP_NODELIST") ? lookup("SLURM_STEP_NODELIST") : lookup("SLURM_JOB_NODELIST");
  read_master(v, env, nodes ? first_slurm_host(nodes) : "");
  check_ranks(env, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS");
  return env;
}

LaunchEnv read_mpirun(const EnvLookup& lookup) {
  const Variables v(lookup, "Open MPI");
  LaunchEnv env;
  env.launcher = "mpirun";
  env.world_size = v.number("OMPI_COMM_WORLD_SIZE", 1, kMaxWorld);
  env.rank = v.number("OMPI_COMM_WORLD_RANK", 0, kMaxWorld);
  env.local_rank = v.number_or("OMPI_COMM_WORLD_LOCAL_RANK", 0, kMaxWorld, 0);
  env.local_world_size =
      v.number_or("OMPI_COMM_WORLD_LOCAL_SIZE", 1, kMaxWorld, env.local_rank + 1);
  read_master(v, env, "");  // mpirun -x MASTER_ADDR -x MASTER_PORT
  check_ranks(env, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
  return env;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  const auto end = nodelist.find_first_of(",[");
  std::string host = nodelist.substr(0, end);
  if (end == std::string::npos || nodelist[end] != '[') return host;
  const auto range_end = nodelist.find_first_of("-,]", end + 1);
  return host + nodelist.substr(end + 1, range_end - end - 1);
}

std::optional<LaunchEnv> read_launch_env(const EnvLookup& lookup) {
  if (lookup("RANK") || lookup("WORLD_SIZE")) return read_torchrun(lookup);
  // One task of srun or mpirun is a plain run (an interactive `srun acgan` needs no port).
  const auto single = [&](const char* size) {
    return lookup(size) && std::string(lookup(size)) == "1";
  };
  if (lookup("OMPI_COMM_WORLD_RANK") || lookup("OMPI_COMM_WORLD_SIZE")) {
    if (single("OMPI_COMM_WORLD_SIZE")) return std::nullopt;
    return read_mpirun(lookup);
  }
  // srun sets SLURM_STEP_NUM_TASKS in each task it starts; a batch script's own shell has only the
  // allocation's SLURM_NTASKS, and an acgan it runs directly is one process.
  if (lookup("SLURM_STEP_NUM_TASKS") && lookup("SLURM_PROCID")) {
    if (single("SLURM_STEP_NUM_TASKS")) return std::nullopt;
    return read_slurm(lookup);
  }
  return std::nullopt;
}

std::optional<LaunchEnv> read_launch_env() {
  return read_launch_env([](const char* name) { return std::getenv(name); });
}

}  // namespace acgan
