// Graceful stop on Ctrl-C / SIGTERM / SIGHUP (a closed terminal, a dropped ssh session): the first
// signal only sets a flag, which the training loop reads after each step to write a checkpoint and
// exit 128 + the signal (130 / 143 / 129); a second signal exits at once (checkpoints are written
// atomically, so the last good one survives that too).
#pragma once

#include <csignal>
#include <cstdint>

namespace acgan {

// The signals that stop a run gracefully, in this order wherever they are listed or counted.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int64_t kNumStopSignals = 3;

// Installs the handlers while in scope and puts back the ones that were there before on exit,
// exception or not, so nothing of a run outlives it in the process.
class StopSignalHandlers {
 public:
  StopSignalHandlers();
  ~StopSignalHandlers();
  StopSignalHandlers(const StopSignalHandlers&) = delete;
  StopSignalHandlers& operator=(const StopSignalHandlers&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
  struct sigaction previous_hup_ {};
};

// The signal that asked the current scope to stop (SIGINT, SIGTERM, SIGHUP), or 0.
int stop_requested();

}  // namespace acgan
