// Temporary file + fsync + rename. See include/acgan/atomic_file.h.
#include "acgan/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "acgan/error.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw Error(path + ": " + what + ": " + std::strerror(err));
}

// Fault injection for the reliability tests: ACGAN_FAULT_KILL_IN_WRITE=N makes the Nth atomic write
// of this process SIGKILL it halfway through writing its temporary file. Unset, it costs one
// getenv.
bool should_die_in_this_write() {
  static const long target = [] {
    const char* value = std::getenv("ACGAN_FAULT_KILL_IN_WRITE");
    return value ? std::strtol(value, nullptr, 10) : 0L;
  }();
  static long count = 0;
  return target > 0 && ++count == target;
}

void fsync_dir(const std::string& path) {
  const auto dir = fs::path(path).parent_path();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the rename itself is already atomic
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create " + tmp, errno);
  size_t done = 0;
  if (should_die_in_this_write()) {
    (void)!::write(fd, bytes.data(), bytes.size() / 2);
    ::raise(SIGKILL);
  }
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path,
           "write failed after " + std::to_string(done) + " of " + std::to_string(bytes.size()) +
               " bytes (previous file kept)",
           err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(path, "fsync failed (previous file kept)", err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "close failed (previous file kept)", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "rename from " + tmp + " failed (previous file kept)", err);
  }
  fsync_dir(path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path + ": read failed");
  return buffer.str();
}

void ensure_writable_dir(const std::string& dir, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(what + ": cannot create directory: " + (ec ? ec.message() : "not a directory"));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw Error(what + ": directory is not writable: " + std::strerror(errno));
  }
}

}  // namespace acgan
