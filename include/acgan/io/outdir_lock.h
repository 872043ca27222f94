// One run per outdir: an exclusive flock(2) on OUTDIR/.acgan.lock, held for the whole run. The
// kernel releases it when the process ends however it ends (a SIGKILL included), so a killed run
// never leaves a stale lock; a second run on the same outdir is refused with the holder's pid.
// The lock file (holding that pid) is left in place: it is acgan's own and harmless.
#pragma once

#include <string>

namespace acgan {

class OutdirLock {
 public:
  // Throws acgan::Error naming the outdir and the holder's pid when another process holds it.
  explicit OutdirLock(const std::string& outdir);
  ~OutdirLock();
  OutdirLock(const OutdirLock&) = delete;
  OutdirLock& operator=(const OutdirLock&) = delete;

  static constexpr const char* kFileName = ".acgan.lock";

 private:
  int fd_ = -1;
};

}  // namespace acgan
