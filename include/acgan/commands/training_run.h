// The training loop of `acgan train`: epochs of steps over a joined job (distributed/job.h), with
// what each epoch writes into the claimed outdir (grids, metrics.csv, eval.csv, checkpoints) and a
// graceful stop on SIGINT / SIGTERM. It does not parse flags, claim the outdir or adopt a resume's
// configuration (training/outdir_claim.h, training/resume_policy.h); train.cpp joins the parts.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "acgan/clock.h"
#include "acgan/data/epoch_batches.h"
#include "acgan/data/image_dataset.h"
#include "acgan/distributed/job.h"
#include "acgan/eval/eval_log.h"
#include "acgan/eval/evaluator.h"
#include "acgan/io/outdir.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/cuda_graph_step.h"
#include "acgan/training/metrics_log.h"
#include "acgan/training/progress_reporter.h"
#include "acgan/training/train_options.h"
#include "acgan/training/train_step.h"

namespace acgan {

// The noise seed of every evaluation during training: each epoch's evaluation sees the same noise.
constexpr int64_t kEvalSeed = 0;

// One run of the step loop on a joined job whose outdir is claimed: the epochs, and what they
// write as they go (metrics, grids, evaluations, checkpoints); a graceful stop on a signal. A step
// takes the epoch's next --d_steps batches (fewer at its end): that many D updates, one G update,
// one metrics row.
class TrainingRun {
 public:
  // `resume_bytes`: the checkpoint `resume_from` to continue, read by rank 0; empty: a new run.
  TrainingRun(TrainOptions options, const torch::Device& device, ImageDataset data, Job& job,
              const std::string& resume_from, const std::string& resume_bytes);

  // --eval_every's evaluator, built before anything was written (a bad network file fails first).
  void set_evaluator(std::unique_ptr<Evaluator> evaluator) { evaluator_ = std::move(evaluator); }
  int run();

 private:
  void continue_random_streams();
  void use_cuda_graphs();
  torch::Tensor step_on(const std::vector<torch::data::Example<>>& batches);
  std::vector<torch::data::Example<>> next_step_batches(EpochBatches& batches) const;
  bool is_log_point(int64_t first, int64_t n) const;
  torch::Tensor agree_on_step(const torch::Tensor& stats, bool log_point);
  void check_weights_agree();
  bool train_epoch();  // false when stopped by a signal
  void flush_stats(bool log);
  void end_epoch(double seconds, int64_t images);
  void write_checkpoint(bool keep_copy);
  // G's weight average with --g_ema, else G: what grids and evaluations sample.
  GeneratorImpl& sampling_generator();
  void log_grid_rows() const;
  void open_outputs();   // metrics, progress, eval log, the real grid (rank 0)
  int stop_on_signal();  // checkpoint and how to resume; the exit code
  void log_finish(double seconds) const;
  void write_samples();
  void evaluate();
  double eta_seconds() const;
  [[noreturn]] void throw_diverged(int64_t step, int64_t epoch, int64_t iteration,
                                   const std::string& what);
  std::string kept_state_note() const;

  TrainOptions options_;
  OutputPaths paths_;
  torch::Device device_;
  ImageDataset data_;
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
  SteadyClock::time_point window_start_ = SteadyClock::now();
  int64_t run_steps_ = 0;
  SteadyClock::time_point run_start_ = SteadyClock::now();
  int stop_signal_ = 0;  // the signal the job agreed to stop on (every rank's the same)
};

}  // namespace acgan
