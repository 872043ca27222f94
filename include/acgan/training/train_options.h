// Everything a training run is configured by: the original script's 8 flags (same names, same
// defaults) and acgan's additions. One table (train_option_table) says, for each flag, its help
// text, the member it sets and whether a resume keeps it; the CLI, the list of given flags, the
// checkpoint's configuration and the resume policy all read it, so a new flag is a member and a
// row (plus its range check in validate()).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "acgan/data/data_spec.h"

namespace acgan {

// The most samples one evaluation judges (--eval_n here, `acgan eval --n`): 1,000,000 samples are
// 3 GB of pixels.
constexpr int64_t kMaxEvalSamples = 1000000;
constexpr int64_t kMaxDSteps = 100;  // --d_steps: far above the references' 2 to 5

struct TrainOptions {
  // The original script's flags.
  std::string root_dir = "./";
  int64_t num_workers = 2;
  int64_t batch_size = 100;
  int64_t nz = 110;
  int64_t num_epochs = 200;
  double lr = 0.0002;
  double beta1 = 0.5;
  std::string outdir = "./";

  // acgan's additions.
  std::string arch = "cifar";    // cifar | mlp: the network family (models/arch.h)
  std::string dataset = "auto";  // auto | cifar10 | cifar100 | fashion_mnist | mnist (datasets.h)
  std::string labels = "fine";   // CIFAR-100: fine (100 classes) | coarse (20)
  bool skip_bad_images = false;  // image folders: train without unreadable files
  int64_t channels = 0;          // 1 | 3: images converted to it; 0: the data's (then recorded)
  int64_t image_size = 0;        // the side images are resized to; 0: the networks' (then recorded)
  int64_t seed = -1;             // -1: drawn from the clock, logged and kept in the checkpoint
  std::string device = "auto";   // auto | cpu | cuda | cuda:N
  bool resume = false;           // continue from a checkpoint
  std::string resume_path;       // that checkpoint; empty: outdir/checkpoint.pt
  bool overwrite = false;        // start afresh in an outdir that holds a run
  int64_t sample_every = 1;      // epochs between sample grids
  int64_t checkpoint_every = 10;   // epochs between kept checkpoints/epoch_NNN.pt
  int64_t log_every = 50;          // iterations between log lines
  int64_t subset = 0;              // train on the first N images; 0: all
  int64_t threads = 0;             // intra-op threads; 0: one per core
  double dropout = 0.5;            // D's dropout probability (the original's 0.5)
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (precision.h)
  bool deterministic = false;      // CUDA: no cuDNN autotuning, no TF32, deterministic kernels
  bool cuda_graphs = false;        // CUDA: capture the step once, replay it (cuda_graph_step.h)
  // Against ACGAN's failure modes (docs/better-samples.md); the defaults are the original's.
  double lr_g = 0;                           // G's learning rate; 0: --lr
  double lr_d = 0;                           // D's learning rate; 0: --lr
  double beta2 = 0.999;                      // Adam's beta2 for both
  std::string loss = "bce";                  // bce | hinge: the source (real / fake) loss
  double label_smoothing = 0;                // one-sided: D's real target 1 - s (bce only)
  std::string d_class_loss_on_fakes = "on";  // on | off: D's class loss on G's samples (ac)
  std::string cond = "ac";                   // ac | tac | adc: D's class heads and terms
  double cond_lambda = 0;                    // the class terms' weight; 0: the cond's reference
  int64_t d_steps = 1;                       // D updates (each on its own batch) a G update
  std::string spectral_norm = "none";        // none | d | both (models.h)
  double g_ema = 0;                          // decay of G's weight average; 0: none
  std::string diffaugment = "none";          // none | color,translation,cutout (diff_augment.h)
  std::string recipe = "original";           // original | mod: defaults for the five above
  int64_t eval_every = 0;                    // epochs between evaluations (eval.csv); 0: none
  int64_t eval_n = 10000;                    // samples per evaluation
  std::string inception;                     // networks for the evaluations (evaluator.h)
  std::string classifier;
  // Data parallelism (distributed/): the launcher's variables say the rank and world size.
  int64_t nproc = 0;             // --nproc N: start N local workers; 0: this process trains
  bool oversubscribe = false;    // --nproc beyond the CPUs (or GPUs) present
  std::string backend = "auto";  // auto | gloo | nccl
  double dist_timeout = 1800;    // seconds, PyTorch's default

