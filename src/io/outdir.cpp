// A run's files in its outdir. See include/acgan/io/outdir.h.
#include "acgan/io/outdir.h"

#include <fmt/format.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

// "epoch_" + at least 3 digits + `extension` (epoch_007.png, epoch_1000.pt).
bool is_epoch_file(const std::string& name, const std::string& extension) {
  const std::string prefix = "epoch_";
  if (name.size() < prefix.size() + 3 + extension.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(name.size() - extension.size(), extension.size(), extension) != 0) return false;
  const auto digits = name.substr(prefix.size(), name.size() - prefix.size() - extension.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether a file named `name` in `dir` is one of a run's files.
using NameTest = bool (*)(const std::string& name);

struct RunDir {
  std::string dir;
  NameTest is_run_file;
};

std::vector<RunDir> run_dirs(const OutputPaths& paths) {
  return {
      {paths.outdir,
       [](const std::string& n) {
         return n == "checkpoint.pt" || n == "gen.pt" || n == "gen_ema.pt" || n == "disc.pt" ||
                n == "metrics.csv" || n == "eval.csv";
       }},
      {paths.checkpoints_dir, [](const std::string& n) { return is_epoch_file(n, ".pt"); }},
      {paths.images_dir,
       [](const std::string& n) { return n == "real_samples.png" || is_epoch_file(n, ".png"); }},
  };
}

// Calls visit(path, file name, the directory's name test) for each regular file (not following
// symbolic links) in the run's three directories.
template <typename Visit>
void for_each_regular_file(const OutputPaths& paths, Visit visit) {
  for (const auto& [dir, is_run_file] : run_dirs(paths)) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.symlink_status(ec).type() == fs::file_type::regular)
        visit(entry.path().string(), entry.path().filename().string(), is_run_file);
    }
  }
}

// The first bytes every version of acgan's file named `base` starts with.
std::string_view expected_start(const std::string& base) {
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".png") == 0)
    return "\x89PNG\r\n\x1a\n";
  if (base == "metrics.csv") return "epoch,iteration,step,";
  if (base == "eval.csv") return "step,epoch";
  return "PK\x03\x04";  // the .pt files: torch.save's and LibTorch's zip archives
}

// The largest pid this machine hands out; a pid above it was never a process here.
long pid_max() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  long value = 0;
  return (in >> value) && value > 0 ? value : 4194304;  // Linux's upper bound
}

// Why the temporary `path` of `base` with the pid text `pid` is not a dead acgan's, or "".
std::string why_not_stale(const std::string& path, const std::string& base,
                          const std::string& pid_text) {
  if (pid_text.size() > 9) return "its pid " + pid_text + " was never a process here";
  const long pid = std::stol(pid_text);
  if (pid < 1 || pid > pid_max()) return "its pid " + pid_text + " was never a process here";
  if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)
    return "process " + pid_text + " is alive";
  std::ifstream in(path, std::ios::binary);
  const auto expected = expected_start(base);
  std::string start(expected.size(), '\0');
  in.read(start.data(), static_cast<std::streamsize>(start.size()));
  start.resize(static_cast<size_t>(in.gcount()));
  // A write killed early may have left fewer bytes than the signature; none at all is nothing.
  if (start.empty() || expected.compare(0, start.size(), start) != 0)
    return "its contents are not acgan's " + base;
  return "";
}

}  // namespace

OutputPaths::OutputPaths(const std::string& dir)
    : outdir(dir),
      checkpoint((fs::path(dir) / "checkpoint.pt").string()),
      checkpoints_dir((fs::path(dir) / "checkpoints").string()),
      images_dir((fs::path(dir) / "images").string()),
      metrics((fs::path(dir) / "metrics.csv").string()),
      eval_log((fs::path(dir) / "eval.csv").string()),
      generator((fs::path(dir) / "gen.pt").string()),
      generator_ema((fs::path(dir) / "gen_ema.pt").string()),
      discriminator((fs::path(dir) / "disc.pt").string()) {}

std::string OutputPaths::epoch_checkpoint(int64_t epoch) const {
  return (fs::path(checkpoints_dir) / fmt::format("epoch_{:03d}.pt", epoch)).string();
}
std::string OutputPaths::epoch_grid(int64_t epoch) const {
  return (fs::path(images_dir) / fmt::format("epoch_{:03d}.png", epoch)).string();
}
std::string OutputPaths::real_grid() const {
  return (fs::path(images_dir) / "real_samples.png").string();
}

std::vector<std::string> existing_run_files(const OutputPaths& paths) {
  std::vector<std::string> found;
  for_each_regular_file(
      paths, [&](const std::string& path, const std::string& name, NameTest is_run_file) {
        if (is_run_file(name)) found.push_back(path);
      });
  std::sort(found.begin(), found.end(), [&](const std::string& a, const std::string& b) {
    return (a == paths.checkpoint) > (b == paths.checkpoint) ||
           ((a == paths.checkpoint) == (b == paths.checkpoint) && a < b);
  });
  return found;
}

Temporaries find_temporaries(const OutputPaths& paths) {
  Temporaries found;
  for_each_regular_file(
      paths, [&](const std::string& path, const std::string& name, NameTest is_run_file) {
        const auto tmp = name.rfind(".tmp.");
        if (tmp == std::string::npos) return;
        const auto base = name.substr(0, tmp);
        if (!is_run_file(base) || !is_temporary_of(name, base)) return;
        const auto why = why_not_stale(path, base, name.substr(tmp + 5));
        if (why.empty())
          found.stale.push_back(path);
        else
          found.kept.emplace_back(path, why);
      });
  return found;
}

void remove_files(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::remove(path, ec) && ec) throw Error(path + ": cannot remove: " + ec.message());
  }
}

}  // namespace acgan
