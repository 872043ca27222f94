// The multi-tensor Adam against torch::optim::Adam (bit for bit on the CPU, over many steps, with
// the training's betas), checkpoint compatibility both ways, and the operation counts that make it
// worth having (op_counter.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "acgan/models/models.h"
#include "acgan/op_counter.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/multi_tensor_adam.h"
#include "test_support.h"

namespace {

// D's parameters, copied: two optimizers over two identical sets.
std::vector<torch::Tensor> parameters_of_d(torch::ScalarType dtype) {
  torch::manual_seed(3);
  acgan::Discriminator d;
  std::vector<torch::Tensor> out;
  for (const auto& p : d->parameters())
    out.push_back(p.detach().to(dtype).clone().requires_grad_());
  return out;
}

void set_gradients(std::vector<torch::Tensor>& params, int64_t step) {
  torch::manual_seed(static_cast<uint64_t>(100 + step));
  for (auto& p : params) p.mutable_grad() = torch::randn_like(p) * 1e-2;
}

// Steps from..to-1 of both optimizers, each on its own copy of the same gradients.
void step_both(torch::optim::Optimizer& x, std::vector<torch::Tensor>& a,
               torch::optim::Optimizer& y, std::vector<torch::Tensor>& b, int64_t from,
               int64_t to) {
  for (int64_t step = from; step < to; ++step) {
    set_gradients(a, step);
    set_gradients(b, step);
    x.step();
    y.step();
  }
}

torch::optim::AdamOptions training_options() {
  return torch::optim::AdamOptions(2e-4).betas({0.5, 0.999});  // the original's
}

}  // namespace

TEST(MultiTensorAdamTest, EqualsTorchAdamBitForBit) {
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    auto a = parameters_of_d(dtype), b = parameters_of_d(dtype);
    torch::optim::Adam reference(a, training_options());
    acgan::MultiTensorAdam multi(b, training_options());
    step_both(reference, a, multi, b, 0, 30);
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i << " " << dtype;
  }
}

// Adam's state written by either loads into the other, and both go on to the same weights.
TEST(MultiTensorAdamTest, ReadsAndWritesTorchAdamsState) {
  auto a = parameters_of_d(torch::kFloat), b = parameters_of_d(torch::kFloat);
  torch::optim::Adam reference(a, training_options());
  acgan::MultiTensorAdam multi(b, training_options());
  step_both(reference, a, multi, b, 0, 3);
  std::stringstream from_reference, from_multi;
  torch::serialize::OutputArchive out_a, out_b;
  reference.save(out_a);
  multi.save(out_b);
  out_a.save_to(from_reference);
  out_b.save_to(from_multi);
  torch::serialize::InputArchive in_a, in_b;
  in_a.load_from(from_multi);  // each reads the other's
  in_b.load_from(from_reference);
  torch::optim::Adam reference2(a, training_options());
  acgan::MultiTensorAdam multi2(b, training_options());
  reference2.load(in_a);
  multi2.load(in_b);
  step_both(reference2, a, multi2, b, 3, 6);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

// The fused kernel (LibTorch 2.4+ on the CPU; 2.0+ on CUDA): the same Adam within rounding over
// 30 steps. It computes each element's update in one expression where the loop rounds after each
// operation, so the two may part by a rounding per step: float32 ~1e-7 relative, float64 ~1e-16,
// summed over the steps. (Measured with python3-torch 2.6 on Zen 5 under its AVX512, AVX2 and
// default kernels: no difference at all, so these bounds leave room for any CPU.)
TEST(MultiTensorAdamTest, FusedKernelMatchesTorchAdam) {
  if (!acgan::fused_adam_available(c10::DeviceType::CPU))
    GTEST_SKIP() << "this LibTorch has no fused Adam for the CPU (2.4+ has)";
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    auto a = parameters_of_d(dtype), b = parameters_of_d(dtype);
    torch::optim::Adam reference(a, training_options());
    acgan::MultiTensorAdam fused(b, training_options(), acgan::AdamKernel::kFused);
    EXPECT_EQ(fused.kernel_for(c10::DeviceType::CPU), acgan::AdamKernel::kFused);
    EXPECT_TRUE(fused.steps_on_device(c10::DeviceType::CPU));  // what a CUDA graph needs
    step_both(reference, a, fused, b, 0, 30);
    const double tolerance = dtype == torch::kFloat ? 1e-6 : 1e-14;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(torch::allclose(a[i], b[i], 0, tolerance)) << "parameter " << i << " " << dtype;
      EXPECT_FALSE(torch::equal(a[i], parameters_of_d(dtype)[i])) << "did not move: " << i;
    }
  }
}

