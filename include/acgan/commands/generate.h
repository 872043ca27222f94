// `acgan generate`: class-conditioned samples from a trained generator (a full checkpoint or a
// gen.pt state dict): a grid with one row per requested class, and optionally one PNG per sample.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "acgan/data/data_spec.h"
#include "acgan/training/train_step.h"

namespace acgan {

// --n's bound: a grid row of 1,000 samples is 34,000 pixels wide already.
constexpr int64_t kMaxSamplesPerClass = 1000;

struct GenerateOptions {
  std::string checkpoint;             // checkpoint.pt, checkpoints/epoch_NNN.pt or gen.pt
  std::string classes;                // "0,3,9" or "cat,dog"; empty: all of the data's
  int64_t n = 10;                     // samples per class (the grid's columns)
  int64_t seed = 0;                   // noise seed
  std::string out = "generated.png";  // output_file.h's rule, as each individual file
  std::string individual_dir;         // if set, also one PNG per sample here
  bool overwrite = false;             // --out and individual files may replace existing files
  std::string device = "auto";
  bool same_noise = false;   // column j has the same noise in every class row
  bool interpolate = false;  // each row walks linearly from one noise vector to another
};

// The noise of a grid: rows of `n` for each class in `classes`, z (rows * n, nz) and its classes
// (rows * n), drawn from the global generator:
//   default:      independent N(0, 1) draws (the same draws as before these modes existed)
//   same_noise:   one draw per column, shared by every row (does the class or the noise decide?)
//   interpolate:  per row, z_j = (1 - t_j) a + t_j b for t_j = j / (n - 1), a and b drawn (shared
//                 by every row with same_noise as well)
Noise grid_noise(const std::vector<int64_t>& classes, int64_t n, int64_t nz, bool same_noise,
                 bool interpolate);

// "0,3,9", "cat,dog,9" -> {0, 3, 9} with spec's names; empty -> all classes. Throws
// acgan::UsageError naming the bad entry.
std::vector<int64_t> parse_classes(const std::string& text, const DataSpec& spec);

// The files --individual writes for `classes` (<name>_NNN.png, n per class, in grid order; a '/'
// in a class name becomes '_').
std::vector<std::string> individual_files(const GenerateOptions& options,
                                          const std::vector<int64_t>& classes,
                                          const DataSpec& spec);

// Throws acgan::UsageError for a bad flag (before the checkpoint is read).
void check_generate_flags(const GenerateOptions& options);
// Throws acgan::UsageError for a bad option or an output the rule refuses, before anything is
// written; the classes are `spec`'s (the checkpoint's).
void check_generate_options(const GenerateOptions& options, const DataSpec& spec);

// Writes the grid (and the individual files). Throws acgan::Error / UsageError on failure.
void generate(const GenerateOptions& options);

}  // namespace acgan
