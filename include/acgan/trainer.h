// The training job: data, networks, the step loop, and everything written to outdir:
//   metrics.csv                one row per step (metrics_log.h)
//   images/real_samples.png    10 real images per class, one class a row
//   images/epoch_NNN.png       the fixed-noise grid every --sample_every epochs, G in eval mode
//   checkpoint.pt              the latest full checkpoint, every epoch and on Ctrl-C / SIGTERM
//   checkpoints/epoch_NNN.pt   kept every --checkpoint_every epochs
//   gen.pt, disc.pt            the networks' state dicts, as the original script saved them
#pragma once

#include <string>

#include "acgan/train_options.h"

namespace acgan {

struct OutputPaths {
  explicit OutputPaths(const std::string& outdir);
  std::string outdir, checkpoint, checkpoints_dir, images_dir, metrics, generator, discriminator;
  std::string epoch_checkpoint(int64_t epoch) const;
  std::string epoch_grid(int64_t epoch) const;
  std::string real_grid() const;
};

// Runs (or resumes) a training job. Returns the exit code: 0 when done, 130 / 143 after a
// graceful stop on SIGINT / SIGTERM. Throws acgan::Error (or UsageError) on any failure.
int train(TrainOptions options);

}  // namespace acgan
