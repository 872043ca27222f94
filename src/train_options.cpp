// Range checks for the training flags. See include/acgan/train_options.h.
#include "acgan/train_options.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "acgan/error.h"
#include "acgan/models.h"
#include "acgan/precision.h"
#include "acgan/runtime.h"

namespace acgan {
namespace {

template <typename T>
void require(bool ok, const std::string& flag, const std::string& expected, T found) {
  if (!ok) {
    throw UsageError("--" + flag + ": expected " + expected + ", got " + fmt::format("{}", found));
  }
}

}  // namespace

void validate(const TrainOptions& o) {
  require(o.batch_size > 0, "batch_size", "a positive integer", o.batch_size);
  require(o.num_epochs >= 0, "num_epochs", "0 or more", o.num_epochs);
  require(std::isfinite(o.lr) && o.lr > 0, "lr", "a finite number > 0", o.lr);
  require(std::isfinite(o.beta1) && o.beta1 >= 0 && o.beta1 < 1, "beta1", "a number in [0, 1)",
          o.beta1);
  check_nz(o.nz);
  require(o.num_workers >= 0 && o.num_workers <= kMaxWorkers, "num_workers",
          "0.." + std::to_string(kMaxWorkers), o.num_workers);
  require(o.sample_every > 0, "sample_every", "a positive number of epochs", o.sample_every);
  require(o.checkpoint_every > 0, "checkpoint_every", "a positive number of epochs",
          o.checkpoint_every);
  require(o.log_every > 0, "log_every", "a positive number of iterations", o.log_every);
  require(o.subset >= 0, "subset", "0 (all) or a positive number of images", o.subset);
  const int64_t max_threads = int64_t{4} * usable_cpus();
  require(
      o.threads >= 0 && o.threads <= max_threads, "threads",
      "0 (one per core) .. " + std::to_string(max_threads) + " (4 per CPU this process may use)",
      o.threads);
  require(o.seed >= -1 && o.seed <= kMaxSeed, "seed",
          "-1 (a random one) or 0.." + std::to_string(kMaxSeed) +
              " (LibTorch's CPU generator uses 32 bits of a seed)",
          o.seed);
  require(std::isfinite(o.dropout) && o.dropout >= 0 && o.dropout < 1, "dropout",
          "a number in [0, 1)", o.dropout);
  parse_precision(o.precision);
  if (o.resume && o.overwrite) {
    throw UsageError(
        "--overwrite: cannot be combined with --resume (one continues the run in "
        "--outdir, the other replaces it); give one of them");
  }
  if (o.outdir.empty()) throw UsageError("--outdir: expected a directory, got an empty string");
}

}  // namespace acgan
