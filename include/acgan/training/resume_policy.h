// The resume policy: on --resume the run's configuration comes from its checkpoint, key by key
// as the flags' table says (train_options.h): a flag that may change is taken from the command
// line and logged, a fixed one must agree with the checkpoint, one the checkpoint predates must
// keep its default. It decides nothing about the outdir (outdir_claim.h) or the data
// (training_data.h checks the fingerprint adopted here).
#pragma once

#include <string>

#include "acgan/io/outdir.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_options.h"

namespace acgan {

// `saved` (the checkpoint at `path`) adopted into `options`. Throws UsageError naming the flag and
// the file when a given fixed flag contradicts it, or a value does not parse.
void adopt_checkpoint_config(TrainOptions& options, const ConfigMap& saved,
                             const std::string& path);

// adopt_checkpoint_config on the checkpoint `bytes` (the file `from`), then the fixed flags the
// checkpoint predates, then validate() on the result.
void adopt_resume_config(TrainOptions& options, const std::string& bytes, const std::string& from);

// --resume: the checkpoint to continue from (its path; its bytes in `bytes`), its configuration
// adopted, and refused when it belongs to another run than the outdir's.
std::string prepare_resume(TrainOptions& options, const OutputPaths& paths, std::string& bytes);

}  // namespace acgan
