// The training job. See include/acgan/training/trainer.h.
#include "acgan/training/trainer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>

#include "acgan/clock.h"
#include "acgan/data/cifar10.h"
#include "acgan/data/epoch_batches.h"
#include "acgan/distributed/job.h"
#include "acgan/error.h"
#include "acgan/eval/eval_log.h"
#include "acgan/eval/evaluator.h"
#include "acgan/eval/sample_source.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/crc32.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/metrics_log.h"
#include "acgan/io/outdir_lock.h"
#include "acgan/io/state_dict.h"
#include "acgan/runtime.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/cuda_graph_step.h"
#include "acgan/training/progress_reporter.h"
#include "acgan/training/stop_signal.h"
#include "acgan/training/train_step.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using Clock = SteadyClock;

// On --resume: the configuration comes from the checkpoint, key by key, as the flags' table says
// (train_options.h): a flag that may change (after a divergence, or on another machine) is logged
// when given; a fixed one (it would change the network, the data or the data order mid-run) must
// agree with the checkpoint when given. run_id and data are not flags: they identify the run and
// its data set. A value that does not parse is named with its file.
void adopt_checkpoint_config(TrainOptions& options, const ConfigMap& saved,
                             const std::string& path) {
  const ConfigMap current = config_of(options);
  for (const auto& [key, value] : saved) {
    if (key == "run_id" || key == "data") {
      (key == "run_id" ? options.run_id : options.data_fingerprint) = value;
      continue;
    }
    const auto* spec = find_train_option(key);
    if (!spec || spec->on_resume == OnResume::kNotKept) continue;  // a later acgan's key
    const bool differs = options.given.count(key) && current.count(key) && current.at(key) != value;
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
}

// A fixed flag that a checkpoint from an older acgan lacks: its run had the default, so another
// value, given or set by --recipe, would not fit its networks or contents.
void check_flags_the_checkpoint_predates(const TrainOptions& options, const ConfigMap& saved,
                                         const std::string& path) {
  const TrainOptions defaults;
  for (const auto& spec : train_option_table()) {
    if (spec.on_resume != OnResume::kFixed || saved.count(spec.name)) continue;
    const auto value = option_value(options, spec), original = option_value(defaults, spec);
    if (value != original) {
      throw UsageError("--" + std::string(spec.name) + " " + value + ": " + path +
                       " was written before this flag existed, by a run with " + original +
                       "; leave it out (and --recipe) to continue that run");
    }
  }
}

void check_subset_fits(const TrainOptions& options, int64_t available) {
  if (options.subset > available) {
    throw UsageError("--subset " + std::to_string(options.subset) + ": the training set has only " +
                     std::to_string(available) + " images");
  }
}

// The data is there, and --subset fits it, from the files' sizes alone: before anything is written.
void check_data_before_writing(const TrainOptions& options) {
  int64_t records = 0;
  for (const auto& file : cifar10_files(find_cifar10_dir(options.root_dir), Split::kTrain)) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (!ec) records += static_cast<int64_t>(size) / Cifar10Layout::kRecordBytes;
  }
  check_subset_fits(options, records);  // the loader checks it again on the records it reads
}

Cifar10 load_training_data(const TrainOptions& options, const torch::Device& device) {
  Cifar10 full(options.root_dir, Split::kTrain);
  check_subset_fits(options, static_cast<int64_t>(*full.size()));
  return (options.subset > 0 ? full.head(options.subset) : full).to(device);
}

// 10 real images of each class (the first ones in data order), one class a row.
torch::Tensor real_examples(const Cifar10& data, int64_t per_class) {
  std::vector<torch::Tensor> rows;
  const auto labels = data.labels().cpu();
  for (int64_t k = 0; k < kNumClasses; ++k) {
    auto idx = labels.eq(k).nonzero().view({-1});
    idx = idx.narrow(0, 0, std::min(per_class, idx.size(0)));
    auto images = idx.numel() > 0 ? data.batch(idx).data.cpu() : torch::empty({0, 3, 32, 32});
    // Classes missing from a small subset leave their row's cells black (-1).
    rows.push_back(torch::cat({images, torch::full({per_class - idx.size(0), 3, 32, 32}, -1.0f)}));
  }
  return torch::cat(rows);
}

