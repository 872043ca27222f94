// The resume policy. See include/acgan/training/resume_policy.h.
#include "acgan/training/resume_policy.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/training/outdir_claim.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

// --channels and --image_size left at 0 take the data's value, which a checkpoint records since
// they exist (training_data.cpp); one written before records 0 or nothing. Each is compared as the
// value it resolves to, so that giving the data's own value never contradicts the checkpoint.
std::string resolved(const std::string& key, const std::string& value, const DataSpec& spec) {
  if (value != "0") return value;
  if (key == "channels") return std::to_string(spec.channels);
  if (key == "image_size") return std::to_string(spec.height);
  return value;
}

// A fixed flag that a checkpoint from an older acgan lacks: its run had the default, so another
// value, given or set by --recipe, would not fit its networks or contents.
void check_flags_the_checkpoint_predates(const TrainOptions& options, const ConfigMap& saved,
                                         const std::string& path) {
  const TrainOptions defaults;
  for (const auto& spec : train_option_table()) {
    if (spec.on_resume != OnResume::kFixed || saved.count(spec.name)) continue;
    const auto value = option_value(options, spec), original = option_value(defaults, spec);
    if (resolved(spec.name, value, options.data_spec) !=
        resolved(spec.name, original, options.data_spec)) {
      throw UsageError("--" + std::string(spec.name) + " " + value + ": " + path +
                       " was written before this flag existed, by a run with " + original +
                       "; leave it out (and --recipe) to continue that run");
    }
  }
}

}  // namespace

// On --resume: the configuration comes from the checkpoint, key by key, as the flags' table says
// (train_options.h): a flag that may change (after a divergence, or on another machine) is logged
// when given; a fixed one (it would change the network, the data or the data order mid-run) must
// agree with the checkpoint when given. run_id and data are not flags: they identify the run and
// its data set. A value that does not parse is named with its file.
void adopt_checkpoint_config(TrainOptions& options, const ConfigMap& saved,
                             const std::string& path) {
  const ConfigMap current = config_of(options);
  const auto data_spec = data_spec_from_fields(saved, path);
  for (const auto& [key, value] : saved) {
    if (key == "run_id" || key == "data") {
      (key == "run_id" ? options.run_id : options.data_fingerprint) = value;
      continue;
    }
    const auto* spec = find_train_option(key);
    if (!spec || spec->on_resume == OnResume::kNotKept) continue;  // a later acgan's key
    const bool differs =
        options.given.count(key) && current.count(key) &&
        resolved(key, current.at(key), data_spec) != resolved(key, value, data_spec);
    if (differs && spec->on_resume == OnResume::kMayChange) {
      spdlog::info("{}: the checkpoint's run had {}, continuing with {}{}", key, value,
                   current.at(key),
                   key == "threads" ? " (float sums split differently: the run will not "
                                      "repeat bit for bit what it would have done)"
                                    : "");
      continue;
    }
    if (differs) {
      throw UsageError("--" + key + " " + current.at(key) + " contradicts the checkpoint " + path +
                       " (" + key + " " + value + "); leave the flag out to continue that run");
    }
    set_recorded_option(options, key, value, path);
  }
  options.data_spec = data_spec;
  if (options.channels == 0) options.channels = data_spec.channels;  // recorded resolved from now
  if (options.image_size == 0) options.image_size = data_spec.height;
}

// The configuration of the checkpoint `bytes` (the file `from`) adopted into `options` and checked
// together with the flags given.
void adopt_resume_config(TrainOptions& options, const std::string& bytes, const std::string& from) {
  const auto saved = read_checkpoint_config_from(bytes, from);
  adopt_checkpoint_config(options, saved, from);
  check_flags_the_checkpoint_predates(options, saved, from);
  try {
    validate(options);
  } catch (const UsageError& e) {
    throw UsageError(std::string(e.what()) + " (with the configuration of " + from + ")");
  }
}

// --resume: the checkpoint to continue from (its path; its bytes in `bytes`), its configuration
// adopted, and refused when it belongs to another run than the outdir's.
std::string prepare_resume(TrainOptions& options, const OutputPaths& paths, std::string& bytes) {
  const std::string from = options.resume_path.empty() ? paths.checkpoint : options.resume_path;
  if (!fs::exists(from)) {
    throw UsageError("--resume: no checkpoint at " + from + "; start a new run without --resume");
  }
  bytes = read_file(from);
  adopt_resume_config(options, bytes, from);
  check_same_run(paths, options, from);
  return from;
}

}  // namespace acgan
