// What stopped a data-parallel job. See include/acgan/distributed/failure_diagnosis.h.
#include "acgan/distributed/failure_diagnosis.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "acgan/error.h"

namespace acgan {
namespace {

// The kind prefix of a posted failure: "usage:" or "error:".
constexpr size_t kKindLength = 6;

// The state of a process on this machine: 'R', 'S', 'T' (stopped), 'Z' (exited, not reaped), or 0
// when there is none.
char process_state(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  const auto paren = line.rfind(')');  // the name may hold spaces and parentheses
  return paren == std::string::npos || paren + 2 >= line.size() ? 0 : line[paren + 2];
}

}  // namespace

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:g} s", static_cast<double>(ms.count()) / 1000);
}

std::string store_key(const std::string& what, int64_t rank) {
  return "acgan/" + what + "/" + std::to_string(rank);
}

std::string posted_failure_text(const std::exception_ptr& failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const UsageError& e) {
    return std::string("usage:") + e.what();
  } catch (const c10::Error& e) {
    return std::string("error:") + first_line(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return std::string("error:") + first_line(e.what());
  } catch (...) {
    return "error:an exception of unknown type";
  }
}

FailureDiagnosis::FailureDiagnosis(RendezvousStore& store, int64_t rank, int64_t world_size,
                                   std::string host, std::chrono::milliseconds timeout)
    : store_(store),
      rank_(rank),
      world_size_(world_size),
      host_(std::move(host)),
      timeout_(timeout) {}

// What the ranks on this machine say about themselves: exited or stopped ones, by their pids
// (registered at connect time). Ranks elsewhere are judged by their check-ins.
std::vector<std::pair<int64_t, std::string>> FailureDiagnosis::local_verdicts() {
  std::vector<std::pair<int64_t, std::string>> out;
  for (int64_t r = 0; r < world_size_; ++r) {
    if (r == rank_ || !store_.has(store_key("process", r))) continue;
    const auto where = store_.get(store_key("process", r));  // host/pid
    const auto slash = where.rfind('/');
    if (where.substr(0, slash) != host_) continue;
    const long pid = std::stol(where.substr(slash + 1));
    const char state = process_state(pid);
    if (state == 0 || state == 'Z' || state == 'X')
      out.emplace_back(r, fmt::format("rank {} (pid {}) has exited", r, pid));
    else if (state == 'T' || state == 't')
      out.emplace_back(r,
                       fmt::format("rank {} (pid {}) is stopped (a signal or a debugger)", r, pid));
  }
  return out;
}

std::optional<PostedFailure> FailureDiagnosis::first_posted_failure() {
  for (int64_t r = 0; r < world_size_; ++r) {
    if (r == rank_ || !store_.has(store_key("failed", r))) continue;
    const auto posted = store_.get(store_key("failed", r));
    return PostedFailure{r, posted.rfind("usage:", 0) == 0, posted.substr(kKindLength)};
  }
  return std::nullopt;
}

// What stopped the job, as a line naming ranks: a rank's own failure, another survivor's finding,
// or this rank's: local ranks by their process state, the others by whether they check in.
std::string FailureDiagnosis::diagnose(const std::function<void()>& close_connections) {
  std::string found;
  if (const auto posted = first_posted_failure())  // a rank that said why
    found = fmt::format("rank {} failed: {}", posted->rank, posted->line);
  if (found.empty() && store_.has("acgan/diagnosis")) found = store_.get("acgan/diagnosis");
  store_.set(store_key("alive", rank_), "1");  // after reading what others found
  close_connections();                         // ranks still waiting on this one fail sooner
  // Rank 0 holds the store: it stays until every other survivor has checked in (each fails by its
  // own timeout at the latest) and named what it found; the others look only for a short grace, to
  // name the silent ones. A killed process closes its connections before it is seen to have
  // exited: its state is looked at again on each round.
  const auto wait =
      rank_ == 0 ? timeout_ + kCheckInGrace : std::chrono::milliseconds(kCheckInGrace);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::vector<std::pair<int64_t, std::string>> verdicts;
  std::vector<int64_t> silent;
  try {
    while (true) {
      if (found.empty()) verdicts = local_verdicts();
      silent = not_checked_in(verdicts);
      if (silent.empty() || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the store
    }
  } catch (const std::exception&) {
    // The store is gone: rank 0 failed too, or gave up waiting. The silent are as last seen.
  }
  std::string text = found.empty() ? "" : found + " (found by another rank)";
  if (text.empty()) {
    std::vector<std::string> named;
    for (const auto& [r, line] : verdicts) named.push_back(line);
    for (int64_t r : silent)
      named.push_back(fmt::format("rank {} did not answer within --dist_timeout {}", r,
                                  seconds_text(timeout_)));
    text = named.empty() ? "another rank failed" : fmt::format("{}", fmt::join(named, ", "));
    try {
      if (!named.empty()) store_.set("acgan/diagnosis", text);
    } catch (const std::exception&) {
    }
  }
  finish();
  return text;
}

// The ranks, other than those judged by their process state, that have not checked in.
std::vector<int64_t> FailureDiagnosis::not_checked_in(
    const std::vector<std::pair<int64_t, std::string>>& verdicts) {
  std::vector<int64_t> silent;
  for (int64_t r = 0; r < world_size_; ++r) {
    const bool judged =
        std::any_of(verdicts.begin(), verdicts.end(), [&](const auto& v) { return v.first == r; });
    if (!judged && !store_.has(store_key("alive", r))) silent.push_back(r);
  }
  return silent;
}

// Says this rank has its diagnosis. Rank 0, which holds the store, stays until every rank that
// checked in has said so: leaving sooner took the store from a rank still looking, which then
// could name nobody.
void FailureDiagnosis::finish() {
  try {
    store_.set(store_key("diagnosed", rank_), "1");
    if (rank_ != 0) return;
    const auto deadline = std::chrono::steady_clock::now() + 2 * kCheckInGrace;
    for (int64_t r = 1; r < world_size_; ++r)
      while (store_.has(store_key("alive", r)) && !store_.has(store_key("diagnosed", r)) &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling the store
  } catch (const std::exception&) {
  }
}

}  // namespace acgan