// The step's options as the flags set them.
StepOptions step_options_for(const TrainOptions& o, LossScaler& scaler) {
  auto step = step_options_for(parse_precision(o.precision), scaler);
  step.source_loss = o.loss == "hinge" ? SourceLoss::kHinge : SourceLoss::kBce;
  step.label_smoothing = o.label_smoothing;
  step.d_class_loss_on_fakes = o.d_class_loss_on_fakes == "on";
  step.augment = parse_diffaugment(o.diffaugment);
  return step;
}

// The noise seed of every evaluation during training: each epoch's evaluation sees the same noise.
constexpr int64_t kEvalSeed = 0;

std::unique_ptr<Evaluator> make_training_evaluator(const TrainOptions& options,
                                                   const torch::Device& device) {
  EvalSettings settings;
  settings.root_dir = options.root_dir;
  settings.inception = options.inception;
  settings.classifier = options.classifier;
  settings.cache_dir = default_cache_dir();
  settings.device = device.str();
  settings.seed = kEvalSeed;
  settings.stop_requested = [] { return stop_requested() != 0; };
  return std::make_unique<Evaluator>(settings);
}

class TrainingRun {
 public:
  // `resume_bytes`: the checkpoint `resume_from` to continue, read by rank 0; empty: a new run.
  TrainingRun(TrainOptions options, const torch::Device& device, Cifar10 data, Job& job,
              const std::string& resume_from, const std::string& resume_bytes)
      : options_(std::move(options)),
        paths_(options_.outdir),
        device_(device),
        data_(std::move(data)),
        job_(job),
        state_(options_, device),
        step_options_(step_options_for(options_, state_.scaler)),
        batches_(batches_per_epoch(*data_.size() / job.world_size(), options_.batch_size)) {
    step_options_.gradient_hook = job_.data_parallel();
    if (options_.cuda_graphs) use_cuda_graphs();
    if (auto* dp = job_.data_parallel()) {  // every rank starts from rank 0's networks
      dp->broadcast_state(*state_.g);
      dp->broadcast_state(*state_.d);
      if (state_.ema) dp->broadcast_state(*state_.ema->generator());
    }
    if (!resume_from.empty()) {
      load_checkpoint_from(resume_bytes, resume_from, state_);
      continue_random_streams();
      // The restored Adam states carry the checkpoint's lr and betas; apply this run's.
      const auto apply = [&](torch::optim::Optimizer& optimizer, double lr) {
        for (auto& group : optimizer.param_groups()) {
          static_cast<torch::optim::AdamOptions&>(group.options())
              .lr(lr > 0 ? lr : options_.lr)
              .betas({options_.beta1, options_.beta2});
        }
      };
      apply(*state_.opt_g, options_.lr_g);
      apply(*state_.opt_d, options_.lr_d);
    }
  }

  // --eval_every's evaluator, built before anything was written (a bad network file fails first).
  void set_evaluator(std::unique_ptr<Evaluator> evaluator) { evaluator_ = std::move(evaluator); }
  int run();

 private:
  void continue_random_streams();
  void use_cuda_graphs();
  torch::Tensor step_on(const torch::Tensor& real, const torch::Tensor& labels);
  torch::Tensor agree_on_step(const torch::Tensor& stats, bool log_point);
  void check_weights_agree();
  bool train_epoch();  // false when stopped by a signal
  void flush_stats(bool log);
  void end_epoch(double seconds, int64_t images);
  void write_checkpoint(bool keep_copy);
  // G's weight average with --g_ema, else G: what grids and evaluations sample.
  GeneratorImpl& sampling_generator();
  void write_samples();
  void evaluate();
  double eta_seconds() const;
  [[noreturn]] void throw_diverged(int64_t step, int64_t epoch, int64_t iteration,
                                   const std::string& what);
  std::string kept_state_note() const;

