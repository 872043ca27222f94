// Test helpers. See test_support.h.
#include "test_support.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "acgan/commands/train.h"
#include "acgan/data/cifar10.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/state_dict.h"

namespace fs = std::filesystem;

namespace acgan::testing {

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "acgan_test_XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

SyntheticSet make_synthetic(int64_t n, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto images = torch::randint(0, 256, {n, 3, 32, 32}, generator, torch::kLong).to(torch::kUInt8);
  auto labels = torch::arange(n, torch::kLong).remainder(10);
  return {images, labels};
}

SyntheticSet write_synthetic_cifar(const std::string& dir, int64_t n_per_file) {
  fs::create_directories(dir);
  std::vector<torch::Tensor> images, labels;
  for (int i = 1; i <= 5; ++i) {
    auto set = make_synthetic(n_per_file, i);
    write_cifar10_file(dir + "/data_batch_" + std::to_string(i) + ".bin", set.images, set.labels);
    images.push_back(set.images);
    labels.push_back(set.labels);
  }
  auto test = make_synthetic(n_per_file, 99);
  write_cifar10_file(dir + "/test_batch.bin", test.images, test.labels);
  return {torch::cat(images), torch::cat(labels)};
}

torch::Tensor steps_on_random_batches(TrainingState& state, int steps, int64_t batch,
                                      const StepOptions& options) {
  std::vector<torch::Tensor> stats;
  for (int i = 0; i < steps; ++i) {
    auto x = torch::rand({batch, 3, 32, 32}) * 2 - 1;
    auto y = torch::randint(0, state.g->num_classes(), {batch}, torch::kLong);
    stats.push_back(
        train_step(*state.g, *state.d, *state.opt_g, *state.opt_d, x, y,
                   make_noise(batch, state.g->nz(), state.g->num_classes(), torch::kCPU), options));
  }
  return stats.empty() ? torch::Tensor() : torch::stack(stats);
}

void expect_same_weights(const std::string& a, const std::string& b) {
  for (const char* file : {"gen.pt", "disc.pt"}) {
    const auto x = load_tensor_dict_file(a + "/" + file);
    const auto y = load_tensor_dict_file(b + "/" + file);
    ASSERT_EQ(x.size(), y.size()) << file;
    for (const auto& item : x) {
      EXPECT_TRUE(torch::equal(item.value().toTensor(), y.at(item.key()).toTensor()))
          << file << " " << item.key().toStringRef();
    }
  }
}

// 2 epochs straight and 1 + a resume to 2 end with the same weights and grid, bit for bit.
void expect_resume_is_exact(const TrainOptions& base) {
  TempDir straight, resumed;
  auto a = base;
  a.outdir = straight.path();
  a.num_epochs = 2;
  ASSERT_EQ(train(a), 0);
  auto first = base;
  first.outdir = resumed.path();
  first.num_epochs = 1;
  ASSERT_EQ(train(first), 0);
  auto second = first;
  second.num_epochs = 2;
  second.resume = true;
  second.given = {"num_epochs"};
  ASSERT_EQ(train(second), 0);
  expect_same_weights(straight.path(), resumed.path());
  EXPECT_EQ(read_file(straight / "images/epoch_002.png"),
            read_file(resumed / "images/epoch_002.png"));
}

std::string golden_path() {
  const std::string path = std::string(ACGAN_SOURCE_DIR) + "/../shared/golden/golden.pt";
  return fs::exists(path) ? path : "";
}

std::string acgan_binary() { return ACGAN_BINARY; }

std::string python_with_torch() {
  static const std::string python = [] {
    const std::string path = "/usr/bin/python3";
    if (!fs::exists(path)) return std::string();
    return run_program(path, {"-c", "import torch"}).exit_code == 0 ? path : std::string();
  }();
  return python;
}

CommandResult run_program(const std::string& program, const std::vector<std::string>& args) {
  return AcganProcess(args, {}, 0, program).wait();
}

AcganProcess::AcganProcess(const std::vector<std::string>& args,
                           const std::vector<std::string>& env, long file_size_limit,
                           const std::string& program) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<char*> argv;
  const std::string binary = program;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    for (const auto& assignment : env) putenv(const_cast<char*>(assignment.c_str()));
    if (file_size_limit > 0) {
      rlimit limit{static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  fd_ = pipe_fds[0];
}

AcganProcess::~AcganProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) close(fd_);
}

// Whether `fd` becomes readable before deadline_ (poll, restarted after a signal).
bool AcganProcess::ready_before_deadline(int fd) const {
  pollfd ready{fd, POLLIN, 0};
  int polled = 0;
  do {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline_ - std::chrono::steady_clock::now())
                          .count();
    polled = poll(&ready, 1, static_cast<int>(std::max<int64_t>(left, 0)));
  } while (polled < 0 && errno == EINTR);
  return polled != 0;
}

// Reads what the program wrote next into output_; false at its end of output or past deadline_
// (then the program is killed and output_ says so), so a test waits no longer than its budget.
bool AcganProcess::read_some() {
  if (!ready_before_deadline(fd_)) {
    output_ += "\n(test: no end of output within the process's deadline; killed)\n";
    kill(pid_, SIGKILL);
    return false;
  }
  char buffer[4096];
  const ssize_t n = read(fd_, buffer, sizeof(buffer));
  if (n <= 0) return false;
  output_.append(buffer, static_cast<size_t>(n));
  return true;
}

bool AcganProcess::read_until(const std::string& needle) {
  while (output_.find(needle) == std::string::npos) {
    if (!read_some()) return false;
  }
  return true;
}

bool AcganProcess::read_until_more(const std::string& needle, int count) {
  size_t from = output_.size();
  for (int seen = 0; seen < count;) {
    const auto at = output_.find(needle, from);
    if (at != std::string::npos) {
      ++seen;
      from = at + needle.size();
      continue;
    }
    if (!read_some()) return false;
  }
  return true;
}

void AcganProcess::send_signal(int sig) { kill(pid_, sig); }

CommandResult AcganProcess::wait() {
  while (read_some()) {
  }
  // Its output has ended (or it was killed). A program that closed its output and lives on is
  // killed at the deadline: its pidfd becomes readable when it exits, so poll bounds this wait.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    if (!ready_before_deadline(pidfd)) {
      output_ += "\n(test: no exit within the process's deadline; killed)\n";
      kill(pid_, SIGKILL);
    }
    close(pidfd);
  }
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.output = output_;
  return result;
}

std::vector<int64_t> metric_steps(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<int64_t> steps;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string epoch, iteration, step;
    std::getline(fields, epoch, ',');
    std::getline(fields, iteration, ',');
    std::getline(fields, step, ',');
    steps.push_back(std::stoll(step));
  }
  return steps;
}

std::string error_line(const std::string& output) {
  const auto at = output.rfind("acgan: error: ");
  return at == std::string::npos
             ? "(no error line) " + output.substr(output.size() > 400 ? output.size() - 400 : 0)
             : output.substr(at);
}

void expect_one_line_error(const CommandResult& r, int exit_code, const std::string& needle,
                           const std::string& what) {
  EXPECT_EQ(r.exit_code, exit_code) << what << ": " << r.output;
  const auto line = error_line(r.output);
  EXPECT_NE(line.find(needle), std::string::npos)
      << what << ": expected '" << needle << "' in " << line;
  EXPECT_EQ(line.find("internal error"), std::string::npos) << what << ": " << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << what << ": not one line: " << line;
}

CommandResult run_acgan(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        long file_size_limit) {
  return AcganProcess(args, env, file_size_limit).wait();
}

}  // namespace acgan::testing
