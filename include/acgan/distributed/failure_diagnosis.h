// What stopped a data-parallel job, told from the rendezvous store: a rank's own posted failure,
// another survivor's finding, or this rank's own look: ranks on this machine by their process
// state (exited, stopped), the others by whether they check in before a deadline. It reads and
// writes keys only, through RendezvousStore, so it knows nothing of c10d (communicator.cpp adapts
// c10d's TCPStore) and tests give it a map.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace acgan {

// The rendezvous store as the diagnosis uses it; any call may throw where the store is gone.
class RendezvousStore {
 public:
  virtual ~RendezvousStore() = default;
  virtual bool has(const std::string& key) = 0;
  virtual std::string get(const std::string& key) = 0;  // waits for the key, up to a timeout
  virtual void set(const std::string& key, const std::string& value) = 0;
};

// A timeout as the messages give it: "1.5 s".
std::string seconds_text(std::chrono::milliseconds ms);

// "acgan/<what>/<rank>": a rank's own key for `what` (process, failed, alive, diagnosed, ...).
std::string store_key(const std::string& what, int64_t rank);

// A rank's failure as it posts it under store_key("failed", rank): "usage:" or "error:", then its
// one line.
std::string posted_failure_text(const std::exception_ptr& failure);

struct PostedFailure {
  int64_t rank;
  bool usage;  // a usage error (exit code 2), else a failure
  std::string line;
};

// How long survivors of a failed collective wait for each other to check in at the store.
constexpr auto kCheckInGrace = std::chrono::seconds(3);

class FailureDiagnosis {
 public:
  // `host`: this machine's name, as each rank registered it with its pid under "process".
  FailureDiagnosis(RendezvousStore& store, int64_t rank, int64_t world_size, std::string host,
                   std::chrono::milliseconds timeout);

  // The lowest other rank that posted its failure, decoded.
  std::optional<PostedFailure> first_posted_failure();

  // A line naming what stopped the job. Checks this rank in, then calls `close_connections` (so
  // ranks still waiting on this one fail sooner) and looks: rank 0, which holds the store, until
  // every survivor has checked in or `timeout` + the grace has passed; the others for the grace.
  std::string diagnose(const std::function<void()>& close_connections);

 private:
  std::vector<std::pair<int64_t, std::string>> local_verdicts();
  std::vector<int64_t> not_checked_in(const std::vector<std::pair<int64_t, std::string>>& verdicts);
  void finish();

  RendezvousStore& store_;
  int64_t rank_;
  int64_t world_size_;
  std::string host_;
  std::chrono::milliseconds timeout_;
};

}  // namespace acgan