  TrainOptions options_;
  OutputPaths paths_;
  torch::Device device_;
  Cifar10 data_;
  Job& job_;
  TrainingState state_;
  StepOptions step_options_;                   // fp16 scales with state_.scaler
  std::unique_ptr<CudaGraphStep> graph_step_;  // with --cuda_graphs, where the step can be captured
  int64_t batches_;
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<ProgressReporter> reporter_;
  std::unique_ptr<Evaluator> evaluator_;  // with --eval_every
  std::unique_ptr<EvalLog> eval_log_;

  // Step statistics not yet written: kept on the device so CUDA runs do not synchronise per step.
  std::vector<torch::Tensor> pending_stats_;
  std::vector<std::array<int64_t, 3>> pending_index_;  // epoch, iteration, step
  int64_t window_images_ = 0;
  Clock::time_point window_start_ = Clock::now();
  int64_t run_steps_ = 0;
  Clock::time_point run_start_ = Clock::now();
  int stop_signal_ = 0;  // the signal the job agreed to stop on (every rank's the same)
};

// A resume on as many ranks as the checkpoint's run continues every rank's random stream; on
// another number they restart (the data order still follows seed and epoch).
void TrainingRun::continue_random_streams() {
  const int64_t world = job_.world_size();
  const int64_t saved = state_.rank_rng_cpu.defined() ? state_.rank_rng_cpu.size(0) : 1;
  if (saved == world) {
    if (!state_.rank_rng_cpu.defined()) return;  // a plain run's: load_checkpoint restored it
    set_generator_state(torch::kCPU, state_.rank_rng_cpu[job_.rank()]);
    if (device_.is_cuda() && state_.rank_rng_cuda.defined())
      set_generator_state(device_, state_.rank_rng_cuda[job_.rank()]);
    return;
  }
  auto& p = state_.progress;
  const int64_t images = p.batch * saved * options_.batch_size;  // of the interrupted epoch
  spdlog::info(
      "the checkpoint's run had {} ranks, this one has {}: the data order continues from the "
      "seed and epoch ({} of the epoch's images done), the random streams restart",
      saved, world, images);
  p.batch = images / (world * options_.batch_size);
  torch::manual_seed(rank_seed(static_cast<uint64_t>(options_.seed) + p.step, job_.rank()));
}

// Data parallel: the step's statistics become the mean over ranks, and the ranks agree on a stop
// (a signal on any rank stops them all at the same step). On the CPU the counts are read every
// step; on CUDA at log lines only, so that the loop never waits for the device in between.
torch::Tensor TrainingRun::agree_on_step(const torch::Tensor& stats, bool log_point) {
  // Read once: a signal arriving later in this step counts in the next step's agreement.
  const int local = stop_requested();
  auto* dp = job_.data_parallel();
  if (!dp) {
    stop_signal_ = local;
    return stats;
  }
  const auto both = dp->mean_stats_with_stops(stats, local);
  if (device_.is_cpu() || log_point)
    stop_signal_ = agreed_stop_signal(both.narrow(0, kNumStepStats, kNumStopSignals), local);
  return both.narrow(0, 0, kNumStepStats);
}

// Every rank's weights are rank 0's after each epoch, bit for bit: anything else is a bug or a
// rank computing differently, and is stopped there rather than averaged into a silent mess.
void TrainingRun::check_weights_agree() {
  auto* dp = job_.data_parallel();
  if (!dp) return;
  uint32_t crc = 0;
  for (auto* network : {static_cast<torch::nn::Module*>(state_.g.get()),
                        static_cast<torch::nn::Module*>(state_.d.get())}) {
    for (const auto& p : network->parameters()) {
      const auto t = p.detach().cpu().contiguous();
      crc = crc32(std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes()), crc);
    }
  }
  auto rank0 = torch::tensor({static_cast<double>(crc)}, torch::kDouble);
  dp->communicator().broadcast(rank0, 0);
  job_.agreed(false, [&] {
    if (rank0.item<double>() != static_cast<double>(crc)) {
      throw Error(fmt::format(
          "rank {}: its weights differ from rank 0's after epoch {} (crc32 "
          "{:08x}, rank 0 {:08x}): a rank computed differently",
          job_.rank(), state_.progress.epoch, crc, static_cast<uint32_t>(rank0.item<double>())));
    }
  });
}

