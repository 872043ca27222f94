// Log lines and the live progress bar. See include/acgan/training/progress_reporter.h.
#include "acgan/training/progress_reporter.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "acgan/training/train_step.h"

namespace acgan {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{}:{:02d}:{:02d}", total / 3600, (total / 60) % 60, total % 60);
}

ProgressReporter::ProgressReporter(bool live, int64_t num_epochs, int64_t batches_per_epoch)
    : live_(live), num_epochs_(num_epochs), batches_per_epoch_(batches_per_epoch) {}

std::string ProgressReporter::stats_text(const torch::Tensor& stats) const {
  const auto s = stats.accessor<float, 1>();
  return fmt::format(
      "Loss_D: {:.4f}  Loss_G: {:.4f} Accuracy: {:.2f}  D(x): {:.4f}  D(G(z)): {:.4f} / {:.4f}",
      s[kLossDReal] + s[kLossDFake], s[kLossG], s[kAccReal], s[kDx], s[kDGz1], s[kDGz2]);
}

void ProgressReporter::on_step(int64_t epoch, int64_t iteration, double eta_seconds) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (bar_visible_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  draw(epoch, iteration, eta_seconds);
}

void ProgressReporter::on_log(int64_t epoch, int64_t iteration, const torch::Tensor& stats,
                              double images_per_second, double eta_seconds) {
  const auto s = stats.accessor<float, 1>();
  last_stats_ = stats_text(stats) + fmt::format("  Acc_fake: {:.2f}", s[kAccFake]);
  last_rate_ = images_per_second;
  if (live_) {
    draw(epoch, iteration, eta_seconds);
    return;
  }
  spdlog::info("[{}/{}][{}/{}]  {}  | {:.0f} img/s  ETA {}", epoch, num_epochs_, iteration,
               batches_per_epoch_, last_stats_, images_per_second, format_duration(eta_seconds));
}

void ProgressReporter::draw(int64_t epoch, int64_t iteration, double eta_seconds) {
  constexpr int kWidth = 24;
  const double done = static_cast<double>(iteration + 1) / static_cast<double>(batches_per_epoch_);
  const int filled = static_cast<int>(done * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  // fputs, not fmt::print: a terminal that went away (EIO) must not stop training by a throw.
  std::fputs(fmt::format("\r\033[K[{}/{}][{}/{}] [{}] {}  {:.0f} img/s  ETA {}", epoch, num_epochs_,
                         iteration + 1, batches_per_epoch_, bar, last_stats_, last_rate_,
                         format_duration(eta_seconds))
                 .c_str(),
             stdout);
  std::fflush(stdout);
  bar_visible_ = true;
  last_draw_ = std::chrono::steady_clock::now();
}

void ProgressReporter::clear() {
  if (!bar_visible_) return;
  std::fputs("\r\033[K", stdout);
  std::fflush(stdout);
  bar_visible_ = false;
}

void ProgressReporter::on_epoch_end(int64_t epoch, double seconds, double images_per_second) {
  clear();
  spdlog::info("epoch {}/{} done in {:.1f} s ({:.0f} img/s)", epoch + 1, num_epochs_, seconds,
               images_per_second);
}

}  // namespace acgan
