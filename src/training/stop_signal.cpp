// Signal handlers for a graceful stop. See include/acgan/training/stop_signal.h.
#include "acgan/training/stop_signal.h"

#include <unistd.h>

#include <atomic>

namespace acgan {
namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.exchange(sig) != 0) _exit(128 + sig);  // second signal: leave now
  static const char message[] =
      "\nacgan: stopping after this step and writing a checkpoint (signal again to quit at once)\n";
  (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
}

}  // namespace

StopSignalHandlers::StopSignalHandlers() {
  g_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
  sigaction(SIGHUP, &action, &previous_hup_);  // a closed terminal or a dropped ssh session
}

StopSignalHandlers::~StopSignalHandlers() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  sigaction(SIGHUP, &previous_hup_, nullptr);
}

int stop_requested() { return g_stop_signal.load(); }

}  // namespace acgan
