// The metrics CSV. See include/acgan/training/metrics_log.h.
#include "acgan/training/metrics_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <sstream>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/training/train_step.h"

namespace acgan {

const char* MetricsLog::header() {
  return "epoch,iteration,step,loss_d,loss_g,acc_real,acc_fake,d_x,d_g_z1,d_g_z2,images_per_s";
}

namespace {

// The global step of a metrics row (column 3), or nothing for a line that is not one.
std::optional<int64_t> row_step(const std::string& line) {
  std::istringstream fields(line);
  std::string epoch, iteration, step;
  if (!std::getline(fields, epoch, ',') || !std::getline(fields, iteration, ',') ||
      !std::getline(fields, step, ','))
    return std::nullopt;
  try {
    size_t used = 0;
    const int64_t value = std::stoll(step, &used);
    if (used != step.size()) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

MetricsLog::MetricsLog(std::string path, int64_t keep_through_step) : path_(std::move(path)) {
  std::string kept = std::string(header()) + "\n";
  if (keep_through_step > 0 && std::filesystem::exists(path_)) {
    const std::string text = read_file(path_);
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);  // header
    int64_t unreadable = 0;
    while (std::getline(lines, line)) {
      const auto step = row_step(line);
      if (!step) {
        // The last line without its newline is a row cut short by a kill; anything else is not
        // ours to drop.
        if (lines.eof() && text.back() != '\n') break;
        ++unreadable;
        continue;
      }
      if (*step <= keep_through_step) kept += line + "\n";  // later rows are redone
    }
    if (unreadable > 0) {
      const std::string aside = path_ + ".before-step-" + std::to_string(keep_through_step + 1);
      write_file_atomic(aside, text);
      spdlog::warn("{}: {} lines are not metrics rows; kept them with the file as it was in {}",
                   path_, unreadable, aside);
    }
  }
  write_file_atomic(path_, kept);
  out_.open(path_, std::ios::app);
  if (!out_) throw Error(path_ + ": cannot open for appending");
}

void MetricsLog::append(int64_t epoch, int64_t iteration, int64_t step, const torch::Tensor& stats,
                        double images_per_second) {
  const auto s = stats.accessor<float, 1>();
  out_ << fmt::format("{},{},{},{:.6f},{:.6f},{:.2f},{:.2f},{:.6f},{:.6f},{:.6f},{:.1f}\n", epoch,
                      iteration, step, s[kLossDReal] + s[kLossDFake], s[kLossG], s[kAccReal],
                      s[kAccFake], s[kDx], s[kDGz1], s[kDGz2], images_per_second);
}

void MetricsLog::flush() {
  out_.flush();
  if (!out_) throw Error(path_ + ": write failed (disk full or file size limit?)");
}

}  // namespace acgan
