// See include/acgan/eval/eval_log.h.
#include "acgan/eval/eval_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "acgan/io/atomic_file.h"

namespace acgan {
namespace {

std::string header_of(const EvalReport& report) {
  std::string header = "step,epoch";
  for (const auto& [metric, value] : report.values) header += "," + metric;
  return header;
}

// The leading step of a row, or -1 when the line does not start with one and a comma.
int64_t row_step(const std::string& line) {
  size_t used = 0;
  int64_t step = -1;
  try {
    step = std::stoll(line, &used);
  } catch (const std::exception&) {
    return -1;
  }
  return used > 0 && used < line.size() && line[used] == ',' ? step : -1;
}

}  // namespace

EvalLog::EvalLog(std::string path, int64_t resume_step)
    : path_(std::move(path)), resume_step_(resume_step) {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return;
  std::istringstream lines(read_file(path_));
  std::getline(lines, header_);
  for (std::string line; std::getline(lines, line);) {
    const int64_t step = row_step(line);
    if (step < 0) {
      spdlog::warn("{}: dropped a line that is not a row: '{}'", path_, line.substr(0, 80));
    } else if (step <= resume_step) {
      rows_.push_back(line);
    }
  }
}

void EvalLog::append(int64_t step, int64_t epoch, const EvalReport& report) {
  const std::string header = header_of(report);
  if (!header_.empty() && header != header_) {
    const std::string aside = fmt::format("{}.before-step-{}", path_, resume_step_ + 1);
    spdlog::warn(
        "{}: this run evaluates other values ({}) than the file holds ({}); kept the file "
        "as {} and started a new one",
        path_, header, header_, aside);
    write_file_atomic(aside, read_file(path_));
    rows_.clear();
  }
  header_ = header;
  std::string row = fmt::format("{},{}", step, epoch);
  for (const auto& [metric, value] : report.values)
    row += std::isfinite(value) ? fmt::format(",{}", value) : std::string(",nan");
  rows_.push_back(row);
  std::string text = header_ + "\n";
  for (const auto& r : rows_) text += r + "\n";
  write_file_atomic(path_, text);
}

}  // namespace acgan
