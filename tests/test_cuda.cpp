// The CUDA path, on a machine where LibTorch sees a GPU; elsewhere every test skips and says so
// (this project's CI machine has none). A GPU step against the CPU step from the same weights, the
// bf16 and fp16 steps against the fp32 one, batches assembled on the device, a training run with a
// resume through the public entry point, and --deterministic runs that repeat bit for bit (without
// it cuDNN's autotuned kernels may sum in a different order from run to run).
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "acgan/commands/train.h"
#include "acgan/data/cifar10.h"
#include "acgan/data/epoch_batches.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/cuda_graph_step.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace {

using acgan::Precision;

class CudaTest : public acgan::testing::SyntheticCifarTest<20> {  // 100 training images
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU: the CUDA path is untested here";
  }
  // One epoch of 5 steps on the GPU, seed 4.
  static acgan::TrainOptions gpu_run(const std::string& outdir) {
    acgan::TrainOptions o;
    o.root_dir = data_dir();
    o.outdir = outdir;
    o.batch_size = 20;
    o.num_epochs = 1;
    o.seed = 4;
    o.device = "cuda";
    return o;
  }
};

void copy_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(source[p.key()]);
  auto buffers = from.named_buffers();
  for (auto& b : to.named_buffers()) b.value().copy_(buffers[b.key()]);
}

struct Inputs {
  torch::Tensor x, y;
  acgan::Noise noise;
};

Inputs inputs_on(const torch::Device& device, int64_t nz) {
  torch::manual_seed(21);
  auto x = torch::rand({16, 3, 32, 32}) * 2 - 1;
  auto y = torch::randint(0, 10, {16}, torch::kLong);
  auto noise = acgan::make_noise(16, nz, acgan::kOriginalClasses, torch::kCPU);
  return {x.to(device), y.to(device), {noise.z.to(device), noise.c.to(device)}};
}

struct StepOutcome {
  torch::Tensor stats;                 // (kNumStepStats) on the CPU
  std::vector<torch::Tensor> weights;  // G's then D's parameters after the step, on the CPU
};

// One step from the weights of a seeded CPU state, on `device` in `precision`.
StepOutcome step_on(const torch::Device& device, Precision precision) {
  acgan::TrainOptions options;
  options.dropout = 0;  // dropout masks would come from different generators
  torch::manual_seed(3);
  acgan::TrainingState reference(options, torch::kCPU);
  acgan::TrainingState state(options, device);
  copy_state(*reference.g, *state.g);
  copy_state(*reference.d, *state.d);
  const auto in = inputs_on(device, options.nz);
  const auto how = acgan::step_options_for(precision, state.scaler);
  auto stats =
      acgan::train_step(*state.g, *state.d, *state.opt_g, *state.opt_d, in.x, in.y, in.noise, how);
  StepOutcome outcome{stats.cpu(), {}};
  for (auto* net : {static_cast<torch::nn::Module*>(state.g.get()),
                    static_cast<torch::nn::Module*>(state.d.get())}) {
    for (const auto& p : net->parameters()) outcome.weights.push_back(p.detach().cpu());
  }
  EXPECT_EQ(stats.device(), device);  // statistics stay on the GPU until a log line reads them
  for (const auto& p : state.g->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
  if (precision == Precision::kFp16) {
    EXPECT_EQ(state.scaler.current_scale(), 65536.0);  // no overflow in the first step
  }
  return outcome;
}

// No TF32 while in scope, so a GPU float32 step can be held to float32 rounding.
class NoTf32 {
 public:
  NoTf32()
      : cublas_(at::globalContext().allowTF32CuBLAS()),
        cudnn_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~NoTf32() {
    at::globalContext().setAllowTF32CuBLAS(cublas_);
    at::globalContext().setAllowTF32CuDNN(cudnn_);
  }

 private:
  bool cublas_, cudnn_;
};

using torch::indexing::Slice;
const auto kLosses = Slice(acgan::kLossDReal, acgan::kLossG + 1);

// Losses and every weight after one step, GPU against CPU, TF32 off: a broken CUDA optimizer step,
// freeze or loss is off by far more than float32 summation order. Adam's first step moves each
// weight by ~lr * sign(g), so weights whose gradient is at rounding level may differ by up to
// 2 lr (2 steps of 2e-4); all others within 1 % of lr. Few of the former: at most 1 in 1,000.
TEST_F(CudaTest, StepMatchesTheCpuStep) {
  const NoTf32 no_tf32;
  const auto cpu = step_on(torch::kCPU, Precision::kFp32);
  const auto gpu = step_on(torch::Device(torch::kCUDA, 0), Precision::kFp32);
  EXPECT_TRUE(torch::allclose(gpu.stats.index({kLosses}), cpu.stats.index({kLosses}), 1e-4, 0))
      << gpu.stats << cpu.stats;
  ASSERT_EQ(gpu.weights.size(), cpu.weights.size());
  int64_t off = 0, total = 0;
  for (size_t i = 0; i < cpu.weights.size(); ++i) {
    const auto diff = (gpu.weights[i] - cpu.weights[i]).abs();
    EXPECT_LE(diff.max().item<double>(), 2 * 2e-4 * 1.001) << "parameter " << i;
    off += (diff > 2e-6).sum().item<int64_t>();
    total += diff.numel();
  }
  EXPECT_LE(off, total / 1000) << off << " of " << total << " weights off by more than 1 % of lr";
}

// --deterministic on CUDA: two runs of the same seed give the same weights, bit for bit.
TEST_F(CudaTest, DeterministicRunsRepeatBitForBit) {
  std::vector<acgan::testing::TempDir> outs(2);
  for (auto& out : outs) {
    auto o = gpu_run(out.path());
    o.deterministic = true;
    ASSERT_EQ(acgan::train(o), 0);
  }
  const auto a = acgan::load_tensor_dict_file(outs[0] / "gen.pt");
  const auto b = acgan::load_tensor_dict_file(outs[1] / "gen.pt");
  for (const auto& item : a)
    EXPECT_TRUE(torch::equal(item.value().toTensor(), b.at(item.key()).toTensor()))
        << item.key().toStringRef();
}

TEST_F(CudaTest, MixedPrecisionStepsTrackTheFp32Step) {
  const torch::Device gpu(torch::kCUDA, 0);
  const auto fp32 = step_on(gpu, Precision::kFp32).stats;
  for (auto precision : {Precision::kBf16, Precision::kFp16}) {
    const auto low = step_on(gpu, precision).stats;
    EXPECT_TRUE(torch::isfinite(low).all().item<bool>()) << acgan::precision_name(precision);
    // bf16 rounds to 2^-9 relative, fp16 to 2^-11: 2 % leaves room for a few layers of that.
    EXPECT_TRUE(torch::allclose(low.index({kLosses}), fp32.index({kLosses}), 2e-2, 0))
        << acgan::precision_name(precision) << low << fp32;
  }
}

TEST_F(CudaTest, BatchesAreAssembledOnTheDevice) {
  const torch::Device gpu(torch::kCUDA, 0);
  const auto data = acgan::read_cifar10(data_dir(), acgan::Split::kTrain).to(gpu);
  const auto order = acgan::epoch_order(1, 0, *data.size());
  acgan::EpochBatches batches(data, order, 32, 0, /*num_workers=*/2);  // workers: CPU only
  const auto batch = batches.next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->data.device(), gpu);
  EXPECT_EQ(batch->target.device(), gpu);
  const auto cpu =
      acgan::read_cifar10(data_dir(), acgan::Split::kTrain).batch(order.narrow(0, 0, 32));
  EXPECT_TRUE(torch::equal(batch->data.cpu(), cpu.data));  // same normalisation, same order
}

