// What the user watches during training. Every log point prints the original script's line
//   [epoch/N][i/B]  Loss_D: ...  Loss_G: ... Accuracy: ...  D(x): ...  D(G(z)): ... / ...
// followed by the fake-batch accuracy, images/s and the ETA. On a terminal a live progress bar
// redrawn in place (at most 10 times a second) replaces the scrolling lines; an end-of-epoch line
// is printed either way.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace acgan {

class ProgressReporter {
 public:
  ProgressReporter(bool live, int64_t num_epochs, int64_t batches_per_epoch);

  // After every step (cheap: draws the bar only when live and due).
  void on_step(int64_t epoch, int64_t iteration, double eta_seconds);
  // At a log point: `stats` (kNumStepStats) on the CPU for the latest step.
  void on_log(int64_t epoch, int64_t iteration, const torch::Tensor& stats,
              double images_per_second, double eta_seconds);
  void on_epoch_end(int64_t epoch, double seconds, double images_per_second);
  // Clears the bar so that a normal log line can be printed.
  void clear();

 private:
  std::string stats_text(const torch::Tensor& stats) const;
  void draw(int64_t epoch, int64_t iteration, double eta_seconds);

  bool live_;
  int64_t num_epochs_, batches_per_epoch_;
  std::string last_stats_;
  double last_rate_ = 0;
  bool bar_visible_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

// 3725 -> "1:02:05"
std::string format_duration(double seconds);

}  // namespace acgan
