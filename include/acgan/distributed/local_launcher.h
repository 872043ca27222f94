// `acgan --nproc N ...`: a data-parallel job on this machine without torchrun. The command starts
// N copies of itself as worker processes, with the variables torchrun would set (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT), in a
// process group of their own so that a Ctrl-C reaches each worker once, through this process,
// which forwards SIGINT, SIGTERM and SIGHUP. Workers that outlive it get SIGTERM. It does no
// training itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acgan {

// A loopback port the kernel says is free now (for a rendezvous that binds it moments later).
int free_local_port();

// argv without --nproc and its value (both "--nproc N" and "--nproc=N").
std::vector<std::string> worker_arguments(int argc, char** argv);

// Starts `nproc` workers running this executable with `arguments` (argv[0] first) and waits for
// all of them. Returns the job's exit code: 0 when every worker succeeded, else the first
// failing rank's (a graceful stop's 128 + signal when that is all that happened).
int launch_local_workers(const std::vector<std::string>& arguments, int64_t nproc);

}  // namespace acgan
