// Data parallelism as PyTorch's DistributedDataParallel does it, on communicator.h's collectives:
// one process per device, each training the same networks on its own shard of every epoch.
// Rank 0's initial weights and buffers go to every rank; after each backward pass the gradients
// are summed over ranks as one flat bucket per network and divided by the world size (Gloo has no
// average), so every optimizer step sees the gradient of the global batch and the weights stay
// bit-identical on every rank; BatchNorm's running statistics are rank 0's, sent before each
// step (DDP's broadcast_buffers). What each rank computes alone is the step itself (train_step.h);
// which rank writes is the trainer's business.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <vector>

#include "acgan/distributed/communicator.h"
#include "acgan/training/stop_signal.h"
#include "acgan/training/train_step.h"

namespace acgan {

// The indices of an epoch's `order` (a permutation of n) that `rank` trains on: order[rank],
// order[rank + world], ... up to the first (n / world) * world entries, as DistributedSampler
// deals them out with drop_last. The last n % world entries of each epoch's order (a different
// few each epoch) are dropped, so that every rank has as many batches, of the same sizes.
torch::Tensor epoch_shard(const torch::Tensor& order, int64_t rank, int64_t world_size);

// The seed of `rank`'s random stream (noise, dropout, DiffAugment): the run's seed on rank 0, so a
// world of one draws exactly what a plain run does, and a mix of seed and rank elsewhere.
uint64_t rank_seed(uint64_t seed, int64_t rank);

class DataParallel : public GradientHook {
 public:
  explicit DataParallel(Communicator& communicator) : communicator_(communicator) {}

  Communicator& communicator() { return communicator_; }

  // The mean of every rank's gradients in each parameter's .grad (undefined ones left alone: every
  // rank runs the same graph, so they are the same ones everywhere).
  void on_gradients(torch::nn::Module& network) override;
  // Rank 0's parameters and buffers on every rank.
  void broadcast_state(torch::nn::Module& network);
  // Rank 0's buffers of every network on every rank, in one collective per dtype.
  void broadcast_buffers(const std::vector<torch::nn::Module*>& networks);

  // One step's statistics (kNumStepStats) averaged over ranks, followed by kNumStopSignals
  // counts: how many ranks were asked to stop by each of kStopSignals. One small all-reduce;
  // nothing is read on the host.
  torch::Tensor mean_stats_with_stops(const torch::Tensor& stats, int local_signal);

  // Seconds this rank spent in the per-step collectives so far (gradients, buffers, statistics),
  // waits for slower ranks included; on CUDA the host's side of them.
  double communication_seconds() const { return communication_seconds_; }

  // Every rank's state of `generator`, (world size, state bytes) uint8, row r rank r's.
  torch::Tensor gather_generator_states(at::Generator generator);  // a shared handle

 private:
  Communicator& communicator_;
  double communication_seconds_ = 0;
};

// The signal the job stops on after mean_stats_with_stops' counts `stops` (kNumStopSignals): this
// rank's own when it got one, else the first that another rank got; 0 when none.
int agreed_stop_signal(const torch::Tensor& stops, int local_signal);

}  // namespace acgan
