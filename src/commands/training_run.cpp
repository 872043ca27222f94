// The training loop. See include/acgan/commands/training_run.h.
#include "acgan/commands/training_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "acgan/data/epoch_batches.h"
#include "acgan/error.h"
#include "acgan/io/crc32.h"
#include "acgan/runtime.h"
#include "acgan/training/stop_signal.h"

namespace fs = std::filesystem;

namespace acgan {

using Clock = SteadyClock;

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
  const auto& p = state_.progress;
  const int64_t n = options_.d_steps;
  const int64_t steps_per_epoch = (batches_ + n - 1) / n;
  const int64_t left = (options_.num_epochs - p.epoch - 1) * steps_per_epoch +
                       (std::max<int64_t>(batches_ - p.batch, 0) + n - 1) / n;
  return seconds_since(run_start_) / run_steps_ * static_cast<double>(left);
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
  const auto why = options_.d_steps != 1
                       ? std::string("the captured step holds one D update, this run --d_steps " +
                                     std::to_string(options_.d_steps))
                       : CudaGraphStep::where_not_capturable(device_, step_options_, *state_.opt_g,
                                                             *state_.opt_d);
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

// One training step: noise for each D update's fakes, then train_step (train_step.h), or the
// captured graph's replay. The noise is drawn in order before the step, as for a single update.
torch::Tensor TrainingRun::step_on(const std::vector<torch::data::Example<>>& batches) {
  if (graph_step_) return (*graph_step_)(batches.front().data, batches.front().target);
  std::vector<DBatch> d_batches;
  for (const auto& batch : batches) {
    d_batches.push_back(
        {batch.data, batch.target,
         make_noise(batch.data.size(0), options_.nz, state_.g->num_classes(), device_)});
  }
  if (auto* dp = job_.data_parallel())  // BatchNorm's running statistics: rank 0's
    dp->broadcast_buffers({state_.g.get(), state_.d.get()});
  return train_step(*state_.g, *state_.d, *state_.opt_g, *state_.opt_d, d_batches, step_options_);
}

// The next step's batches: --d_steps of them, fewer at the epoch's end; none when it is over.
std::vector<torch::data::Example<>> TrainingRun::next_step_batches(EpochBatches& batches) const {
  std::vector<torch::data::Example<>> step;
  while (static_cast<int64_t>(step.size()) < options_.d_steps) {
    auto batch = batches.next();
    if (!batch) break;
    step.push_back(std::move(*batch));
  }
  return step;
}

// Whether a step over batches [first, first + n) of the epoch writes a log line: when one of them
// is a multiple of --log_every (one batch a step: when its index is).
bool TrainingRun::is_log_point(int64_t first, int64_t n) const {
  const int64_t every = options_.log_every;
  return (first + n - 1) / every * every >= first;
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
  for (auto step = next_step_batches(batches); !step.empty(); step = next_step_batches(batches)) {
    int64_t images = 0;
    for (const auto& batch : step) images += batch.data.size(0);
    // A NaN anywhere stays in the losses (BCE with logits does not assert on it, even on CUDA)
    // and is caught by flush_stats before anything is written.
    const auto stats = step_on(step);
    if (state_.ema) state_.ema->update(*state_.g, p.step + 1);
    const int64_t iteration = p.batch;  // the step's first batch in the epoch
    const auto n = static_cast<int64_t>(step.size());
    const bool log_point = is_log_point(iteration, n);
    pending_stats_.push_back(agree_on_step(stats, log_point));
    pending_index_.push_back({p.epoch, iteration, p.step + 1});
    window_images_ += images;
    epoch_images += images;
    p.batch += n;
    ++p.step;
    ++run_steps_;
    if (log_point) flush_stats(/*log=*/true);
    if (reporter_) reporter_->on_step(p.epoch, p.batch - 1, eta_seconds());
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
  spdlog::info("training epochs {}..{} from step {} ({} iterations an epoch{})", p.epoch + 1,
               options_.num_epochs, p.step, batches_,
               options_.d_steps == 1
                   ? ""
                   : fmt::format("; a step: {} D updates on as many batches, then one G update",
                                 options_.d_steps));
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
