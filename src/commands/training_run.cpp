// The training loop. See include/acgan/commands/training_run.h.
#include "acgan/commands/training_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "acgan/data/epoch_batches.h"
#include "acgan/error.h"
#include "acgan/eval/sample_source.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/crc32.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/runtime.h"
#include "acgan/training/class_losses.h"
#include "acgan/training/stop_signal.h"
#include "acgan/training/training_data.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using Clock = SteadyClock;

// The step's options as the flags set them.
StepOptions step_options_for(const TrainOptions& o, LossScaler& scaler) {
  auto step = step_options_for(parse_precision(o.precision), scaler);
  step.source_loss = parse_source_loss(o.loss);
  step.label_smoothing = o.label_smoothing;
  step.d_class_loss_on_fakes = parse_on_off("d_class_loss_on_fakes", o.d_class_loss_on_fakes);
  step.cond = parse_conditioning(o.cond);
  step.class_weight = class_weight(step.cond, o.cond_lambda);
  step.augment = parse_diffaugment(o.diffaugment);
  step.weights = loss_weights_for(parse_arch(o.arch));
  return step;
}

}  // namespace

TrainingRun::TrainingRun(TrainOptions options, const torch::Device& device, ImageDataset data,
                         Job& job, const std::string& resume_from, const std::string& resume_bytes)
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
  const auto noise = make_noise(real.size(0), options_.nz, state_.g->num_classes(), device_);
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

// The grids have no text: the log says which class each row is.
void TrainingRun::log_grid_rows() const {
  const auto& spec = data_.spec();
  const auto classes = grid_classes(spec.num_classes());
  std::vector<std::string> rows;
  for (const auto k : classes) rows.push_back(spec.class_names[static_cast<size_t>(k)]);
  spdlog::info("grids: {} of {}'s {} classes, one a row{}: {}", classes.size(),
               dataset_kind_name(spec.kind), spec.num_classes(),
               static_cast<int64_t>(classes.size()) < spec.num_classes() ? " (spread evenly)" : "",
               fmt::join(rows, " | "));
}

GeneratorImpl& TrainingRun::sampling_generator() {
  return state_.ema ? *state_.ema->generator() : *state_.g;
}

void TrainingRun::write_samples() {
  torch::NoGradGuard no_grad;
  auto& g = sampling_generator();
  const bool was_training = g.is_training();
  g.eval();
  const auto images = g.forward(state_.grid_z, state_.grid_c);  // (rows * columns, C, H, W)
  g.train(was_training);
  const auto rows = static_cast<int64_t>(grid_classes(g.num_classes()).size());
  save_grid_png(paths_.epoch_grid(state_.progress.epoch), images, state_.grid_z.size(0) / rows);
}

// Samples from the evaluation's own noise stream (sample_source.h), G back in training mode after:
// nothing the training reads changes, so a run with evaluations ends with the same weights.
void TrainingRun::evaluate() {
  const auto& p = state_.progress;
  spdlog::info("eval at epoch {}: judging {} samples", p.epoch, options_.eval_n);
  EvalReport report;
  try {
    const auto samples =
        sample_generator(sampling_generator(), options_.eval_n, options_.data_spec.num_classes(),
                         kEvalSeed, options_.batch_size, [] { return stop_requested() != 0; });
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

void TrainingRun::open_outputs() {
  const auto& p = state_.progress;
  job_.agreed(/*rank0_only=*/true, [&] {  // rank 0 alone writes
    metrics_ = std::make_unique<MetricsLog>(paths_.metrics, p.step);
    reporter_ = std::make_unique<ProgressReporter>(isatty(STDOUT_FILENO) != 0, options_.num_epochs,
                                                   batches_);
    if (evaluator_) {
      eval_log_ = std::make_unique<EvalLog>(paths_.eval_log, p.step);
      spdlog::info("evaluating every {} epochs on {} samples: {}", options_.eval_every,
                   options_.eval_n, fmt::join(evaluator_->metrics(), ", "));
    }
    log_grid_rows();
    if (!fs::exists(paths_.real_grid())) {
      const auto classes = grid_classes(data_.spec().num_classes());
      save_grid_png(paths_.real_grid(), real_examples(data_, classes, kGridColumns), kGridColumns);
    }
  });
}

int TrainingRun::stop_on_signal() {
  const auto& p = state_.progress;
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

void TrainingRun::log_finish(double seconds) const {
  const auto& p = state_.progress;
  spdlog::info("done: {} epochs, {} steps in {}{}", p.epoch, p.step, format_duration(seconds),
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
        100 * per_step * static_cast<double>(run_steps_) / std::max(seconds, 1e-9));
  }
  spdlog::info(
      "outputs in {}: metrics.csv, images/ (sample grids), checkpoint.pt, checkpoints/, gen.pt, "
      "disc.pt",
      options_.outdir);
}

int TrainingRun::run() {
  const auto& p = state_.progress;
  open_outputs();
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
    if (!train_epoch()) return stop_on_signal();
  }
  log_finish(seconds_since(start));
  return kExitOk;
}

}  // namespace acgan
