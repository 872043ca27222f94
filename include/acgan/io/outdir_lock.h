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

  // Throws the same error as the constructor when another process holds `outdir`'s lock, without
  // taking it or creating anything: a second command is told "in use by pid N" before any other
  // verdict on the outdir (a missing checkpoint, an earlier run).
  static void check_not_in_use(const std::string& outdir);

 private:
  int fd_ = -1;
};

}  // namespace acgan
