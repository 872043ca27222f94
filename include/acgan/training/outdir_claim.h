// Who may write into an outdir: a new run claims it (refused where a run's files are, unless
// --overwrite, which removes exactly those files), a resume must be the outdir's own run. Rank 0
// alone calls these, with the outdir locked where they write (outdir_lock.h). Which files make a
// run is outdir.h's; this file decides what to do about them.
#pragma once

#include <optional>
#include <string>

#include "acgan/io/outdir.h"
#include "acgan/io/outdir_lock.h"
#include "acgan/training/train_options.h"

namespace acgan {

// A new run (not --resume) may start in an outdir without a run's files; with --overwrite those
// files are removed (not a user's others). Throws UsageError naming the outdir otherwise.
void claim_outdir_for_a_new_run(const OutputPaths& paths, const TrainOptions& options);

// --resume `resume_from` into an outdir holding another run's files (another run_id, or files
// without their checkpoint.pt) is refused; the outdir's own checkpoint, an empty outdir and a
// checkpoint without a run_id (older acgan) are let through.
void check_same_run(const OutputPaths& paths, const TrainOptions& options,
                    const std::string& resume_from);

// Locks the outdir (the lock held until `lock` dies), claims it for a new run and gives that run
// its identity (options.run_id), makes its folders and removes a dead run's temporaries.
void prepare_outdir(const OutputPaths& paths, TrainOptions& options,
                    std::optional<OutdirLock>& lock);

}  // namespace acgan
