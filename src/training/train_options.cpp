// The training flags' table and range checks. See include/acgan/training/train_options.h.
#include "acgan/training/train_options.h"

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <type_traits>

#include "acgan/data/data_spec.h"
#include "acgan/data/datasets.h"
#include "acgan/data/diff_augment.h"
#include "acgan/error.h"
#include "acgan/models/models.h"
#include "acgan/models/precision.h"
#include "acgan/runtime.h"
#include "acgan/training/train_step.h"

namespace acgan {
namespace {

// The original's flags, the data's and the run's housekeeping.
void validate_run_flags(const TrainOptions& o) {
  require_flag(o.batch_size > 0, "batch_size", "a positive integer", o.batch_size);
  require_flag(o.num_epochs >= 0, "num_epochs", "0 or more", o.num_epochs);
  require_flag(std::isfinite(o.lr) && o.lr > 0, "lr", "a finite number > 0", o.lr);
  require_flag(std::isfinite(o.beta1) && o.beta1 >= 0 && o.beta1 < 1, "beta1", "a number in [0, 1)",
               o.beta1);
  // Against the classes known so far (the checkpoint's, or CIFAR-10's): the data's own count is
  // checked again when the data is found (training_data.h).
  const Arch arch = parse_arch(o.arch);
  check_nz(arch, o.nz, o.data_spec.num_classes());
  parse_dataset_kind(o.dataset);
  parse_cifar100_labels(o.labels);
  check_channels_flag(o.channels);
  require_flag(o.image_size == 0 || side_is_supported(arch, o.image_size), "image_size",
               supported_sides(arch) + " (or 0 for " + std::to_string(native_side(arch)) + ")",
               o.image_size);
  require_flag(o.num_workers >= 0 && o.num_workers <= kMaxWorkers, "num_workers",
               "0.." + std::to_string(kMaxWorkers), o.num_workers);
  require_flag(o.sample_every > 0, "sample_every", "a positive number of epochs", o.sample_every);
  require_flag(o.checkpoint_every > 0, "checkpoint_every", "a positive number of epochs",
               o.checkpoint_every);
  require_flag(o.log_every > 0, "log_every", "a positive number of iterations", o.log_every);
  require_flag(o.subset >= 0, "subset", "0 (all) or a positive number of images", o.subset);
  const int64_t max_threads = int64_t{4} * usable_cpus();
  require_flag(
      o.threads >= 0 && o.threads <= max_threads, "threads",
      "0 (one per core) .. " + std::to_string(max_threads) + " (4 per CPU this process may use)",
      o.threads);
  require_flag(o.seed >= -1 && o.seed <= kMaxSeed, "seed",
               "-1 (a random one) or 0.." + std::to_string(kMaxSeed) +
                   " (LibTorch's CPU generator uses 32 bits of a seed)",
               o.seed);
}

// How the networks train: precision, optimiser, losses and the known fixes.
void validate_step_flags(const TrainOptions& o) {
  require_flag(std::isfinite(o.dropout) && o.dropout >= 0 && o.dropout < 1, "dropout",
               "a number in [0, 1)", o.dropout);
  parse_precision(o.precision);
  for (const auto& [flag, value] : {std::pair{"lr_g", o.lr_g}, std::pair{"lr_d", o.lr_d}}) {
    require_flag(std::isfinite(value) && value >= 0, flag, "0 (--lr) or a finite number > 0",
                 value);
  }
  require_flag(std::isfinite(o.beta2) && o.beta2 >= 0 && o.beta2 < 1, "beta2", "a number in [0, 1)",
               o.beta2);
  const auto loss = parse_source_loss(o.loss);
  require_flag(std::isfinite(o.label_smoothing) && o.label_smoothing >= 0 && o.label_smoothing < 1,
               "label_smoothing", "a number in [0, 1)", o.label_smoothing);
  require_flag(o.label_smoothing == 0 || loss == SourceLoss::kBce, "label_smoothing",
               "0 with --loss hinge (smoothing is a BCE target)", o.label_smoothing);
  parse_on_off("d_class_loss_on_fakes", o.d_class_loss_on_fakes);
  const auto cond = parse_conditioning(o.cond);
  require_flag(cond == Conditioning::kAc || !o.given.count("d_class_loss_on_fakes"),
               "d_class_loss_on_fakes",
               "not given with --cond " + o.cond +
                   " (it is ac's; the cond decides what D learns "
                   "from generated images)",
               o.d_class_loss_on_fakes);
  require_flag(std::isfinite(o.cond_lambda) && o.cond_lambda >= 0, "cond_lambda",
               "0 (the cond's reference weight) or a finite number > 0", o.cond_lambda);
  require_flag(o.d_steps >= 1 && o.d_steps <= kMaxDSteps, "d_steps",
               "1.." + std::to_string(kMaxDSteps) + " D updates a G update", o.d_steps);
  parse_spectral_norm(o.spectral_norm);
  require_flag(std::isfinite(o.g_ema) && o.g_ema >= 0 && o.g_ema < 1, "g_ema",
               "0 (none) or a decay in (0, 1), e.g. 0.999", o.g_ema);
  parse_diffaugment(o.diffaugment);
  recipe_settings(o.recipe);
}

// Evaluation during training, the outdir's mode and the processes.
void validate_job_flags(const TrainOptions& o) {
  require_flag(o.eval_every >= 0, "eval_every", "0 (none) or a positive number of epochs",
               o.eval_every);
  require_flag(o.eval_n >= 10 && o.eval_n <= kMaxEvalSamples, "eval_n",
               "10.." + std::to_string(kMaxEvalSamples) + " samples", o.eval_n);
  if (o.eval_every > 0 && o.inception.empty() && o.classifier.empty()) {
    throw UsageError(
        "--eval_every: needs a network to evaluate with: --inception FILE and/or --classifier "
        "FILE (see docs/evaluation.md)");
  }
  if (o.resume && o.overwrite) {
    throw UsageError(
        "--overwrite: cannot be combined with --resume (one continues the run in "
        "--outdir, the other replaces it); give one of them");
  }
  if (o.outdir.empty()) throw UsageError("--outdir: expected a directory, got an empty string");
  require_flag(o.nproc >= 0 && o.nproc <= kMaxLocalWorkers, "nproc",
               "0 (one process) .. " + std::to_string(kMaxLocalWorkers), o.nproc);
  require_flag(o.backend == "auto" || o.backend == "gloo" || o.backend == "nccl", "backend",
               "auto, gloo or nccl", o.backend);
  require_flag(std::isfinite(o.dist_timeout) && o.dist_timeout >= 1 && o.dist_timeout <= 86400,
               "dist_timeout", "1..86400 seconds", o.dist_timeout);
}

}  // namespace

void validate(const TrainOptions& o) {
  validate_run_flags(o);
  validate_step_flags(o);
  validate_job_flags(o);
}

SpectralNormOn parse_spectral_norm(const std::string& name) {
  require_flag(name == "none" || name == "d" || name == "both", "spectral_norm", "none, d or both",
               name);
  return name == "none" ? SpectralNormOn::kNone
         : name == "d"  ? SpectralNormOn::kD
                        : SpectralNormOn::kBoth;
}

bool parse_on_off(const std::string& flag, const std::string& value) {
  require_flag(value == "on" || value == "off", flag, "on or off", value);
  return value == "on";
}

std::vector<std::pair<std::string, std::string>> recipe_settings(const std::string& recipe) {
  if (recipe == "original") return {};
  // StudioGAN's ACGAN-Mod (PyTorch-StudioGAN#74) on these networks: D's class loss on real images
  // only, hinge loss, spectral normalisation in G and D, and G's EMA. Its other point, ContraGAN's
  // hyperparameters, belongs to other networks: the learning rates stay the original's.
  if (recipe == "mod") {
    return {{"loss", "hinge"},
            {"d_class_loss_on_fakes", "off"},
            {"spectral_norm", "both"},
            {"g_ema", "0.999"}};
  }
  throw UsageError("--recipe: expected original or mod, got " + recipe);
}

std::vector<std::pair<std::string, std::string>> arch_settings(const std::string& arch) {
  if (parse_arch(arch) == Arch::kMlp) return {{"dropout", "0.4"}};
  return {};
}

void apply_recipe(TrainOptions& options) {
  for (const auto& settings : {recipe_settings(options.recipe), arch_settings(options.arch)}) {
    for (const auto& [flag, value] : settings) {
      if (!options.given.count(flag)) set_option_value(options, *find_train_option(flag), value);
    }
  }
}

const std::vector<TrainOptionSpec>& train_option_table() {
  using O = TrainOptions;
  constexpr auto kept = OnResume::kFixed, may = OnResume::kMayChange, not_kept = OnResume::kNotKept;
  static const std::vector<TrainOptionSpec> table = {
      // The original script's flags, with its help texts.
      {"root_dir", "path to dataset", &O::root_dir, true, not_kept},
      {"num_workers", "number of data loading workers", &O::num_workers, true, not_kept},
      {"batch_size", "input batch size", &O::batch_size, true, kept},
      {"nz", "size of the latent z vector", &O::nz, true, kept},
      {"num_epochs", "number of epochs to train for", &O::num_epochs, true, may},
      {"lr", "learning rate, default=0.0002", &O::lr, true, may},
      {"beta1", "beta1 for adam. default=0.5", &O::beta1, true, may},
      {"outdir", "folder to output images and model checkpoints", &O::outdir, true, not_kept},
      // acgan's additions.
      {"arch",
       "cifar | mlp | imagenet128: the networks (cifar: the original script's; mlp: "
       "PyTorch-GAN's fully connected ACGAN, a class embedding in front of z, any image side; "
       "imagenet128: the paper's 128x128 ImageNet networks, as clvrai/ACGAN-PyTorch builds them)",
       &O::arch, false, kept},
      {"dataset",
       "auto | cifar10 | cifar100 | fashion_mnist | mnist | folder: what --root_dir holds (auto: "
       "decided from its files, and logged)",
       &O::dataset, false, kept},
      {"labels", "CIFAR-100's labels: fine (100 classes) | coarse (20 superclasses)", &O::labels,
       false, kept},
      {"channels",
       "1 (grey) | 3 (RGB): the images are converted to it and the networks take it (0: the "
       "data's)",
       &O::channels, false, kept},
      {"image_size",
       "the side images are resized to (shorter side, then a centre crop); the seed's networks "
       "take 32 (0: the networks')",
       &O::image_size, false, kept},
      {"skip_bad_images",
       "image folders: train without the files that cannot be read (one warning with the count) "
       "instead of refusing them",
       &O::skip_bad_images, false, not_kept},
      {"seed", "random seed; -1 draws one (logged and kept in the checkpoint)", &O::seed, false,
       kept},
      {"device", "auto | cpu | cuda | cuda:N (auto: CUDA when available)", &O::device, false,
       not_kept},
      {"overwrite",
       "start a new run in an outdir that holds a run's outputs, removing exactly those files "
       "(not with --resume)",
       &O::overwrite, false, not_kept},
      {"sample_every", "epochs between sample grids", &O::sample_every, false, not_kept},
      {"checkpoint_every", "epochs between kept checkpoints/epoch_NNN.pt", &O::checkpoint_every,
       false, not_kept},
      {"log_every", "iterations between log lines", &O::log_every, false, not_kept},
      {"subset", "train on the first N images only (0: all)", &O::subset, false, kept},
      {"threads", "CPU threads (0: one per core)", &O::threads, false, may},
      {"dropout", "dropout probability in D (the original's 0.5)", &O::dropout, false, kept},
      {"precision", "fp32 | bf16 (autocast; CPU and CUDA) | fp16 (autocast + loss scaling; CUDA)",
       &O::precision, false, may},
      {"deterministic",
       "CUDA runs repeat bit for bit: no cuDNN autotuning, no TF32, deterministic kernels "
       "(slower); CPU runs always do",
       &O::deterministic, false, may},
      {"cuda_graphs",
       "CUDA: capture the whole training step as a CUDA graph after a few eager steps and replay "
       "it (LibTorch 2.x; not with fp16 or data parallelism: those log why and run eagerly)",
       &O::cuda_graphs, false, may},
      {"lr_g", "G's learning rate (0: --lr); a two time-scale update rule with --lr_d", &O::lr_g,
       false, may},
      {"lr_d", "D's learning rate (0: --lr)", &O::lr_d, false, may},
      {"beta2", "beta2 for Adam (both networks)", &O::beta2, false, may},
      {"loss", "bce | hinge: the source loss of D and G (hinge as SN-GAN and BigGAN)", &O::loss,
       false, may},
      {"label_smoothing", "one-sided label smoothing: D's real target is 1 - S (bce only)",
       &O::label_smoothing, false, may},
      {"d_class_loss_on_fakes",
       "on | off: D's class loss on generated images (off: ACGAN-Mod, keras-team/keras#8482)",
       &O::d_class_loss_on_fakes, false, may},
      {"cond",
       "ac | tac | adc: how D learns the class (ac: the original's auxiliary classifier; tac: and "
       "a twin classifier of generated images, Gong et al. 2019; adc: one classifier of class and "
       "source, 2K-way, Hou et al. 2022)",
       &O::cond, false, kept},
      {"cond_lambda",
       "weight of the class terms in D's and G's losses (0: the cond's reference, 1)",
       &O::cond_lambda, false, may},
      {"d_steps",
       "D updates a G update, each on its own batch (the step and its metrics row hold them all; "
       "1: the original's)",
       &O::d_steps, false, may},
      {"spectral_norm",
       "none | d | both: spectral normalisation of every layer of D (replacing its BatchNorm) or "
       "of "
       "D and G",
       &O::spectral_norm, false, kept},
      {"g_ema", "decay of an average of G's weights used for samples, e.g. 0.999 (0: none)",
       &O::g_ema, false, kept},
      {"diffaugment",
       "none | a list of color, translation, cutout: DiffAugment on every image D sees",
       &O::diffaugment, false, may},
      {"recipe",
       "original | mod: defaults for the flags above (mod: hinge, no class loss on fakes, "
       "spectral_norm both, g_ema 0.999)",
       &O::recipe, false, kept},
      {"eval_every",
       "epochs between evaluations written to outdir/eval.csv (0: none; needs --inception "
       "and/or --classifier)",
       &O::eval_every, false, not_kept},
      {"eval_n", "samples per evaluation (classes balanced)", &O::eval_n, false, not_kept},
      {"inception", "TorchScript Inception-v3 for --eval_every (FID, IS, KID, iFID, PR)",
       &O::inception, false, not_kept},
      {"classifier", "`acgan classifier train`'s file for --eval_every (accuracy, FD)",
       &O::classifier, false, not_kept},
      // Data parallelism (docs/distributed.md); the world size is the launcher's.
      {"nproc",
       "start N worker processes on this machine, one data-parallel rank each (0: one process; "
       "torchrun, srun and mpirun need no flag)",
       &O::nproc, false, not_kept},
      {"oversubscribe",
       "let --nproc start more workers than this machine has CPUs (or GPUs); refused otherwise",
       &O::oversubscribe, false, not_kept},
      {"backend", "auto | gloo | nccl: the collectives of a data-parallel run (auto: NCCL on CUDA)",
       &O::backend, false, not_kept},
      {"dist_timeout",
       "seconds a rank waits for the others before the job fails naming the rank that did not "
       "answer (longer than an --eval_every evaluation)",
       &O::dist_timeout, false, not_kept},
  };
  return table;
}

const TrainOptionSpec* find_train_option(const std::string& name) {
  for (const auto& spec : train_option_table()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string option_value(const TrainOptions& options, const TrainOptionSpec& spec) {
  return std::visit(
      [&](auto member) -> std::string {
        const auto& value = options.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>)
          return value ? "1" : "0";
        else if constexpr (std::is_same_v<T, std::string>)
          return value;
        else
          return fmt::format("{}", value);
      },
      spec.member);
}

bool set_option_value(TrainOptions& options, const TrainOptionSpec& spec, const std::string& text) {
  return std::visit(
      [&](auto member) -> bool {
        auto& value = options.*member;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>) {
          if (text != "1" && text != "0") return false;
          value = text == "1";
        } else if constexpr (std::is_same_v<T, std::string>) {
          value = text;
        } else {
          size_t used = 0;
          T parsed{};
          try {
            if constexpr (std::is_integral_v<T>)
              parsed = std::stoll(text, &used);
            else
              parsed = std::stod(text, &used);
          } catch (const std::exception&) {
            return false;
          }
          if (used != text.size()) return false;
          value = parsed;
        }
        return true;
      },
      spec.member);
}

}  // namespace acgan