double TrainingRun::eta_seconds() const {
  if (run_steps_ == 0) return NAN;
  const int64_t total = options_.num_epochs * batches_;
  return seconds_since(run_start_) / run_steps_ * static_cast<double>(total - state_.progress.step);
}

std::string TrainingRun::kept_state_note() const {
  return fs::exists(paths_.checkpoint)
             ? "stopped without writing a checkpoint, so " + paths_.checkpoint +
                   " still holds the last good state (resume it with a lower --lr)"
             : "stopped before any checkpoint was written (start again with a lower --lr)";
}

void TrainingRun::throw_diverged(int64_t step, int64_t epoch, int64_t iteration,
                                 const std::string& what) {
  if (reporter_) reporter_->clear();
  throw Error(fmt::format("training diverged at step {} (epoch {}, iteration {}): {}; {}", step,
                          epoch, iteration, what, kept_state_note()));
}

void TrainingRun::flush_stats(bool log) {
  if (pending_stats_.empty()) return;
  const auto stats = torch::stack(pending_stats_).cpu();  // (rows, kNumStepStats): one sync
  // Images of every rank: the job's rate.
  const double rate =
      window_images_ * job_.world_size() / std::max(seconds_since(window_start_), 1e-9);
  for (int64_t r = 0; r < stats.size(0); ++r) {
    const auto& [epoch, iteration, step] = pending_index_[r];
    const auto row = stats[r];
    const auto losses = row.narrow(0, kLossDReal, 3);
    if (!torch::isfinite(losses).all().item<bool>()) {  // the same row on every rank
      if (metrics_) metrics_->flush();
      throw_diverged(step, epoch, iteration,
                     fmt::format("Loss_D={} Loss_G={}",
                                 row[kLossDReal].item<float>() + row[kLossDFake].item<float>(),
                                 row[kLossG].item<float>()));
    }
    if (metrics_) metrics_->append(epoch, iteration, step, row, rate);
  }
  if (metrics_) metrics_->flush();
  if (log && reporter_) {
    const auto& [epoch, iteration, step] = pending_index_.back();
    reporter_->on_log(epoch, iteration, stats[stats.size(0) - 1], rate, eta_seconds());
  }
  pending_stats_.clear();
  pending_index_.clear();
  window_images_ = 0;
  window_start_ = Clock::now();
}

// --cuda_graphs where the step can be captured; where it cannot, the reason, once, and eager steps.
void TrainingRun::use_cuda_graphs() {
  const auto why =
      CudaGraphStep::where_not_capturable(device_, step_options_, *state_.opt_g, *state_.opt_d);
  if (!why.empty()) {
    spdlog::warn("--cuda_graphs: the step runs eagerly: {}", why);
    return;
  }
  CudaGraphStepOptions graph;
  graph.nz = options_.nz;
  graph_step_ = std::make_unique<CudaGraphStep>(*state_.g, *state_.d, *state_.opt_g, *state_.opt_d,
                                                step_options_, graph);
  spdlog::info("--cuda_graphs: the step is captured after {} eager steps, then replayed",
               graph.warmup_steps);
}

// One training step: noise, then train_step (train_step.h), or the captured graph's replay.
torch::Tensor TrainingRun::step_on(const torch::Tensor& real, const torch::Tensor& labels) {
  if (graph_step_) return (*graph_step_)(real, labels);
  const auto noise = make_noise(real.size(0), options_.nz, device_);
  if (auto* dp = job_.data_parallel())  // BatchNorm's running statistics: rank 0's
    dp->broadcast_buffers({state_.g.get(), state_.d.get()});
  return train_step(*state_.g, *state_.d, *state_.opt_g, *state_.opt_d, real, labels, noise,
                    step_options_);
}

