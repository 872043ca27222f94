// Sampling from a trained generator. See include/acgan/commands/generate.h.
#include "acgan/commands/generate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "acgan/data/data_spec.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/output_file.h"
#include "acgan/runtime.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_options.h"
#include "acgan/training/train_step.h"

namespace acgan {

std::vector<int64_t> parse_classes(const std::string& text, const DataSpec& spec) {
  std::vector<int64_t> classes;
  if (text.empty()) {
    for (int64_t k = 0; k < spec.num_classes(); ++k) classes.push_back(k);
    return classes;
  }
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    const int64_t k = find_class(spec, item);
    if (k < 0) {
      const auto shown = std::min<size_t>(spec.class_names.size(), 10);
      throw UsageError(
          fmt::format("--classes: expected class numbers 0..{} or names ({}{}), got '{}'",
                      spec.num_classes() - 1,
                      fmt::join(spec.class_names.begin(), spec.class_names.begin() + shown, ", "),
                      shown < spec.class_names.size() ? ", ..." : "", item));
    }
    classes.push_back(k);
  }
  return classes;
}

// The checks that need no checkpoint: they fail before it is read.
void check_generate_flags(const GenerateOptions& options) {
  if (options.n <= 0 || options.n > kMaxSamplesPerClass) {
    throw UsageError("--n: expected 1.." + std::to_string(kMaxSamplesPerClass) +
                     " samples per class (the grid's columns), got " + std::to_string(options.n));
  }
  if (options.seed < 0 || options.seed > kMaxSeed) {
    throw UsageError("--seed: expected 0.." + std::to_string(kMaxSeed) +
                     " (LibTorch's CPU generator uses 32 bits of a seed), got " +
                     std::to_string(options.seed));
  }
  const auto& out = options.out;
  if (out.size() < 5 || out.compare(out.size() - 4, 4, ".png") != 0) {
    throw UsageError("--out: expected a file name ending in .png (acgan writes PNG), got '" + out +
                     "'");
  }
}

// Every check that can refuse the command line, before a file is written.
void check_generate_options(const GenerateOptions& options, const DataSpec& spec) {
  check_generate_flags(options);
  const auto& out = options.out;
  const std::vector<NamedPath> inputs = {{"--checkpoint", options.checkpoint}};
  check_output_file({"--out", out}, inputs, options.overwrite);
  if (options.individual_dir.empty()) return;
  std::error_code ec;
  const auto status = std::filesystem::status(options.individual_dir, ec);
  if (status.type() != std::filesystem::file_type::not_found &&
      status.type() != std::filesystem::file_type::directory) {
    throw UsageError("--individual: expected a directory (or a new path), got the file " +
                     options.individual_dir);
  }
  for (const auto& file : individual_files(options, parse_classes(options.classes, spec), spec)) {
    check_output_file({"--individual", file}, inputs, options.overwrite);
    if (is_same_or_inside(file, out)) {
      throw UsageError("--individual " + options.individual_dir + ": would write " + file +
                       ", which is --out; choose another folder");
    }
  }
}

std::vector<std::string> individual_files(const GenerateOptions& options,
                                          const std::vector<int64_t>& classes,
                                          const DataSpec& spec) {
  std::vector<std::string> files;
  for (const auto k : classes) {
    // A class name is a file name here: "T-shirt/top" becomes "T-shirt_top".
    auto stem = spec.class_names[static_cast<size_t>(k)];
    std::replace_if(
        stem.begin(), stem.end(), [](char c) { return c == '/' || c == '\\'; }, '_');
    if (stem.empty() || stem == "." || stem == "..") stem = std::to_string(k);
    for (int64_t i = 0; i < options.n; ++i) {
      const auto name = fmt::format("{}_{:03d}.png", stem, i);
      files.push_back((std::filesystem::path(options.individual_dir) / name).string());
    }
  }
  return files;
}

Noise grid_noise(const std::vector<int64_t>& classes, int64_t n, int64_t nz, bool same_noise,
                 bool interpolate) {
  const auto rows = static_cast<int64_t>(classes.size());
  const auto c = torch::tensor(classes, torch::kLong).repeat_interleave(n);  // (rows * n)
  if (!same_noise && !interpolate) return make_noise_for(c, nz);
  const int64_t draws = same_noise ? 1 : rows;  // independent rows, or one shared
  torch::Tensor z;                              // (draws, n, nz)
  if (interpolate) {
    const auto ends = torch::randn({draws, 2, nz});
    const auto t = (n > 1 ? torch::linspace(0, 1, n) : torch::zeros({1})).view({1, n, 1});
    z = ends.narrow(1, 0, 1) * (1 - t) + ends.narrow(1, 1, 1) * t;
  } else {
    z = torch::randn({1, n, nz});
  }
  return {z.expand({rows, n, nz}).reshape({rows * n, nz}).clone(), c};
}

void generate(const GenerateOptions& options) {
  check_generate_flags(options);
  DataSpec spec;
  Generator g = load_generator(options.checkpoint, &spec);
  check_generate_options(options, spec);
  const auto classes = parse_classes(options.classes, spec);
  const auto device = resolve_device(options.device);
  g->to(device);
  g->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(static_cast<uint64_t>(options.seed));
  const auto noise =
      grid_noise(classes, options.n, g->nz(), options.same_noise, options.interpolate);
  const auto images =
      g->forward(noise.z.to(device), noise.c.to(device)).cpu();  // (classes * n, C, H, W)
  const auto parent = std::filesystem::path(options.out).parent_path();
  if (!parent.empty()) ensure_writable_dir(parent.string(), "--out " + options.out);
  save_grid_png(options.out, images, options.n);
  spdlog::info("wrote {}: {} rows (classes {}) of {} samples{}", options.out, classes.size(),
               fmt::join(classes, ","), options.n,
               options.interpolate
                   ? (options.same_noise ? ", each row the same walk from one noise to another"
                                         : ", each row a walk from one noise to another")
               : options.same_noise ? ", one noise per column shared by every row"
                                    : "");
  if (options.individual_dir.empty()) return;
  ensure_writable_dir(options.individual_dir, "--individual " + options.individual_dir);
  const auto files = individual_files(options, classes, spec);
  for (int64_t i = 0; i < images.size(0); ++i) {
    write_file_atomic(files[static_cast<size_t>(i)],
                      encode_png(make_grid(images.narrow(0, i, 1), 1, 0)));
  }
  spdlog::info("wrote {} individual samples to {}", images.size(0), options.individual_dir);
}

}  // namespace acgan
