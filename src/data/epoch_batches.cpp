// Seeded epoch order and batch assembly. See include/acgan/data/epoch_batches.h.
#include "acgan/data/epoch_batches.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace acgan {
namespace {

// Hands the DataLoader our precomputed order, batch by batch.
class OrderSampler : public torch::data::samplers::Sampler<> {
 public:
  explicit OrderSampler(std::vector<size_t> order) : order_(std::move(order)) {}
  void reset(torch::optional<size_t> /*new_size*/ = torch::nullopt) override { position_ = 0; }
  torch::optional<std::vector<size_t>> next(size_t batch_size) override {
    if (position_ >= order_.size()) return torch::nullopt;
    const size_t end = std::min(order_.size(), position_ + batch_size);
    std::vector<size_t> batch(order_.begin() + position_, order_.begin() + end);
    position_ = end;
    return batch;
  }
  void save(torch::serialize::OutputArchive& /*archive*/) const override {}
  void load(torch::serialize::InputArchive& /*archive*/) override {}

 private:
  std::vector<size_t> order_;
  size_t position_ = 0;
};

// The data set seen as whole batches: one gather per batch instead of one get() per image.
class BatchView : public torch::data::datasets::BatchDataset<BatchView, torch::data::Example<>> {
 public:
  explicit BatchView(const ImageDataset& data) : data_(data) {}
  torch::data::Example<> get_batch(c10::ArrayRef<size_t> indices) override {
    std::vector<int64_t> idx(indices.begin(), indices.end());
    return data_.batch(torch::tensor(idx, torch::kLong));
  }
  torch::optional<size_t> size() const override { return data_.size(); }

 private:
  const ImageDataset& data_;
};

using Loader = torch::data::StatelessDataLoader<BatchView, OrderSampler>;

}  // namespace

struct EpochBatches::Workers {
  std::unique_ptr<Loader> loader;
  torch::data::Iterator<torch::data::Example<>> it;
  torch::data::Iterator<torch::data::Example<>> end;
  explicit Workers(std::unique_ptr<Loader> l)
      : loader(std::move(l)), it(loader->begin()), end(loader->end()) {}
};

torch::Tensor epoch_order(int64_t seed, int64_t epoch, int64_t n) {
  // A generator of its own per epoch: the order never depends on how many random numbers training
  // drew, so resuming mid-epoch needs no saved data-order state.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(
      static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(epoch));
  return torch::randperm(n, generator, torch::kLong);
}

int64_t batches_per_epoch(int64_t n, int64_t batch_size) {
  return (n + batch_size - 1) / batch_size;
}

EpochBatches::EpochBatches(const ImageDataset& data, const torch::Tensor& order, int64_t batch_size,
                           int64_t first_batch, int64_t num_workers)
    : data_(data), batch_size_(batch_size) {
  const int64_t start = std::min(order.size(0), first_batch * batch_size);
  // On a GPU the order moves there once per epoch: a host-to-device copy of each batch's indices
  // would wait for the queued step (a host synchronisation per batch).
  order_ = order.narrow(0, start, order.size(0) - start).contiguous().to(data.images().device());
  if (num_workers > 0 && data.images().device().is_cpu()) {
    std::vector<size_t> indices(order_.data_ptr<int64_t>(),
                                order_.data_ptr<int64_t>() + order_.numel());
    auto options = torch::data::DataLoaderOptions(static_cast<size_t>(batch_size))
                       .workers(static_cast<size_t>(num_workers))
                       .enforce_ordering(true);
    workers_ = std::make_unique<Workers>(
        torch::data::make_data_loader(BatchView(data), OrderSampler(std::move(indices)), options));
  }
}

EpochBatches::~EpochBatches() = default;

std::optional<torch::data::Example<>> EpochBatches::next() {
  if (workers_) {
    if (workers_->it == workers_->end) return std::nullopt;
    auto batch = *workers_->it;
    ++workers_->it;
    return batch;
  }
  if (position_ >= order_.size(0)) return std::nullopt;
  const int64_t size = std::min(batch_size_, order_.size(0) - position_);
  auto batch = data_.batch(order_.narrow(0, position_, size));
  position_ += size;
  return batch;
}

}  // namespace acgan
