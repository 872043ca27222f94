// The training job: data, networks, the step loop, and everything written to outdir (outdir.h).
// One run per outdir (outdir_lock.h); a new run refuses an outdir holding a run's files unless
// --overwrite, which removes exactly those files.
#pragma once

#include <string>

#include "acgan/io/outdir.h"
#include "acgan/training/train_options.h"

namespace acgan {

// Runs (or resumes) a training job. Returns the exit code: 0 when done, 130 / 143 after a
// graceful stop on SIGINT / SIGTERM. Throws acgan::Error (or UsageError) on any failure.
int train(TrainOptions options);

}  // namespace acgan
