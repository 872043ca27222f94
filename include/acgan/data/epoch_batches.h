// The batches of one epoch, in a seeded random order that depends only on (seed, epoch), so a run
// resumed mid-epoch sees exactly the batches the interrupted run would have. The last partial batch
// is kept, as in the original. With num_workers > 0 (and the data on the CPU) batches are assembled
// ahead of time by torch::data's DataLoader worker threads; otherwise inline, one gather each.
#pragma once

#include <torch/data/example.h>
#include <torch/types.h>

#include <memory>
#include <optional>

#include "acgan/data/image_dataset.h"

namespace acgan {

// The order of an epoch: a permutation of 0..n-1 (int64, CPU) drawn from its own generator.
torch::Tensor epoch_order(int64_t seed, int64_t epoch, int64_t n);

int64_t batches_per_epoch(int64_t n, int64_t batch_size);

class EpochBatches {
 public:
  EpochBatches(const ImageDataset& data, const torch::Tensor& order, int64_t batch_size,
               int64_t first_batch, int64_t num_workers);
  ~EpochBatches();
  EpochBatches(const EpochBatches&) = delete;
  EpochBatches& operator=(const EpochBatches&) = delete;

  // The next batch: data (B, 3, 32, 32) float in [-1, 1], target (B) int64; nullopt at the end.
  std::optional<torch::data::Example<>> next();

 private:
  struct Workers;  // the DataLoader, when num_workers > 0
  const ImageDataset& data_;
  torch::Tensor order_;  // remaining indices of the epoch
  int64_t batch_size_;
  int64_t position_ = 0;
  std::unique_ptr<Workers> workers_;
};

}  // namespace acgan