bool TrainingRun::train_epoch() {
  auto& p = state_.progress;
  // A signal during the last epoch's end (its grid, evaluation, checkpoint) stops before a step;
  // ranks of a job agree on a stop at their next step instead.
  if (!job_.distributed() && (stop_signal_ = stop_requested()) != 0) return false;
  auto order = epoch_order(options_.seed, p.epoch, *data_.size());
  if (job_.distributed()) order = epoch_shard(order, job_.rank(), job_.world_size());
  EpochBatches batches(data_, order, options_.batch_size, p.batch, options_.num_workers);
  const auto epoch_start = Clock::now();
  int64_t epoch_images = 0;
  while (auto batch = batches.next()) {
    const int64_t b = batch->data.size(0);
    // A NaN anywhere stays in the losses (BCE with logits does not assert on it, even on CUDA)
    // and is caught by flush_stats before anything is written.
    const auto stats = step_on(batch->data, batch->target);
    if (state_.ema) state_.ema->update(*state_.g, p.step + 1);
    const int64_t iteration = p.batch;
    const bool log_point = iteration % options_.log_every == 0;
    pending_stats_.push_back(agree_on_step(stats, log_point));
    pending_index_.push_back({p.epoch, iteration, p.step + 1});
    window_images_ += b;
    epoch_images += b;
    ++p.batch;
    ++p.step;
    ++run_steps_;
    if (log_point) flush_stats(/*log=*/true);
    if (reporter_) reporter_->on_step(p.epoch, iteration, eta_seconds());
    if (stop_signal_ != 0) return false;
  }
  flush_stats(/*log=*/false);
  end_epoch(seconds_since(epoch_start), epoch_images);
  return true;
}

void TrainingRun::end_epoch(double seconds, int64_t images) {
  auto& p = state_.progress;
  if (reporter_)
    reporter_->on_epoch_end(p.epoch, seconds, images * job_.world_size() / std::max(seconds, 1e-9));
  ++p.epoch;
  p.batch = 0;
  check_weights_agree();
  job_.agreed(/*rank0_only=*/true, [&] {
    if (p.epoch % options_.sample_every == 0 || p.epoch == options_.num_epochs) write_samples();
    if (evaluator_ && p.epoch % options_.eval_every == 0) evaluate();
  });
  write_checkpoint(p.epoch % options_.checkpoint_every == 0 || p.epoch == options_.num_epochs);
}

GeneratorImpl& TrainingRun::sampling_generator() {
  return state_.ema ? *state_.ema->generator() : *state_.g;
}

void TrainingRun::write_samples() {
  torch::NoGradGuard no_grad;
  auto& g = sampling_generator();
  const bool was_training = g.is_training();
  g.eval();
  const auto images = g.forward(state_.grid_z);  // (100, 3, 32, 32)
  g.train(was_training);
  save_grid_png(paths_.epoch_grid(state_.progress.epoch), images,
                state_.grid_z.size(0) / kNumClasses);
}

// Samples from the evaluation's own noise stream (sample_source.h), G back in training mode after:
// nothing the training reads changes, so a run with evaluations ends with the same weights.
void TrainingRun::evaluate() {
  const auto& p = state_.progress;
  spdlog::info("eval at epoch {}: judging {} samples", p.epoch, options_.eval_n);
  EvalReport report;
  try {
    const auto samples =
        sample_generator(sampling_generator(), options_.eval_n, kNumClasses, kEvalSeed,
                         options_.batch_size, [] { return stop_requested() != 0; });
    report = evaluator_->evaluate(samples);
  } catch (const EvaluationStopped&) {  // a stop signal: checkpoint now, not after the metrics
    spdlog::info("eval at epoch {} abandoned: a stop was requested (no row written)", p.epoch);
    return;
  }
  eval_log_->append(p.step, p.epoch, report);
  std::vector<std::string> parts;
  for (const auto& [name, value] : report.values)
    parts.push_back(fmt::format("{} {:.4g}", name, value));
  spdlog::info("eval at epoch {} (step {}): {}", p.epoch, p.step, fmt::join(parts, ", "));
}

