// The --nproc launcher. See include/acgan/distributed/local_launcher.h.
#include "acgan/distributed/local_launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>

#include "acgan/error.h"
#include "acgan/training/stop_signal.h"

namespace acgan {

int free_local_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!ok)
    throw Error(std::string("--nproc: cannot find a free local port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

namespace {

[[noreturn]] void exec_worker(const std::vector<std::string>& arguments, int64_t rank,
                              int64_t nproc, int port) {
  setpgid(0, 0);                     // the terminal's Ctrl-C comes through the launcher, once
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // a launcher killed outright stops its workers
  const auto set = [](const char* name, const std::string& value) {
    setenv(name, value.c_str(), 1);
  };
  set("RANK", std::to_string(rank));
  set("LOCAL_RANK", std::to_string(rank));
  set("WORLD_SIZE", std::to_string(nproc));
  set("LOCAL_WORLD_SIZE", std::to_string(nproc));
  set("MASTER_ADDR", "127.0.0.1");
  set("MASTER_PORT", std::to_string(port));
  set("ACGAN_NPROC_LAUNCHER", "1");
  // c10d's and Gloo's own log lines (glog, c10) from every worker would flood the one terminal:
  // errors only, unless the user asked otherwise; acgan's own lines say what failed.
  setenv("GLOG_minloglevel", "2", 0);
  setenv("TORCH_CPP_LOG_LEVEL", "ERROR", 0);
  std::vector<char*> argv;
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "acgan: error: --nproc: cannot start a worker: %s\n", std::strerror(errno));
  _exit(127);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

bool graceful(int code) {
  return std::any_of(std::begin(kStopSignals), std::end(kStopSignals),
                     [&](int sig) { return code == 128 + sig; });
}

}  // namespace

std::vector<std::string> worker_arguments(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    out.push_back(a);
  }
  return out;
}

int launch_local_workers(const std::vector<std::string>& arguments, int64_t nproc) {
  const int port = free_local_port();
  spdlog::info("--nproc {}: starting {} workers on this machine (rendezvous 127.0.0.1:{})", nproc,
               nproc, port);
  // The signals to forward and the workers' exits, taken one at a time with sigwaitinfo: blocked
  // from before the first fork, so none can slip between a check and a wait.
  sigset_t waited, previous;
  sigemptyset(&waited);
  for (int sig : kStopSignals) sigaddset(&waited, sig);
  sigaddset(&waited, SIGCHLD);
  sigprocmask(SIG_BLOCK, &waited, &previous);
  std::map<pid_t, int64_t> workers;  // pid -> rank
  for (int64_t rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      for (const auto& [p, r] : workers) kill(p, SIGTERM);
      sigprocmask(SIG_SETMASK, &previous, nullptr);
      throw Error(std::string("--nproc: cannot start worker: ") + std::strerror(errno));
    }
    if (pid == 0) {
      sigprocmask(SIG_SETMASK, &previous, nullptr);
      exec_worker(arguments, rank, nproc, port);
    }
    workers[pid] = rank;
  }
  std::map<int64_t, int> codes;  // rank -> exit code
  while (!workers.empty()) {
    siginfo_t info{};
    const int sig = sigwaitinfo(&waited, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      for (const auto& [p, r] : workers) kill(p, sig);
      continue;
    }
    int status = 0;
    for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = workers.find(pid);
      if (it == workers.end()) continue;
      codes[it->second] = exit_code_of(status);
      workers.erase(it);
    }
  }
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  int job = 0;
  for (const auto& [rank, code] : codes) {  // rank order: the first failure decides
    if (code == 0) continue;
    if (job == 0 || (graceful(job) && !graceful(code))) job = code;
    // A usage error has been printed by the rank itself; a crash or a kill has not.
    if (!graceful(code) && code != kExitUsage && code != kExitFailure)
      spdlog::warn("--nproc: rank {} exited with code {}", rank, code);
  }
  return job;
}

}  // namespace acgan
