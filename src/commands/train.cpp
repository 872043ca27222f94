// The training job. See include/acgan/commands/train.h.
#include "acgan/commands/train.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "acgan/clock.h"
#include "acgan/commands/training_run.h"
#include "acgan/distributed/job.h"
#include "acgan/error.h"
#include "acgan/eval/evaluator.h"
#include "acgan/io/outdir_lock.h"
#include "acgan/models/fast_ops.h"
#include "acgan/models/precision.h"
#include "acgan/runtime.h"
#include "acgan/training/class_losses.h"
#include "acgan/training/outdir_claim.h"
#include "acgan/training/resume_policy.h"
#include "acgan/training/stop_signal.h"
#include "acgan/training/training_data.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using Clock = SteadyClock;

std::unique_ptr<Evaluator> make_training_evaluator(const TrainOptions& options,
                                                   const torch::Device& device) {
  EvalSettings settings;
  settings.root_dir = options.root_dir;
  settings.spec = options.data_spec;  // found by check_data_before_writing
  settings.inception = options.inception;
  settings.classifier = options.classifier;
  settings.cache_dir = default_cache_dir();
  settings.device = device.str();
  settings.seed = kEvalSeed;
  settings.stop_requested = [] { return stop_requested() != 0; };
  return std::make_unique<Evaluator>(settings);
}

void log_machine(const torch::Device& device, int threads, const BlasInfo& blas,
                 bool deterministic) {
  spdlog::info("acgan {} | device {} | {} threads | BLAS: {}{}", ACGAN_VERSION, device.str(),
               threads, blas.kind, blas.library.empty() ? "" : " (" + blas.library + ")");
  if (!blas.advice.empty()) spdlog::warn("{}", blas.advice);
  if (device.is_cpu()) {
    guard_against_inexact_onednn();  // first: the bf16 probe must time the kernels the run gets
    spdlog::info("CPU bf16: {}", cpu_bf16_support());
  }
  if (deterministic) {
    spdlog::info("deterministic: {}", device.is_cuda()
                                          ? "no cuDNN autotuning, no TF32, deterministic kernels"
                                          : "CPU runs repeat bit for bit anyway");
  }
}

void log_run(const TrainOptions& o) {
  spdlog::info("run: seed {} | nz {} | lr {} | beta1 {} | {} epochs | {} | outdir {}", o.seed, o.nz,
               o.lr, o.beta1, o.num_epochs, o.precision, o.outdir);
  const auto cond = parse_conditioning(o.cond);
  const auto class_terms = cond == Conditioning::kAc
                               ? fmt::format("D's class loss on fakes {}", o.d_class_loss_on_fakes)
                               : fmt::format("class terms {}", o.cond);
  const double weight = class_weight(cond, o.cond_lambda);
  spdlog::info("losses: {}{}, {}{} | Adam: lr G {} D {}, betas ({}, {})", o.loss,
               o.label_smoothing > 0 ? fmt::format(" (real target {})", 1 - o.label_smoothing) : "",
               class_terms, weight != 1 ? fmt::format(" weighted {}", weight) : "",
               o.lr_g > 0 ? o.lr_g : o.lr, o.lr_d > 0 ? o.lr_d : o.lr, o.beta1, o.beta2);
  spdlog::info(
      "recipe {} | spectral norm {} | G's weight average {} | DiffAugment {} | D updates a G "
      "update {}",
      o.recipe, o.spectral_norm,
      o.g_ema > 0 ? fmt::format("decay {} (grids and evaluations use it)", o.g_ema) : "off",
      o.diffaugment, o.d_steps);
}

// Connects a launcher's job (a plain run has nothing to join). An elastic restart resumes by
// itself.
void join_job(Job& job, TrainOptions& options, const torch::Device& device) {
  if (!job.distributed()) return;
  const auto& launch = job.launch();
  if (launch->restart_count > 0 && !options.resume && !options.overwrite) {
    spdlog::info("torchrun restart {}: resuming from the latest checkpoint", launch->restart_count);
    options.resume = fs::exists(OutputPaths(options.outdir).checkpoint);
  }
  job.connect(options.backend, device, options.dist_timeout);
  if (!job.writes()) spdlog::set_level(spdlog::level::warn);  // rank 0 tells the story
  spdlog::info(
      "data parallel: {} ranks ({} launched, {} backend) | this is rank {} (local {} of "
      "{}) | global batch {} ({} a rank)",
      launch->world_size, launch->launcher, job.communicator()->backend(), launch->rank,
      launch->local_rank, launch->local_world_size, launch->world_size * options.batch_size,
      options.batch_size);
}

