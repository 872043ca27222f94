// See include/acgan/eval/classifier_training.h.
#include "acgan/eval/classifier_training.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <utility>

#include "acgan/data/datasets.h"
#include "acgan/error.h"
#include "acgan/eval/classifier.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/output_file.h"
#include "acgan/models/models.h"
#include "acgan/runtime.h"
#include "acgan/training/progress_bar.h"
#include "acgan/training/train_options.h"

namespace acgan {
namespace {

constexpr int64_t kPad = 4;
constexpr double kWeightDecay = 5e-4;
constexpr double kLabelSmoothing = 0.1;
constexpr double kWarmupShare = 0.25;

void check_options(const ClassifierTrainOptions& o) {
  require_flag(o.num_epochs > 0, "num_epochs", "a positive number", std::to_string(o.num_epochs));
  require_flag(o.batch_size > 1, "batch_size", "2 or more", std::to_string(o.batch_size));
  require_flag(o.width >= 1 && o.width <= 256, "width", "1..256", std::to_string(o.width));
  require_flag(std::isfinite(o.lr) && o.lr > 0, "lr", "a finite number > 0",
               fmt::format("{}", o.lr));
  require_flag(o.subset >= 0, "subset", "0 (all) or a positive number", std::to_string(o.subset));
  require_flag(o.seed >= 0 && o.seed <= kMaxSeed, "seed", "0.." + std::to_string(kMaxSeed),
               std::to_string(o.seed));
  parse_dataset_kind(o.dataset);
  parse_cifar100_labels(o.labels);
  check_channels_flag(o.channels);
  const auto& out = o.out;
  require_flag(out.size() > 3 && out.compare(out.size() - 3, 3, ".pt") == 0, "out",
               "a file name ending in .pt", "'" + out + "'");
  std::vector<NamedPath> inputs;
  for (const auto& file : dataset_input_files(o.root_dir)) inputs.push_back({"--root_dir", file});
  check_output_file({"--out", out}, inputs, o.overwrite);
}

// Random crops of the reflect-padded batch and random horizontal flips: x (B, C, H, H).
torch::Tensor augment(const torch::Tensor& x, torch::Generator& generator) {
  const int64_t b = x.size(0), side = x.size(2);
  const auto padded = torch::reflection_pad2d(x, {kPad, kPad, kPad, kPad});
  const auto cpu_long = torch::TensorOptions().dtype(torch::kLong);
  const auto dy = torch::randint(2 * kPad + 1, {b}, generator, cpu_long).to(x.device());
  const auto dx = torch::randint(2 * kPad + 1, {b}, generator, cpu_long).to(x.device());
  const auto flip = torch::randint(2, {b}, generator, cpu_long).to(x.device());
  const auto positions = torch::arange(side, cpu_long.device(x.device()));
  const auto rows = (dy.unsqueeze(1) + positions).view({b, 1, side, 1});
  auto cols = dx.unsqueeze(1) + positions;
  // A flipped image reads its columns right to left.
  cols = torch::where(flip.unsqueeze(1) == 1, cols.flip(1), cols).view({b, 1, 1, side});
  const auto batch = torch::arange(b, cpu_long.device(x.device())).view({b, 1, 1, 1});
  const auto channel = torch::arange(x.size(1), cpu_long.device(x.device())).view({1, -1, 1, 1});
  using torch::indexing::TensorIndex;
  return padded.index(
      {TensorIndex(batch), TensorIndex(channel), TensorIndex(rows), TensorIndex(cols)});
}

// Per-channel mean and standard deviation of uint8 images (N, C, H, W), in pixel units, summed in
// float64 over chunks (a whole float64 copy of CIFAR-10 would take 1.2 GB).
std::pair<torch::Tensor, torch::Tensor> channel_statistics(const torch::Tensor& images) {
  auto sum = torch::zeros({images.size(1)}, torch::kFloat64);
  auto squares = torch::zeros_like(sum);
  for (const auto& part : images.split(4096)) {
    const auto x = part.to(torch::kFloat64);
    sum += x.sum({0, 2, 3});
    squares += x.square().sum({0, 2, 3});
  }
  const double count = static_cast<double>(images.numel() / std::max<int64_t>(images.size(1), 1));
  const auto mean = sum / count;
  return {mean, (squares / count - mean.square()).clamp_min(1e-6).sqrt()};
}

double learning_rate(double peak, int64_t step, int64_t total) {
  const double t = static_cast<double>(step) / static_cast<double>(total);
  if (t < kWarmupShare) return peak * (0.1 + 0.9 * t / kWarmupShare);
  return peak * (1 - t) / (1 - kWarmupShare);
}

// Share of `data` the network labels right, with the flip averaged in.
double accuracy(Classifier& net, const ImageDataset& data, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  net->eval();
  int64_t right = 0;
  const int64_t n = data.images().size(0);
  for (int64_t i = 0; i < n; i += 500) {
    const int64_t m = std::min<int64_t>(500, n - i);
    const auto logits = net->forward_with_flip(data.images().narrow(0, i, m).to(device)).logits;
    right += (logits.argmax(1).cpu() == data.labels().narrow(0, i, m)).sum().item<int64_t>();
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

// What an epoch needs.
struct ClassifierTraining {
  const ClassifierTrainOptions& options;
  const ImageDataset& train;
  torch::Device device;
  Classifier net;
  torch::optim::Optimizer* optimizer;
  torch::Generator generator;  // order, crops and flips
  ProgressBar* bar;
  int64_t step, total_steps;
};

// One pass of the training set in a random order; the schedule follows the global `step`.
void train_epoch(ClassifierTraining& t, int64_t epoch) {
  const auto& o = t.options;
  t.net->train();
  const int64_t n = t.train.images().size(0), batches = n / o.batch_size;
  const auto order = torch::randperm(n, t.generator, torch::kLong);
  const auto loss_options =
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(kLabelSmoothing);
  double loss_sum = 0;
  int64_t right = 0;
  for (int64_t b = 0; b < batches; ++b, ++t.step) {
    const auto index = order.narrow(0, b * o.batch_size, o.batch_size);
    const auto pixels = t.train.images().index_select(0, index).to(t.device);
    const auto labels = t.train.labels().index_select(0, index).to(t.device);
    const auto x = augment(t.net->normalize(pixels), t.generator);
    for (auto& group : t.optimizer->param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options())
          .lr(learning_rate(o.lr, t.step, t.total_steps));
    t.optimizer->zero_grad();
    const auto logits = t.net->forward_normalized(x).logits;
    const auto loss = torch::nn::functional::cross_entropy(logits, labels, loss_options);
    loss.backward();
    t.optimizer->step();
    loss_sum += loss.item<double>();
    right += (logits.argmax(1) == labels).sum().item<int64_t>();
    t.bar->advance(o.batch_size);
  }
  spdlog::info("classifier epoch {}/{}: loss {:.4f}, training accuracy {:.2f} %", epoch + 1,
               o.num_epochs, loss_sum / static_cast<double>(batches),
               100.0 * static_cast<double>(right) / static_cast<double>(batches * o.batch_size));
}

}  // namespace

double train_classifier(const ClassifierTrainOptions& options) {
  check_options(options);
  const auto device = resolve_device(options.device);
  configure_blas();
  const int threads = configure_threads(options.threads);
  // Denormal floats in the gradients of images with flat black backgrounds (MNIST, Fashion-MNIST)
  // cost a fifth of the speed (167 -> 207 img/s on 2 EPYC cores); none matter to a classifier.
  // Flushed for this training only: LibTorch's default (off) is back when it returns or throws.
  struct FlushDenormals {
    FlushDenormals() { at::globalContext().setFlushDenormal(true); }
    ~FlushDenormals() { at::globalContext().setFlushDenormal(false); }
  } flush_denormals;
  DatasetRequest request;
  request.root = options.root_dir;
  request.kind = parse_dataset_kind(options.dataset);
  request.labels = parse_cifar100_labels(options.labels);
  request.side = kSeedImageSide;  // the generators' samples it will judge
  request.channels = options.channels;
  const auto found = detect_dataset(request);
  auto train = load_dataset(request, Split::kTrain);
  const auto test = load_dataset(request, Split::kTest);
  const auto& spec = train.spec();
  spdlog::info("data: {} ({})", spec.describe(), found.reason);
  if (options.subset > 0) train = train.head(std::min<int64_t>(options.subset, *train.size()));
  const int64_t n = static_cast<int64_t>(*train.size());
  if (n < options.batch_size) {
    throw UsageError(fmt::format("--batch_size: expected at most the {} training images, got {}", n,
                                 options.batch_size));
  }
  torch::manual_seed(static_cast<uint64_t>(options.seed));
  Classifier net(
      ClassifierOptions().width(options.width).classes(spec.num_classes()).channels(spec.channels));
  const auto [mean, std] = channel_statistics(train.images());
  net->set_normalization(mean, std);
  net->to(device);
  torch::optim::SGD optimizer(
      net->parameters(),
      torch::optim::SGDOptions(options.lr).momentum(0.9).nesterov(true).weight_decay(kWeightDecay));
  const int64_t total_steps = n / options.batch_size * options.num_epochs;
  ProgressBar bar("classifier training", total_steps * options.batch_size);
  ClassifierTraining t{
      options, train,      device,
      net,     &optimizer, at::detail::createCPUGenerator(static_cast<uint64_t>(options.seed)),
      &bar,    0,          total_steps};
  spdlog::info(
      "classifier: ResNet-9 width {} ({} parameters) on {} images, {} epochs of {} "
      "batches, {} on {} threads",
      options.width, count_parameters(*net), n, options.num_epochs, n / options.batch_size,
      device.str(), threads);
  for (int64_t epoch = 0; epoch < options.num_epochs; ++epoch) train_epoch(t, epoch);
  bar.finish();
  const double test_accuracy = accuracy(net, test, device);
  save_classifier(options.out, net, test_accuracy, spec);
  spdlog::info("classifier: test accuracy {:.2f} % on {} images; wrote {}", 100 * test_accuracy,
               *test.size(), options.out);
  return test_accuracy;
}

}  // namespace acgan
