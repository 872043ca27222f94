// Data parallelism's arithmetic. See include/acgan/distributed/data_parallel.h.
#include "acgan/distributed/data_parallel.h"

#include <torch/torch.h>

#include <map>
#include <mutex>
#include <vector>

#include "acgan/clock.h"

namespace acgan {
namespace {

// Flattens `tensors` by dtype into one buffer each, lets `collective` work on it, and copies the
// result back: one collective per dtype instead of one per tensor.
template <typename Collective>
void bucketed(const std::vector<torch::Tensor>& tensors, Collective collective) {
  std::map<torch::ScalarType, std::vector<torch::Tensor>> by_type;
  for (const auto& t : tensors) by_type[t.scalar_type()].push_back(t);
  for (auto& [type, group] : by_type) {
    std::vector<torch::Tensor> flat;
    flat.reserve(group.size());
    for (const auto& t : group) flat.push_back(t.reshape({-1}));
    auto bucket = torch::cat(flat);
    collective(bucket);
    int64_t offset = 0;
    for (auto& t : group) {
      t.copy_(bucket.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace

torch::Tensor epoch_shard(const torch::Tensor& order, int64_t rank, int64_t world_size) {
  const int64_t per_rank = order.size(0) / world_size;
  return order.narrow(0, 0, per_rank * world_size)
      .view({per_rank, world_size})
      .select(1, rank)
      .contiguous();
}

uint64_t rank_seed(uint64_t seed, int64_t rank) {
  if (rank == 0) return seed;
  // splitmix64 of (seed, rank): neighbouring seeds and ranks land far apart; 32 bits, as
  // LibTorch's CPU generator keeps (train_options.h, kMaxSeed).
  uint64_t x = seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(rank);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return (x ^ (x >> 31)) & 0xFFFFFFFFULL;
}

void DataParallel::on_gradients(torch::nn::Module& network) {
  const auto start = SteadyClock::now();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (auto& p : network.parameters())
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  const double world = static_cast<double>(communicator_.world_size());
  bucketed(grads, [&](torch::Tensor& bucket) {
    communicator_.all_reduce_sum(bucket);
    if (world > 1) bucket.div_(world);
  });
  communication_seconds_ += seconds_since(start);
}

void DataParallel::broadcast_state(torch::nn::Module& network) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors = network.parameters();
  for (auto& b : network.buffers()) tensors.push_back(b);
  bucketed(tensors, [&](torch::Tensor& bucket) { communicator_.broadcast(bucket, 0); });
}

void DataParallel::broadcast_buffers(const std::vector<torch::nn::Module*>& networks) {
  const auto start = SteadyClock::now();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> buffers;
  for (auto* network : networks) {
    const auto own = network->buffers();
    buffers.insert(buffers.end(), own.begin(), own.end());
  }
  bucketed(buffers, [&](torch::Tensor& bucket) { communicator_.broadcast(bucket, 0); });
  communication_seconds_ += seconds_since(start);
}

torch::Tensor DataParallel::mean_stats_with_stops(const torch::Tensor& stats, int local_signal) {
  auto stops = torch::zeros({kNumStopSignals}, stats.options());
  for (int64_t i = 0; i < kNumStopSignals; ++i)
    if (kStopSignals[i] == local_signal) stops[i] = 1;
  auto both = torch::cat({stats, stops});
  const auto start = SteadyClock::now();
  communicator_.all_reduce_sum(both);
  communication_seconds_ += seconds_since(start);
  both.narrow(0, 0, stats.size(0)).div_(static_cast<double>(communicator_.world_size()));
  return both;
}

torch::Tensor DataParallel::gather_generator_states(at::Generator generator) {
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.get_state();
  }
  // A sum of rows that are zero but on their own rank: an all-gather with the one collective
  // every backend has. int32 because not every backend sums bytes.
  const int64_t world = communicator_.world_size(), rank = communicator_.rank();
  auto all = torch::zeros({world, state.numel()}, torch::kInt);
  all[rank].copy_(state.to(torch::kInt));
  communicator_.all_reduce_sum(all);
  return all.to(torch::kUInt8);
}

int agreed_stop_signal(const torch::Tensor& stops, int local_signal) {
  if (local_signal != 0) return local_signal;
  const auto counts = stops.cpu();
  for (int64_t i = 0; i < kNumStopSignals; ++i)
    if (counts[i].item<double>() > 0) return kStopSignals[i];
  return 0;
}

}  // namespace acgan