// The fused kernel keeps its step counts on the device: a state loaded from a checkpoint (here, a
// foreach optimizer's) must refill them, or the bias correction would restart at step 1.
TEST(MultiTensorAdamTest, FusedKernelResumesFromALoadedState) {
  if (!acgan::fused_adam_available(c10::DeviceType::CPU))
    GTEST_SKIP() << "this LibTorch has no fused Adam for the CPU (2.4+ has)";
  auto a = parameters_of_d(torch::kDouble), b = parameters_of_d(torch::kDouble);
  torch::optim::Adam reference(a, training_options());
  acgan::MultiTensorAdam foreach_adam(b, training_options(), acgan::AdamKernel::kForeach);
  step_both(reference, a, foreach_adam, b, 0, 5);
  std::stringstream saved;
  torch::serialize::OutputArchive out;
  foreach_adam.save(out);
  out.save_to(saved);
  torch::serialize::InputArchive in;
  in.load_from(saved);
  acgan::MultiTensorAdam fused(b, training_options(), acgan::AdamKernel::kFused);
  fused.load(in);
  step_both(reference, a, fused, b, 5, 10);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i], b[i], 0, 1e-14)) << "parameter " << i;
}

// Asking for the fused kernel where LibTorch has none is one clear error, not a crash.
TEST(MultiTensorAdamTest, FusedKernelIsRefusedWhereAbsent) {
  if (acgan::fused_adam_available(c10::DeviceType::CPU))
    GTEST_SKIP() << "this LibTorch has a fused Adam for the CPU";
  auto b = parameters_of_d(torch::kFloat);
  acgan::MultiTensorAdam fused(b, training_options(), acgan::AdamKernel::kFused);
  set_gradients(b, 0);
  acgan::testing::expect_error([&] { fused.step(); },
                               {"the fused Adam kernel is not in this LibTorch"});
}

// One optimizer step over D's 26 parameter tensors: the loop dispatches ~8 operations a tensor, the
// multi-tensor step eight for all of them.
TEST(OpCounterTest, CountsAdamsOperations) {
  auto a = parameters_of_d(torch::kFloat), b = parameters_of_d(torch::kFloat);
  torch::optim::Adam reference(a, training_options());
  acgan::MultiTensorAdam multi(b, training_options());
  step_both(reference, a, multi, b, 0, 1);  // states created outside the count
  int64_t loop = 0, multi_count = 0;
  {
    const acgan::OpCounter counter;
    reference.step();
    loop = counter.count();
  }
  {
    const acgan::OpCounter counter;
    multi.step();
    multi_count = counter.count();
  }
  const auto n = static_cast<int64_t>(a.size());
  EXPECT_EQ(n, 26);
  EXPECT_GE(loop, 7 * n) << "torch::optim::Adam's loop";
  EXPECT_EQ(multi_count, 8) << "mul_, add_, mul_, addcmul_, sqrt, div_, add_, addcdiv_";
}

// A whole training step, as acgan_bench --count_ops counts it: the multi-tensor Adam takes some 300
// dispatches (one per parameter tensor and Adam operation) out of it. The suite's watch on the
// step's operation count; the absolute count depends on the LibTorch version.
TEST(OpCounterTest, MultiTensorAdamThinsTheTrainingStep) {
  const auto ops_of_a_step = [](bool loop_adam) {
    acgan::TrainOptions options;
    torch::manual_seed(1);
    acgan::TrainingState state(options, torch::kCPU);
    if (loop_adam) {
      const auto adam = torch::optim::AdamOptions(options.lr).betas({options.beta1, options.beta2});
      state.opt_g = std::make_unique<torch::optim::Adam>(state.g->parameters(), adam);
      state.opt_d = std::make_unique<torch::optim::Adam>(state.d->parameters(), adam);
    }
    acgan::testing::steps_on_random_batches(state, 1, 4);  // Adam's states exist from here on
    const acgan::OpCounter counter;
    acgan::testing::steps_on_random_batches(state, 1, 4);
    return counter.count();
  };
  const int64_t loop = ops_of_a_step(true), multi = ops_of_a_step(false);
  EXPECT_GE(loop - multi, 7 * 42 - 16) << "loop " << loop << ", multi-tensor " << multi;
}
