// The metrics CSV. See include/acgan/metrics_log.h.
#include "acgan/metrics_log.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "acgan/atomic_file.h"
#include "acgan/error.h"
#include "acgan/train_step.h"

namespace acgan {

const char* MetricsLog::header() {
  return "epoch,iteration,step,loss_d,loss_g,acc_real,acc_fake,d_x,d_g_z1,d_g_z2,images_per_s";
}

MetricsLog::MetricsLog(std::string path, int64_t keep_through_step) : path_(std::move(path)) {
  std::string kept = std::string(header()) + "\n";
  if (keep_through_step > 0 && std::filesystem::exists(path_)) {
    std::istringstream lines(read_file(path_));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      // Column 3 is the global step.
      std::istringstream fields(line);
      std::string epoch, iteration, step;
      if (!std::getline(fields, epoch, ',') || !std::getline(fields, iteration, ',') ||
          !std::getline(fields, step, ',')) {
        break;  // a row cut short by a kill: drop it and everything after
      }
      try {
        if (std::stoll(step) > keep_through_step) break;
      } catch (const std::exception&) {
        break;
      }
      kept += line + "\n";
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
