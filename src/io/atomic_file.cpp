// Temporary file + fsync + rename. See include/acgan/io/atomic_file.h.
#include "acgan/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>

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

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

}  // namespace

void check_writable_target(const std::string& path) {
  if (path.empty()) throw Error("cannot write a file with an empty name");
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // a new file
    fail(path, "cannot stat", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    throw Error(path + ": is " + file_kind(st.st_mode) +
                "; acgan writes only regular files or new paths, choose another name");
  }
  // The rename would succeed in a folder the user may write (without the sticky bit) even over a
  // file the user may not: a file they could not open for writing is not theirs to replace.
  if (::access(path.c_str(), W_OK) != 0) {
    throw Error(path + ": exists and is not writable by this user (" + std::strerror(errno) +
                "); acgan does not replace it, choose another name");
  }
}

std::string temporary_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

bool is_temporary_of(const std::string& file_name, const std::string& base_name) {
  const std::string prefix = base_name + ".tmp.";
  if (file_name.size() <= prefix.size() || file_name.compare(0, prefix.size(), prefix) != 0)
    return false;
  return std::all_of(file_name.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                     file_name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  check_writable_target(path);
  const std::string tmp = temporary_path(path);
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
  if (path.empty()) throw Error("cannot read a file with an empty name");
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open for reading", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": is " + file_kind(st.st_mode) + ", expected a regular file");
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');  // the size is known before reading
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : 0;
      ::close(fd);
      throw Error(path + ": read failed after " + std::to_string(done) + " of " +
                  std::to_string(bytes.size()) + " bytes" +
                  (err ? std::string(": ") + std::strerror(err) : " (the file shrank)"));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
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
