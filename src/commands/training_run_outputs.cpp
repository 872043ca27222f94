// What a training run writes as it goes: grids, evaluations, checkpoints and the files beside them.
// The loop that calls these is in training_run.cpp. See include/acgan/commands/training_run.h.
#include "acgan/commands/training_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "acgan/error.h"
#include "acgan/eval/sample_source.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/stop_signal.h"
#include "acgan/training/training_data.h"

namespace fs = std::filesystem;

namespace acgan {

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

}  // namespace acgan