  // Not flags: the run's identity (drawn when it starts) and its data set's fingerprint, kept in
  // the checkpoint so that a resume cannot mix runs in one outdir or continue on other data.
  std::string run_id;
  std::string data_fingerprint;
  // What the data is (classes, image shape), found when the data is read, kept in the checkpoint;
  // the networks are built from it.
  DataSpec data_spec = cifar10_spec();

  // Flags the user gave explicitly (long names, e.g. "lr"): on --resume these must agree with the
  // checkpoint, the others are taken from it.
  std::set<std::string> given;
};

// --num_workers' bound: batch assembly of 32x32 images never needs more, and each is a thread.
constexpr int64_t kMaxWorkers = 64;

// --nproc's bound: a worker per CPU thread of the largest machines.
constexpr int64_t kMaxLocalWorkers = 1024;

// The largest seed: LibTorch's CPU generator (mt19937) keeps 32 bits of a seed, so larger ones
// would repeat smaller ones' runs.
constexpr int64_t kMaxSeed = 4294967295;

// Throws acgan::UsageError naming the first flag out of range.
void validate(const TrainOptions& options);

// The string flags read as what they mean, each name checked in one place (another name is the
// flag's usage error), so that no consumer compares strings. --loss: parse_source_loss
// (train_step.h); --precision: parse_precision (precision.h).
enum class SpectralNormOn { kNone, kD, kBoth };
SpectralNormOn parse_spectral_norm(const std::string& name);  // none | d | both
bool parse_on_off(const std::string& flag, const std::string& value);

// The flags a --recipe sets, as (flag, value) texts: none for "original" (the script's own
// training), ACGAN-Mod's choices for "mod" (docs/better-samples.md). Throws UsageError for
// another name.
std::vector<std::pair<std::string, std::string>> recipe_settings(const std::string& recipe);
// The flags a network family (--arch) brings its own default for: the mlp script's D dropout of
// 0.4; none for cifar (the original's are the table's defaults).
std::vector<std::pair<std::string, std::string>> arch_settings(const std::string& arch);
// Sets each of options.recipe's and options.arch's flags that the user did not give.
void apply_recipe(TrainOptions& options);

// What a resume does with a flag kept in the checkpoint.
enum class OnResume {
  kNotKept,    // not in the checkpoint: each invocation gives its own (root_dir, outdir, ...)
  kFixed,      // the checkpoint's, and a given value that contradicts it is an error
  kMayChange,  // the checkpoint's unless given; a given change is logged
};

struct TrainOptionSpec {
  using Member = std::variant<int64_t TrainOptions::*, double TrainOptions::*,
                              std::string TrainOptions::*, bool TrainOptions::*>;
  const char* name;  // the flag without "--", and the checkpoint's configuration key
  const char* help;
  Member member;
  bool original;  // one of the original script's eight
  OnResume on_resume;
};

// Every training flag but --resume [PATH] (an option with an optional value and a switch at once,
// which cli.cpp adds itself), in --help order.
const std::vector<TrainOptionSpec>& train_option_table();
// The row named `name`, or nullptr.
const TrainOptionSpec* find_train_option(const std::string& name);

// The value as the checkpoint keeps it: integers in decimal, reals as fmt's "{}", booleans as
// "1" / "0".
std::string option_value(const TrainOptions& options, const TrainOptionSpec& spec);
// Sets the member from such a text; false (and nothing set) when the text is not one.
bool set_option_value(TrainOptions& options, const TrainOptionSpec& spec, const std::string& text);

}  // namespace acgan
