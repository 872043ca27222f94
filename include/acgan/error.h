// User-facing errors. Every failure a user can cause (a bad flag, a bad file, a full disk) is
// thrown as one of these with a one-line message that names the flag or file, what was expected,
// what was found and, where there is one, how to fix it. main() prints it and exits non-zero;
// nothing else catches them. Programming errors stay c10::Error / std::logic_error and are reported
// as such.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace acgan {

// Exit codes of the acgan binary.
constexpr int kExitOk = 0;
constexpr int kExitFailure =
    1;                         // runtime failure: bad data, bad checkpoint, write error, divergence
constexpr int kExitUsage = 2;  // bad command line

// The first non-blank line of an exception message: LibTorch's carry a stack trace after it, and
// TorchScript's compiler errors start with an empty line.
inline std::string first_line(const std::string& what) {
  const auto start = what.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  return what.substr(start, what.find('\n', start) - start);
}

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A bad command line: exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

// A failure whose line another process already printed to the same terminal (a --nproc worker
// stopped by rank 0's error): main() exits with `code` and prints nothing.
class ReportedElsewhere : public Error {
 public:
  ReportedElsewhere(const std::string& message, int code) : Error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Throws UsageError("--flag: expected ..., got found") unless ok: every flag's range check.
template <typename T>
void require_flag(bool ok, const std::string& flag, const std::string& expected, const T& found) {
  if (!ok)
    throw UsageError("--" + flag + ": expected " + expected + ", got " + fmt::format("{}", found));
}

}  // namespace acgan
