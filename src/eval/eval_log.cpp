// See include/acgan/eval/eval_log.h.
#include "acgan/eval/eval_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "acgan/atomic_file.h"

namespace acgan {
namespace {

const char* const kHeader = "step,epoch,metric,value";

}  // namespace

EvalLog::EvalLog(std::string path, int64_t resume_step) : path_(std::move(path)) {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return;
  std::istringstream lines(read_file(path_));
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    size_t used = 0;
    int64_t step = -1;
    try {
      step = std::stoll(line, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used >= line.size() || line[used] != ',') {
      spdlog::warn("{}: dropped a line that is not a row: '{}'", path_, line.substr(0, 80));
      continue;
    }
    if (step <= resume_step) rows_.push_back(line);
  }
}

void EvalLog::append(int64_t step, int64_t epoch, const EvalReport& report) {
  for (const auto& [metric, value] : report.values) {
    rows_.push_back(std::isfinite(value) ? fmt::format("{},{},{},{}", step, epoch, metric, value)
                                         : fmt::format("{},{},{},nan", step, epoch, metric));
  }
  std::string text = std::string(kHeader) + "\n";
  for (const auto& row : rows_) text += row + "\n";
  write_file_atomic(path_, text);
}

}  // namespace acgan
