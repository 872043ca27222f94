// --d_steps N (train_step.h, commands/training_run.cpp): a step's N D updates each take their own
// batch and fakes and G updates once, on the last update's fake; an epoch's batches are its steps'
// in the same order (the last step takes what is left); a metrics row is a step; the option's
// refusals; and a run with --d_steps 3 resumed bit for bit with each --cond. N = 1 is the
// original's step: the golden trajectories (test_golden.cpp) run it.
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fstream>
#include <string>
#include <vector>

#include "acgan/commands/train.h"
#include "acgan/error.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_options.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace acgan {
namespace {

// Networks whose step is deterministic given its inputs (no dropout), G's learning rate 0: G's
// weights never move, so a step with N D updates can be compared with N one-update steps.
TrainingState frozen_g_state() {
  TrainOptions o;
  o.dropout = 0;
  torch::manual_seed(5);
  TrainingState state(o, torch::kCPU);
  for (auto& group : state.opt_g->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(0);
  return state;
}

// The Adam steps taken: every parameter's state counts the same (LibTorch 1.x and 2.x key the
// states differently, so the first one is read).
int64_t adam_steps(torch::optim::Optimizer& opt) {
  const auto& states = opt.state();
  if (states.empty()) return 0;
  return static_cast<const torch::optim::AdamParamState&>(*states.begin()->second).step();
}

TEST(DStepsStepTest, EachDUpdateTakesItsBatchAndGUpdatesOnceOnTheLast) {
  torch::manual_seed(11);
  std::vector<DBatch> batches;
  for (int i = 0; i < 3; ++i) {
    batches.push_back({torch::rand({6, 3, 32, 32}) * 2 - 1,
                       torch::randint(0, kOriginalClasses, {6}, torch::kLong),
                       make_noise(6, kDefaultNz, kOriginalClasses, torch::kCPU)});
  }
  auto together = frozen_g_state(), one_by_one = frozen_g_state();
  const auto stats =
      train_step(*together.g, *together.d, *together.opt_g, *together.opt_d, batches);
  std::vector<torch::Tensor> singles;
  for (const auto& b : batches) {
    singles.push_back(train_step(*one_by_one.g, *one_by_one.d, *one_by_one.opt_g, *one_by_one.opt_d,
                                 b.real, b.labels, b.noise));
  }
  // D: the same three updates on the same batches and fakes, bit for bit.
  for (const auto& p : together.d->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), one_by_one.d->named_parameters()[p.key()])) << p.key();
  EXPECT_EQ(adam_steps(*together.opt_d), 3);
  EXPECT_EQ(adam_steps(*together.opt_g), 1) << "one G update a step";
  EXPECT_EQ(adam_steps(*one_by_one.opt_g), 3);
  // D's statistics are the mean of its updates'; G's are the last update's fake's, as the third
  // single step sees it (the same D, the same fake).
  const auto mean = torch::stack(singles).mean(0);
  for (const auto k : {kLossDReal, kLossDFake, kAccReal, kAccFake, kDx, kDGz1})
    EXPECT_FLOAT_EQ(stats[k].item<float>(), mean[k].item<float>()) << k;
  for (const auto k : {kLossG, kDGz2})
    EXPECT_EQ(stats[k].item<float>(), singles.back()[k].item<float>()) << k;
}

TEST(DStepsStepTest, OptionIsCheckedAndMayChangeOnResume) {
  for (const int64_t bad : {int64_t{0}, kMaxDSteps + 1}) {
    TrainOptions o;
    o.d_steps = bad;
    testing::expect_error<UsageError>([&] { validate(o); }, {"--d_steps: expected 1.."});
  }
  EXPECT_EQ(find_train_option("d_steps")->on_resume, OnResume::kMayChange);
}

class DStepsTrainingTest : public testing::SyntheticCifarTest<4> {  // 20 images
 protected:
  // Batches of 5: four an epoch, so --d_steps 3 makes a step of three and one of the last batch.
  static TrainOptions options(const std::string& cond) {
    TrainOptions o;
    o.root_dir = data_dir();
    o.cond = cond;
    o.d_steps = 3;
    o.given = {"cond", "d_steps"};
    o.batch_size = 5;
    o.num_epochs = 1;
    o.seed = 4;
    o.threads = 2;
    o.num_workers = 0;
    o.log_every = 1;
    return o;
  }
};

// The (epoch, iteration, step) columns of a metrics.csv.
std::vector<std::string> metrics_index(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> rows;
  while (std::getline(in, line)) {
    const auto third = line.find(',', line.find(',', line.find(',') + 1) + 1);
    rows.push_back(line.substr(0, third));
  }
  return rows;
}

TEST_F(DStepsTrainingTest, AStepIsAMetricsRowAndTheCheckpointSaysSo) {
  testing::TempDir out;
  auto o = options("ac");
  o.outdir = out.path();
  ASSERT_EQ(train(o), 0);
  EXPECT_EQ(metrics_index(out / "metrics.csv"), (std::vector<std::string>{"0,0,1", "0,3,2"}))
      << "a row a step, named by its first batch; the last step takes the epoch's last batch";
  EXPECT_EQ(read_checkpoint_config(out / "checkpoint.pt").at("d_steps"), "3");
  torch::serialize::InputArchive archive;
  archive.load_from(out / "checkpoint.pt");
  c10::IValue version;
  archive.read("format_version", version);
  EXPECT_EQ(version.toInt(), 4) << "a release without --d_steps must refuse it by its version";
}

// Resumed as a user types it (--resume --num_epochs 2, no --d_steps nor --cond): the checkpoint's
// three D updates a step and its cond carry on, bit for bit.
TEST_F(DStepsTrainingTest, ResumesBitForBitWithEachCond) {
  for (const auto* cond : {"ac", "tac", "adc"}) {
    SCOPED_TRACE(cond);
    testing::TempDir straight, resumed;
    auto a = options(cond);
    a.outdir = straight.path();
    a.num_epochs = 2;
    ASSERT_EQ(train(a), 0);
    auto first = options(cond);
    first.outdir = resumed.path();
    ASSERT_EQ(train(first), 0);
    TrainOptions second;
    second.root_dir = data_dir();
    second.outdir = resumed.path();
    second.num_workers = 0;
    second.resume = true;
    second.num_epochs = 2;
    second.given = {"num_epochs"};
    ASSERT_EQ(train(second), 0);
    EXPECT_EQ(metrics_index(resumed / "metrics.csv"),
              (std::vector<std::string>{"0,0,1", "0,3,2", "1,0,3", "1,3,4"}));
    testing::expect_same_weights(straight.path(), resumed.path());
  }
}

}  // namespace
}  // namespace acgan