void TrainingRun::write_checkpoint(bool keep_copy) {
  if (!all_finite(*state_.g) || !all_finite(*state_.d)) {
    throw Error(fmt::format("training diverged before step {}: the weights hold NaN or Inf; {}",
                            state_.progress.step, kept_state_note()));
  }
  // Every rank's streams, for a bit-exact resume; a plain run's are rng_cpu / rng_cuda alone (a
  // resumed data-parallel checkpoint's ranks are not carried on).
  state_.rank_rng_cpu = state_.rank_rng_cuda = torch::Tensor();
  if (auto* dp = job_.data_parallel()) {
    state_.rank_rng_cpu =
        dp->gather_generator_states(at::globalContext().defaultGenerator(torch::kCPU));
    if (device_.is_cuda())
      state_.rank_rng_cuda =
          dp->gather_generator_states(at::globalContext().defaultGenerator(device_));
  }
  // Serialized once, every file written atomically. checkpoint.pt goes last: it is the commit
  // point. A kill before it leaves the previous checkpoint, from which the resumed run redoes this
  // work bit for bit and rewrites every file; after it, every other file is already current.
  job_.agreed(/*rank0_only=*/true, [&] {
    const std::string bytes = checkpoint_bytes(state_, options_);
    if (keep_copy) write_file_atomic(paths_.epoch_checkpoint(state_.progress.epoch), bytes);
    save_state_dict_file(*state_.g, paths_.generator);
    if (state_.ema) save_state_dict_file(*state_.ema->generator(), paths_.generator_ema);
    save_state_dict_file(*state_.d, paths_.discriminator);
    write_file_atomic(paths_.checkpoint, bytes);
  });
}

int TrainingRun::run() {
  auto& p = state_.progress;
  job_.agreed(/*rank0_only=*/true, [&] {  // rank 0 alone writes
    metrics_ = std::make_unique<MetricsLog>(paths_.metrics, p.step);
    reporter_ = std::make_unique<ProgressReporter>(isatty(STDOUT_FILENO) != 0, options_.num_epochs,
                                                   batches_);
    if (evaluator_) {
      eval_log_ = std::make_unique<EvalLog>(paths_.eval_log, p.step);
      spdlog::info("evaluating every {} epochs on {} samples: {}", options_.eval_every,
                   options_.eval_n, fmt::join(evaluator_->metrics(), ", "));
    }
    if (!fs::exists(paths_.real_grid()))
      save_grid_png(paths_.real_grid(), real_examples(data_, 10), 10);
  });
  if (p.epoch >= options_.num_epochs) {
    spdlog::info(
        "nothing to do: the run has already trained {} of {} epochs (raise --num_epochs to go on)",
        p.epoch, options_.num_epochs);
    return kExitOk;
  }
  spdlog::info("training epochs {}..{} from step {} ({} iterations an epoch)", p.epoch + 1,
               options_.num_epochs, p.step, batches_);
  const auto start = Clock::now();
  state_.g->train();
  state_.d->train();
  const StopSignalHandlers stop_handlers;
  while (p.epoch < options_.num_epochs) {
    if (!train_epoch()) {
      const int sig = stop_signal_;
      flush_stats(/*log=*/false);
      if (reporter_) reporter_->clear();
      write_checkpoint(/*keep_copy=*/false);
      spdlog::info("stopped at epoch {}, iteration {} (step {}); checkpoint written to {}", p.epoch,
                   p.batch, p.step, paths_.checkpoint);
      spdlog::info("resume with: acgan --root_dir {} --outdir {} --resume{}", options_.root_dir,
                   options_.outdir,
                   job_.launched_by_nproc() ? fmt::format(" --nproc {}", job_.world_size()) : "");
      return 128 + sig;
    }
  }
  spdlog::info("done: {} epochs, {} steps in {}{}", p.epoch, p.step,
               format_duration(seconds_since(start)),
               job_.distributed() ? fmt::format(" on {} ranks, whose weights were identical after "
                                                "every epoch",
                                                job_.world_size())
                                  : "");
  if (const auto* dp = job_.data_parallel(); dp && run_steps_ > 0) {
    const double per_step = dp->communication_seconds() / static_cast<double>(run_steps_);
    spdlog::info(
        "collectives: {:.1f} ms a step ({:.0f} % of the step: gradients, buffers, "
        "statistics; waits for slower ranks included)",
        per_step * 1000,
        100 * per_step * static_cast<double>(run_steps_) / std::max(seconds_since(start), 1e-9));
  }
  spdlog::info(
      "outputs in {}: metrics.csv, images/ (sample grids), checkpoint.pt, checkpoints/, gen.pt, "
      "disc.pt",
      options_.outdir);
  return kExitOk;
}

