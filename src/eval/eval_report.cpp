// The evaluation report's JSON and table. See include/acgan/eval/eval_report.h.
#include "acgan/eval/eval_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace acgan {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : "null"; }

}  // namespace

std::optional<double> EvalReport::value(const std::string& key) const {
  for (const auto& [name, v] : values)
    if (name == key) return v;
  return std::nullopt;
}

std::string report_json(const EvalReport& report) {
  std::string out = "{\n  \"settings\": {";
  for (size_t i = 0; i < report.settings.size(); ++i) {
    out += fmt::format("{}\n    {}: {}", i ? "," : "", json_quote(report.settings[i].first),
                       report.settings[i].second);
  }
  out += "\n  }";
  for (const auto& [key, v] : report.values)
    out += fmt::format(",\n  {}: {}", json_quote(key), json_number(v));
  for (const auto& [key, values] : report.per_class) {
    std::vector<std::string> items;
    for (double v : values) items.push_back(json_number(v));
    out += fmt::format(",\n  {}: [{}]", json_quote(key), fmt::join(items, ", "));
  }
  out += ",\n  \"seconds\": {";
  for (size_t i = 0; i < report.seconds.size(); ++i) {
    out += fmt::format("{}\n    {}: {:.3f}", i ? "," : "", json_quote(report.seconds[i].first),
                       report.seconds[i].second);
  }
  return out + "\n  }\n}\n";
}

std::string report_table(const EvalReport& report, const std::vector<std::string>& class_names) {
  const auto get = [&](const std::string& key) { return report.value(key); };
  std::string out = fmt::format("{:<26}{:<22}{}\n", "metric", "samples", "real");
  const auto row = [&](const std::string& name, const std::string& fake, const std::string& real) {
    out += fmt::format("{:<26}{:<22}{}\n", name, fake, real);
  };
  const auto num = [](std::optional<double> v, const char* format) {
    return v ? fmt::format(fmt::runtime(format), *v) : std::string();
  };
  if (get("fid")) row("FID", num(get("fid"), "{:.3f}"), "");
  if (get("is_mean"))
    row("IS", num(get("is_mean"), "{:.3f}") + " ± " + num(get("is_std"), "{:.3f}"), "");
  if (get("kid_mean"))
    row("KID", num(get("kid_mean"), "{:.5f}") + " ± " + num(get("kid_std"), "{:.5f}"), "");
  if (get("ifid_mean")) row("intra-class FID (mean)", num(get("ifid_mean"), "{:.3f}"), "");
  if (get("precision"))
    row("precision / recall",
        num(get("precision"), "{:.4f}") + " / " + num(get("recall"), "{:.4f}"), "");
  if (get("classifier_accuracy"))
    row("classifier accuracy", num(get("classifier_accuracy"), "{:.4f}"),
        num(get("classifier_accuracy_real"), "{:.4f}") + " (test split)");
  if (get("classifier_fd"))
    row("classifier FD", num(get("classifier_fd"), "{:.3f}"),
        get("classifier_fd_real") ? num(get("classifier_fd_real"), "{:.3f}") + " (test split)"
                                  : "");
  if (get("ms_ssim_mean"))
    row("MS-SSIM (mean)", num(get("ms_ssim_mean"), "{:.4f}"),
        num(get("ms_ssim_real_mean"), "{:.4f}"));
  if (report.per_class.empty()) return out;
  out += fmt::format("\n{:<12}", "class");
  for (const auto& [key, values] : report.per_class) {
    auto name = key.substr(0, key.rfind("_per_class"));
    if (name.rfind("classifier_", 0) == 0) name = name.substr(11);
    out += fmt::format("{:>14}", name);
  }
  out += "\n";
  for (size_t k = 0; k < class_names.size(); ++k) {
    out += fmt::format("{:<12}", class_names[k]);
    for (const auto& [key, values] : report.per_class)
      out += fmt::format("{:>14.4f}", k < values.size() ? values[k] : kNaN);
    out += "\n";
  }
  return out;
}

}  // namespace acgan
