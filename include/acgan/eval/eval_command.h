// `acgan eval`: judges a checkpoint's samples or a folder of PNG files against real CIFAR-10 and
// prints a table, optionally writing JSON (evaluator.h has the metrics).
#pragma once

#include <cstdint>
#include <string>

#include "acgan/eval/evaluator.h"
#include "acgan/training/train_options.h"  // kMaxEvalSamples, --n's bound as --eval_n's

namespace acgan {

struct EvalCommandOptions {
  std::string checkpoint;         // a full checkpoint or a gen.pt
  int64_t n = 50000;              // samples drawn from the checkpoint, classes balanced
  int64_t seed = 0;               // their noise (and the metrics' subsets and pairs)
  std::string images;             // or: a folder of PNG files
  std::string json;               // also write the report here (output_file.h's rule)
  bool overwrite = false;         // --json may replace an existing file (never an input)
  std::string cache = "default";  // reference cache folder; "none": no cache
  int64_t threads = 0;
  EvalSettings settings;
};

// Throws acgan::UsageError / Error with one line on bad input.
EvalReport run_eval(const EvalCommandOptions& options);

}  // namespace acgan