// images/real_samples.png alone does not count: a run writes it only when missing, never over it.
bool holds_outputs_a_new_run_would_replace(const std::vector<std::string>& files,
                                           const OutputPaths& paths) {
  return std::any_of(files.begin(), files.end(),
                     [&](const std::string& f) { return f != paths.real_grid(); });
}

// A fresh identity for a new run: 64 random bits in hex.
std::string new_run_id() {
  std::random_device entropy;
  const uint64_t id = (static_cast<uint64_t>(entropy()) << 32) | entropy();
  return fmt::format("{:016x}", id);
}

// --resume PATH into an outdir holding another run's files would mix two runs there (its
// checkpoint, weights and grids replaced, its metrics spliced): refused. A checkpoint without an
// identity (from an acgan before run ids) cannot be told apart and is let through.
void check_same_run(const OutputPaths& paths, const TrainOptions& options,
                    const std::string& resume_from) {
  std::error_code ec;
  if (fs::equivalent(resume_from, paths.checkpoint, ec)) return;  // the outdir's own checkpoint
  const auto files = existing_run_files(paths);
  if (!holds_outputs_a_new_run_would_replace(files, paths)) return;  // an empty home: fine
  if (files.front() != paths.checkpoint) {
    throw UsageError("--resume " + resume_from + ": --outdir " + options.outdir + " holds " +
                     files.front() +
                     " of a run whose checkpoint.pt is missing; resume into an empty --outdir");
  }
  const auto outdir_config = read_checkpoint_config(paths.checkpoint);
  const auto there = outdir_config.find("run_id");
  if (there == outdir_config.end() || options.run_id.empty() || there->second == options.run_id)
    return;
  throw UsageError("--resume " + resume_from + " is run " + options.run_id + ", but --outdir " +
                   options.outdir + " holds run " + there->second +
                   "; resume into that run's own outdir or an empty one");
}

// A fingerprint of the training data (its size, every label, every 16th image): a resume on other
// data is refused, and a run's checkpoint says what it was trained on.
std::string data_fingerprint(const Cifar10& data) {
  const auto labels = data.labels().cpu().to(torch::kUInt8).contiguous();
  const auto images = data.images().cpu().slice(0, 0, c10::nullopt, 16).contiguous();
  const auto bytes = [](const torch::Tensor& t) {
    return std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes());
  };
  return fmt::format("{}:{:08x}:{:08x}", labels.numel(), crc32(bytes(labels)),
                     crc32(bytes(images)));
}

void check_same_data(const Cifar10& data, TrainOptions& options) {
  const auto fingerprint = data_fingerprint(data);
  if (!options.data_fingerprint.empty() && options.data_fingerprint != fingerprint) {
    throw UsageError("--root_dir " + options.root_dir +
                     ": not the data this run was trained on (fingerprint " + fingerprint +
                     ", the checkpoint records " + options.data_fingerprint +
                     "); point --root_dir at that data set");
  }
  options.data_fingerprint = fingerprint;
}

