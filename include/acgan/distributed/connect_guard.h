// What a rank checks before it joins a job, and the deadline it joins under, so that joining
// never outlasts --dist_timeout whatever is (or is not) at MASTER_ADDR:MASTER_PORT:
//   - MASTER_ADDR must resolve (at once, not after a socket timeout);
//   - WORLD_SIZE must fit this process's file limit (with Gloo every rank holds a connection per
//     peer, and rank 0 the store's one per rank), refused up front instead of failing late;
//   - JoinDeadline: c10d's TCPStore client waits without a bound for an answer from a listener
//     that accepts and never speaks; past the deadline the process prints one line naming what it
//     waited for and exits 1 (nothing is written before a rank has joined, so nothing is lost).
// Not here: the rendezvous itself (communicator.cpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace acgan {

// Throws acgan::Error naming MASTER_ADDR when `host` does not resolve.
void check_master_addr_resolves(const std::string& host);

// Throws acgan::UsageError naming WORLD_SIZE when this rank's connections would not fit the soft
// RLIMIT_NOFILE: one per rank when it holds the store (rank 0), one per peer with a full mesh
// (Gloo).
void check_world_size_fits_file_limit(int64_t world_size, bool holds_store, bool full_mesh);

// While alive, a watchdog: if it is not destroyed within `limit`, writes "acgan: error: " +
// `what` to stderr and ends the process with exit code 1.
class JoinDeadline {
 public:
  JoinDeadline(std::chrono::milliseconds limit, std::string what);
  ~JoinDeadline();
  // What the line says from now on: the wait now under way.
  void waiting_for(std::string what);
  JoinDeadline(const JoinDeadline&) = delete;
  JoinDeadline& operator=(const JoinDeadline&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  bool finished_ = false;
  std::string what_;
  std::thread watchdog_;
};

}  // namespace acgan
