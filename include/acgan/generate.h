// `acgan generate`: class-conditioned samples from a trained generator (a full checkpoint or a
// gen.pt state dict): a grid with one row per requested class, and optionally one PNG per sample.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acgan {

// --n's bound: a grid row of 1,000 samples is 34,000 pixels wide already.
constexpr int64_t kMaxSamplesPerClass = 1000;

struct GenerateOptions {
  std::string checkpoint;  // checkpoint.pt, checkpoints/epoch_NNN.pt or gen.pt
  std::string classes;     // "0,3,9" or "cat,dog"; empty: all ten
  int64_t n = 10;          // samples per class (the grid's columns)
  int64_t seed = 0;        // noise seed
  std::string out = "generated.png";
  std::string individual_dir;  // if set, also one PNG per sample here
  std::string device = "auto";
};

// "0,3,9", "cat,dog,9" -> {0, 3, 9}; empty -> 0..9. Throws acgan::UsageError naming the bad entry.
std::vector<int64_t> parse_classes(const std::string& text);

// Writes the grid (and the individual files). Throws acgan::Error / UsageError on failure.
void generate(const GenerateOptions& options);

}  // namespace acgan
