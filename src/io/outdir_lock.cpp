// The outdir lock. See include/acgan/io/outdir_lock.h.
#include "acgan/io/outdir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "acgan/error.h"

namespace acgan {

OutdirLock::OutdirLock(const std::string& outdir) {
  const std::string path = (std::filesystem::path(outdir) / kFileName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) {
    throw Error(path + ": cannot open the outdir's lock file: " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[32] = {};
    (void)!::pread(fd_, holder, sizeof(holder) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw Error("--outdir " + outdir + " is in use by another acgan run (pid " +
                  std::string(holder).substr(0, std::string(holder).find('\n')) +
                  "); wait for it to finish or choose another --outdir");
    }
    throw Error(path + ": cannot lock: " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second run would lack it.
  }
}

OutdirLock::~OutdirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace acgan
