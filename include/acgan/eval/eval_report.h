// What an evaluation found (EvalReport) and its two forms: JSON with the keys
// docs/evaluation.md lists, and the terminal table. Computing the numbers is evaluator.h's.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acgan/io/json_text.h"

namespace acgan {

// What an evaluation found, in the order it was computed. NaN marks a value that could not be
// computed (a class without samples).
struct EvalReport {
  std::vector<std::pair<std::string, double>> values;                  // "fid", "is_mean", ...
  std::vector<std::pair<std::string, std::vector<double>>> per_class;  // "ifid_per_class", ...
  std::vector<std::pair<std::string, double>> seconds;                 // per metric / stage
  std::vector<std::pair<std::string, std::string>> settings;           // JSON values, as text
  std::vector<std::string> notes;                                      // skipped metrics, why
  std::optional<double> value(const std::string& key) const;
};

// The report as JSON (the keys docs/evaluation.md lists) and as a terminal table.
std::string report_json(const EvalReport& report);
std::string report_table(const EvalReport& report, const std::vector<std::string>& class_names);

}  // namespace acgan
