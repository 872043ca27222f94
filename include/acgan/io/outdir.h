// The files a training run owns in its outdir, by exact name, so that acgan touches nothing else
// there (the default outdir is ./, which may hold anything):
//   metrics.csv                one row per step (metrics_log.h)
//   eval.csv                   one row per metric per evaluation, with --eval_every (eval_log.h)
//   images/real_samples.png    10 real images per class, one class a row
//   images/epoch_NNN.png       the fixed-noise grid every --sample_every epochs, G in eval mode
//   checkpoint.pt              the latest full checkpoint, every epoch and on Ctrl-C / SIGTERM
//   checkpoints/epoch_NNN.pt   kept every --checkpoint_every epochs
//   gen.pt, disc.pt            the networks' state dicts, as the original script saved them
//   gen_ema.pt                 the state dict of G's weight average, with --g_ema
//   .acgan.lock                the run's lock (outdir_lock.h)
// and their temporaries (atomic_file.h). It does not decide when to remove them
// (training/outdir_claim.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acgan {

struct OutputPaths {
  explicit OutputPaths(const std::string& outdir);
  std::string outdir, checkpoint, checkpoints_dir, images_dir, metrics, eval_log, generator,
      generator_ema, discriminator;
  std::string epoch_checkpoint(int64_t epoch) const;
  std::string epoch_grid(int64_t epoch) const;
  std::string real_grid() const;
};

// The regular files of a run that exist in `paths` (checkpoint.pt first if present), by the names
// above; nothing else matches (a user's epoch_1.png, notes.pt or a symbolic link does not).
std::vector<std::string> existing_run_files(const OutputPaths& paths);

// Files named like the temporaries of the files above (base name + ".tmp." + pid), regular files
// only, sorted into those a process of acgan left when it died mid-write (`stale`: the pid is not
// alive and at most pid_max, the bytes start as acgan's file of that name would: a zip for .pt, a
// PNG signature, the CSV's header) and the rest (`kept`, each with why: a live pid, a pid this
// machine never had, contents that are not acgan's), which a run names and leaves alone.
struct Temporaries {
  std::vector<std::string> stale;
  std::vector<std::pair<std::string, std::string>> kept;  // path, why
};
Temporaries find_temporaries(const OutputPaths& paths);

// Removes each path; throws acgan::Error naming the first that cannot be removed.
void remove_files(const std::vector<std::string>& paths);

}  // namespace acgan
