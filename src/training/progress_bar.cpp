// See include/acgan/training/progress_bar.h.
#include "acgan/training/progress_bar.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "acgan/clock.h"
#include "acgan/training/progress_reporter.h"

namespace acgan {

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      live_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (visible_) std::fputs("\r\033[K", stderr);
}

double ProgressBar::seconds() const { return seconds_since(start_); }

void ProgressBar::advance(int64_t count) {
  done_ += count;
  const auto now = std::chrono::steady_clock::now();
  const auto due = live_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(30000);
  if (now - last_draw_ >= due) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final_line) {
  const double elapsed = seconds();
  const double rate = static_cast<double>(done_) / std::max(elapsed, 1e-9);
  if (final_line) {
    if (visible_) std::fputs("\r\033[K", stderr);
    visible_ = false;
    spdlog::info("{}: {} {} in {} ({:.0f} {}/s)", label_, done_, unit_, format_duration(elapsed),
                 rate, unit_);
    return;
  }
  const double eta = static_cast<double>(total_ - done_) / std::max(rate, 1e-9);
  if (!live_) {
    spdlog::info("{}: {}/{} {}, {:.0f} {}/s, ETA {}", label_, done_, total_, unit_, rate, unit_,
                 format_duration(eta));
    return;
  }
  constexpr int kWidth = 24;
  const double share = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1;
  std::string bar(static_cast<size_t>(std::min(1.0, share) * kWidth), '#');
  bar.resize(kWidth, '.');
  std::fputs(fmt::format("\r\033[K{} [{}] {}/{} {:.0f} {}/s ETA {}", label_, bar, done_, total_,
                         rate, unit_, format_duration(eta))
                 .c_str(),
             stderr);
  std::fflush(stderr);
  visible_ = true;
}

}  // namespace acgan