// Where a new run (not --resume) may start: an outdir without a run's files, or with --overwrite,
// which removes exactly those files (not a user's others). Called with the outdir locked.
void claim_outdir_for_a_new_run(const OutputPaths& paths, const TrainOptions& options) {
  auto previous = existing_run_files(paths);
  if (!holds_outputs_a_new_run_would_replace(previous, paths)) return;
  if (!options.overwrite) {
    const auto count = std::to_string(previous.size());
    previous.erase(std::remove(previous.begin(), previous.end(), paths.real_grid()),
                   previous.end());
    const bool has_checkpoint = previous.front() == paths.checkpoint;
    throw UsageError(
        "--outdir " + options.outdir +
        (has_checkpoint
             ? " already holds a run (checkpoint.pt)"
             : " holds " + previous.front() +
                   " (from an earlier run or the original script), which a new run would replace") +
        "; " + (has_checkpoint ? "continue it with --resume or " : "move it away or ") +
        "start afresh with --overwrite (removes the previous run's " + count + " files)");
  }
  spdlog::info("--overwrite: removing the previous run's {} files in {}", previous.size(),
               options.outdir);
  remove_files(previous);
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

void log_machine(const torch::Device& device, int threads, const BlasInfo& blas,
                 bool deterministic) {
  spdlog::info("acgan {} | device {} | {} threads | BLAS: {}{}", ACGAN_VERSION, device.str(),
               threads, blas.kind, blas.library.empty() ? "" : " (" + blas.library + ")");
  if (!blas.advice.empty()) spdlog::warn("{}", blas.advice);
  if (device.is_cpu()) spdlog::info("CPU bf16: {}", cpu_bf16_support());
  if (deterministic) {
    spdlog::info("deterministic: {}", device.is_cuda()
                                          ? "no cuDNN autotuning, no TF32, deterministic kernels"
                                          : "CPU runs repeat bit for bit anyway");
  }
}

void log_run(const TrainOptions& o) {
  spdlog::info("run: seed {} | nz {} | lr {} | beta1 {} | {} epochs | {} | outdir {}", o.seed, o.nz,
               o.lr, o.beta1, o.num_epochs, o.precision, o.outdir);
  spdlog::info("losses: {}{}, D's class loss on fakes {} | Adam: lr G {} D {}, betas ({}, {})",
               o.loss,
               o.label_smoothing > 0 ? fmt::format(" (real target {})", 1 - o.label_smoothing) : "",
               o.d_class_loss_on_fakes, o.lr_g > 0 ? o.lr_g : o.lr, o.lr_d > 0 ? o.lr_d : o.lr,
               o.beta1, o.beta2);
  spdlog::info(
      "recipe {} | spectral norm {} | G's weight average {} | DiffAugment {}", o.recipe,
      o.spectral_norm,
      o.g_ema > 0 ? fmt::format("decay {} (grids and evaluations use it)", o.g_ema) : "off",
      o.diffaugment);
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

// Rank 0 claims the outdir (the lock held until `lock` dies) and gives the run its identity.
void prepare_outdir(const OutputPaths& paths, TrainOptions& options,
                    std::optional<OutdirLock>& lock) {
  ensure_writable_dir(paths.outdir, "--outdir " + options.outdir);
  lock.emplace(paths.outdir);  // held until the run ends; checks repeated under it
  if (!options.resume) {
    claim_outdir_for_a_new_run(paths, options);
    options.run_id = new_run_id();
  }
  ensure_writable_dir(paths.checkpoints_dir, "--outdir " + options.outdir);
  ensure_writable_dir(paths.images_dir, "--outdir " + options.outdir);
  const auto temporaries = find_temporaries(paths);
  remove_files(temporaries.stale);
  for (const auto& [path, why] : temporaries.kept)
    spdlog::warn("{}: left as it is, though named like acgan's temporary ({})", path, why);
}

// Each rank's data: its own files, which must be rank 0's.
Cifar10 load_data_everywhere(Job& job, TrainOptions& options, const torch::Device& device) {
  std::optional<Cifar10> data;
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
  Cifar10 data = load_data_everywhere(job, options, device);
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