// Each rank's data: its own files, which must be rank 0's.
ImageDataset load_data_everywhere(Job& job, TrainOptions& options, const torch::Device& device) {
  std::optional<ImageDataset> data;
  const auto load_start = Clock::now();
  job.agreed(false, [&] {
    data.emplace(load_training_data(options, device));
    check_same_data(*data, options);
  });
  const auto rank0 = job.from_rank0(options.data_fingerprint);
  job.agreed(false, [&] {
    if (options.data_fingerprint != rank0) {
      throw UsageError(
          fmt::format("rank {}: --root_dir {} holds other data than rank 0's "
                      "(fingerprint {}, rank 0 {}); give every rank the same files",
                      job.rank(), options.root_dir, options.data_fingerprint, rank0));
    }
  });
  spdlog::info("data: {} training images from {} ({:.1f} s) | batch {} | {} workers", *data->size(),
               options.root_dir, seconds_since(load_start), options.batch_size,
               device.is_cpu() ? options.num_workers : 0);
  if (job.distributed() && *data->size() % job.world_size() != 0) {
    spdlog::info("each epoch drops the last {} images of its order to give {} ranks equal shards",
                 *data->size() % job.world_size(), job.world_size());
  }
  return std::move(*data);
}

int train_as(Job& job, TrainOptions& options, const torch::Device& device) {
  const OutputPaths paths(options.outdir);
  // Every check that can refuse the command line runs before anything is written; rank 0 alone
  // reads and writes the outdir, and the others follow its verdict.
  std::string resume_from, resume_bytes;
  job.agreed(/*rank0_only=*/true, [&] {
    OutdirLock::check_not_in_use(options.outdir);  // "in use" says more than any other verdict
    if (options.resume) resume_from = prepare_resume(options, paths, resume_bytes);
    if (!options.resume && !options.overwrite) {
      claim_outdir_for_a_new_run(paths, options);  // without --overwrite it only refuses
    }
  });
  resume_from = job.from_rank0(resume_from);
  resume_bytes = job.from_rank0(resume_bytes);
  std::unique_ptr<Evaluator> evaluator;
  job.agreed(false, [&] {
    if (!job.writes() && !resume_from.empty())
      adopt_resume_config(options, resume_bytes, resume_from);
    check_precision_supported(parse_precision(options.precision), device.type());
    check_data_before_writing(options);
    if (options.eval_every > 0 && job.writes())
      evaluator = make_training_evaluator(options, device);
  });
  std::optional<OutdirLock> lock;
  job.agreed(/*rank0_only=*/true, [&] { prepare_outdir(paths, options, lock); });

  const int threads =
      configure_threads(options.threads > 0 ? options.threads : job.default_threads());
  options.threads = threads;  // kept in the checkpoint: a resume reuses it (bit-exact sums)
  const auto blas = configure_blas();
  if (options.seed < 0) {
    options.seed = std::chrono::system_clock::now().time_since_epoch().count() % 1000000007;
  }
  options.seed = std::stoll(job.from_rank0(std::to_string(options.seed)));  // rank 0's draw

  log_machine(device, threads, blas, options.deterministic);
  ImageDataset data = load_data_everywhere(job, options, device);
  log_run(options);
  torch::manual_seed(rank_seed(static_cast<uint64_t>(options.seed), job.rank()));
  configure_determinism(options.deterministic, device);
  TrainingRun run(options, device, std::move(data), job, resume_from, resume_bytes);
  run.set_evaluator(std::move(evaluator));
  if (!resume_from.empty()) spdlog::info("resumed from {}", resume_from);
  return run.run();
}

}  // namespace

int train(TrainOptions options) {
  apply_recipe(options);  // the recipe's flags, where not given
  validate(options);
  const auto launch = read_launch_env();
  Job job = launch ? Job(*launch) : Job();
  const auto device = job.device(options.device);
  join_job(job, options, device);
  try {
    return train_as(job, options, device);
  } catch (...) {
    job.post_failure(std::current_exception());  // for the other ranks to quote
    throw;
  }
}

}  // namespace acgan
