// See include/acgan/eval/eval_command.h.
#include "acgan/eval/eval_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <iostream>
#include <optional>

#include "acgan/clock.h"
#include "acgan/data/datasets.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/output_file.h"
#include "acgan/runtime.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_options.h"

namespace acgan {
namespace {

void check_options(const EvalCommandOptions& o) {
  if (o.checkpoint.empty() == o.images.empty()) {
    throw UsageError(
        "eval: expected what to judge: --checkpoint FILE (samples of a generator) or --images "
        "DIR (PNG files), one of them");
  }
  if (o.n < 2 || o.n > kMaxEvalSamples) {
    throw UsageError(fmt::format("--n: expected 2..{} samples, got {}", kMaxEvalSamples, o.n));
  }
  if (o.seed < 0 || o.seed > kMaxSeed)
    throw UsageError(fmt::format("--seed: expected 0..{}, got {}", kMaxSeed, o.seed));
  const auto& s = o.settings;
  require_flag(s.batch_size >= 1, "batch_size", "a positive number", s.batch_size);
  require_flag(s.kid_subsets >= 1 && s.kid_subsets <= 100000, "kid_subsets", "1..100000",
               s.kid_subsets);
  require_flag(s.kid_subset_size >= 2, "kid_subset_size", "2 or more", s.kid_subset_size);
  require_flag(s.ms_ssim_pairs >= 1 && s.ms_ssim_pairs <= 1000000, "pairs", "1..1000000",
               s.ms_ssim_pairs);
  require_flag(o.threads >= 0 && o.threads <= 4 * usable_cpus(), "threads",
               "0 (one per core) .. 4 per CPU", o.threads);
  if (!o.json.empty()) {
    std::vector<NamedPath> inputs = {{"--checkpoint", o.checkpoint},
                                     {"--images", o.images},
                                     {"--classifier", s.classifier},
                                     {"--inception", s.inception}};
    for (const auto& file : dataset_input_files(s.root_dir)) inputs.push_back({"--root_dir", file});
    check_output_file({"--json", o.json}, inputs, o.overwrite);
  }
}

}  // namespace

EvalReport run_eval(const EvalCommandOptions& options) {
  check_options(options);
  configure_blas();
  configure_threads(options.threads);
  EvalSettings settings = options.settings;
  settings.seed = options.seed;
  settings.cache_dir = options.cache == "default" ? default_cache_dir()
                       : options.cache == "none"  ? ""
                                                  : options.cache;
  // The generator's data spec decides the real images (a folder of PNGs is CIFAR-10's).
  std::optional<Generator> g;
  if (!options.checkpoint.empty()) g.emplace(load_generator(options.checkpoint, &settings.spec));
  // Networks and real images before the sampling: a bad file fails in a second.
  Evaluator evaluator(settings);
  spdlog::info("metrics: {}", fmt::join(evaluator.metrics(), ", "));
  LabelledImages samples;
  const auto start = std::chrono::steady_clock::now();
  if (!options.checkpoint.empty()) {
    (*g)->to(resolve_device(settings.device));
    samples = sample_generator(**g, options.n, static_cast<int64_t>(evaluator.class_names().size()),
                               options.seed, settings.batch_size);
  } else {
    samples = read_image_folder(options.images, evaluator.class_names());
    spdlog::info("{}: read {} images", options.images, samples.images.size(0));
    for (const auto& path : samples.not_read) spdlog::warn("not read: {}", path);
    if (!samples.has_labels()) {
      spdlog::info("{}: the files have no classes; class-free metrics only", options.images);
    }
  }
  if (samples.images.size(0) < 2) throw Error("eval: need at least 2 images, got 1");
  const double sample_seconds = seconds_since(start);
  auto report = evaluator.evaluate(samples);
  report.seconds.insert(report.seconds.begin(),
                        {options.checkpoint.empty() ? "read_images" : "sampling", sample_seconds});
  if (!options.checkpoint.empty()) {
    report.settings.insert(report.settings.begin(),
                           {{"checkpoint", json_quote(options.checkpoint)},
                            {"sample_seed", std::to_string(options.seed)}});
  } else {
    std::vector<std::string> not_read;
    for (const auto& path : samples.not_read) not_read.push_back(json_quote(path));
    report.settings.insert(report.settings.begin(),
                           {{"images", json_quote(options.images)},
                            {"images_read", std::to_string(samples.images.size(0))},
                            {"images_not_read", fmt::format("[{}]", fmt::join(not_read, ", "))}});
    if (!samples.not_read.empty()) {
      report.notes.push_back(
          fmt::format("{} paths named .png not read (see the warnings)", samples.not_read.size()));
    }
  }
  std::cout << report_table(report, evaluator.class_names()) << std::flush;
  if (!options.json.empty()) {
    write_file_atomic(options.json, report_json(report));
    spdlog::info("wrote {}", options.json);
  }
  return report;
}

}  // namespace acgan
