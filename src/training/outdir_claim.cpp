// The outdir claim. See include/acgan/training/outdir_claim.h.
#include "acgan/training/outdir_claim.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/training/checkpoint.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

// images/real_samples.png alone does not count: a run writes it only when missing, never over it.
bool holds_outputs_a_new_run_would_replace(const std::vector<std::string>& files,
                                           const OutputPaths& paths) {
  return std::any_of(files.begin(), files.end(),
                     [&](const std::string& f) { return f != paths.real_grid(); });
}

// A fresh identity for a new run: 64 random bits in hex.
std::string new_run_id() {
  std::random_device entropy;
  const uint64_t id = (static_cast<uint64_t>(entropy()) << 32) | entropy();
  return fmt::format("{:016x}", id);
}

}  // namespace

// --resume PATH into an outdir holding another run's files would mix two runs there (its
// checkpoint, weights and grids replaced, its metrics spliced): refused. A checkpoint without an
// identity (from an acgan before run ids) cannot be told apart and is let through.
void check_same_run(const OutputPaths& paths, const TrainOptions& options,
                    const std::string& resume_from) {
  std::error_code ec;
  if (fs::equivalent(resume_from, paths.checkpoint, ec)) return;  // the outdir's own checkpoint
  const auto files = existing_run_files(paths);
  if (!holds_outputs_a_new_run_would_replace(files, paths)) return;  // an empty home: fine
  if (files.front() != paths.checkpoint) {
    throw UsageError("--resume " + resume_from + ": --outdir " + options.outdir + " holds " +
                     files.front() +
                     " of a run whose checkpoint.pt is missing; resume into an empty --outdir");
  }
  const auto outdir_config = read_checkpoint_config(paths.checkpoint);
  const auto there = outdir_config.find("run_id");
  if (there == outdir_config.end() || options.run_id.empty() || there->second == options.run_id)
    return;
  throw UsageError("--resume " + resume_from + " is run " + options.run_id + ", but --outdir " +
                   options.outdir + " holds run " + there->second +
                   "; resume into that run's own outdir or an empty one");
}

// Where a new run (not --resume) may start: an outdir without a run's files, or with --overwrite,
// which removes exactly those files (not a user's others). Called with the outdir locked.
void claim_outdir_for_a_new_run(const OutputPaths& paths, const TrainOptions& options) {
  auto previous = existing_run_files(paths);
  if (!holds_outputs_a_new_run_would_replace(previous, paths)) return;
  if (!options.overwrite) {
    const auto count = std::to_string(previous.size());
    previous.erase(std::remove(previous.begin(), previous.end(), paths.real_grid()),
                   previous.end());
    const bool has_checkpoint = previous.front() == paths.checkpoint;
    throw UsageError(
        "--outdir " + options.outdir +
        (has_checkpoint
             ? " already holds a run (checkpoint.pt)"
             : " holds " + previous.front() +
                   " (from an earlier run or the original script), which a new run would replace") +
        "; " + (has_checkpoint ? "continue it with --resume or " : "move it away or ") +
        "start afresh with --overwrite (removes the previous run's " + count + " files)");
  }
  spdlog::info("--overwrite: removing the previous run's {} files in {}", previous.size(),
               options.outdir);
  remove_files(previous);
}

// Rank 0 claims the outdir (the lock held until `lock` dies) and gives the run its identity.
void prepare_outdir(const OutputPaths& paths, TrainOptions& options,
                    std::optional<OutdirLock>& lock) {
  ensure_writable_dir(paths.outdir, "--outdir " + options.outdir);
  lock.emplace(paths.outdir);  // held until the run ends; checks repeated under it
  if (!options.resume) {
    claim_outdir_for_a_new_run(paths, options);
    options.run_id = new_run_id();
  }
  ensure_writable_dir(paths.checkpoints_dir, "--outdir " + options.outdir);
  ensure_writable_dir(paths.images_dir, "--outdir " + options.outdir);
  const auto temporaries = find_temporaries(paths);
  remove_files(temporaries.stale);
  for (const auto& [path, why] : temporaries.kept)
    spdlog::warn("{}: left as it is, though named like acgan's temporary ({})", path, why);
}

}  // namespace acgan
