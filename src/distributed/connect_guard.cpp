// Checks and the deadline of joining a job. See include/acgan/distributed/connect_guard.h.
#include "acgan/distributed/connect_guard.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "acgan/error.h"

namespace acgan {

// Descriptors a process needs besides its peers' connections: its files, the store's, stdio.
constexpr int64_t kOtherDescriptors = 64;

void check_master_addr_resolves(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (found) ::freeaddrinfo(found);
  if (error != 0) {
    throw Error("MASTER_ADDR " + host + ": the name does not resolve (" + ::gai_strerror(error) +
                "); set it to rank 0's host name or address");
  }
}

void check_world_size_fits_file_limit(int64_t world_size, bool holds_store, bool full_mesh) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const auto allowed = static_cast<int64_t>(limit.rlim_cur);
  const int64_t needed =
      (holds_store ? world_size : 0) + (full_mesh ? world_size : 0) + kOtherDescriptors;
  if (needed > allowed) {
    throw UsageError(fmt::format(
        "WORLD_SIZE {}: a rank holds about {} connections, but this process may open {} files "
        "(ulimit -n); raise the limit (ulimit -n {}) or start fewer ranks",
        world_size, needed, allowed, needed));
  }
}

JoinDeadline::JoinDeadline(std::chrono::milliseconds limit, std::string what)
    : what_(std::move(what)) {
  watchdog_ = std::thread([this, limit] {
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_.wait_for(lock, limit, [this] { return finished_; })) return;
    std::fflush(stdout);
    std::fprintf(stderr, "acgan: error: %s\n", what_.c_str());
    std::fflush(stderr);
    ::_exit(kExitFailure);  // the join is stuck in a call that cannot be interrupted
  });
}

void JoinDeadline::waiting_for(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  what_ = std::move(what);
}

JoinDeadline::~JoinDeadline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
  }
  done_.notify_one();
  watchdog_.join();
}

}  // namespace acgan
