// A progress bar with rate and ETA for long work outside training (feature extraction, the
// classifier's epochs): redrawn in place on a terminal at most 10 times a second; elsewhere (a log
// file, a pipe) one line every 30 seconds and one at the end, so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace acgan {

class ProgressBar {
 public:
  // `label`: what is counted ("inception features, samples"); `total`: the count at the end.
  ProgressBar(std::string label, int64_t total, std::string unit = "img");
  ~ProgressBar();  // clears a visible bar
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void advance(int64_t count);
  // Prints the final line (count, time, rate) once.
  void finish();
  double seconds() const;

 private:
  void draw(bool final_line);
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool live_, finished_ = false, visible_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace acgan
