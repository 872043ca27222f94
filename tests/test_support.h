// Helpers shared by the tests: scratch directories, small CIFAR-10 files in the official binary
// layout, the golden reference file, and running the acgan binary as a user would.
#pragma once

#include <gtest/gtest.h>
#include <torch/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "acgan/error.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_step.h"

namespace acgan::testing {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct SyntheticSet {
  torch::Tensor images;  // (N, 3, 32, 32) uint8
  torch::Tensor labels;  // (N) int64
};

// n images with labels i % 10 and pixels that identify (image, channel, row, column); seeded.
SyntheticSet make_synthetic(int64_t n, uint64_t seed = 0);

// Writes data_batch_1..5.bin (n_per_file records each) and test_batch.bin into dir; returns what it
// wrote to the training files, in order.
SyntheticSet write_synthetic_cifar(const std::string& dir, int64_t n_per_file);

// gen.pt and disc.pt in the outdirs `a` and `b` hold the same tensors, bit for bit.
void expect_same_weights(const std::string& a, const std::string& b);
// Trains `base` 2 epochs straight, and 1 then a resume to 2, in two fresh outdirs: both end with
// the same weights and epoch-2 grid, bit for bit.
void expect_resume_is_exact(const TrainOptions& base);

// `steps` training steps of `state` on random batches of `batch`: per step images U[-1, 1), labels
// and noise, drawn in that order from the default CPU generator. Returns the stacked statistics
// (steps, kNumStepStats); undefined for 0 steps.
torch::Tensor steps_on_random_batches(TrainingState& state, int steps, int64_t batch = 16,
                                      const StepOptions& options = {});

// ../shared/golden/golden.pt seen from the project root, or "" when absent.
std::string golden_path();

// What `fn` throws as acgan::Error (its one line), or "(no error)": how tests read an error thrown
// in-process when they compare it whole (errors of the binary: expect_one_line_error).
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The one assertion on an error thrown in-process: `fn` throws acgan::Error, of the kind `E`
// (UsageError for a bad flag or value), as one line containing each of `parts`.
template <typename E = Error, typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(dynamic_cast<const E*>(&e), nullptr) << "an error of another kind: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "not one line: " << what;
    for (const auto& part : parts)
      EXPECT_NE(what.find(part), std::string::npos) << "expected '" << part << "' in " << what;
    return;
  }
  ADD_FAILURE() << "no error; expected one containing '" << (parts.empty() ? "" : parts.front())
                << "'";
}

// Path of the built acgan binary.
std::string acgan_binary();

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs the acgan binary with `args` (no shell), capturing its output.
CommandResult run_acgan(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}, long file_size_limit = 0);

// Debian's python3 (/usr/bin/python3) when it can import torch, else "" (tests that need it skip).
std::string python_with_torch();
// Runs `program` (a full path) with `args`, capturing its output.
CommandResult run_program(const std::string& program, const std::vector<std::string>& args);

// A test suite sharing one synthetic CIFAR-10 folder (5 training files of kPerFile records each),
// written once before its first test and removed after its last.
template <int64_t kPerFile>
class SyntheticCifarTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir();
    write_synthetic_cifar(data_->path(), kPerFile);
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static const std::string& data_dir() { return data_->path(); }

 private:
  static inline TempDir* data_ = nullptr;
};

// A test suite sharing one folder that a python3-torch script writes once before its first test
// (`python3 Suite::script() Suite::models() write DIR`) and that is removed after its last; its
// tests skip with a message where python3-torch or the models file (../shared) is absent.
template <typename Suite>
class PythonWrittenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (python_with_torch().empty() || !std::filesystem::exists(Suite::models())) return;
    dir_ = new TempDir();
    written_ =
        run_program(python_with_torch(), {Suite::script(), Suite::models(), "write", dir_->path()});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!dir_) GTEST_SKIP() << "needs /usr/bin/python3 with torch (python3-torch) and ../shared";
    ASSERT_EQ(written_.exit_code, 0) << written_.output;
  }
  // A file the script wrote.
  static std::string path(const std::string& name) { return *dir_ / name; }

 private:
  static inline TempDir* dir_ = nullptr;
  static inline CommandResult written_;
};

// The global step column of every row of a metrics.csv, in file order.
std::vector<int64_t> metric_steps(const std::string& path);

// The one line acgan prints on error (from "acgan: error: " on), or the output's tail when absent.
std::string error_line(const std::string& output);

// The binary's failure as the user sees it: exit code `exit_code` and one error line containing
// `needle`, no "internal error". `what` names the case in the failure message.
void expect_one_line_error(const CommandResult& r, int exit_code, const std::string& needle,
                           const std::string& what = "");

// The acgan binary running in the background, its output read through a pipe: lets a test act
// at a moment the program itself announces (a log line), never after a guessed delay.
class AcganProcess {
 public:
  // `env`: extra NAME=VALUE variables; `file_size_limit`: RLIMIT_FSIZE in bytes (0: none).
  // `program`: another executable than acgan (a full path).
  explicit AcganProcess(const std::vector<std::string>& args,
                        const std::vector<std::string>& env = {}, long file_size_limit = 0,
                        const std::string& program = acgan_binary());
  ~AcganProcess();
  // Every read below ends by this deadline (shorter than CTest's 300 s per test): past it the
  // program is killed, and the read returns false (wait() returns what was read).
  static constexpr std::chrono::seconds kDeadline{240};
  // Reads output until it contains `needle` (true) or the program closes its output (false).
  bool read_until(const std::string& needle);
  // Reads output until `needle` occurs `count` times after what was read so far.
  bool read_until_more(const std::string& needle, int count);
  void send_signal(int sig);
  int pid() const { return pid_; }
  // Reads the rest and waits for the exit.
  CommandResult wait();

 private:
  bool read_some();
  bool ready_before_deadline(int fd) const;
  int pid_ = -1;
  int fd_ = -1;
  std::string output_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + kDeadline;
};

}  // namespace acgan::testing
