// outdir/metrics.csv: one row per training step (epoch, iteration, step, losses, class accuracies,
// D outputs, images/s). Rows are buffered and written at log points; a resumed run first drops any
// rows past its checkpoint's step (written after the checkpoint by the interrupted run), so the
// file never holds a step twice or skips one.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <fstream>
#include <string>

namespace acgan {

class MetricsLog {
 public:
  static const char* header();

  // Opens `path` for appending; keeps only rows with step <= keep_through_step (the whole file is
  // rewritten atomically when rows are dropped). A fresh run passes 0.
  MetricsLog(std::string path, int64_t keep_through_step);

  // One row; `stats` is the (kNumStepStats) tensor of train_step, already on the CPU.
  void append(int64_t epoch, int64_t iteration, int64_t step, const torch::Tensor& stats,
              double images_per_second);
  // Writes buffered rows to disk; throws acgan::Error naming the file when that fails.
  void flush();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace acgan
