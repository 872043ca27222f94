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

namespace {

[[noreturn]] void throw_in_use(const std::string& outdir, int fd) {
  char holder[32] = {};
  (void)!::pread(fd, holder, sizeof(holder) - 1, 0);
  const std::string pid(holder);
  throw Error("--outdir " + outdir + " is in use by another acgan run (pid " +
              pid.substr(0, pid.find('\n')) +
              "); wait for it to finish or choose another --outdir");
}

}  // namespace

void OutdirLock::check_not_in_use(const std::string& outdir) {
  const std::string path = (std::filesystem::path(outdir) / kFileName).string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;  // no lock file: nobody has run there
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    try {
      throw_in_use(outdir, fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  ::close(fd);  // releases the probe
}

OutdirLock::OutdirLock(const std::string& outdir) {
  const std::string path = (std::filesystem::path(outdir) / kFileName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) {
    throw Error(path + ": cannot open the outdir's lock file: " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno, fd = fd_;
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      try {
        throw_in_use(outdir, fd);
      } catch (...) {
        ::close(fd);
        throw;
      }
    }
    ::close(fd);
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
