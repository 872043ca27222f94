// Everything a training run is configured by: the original script's 8 flags (same names, same
// defaults) and acgan's additions. Filled by the CLI (cli.cpp), checked by validate().
#pragma once

#include <cstdint>
#include <set>
#include <string>

namespace acgan {

struct TrainOptions {
  // The original script's flags.
  std::string root_dir = "./";
  int64_t num_workers = 2;
  int64_t batch_size = 100;
  int64_t nz = 110;
  int64_t num_epochs = 200;
  double lr = 0.0002;
  double beta1 = 0.5;
  std::string outdir = "./";

  // acgan's additions.
  int64_t seed = -1;               // -1: drawn from the clock, logged and kept in the checkpoint
  std::string device = "auto";     // auto | cpu | cuda | cuda:N
  bool resume = false;             // continue from a checkpoint
  std::string resume_path;         // that checkpoint; empty: outdir/checkpoint.pt
  bool overwrite = false;          // start afresh in an outdir that holds a run
  int64_t sample_every = 1;        // epochs between sample grids
  int64_t checkpoint_every = 10;   // epochs between kept checkpoints/epoch_NNN.pt
  int64_t log_every = 50;          // iterations between log lines
  int64_t subset = 0;              // train on the first N images; 0: all
  int64_t threads = 0;             // intra-op threads; 0: one per core
  double dropout = 0.5;            // D's dropout probability (the original's 0.5)
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (precision.h)
  bool deterministic = false;      // CUDA: no cuDNN autotuning, no TF32, deterministic kernels

  // Not flags: the run's identity (drawn when it starts) and its data set's fingerprint, kept in
  // the checkpoint so that a resume cannot mix runs in one outdir or continue on other data.
  std::string run_id;
  std::string data_fingerprint;

  // Flags the user gave explicitly (long names, e.g. "lr"): on --resume these must agree with the
  // checkpoint, the others are taken from it.
  std::set<std::string> given;
};

// --num_workers' bound: batch assembly of 32x32 images never needs more, and each is a thread.
constexpr int64_t kMaxWorkers = 64;

// The largest seed: LibTorch's CPU generator (mt19937) keeps 32 bits of a seed, so larger ones
// would repeat smaller ones' runs.
constexpr int64_t kMaxSeed = 4294967295;

// Throws acgan::UsageError naming the first flag out of range.
void validate(const TrainOptions& options);

}  // namespace acgan