TEST_F(CudaTest, TrainsAndResumesOnTheGpuInEachPrecision) {
  for (const char* precision : {"fp32", "bf16", "fp16"}) {
    acgan::testing::TempDir out;
    auto o = gpu_run(out.path());
    o.precision = precision;
    ASSERT_EQ(acgan::train(o), 0) << precision;
    o.resume = true;
    o.num_epochs = 2;
    o.given = {"num_epochs"};
    ASSERT_EQ(acgan::train(o), 0) << precision;
    EXPECT_EQ(acgan::testing::metric_steps(out / "metrics.csv").size(), 10u) << precision;
    EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("precision"), precision);
  }
}

// --cuda_graphs: the step captured after its eager warm-up and replayed. Each replay trains (the
// weights move with every batch), the host's Adam step counts follow the replays (a checkpoint
// written between them resumes with the right bias correction), and a short last batch runs
// eagerly beside the graph.
TEST_F(CudaTest, CapturedStepReplaysAndCountsItsSteps) {
  const torch::Device gpu(torch::kCUDA, 0);
  acgan::TrainOptions options;
  acgan::TrainingState state(options, gpu);
  const auto why = acgan::CudaGraphStep::where_not_capturable(gpu, {}, *state.opt_g, *state.opt_d);
  if (!why.empty()) GTEST_SKIP() << why;
  acgan::CudaGraphStepOptions graph_options;
  graph_options.warmup_steps = 2;
  acgan::CudaGraphStep step(*state.g, *state.d, *state.opt_g, *state.opt_d, {}, graph_options);
  const auto data = acgan::read_cifar10(data_dir(), acgan::Split::kTrain).to(gpu);
  const auto order = acgan::epoch_order(1, 0, *data.size());
  const auto first_weight = [&] { return state.g->parameters().front().detach().clone(); };
  for (int64_t i = 0; i < 8; ++i) {
    const int64_t size = i == 7 ? 12 : 16;  // the last: another size, eager
    const auto batch = data.batch(order.narrow(0, i * 8, size));
    const auto before = first_weight();
    const auto stats = step(batch.data, batch.target);
    EXPECT_TRUE(torch::isfinite(stats).all().item<bool>()) << "step " << i;
    EXPECT_FALSE(torch::equal(before, first_weight())) << "step " << i << " did not train";
  }
  EXPECT_TRUE(step.captured());
  EXPECT_EQ(step.replays(), 5);  // steps 2..6; 0, 1 warm up, 7 is eager
  for (auto* opt : {state.opt_g.get(), state.opt_d.get()}) {
    for (const auto& item : opt->state())
      EXPECT_EQ(static_cast<const torch::optim::AdamParamState&>(*item.second).step(), 8);
  }
}

// A whole run with --cuda_graphs (5 steps an epoch: 3 eager, then replays), resumed for a second
// epoch: it trains, and the checkpoint's Adam step counts are the steps taken.
TEST_F(CudaTest, TrainsAndResumesWithCudaGraphs) {
  acgan::testing::TempDir out;
  auto o = gpu_run(out.path());
  o.cuda_graphs = true;
  ASSERT_EQ(acgan::train(o), 0);
  o.resume = true;
  o.num_epochs = 2;
  o.given = {"num_epochs"};
  ASSERT_EQ(acgan::train(o), 0);
  const auto steps = acgan::testing::metric_steps(out / "metrics.csv");
  EXPECT_EQ(steps.size(), 10u);
  acgan::TrainingState state(o, torch::Device(torch::kCUDA, 0));
  acgan::load_checkpoint(out / "checkpoint.pt", state);
  for (const auto& item : state.opt_d->state())
    EXPECT_EQ(static_cast<const torch::optim::AdamParamState&>(*item.second).step(), 10);
}

}  // namespace
