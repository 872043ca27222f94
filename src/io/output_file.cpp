// The rule for a user's output files. See include/acgan/io/output_file.h.
#include "acgan/io/output_file.h"

#include <filesystem>
#include <system_error>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"

namespace fs = std::filesystem;

namespace acgan {

bool is_same_or_inside(const std::string& output, const std::string& input) {
  std::error_code ec;
  if (fs::equivalent(output, input, ec)) return true;
  // Lexically, through every symbolic link that exists: a new output cannot be equivalent yet.
  const auto out = fs::weakly_canonical(fs::absolute(output, ec), ec);
  if (ec) return false;
  const auto in = fs::weakly_canonical(fs::absolute(input, ec), ec);
  if (ec) return false;
  if (out == in) return true;
  if (!fs::is_directory(in, ec)) return false;
  const auto relative = out.lexically_relative(in);
  return !relative.empty() && *relative.begin() != "..";
}

void check_output_file(const NamedPath& output, const std::vector<NamedPath>& inputs,
                       bool overwrite) {
  const std::string named = output.flag + " " + output.path;
  if (output.path.empty()) throw UsageError(output.flag + ": expected a file name, got ''");
  std::error_code ec;
  const bool exists = fs::exists(fs::symlink_status(output.path, ec));
  for (const auto& input : inputs) {
    if (input.path.empty() || !exists) continue;
    if (is_same_or_inside(output.path, input.path)) {
      throw UsageError(named + ": is " +
                       (fs::is_directory(input.path, ec) ? "inside this command's input "
                                                         : "this command's input ") +
                       input.flag + " " + input.path +
                       "; acgan never writes over its inputs, choose another path");
    }
  }
  try {
    check_writable_target(output.path);
  } catch (const Error& e) {
    throw Error(output.flag + " " + e.what());
  }
  if (exists && !overwrite) {
    throw UsageError(named +
                     ": exists; acgan does not replace it (choose another path, or pass "
                     "--overwrite to replace it)");
  }
}

std::string unused_path(const std::string& dir, const std::string& name) {
  const fs::path base = fs::path(dir) / name;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(base, ec))) return base.string();
  for (int i = 2;; ++i) {
    auto candidate = fs::path(dir) / (base.stem().string() + "_" + std::to_string(i) +
                                      base.extension().string());
    if (!fs::exists(fs::symlink_status(candidate, ec))) return candidate.string();
  }
}

}  // namespace acgan
