// The training job end to end on a small synthetic data set: every output, exact resume (fp32 and
// bf16), refusal to overwrite a run, flags that contradict a checkpoint or may change on resume,
// and `generate`.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <sstream>

#include "acgan/commands/generate.h"
#include "acgan/commands/train.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::TrainOptions;
using acgan::testing::TempDir;

namespace {

// A small run on `root`: batch 20, seed 7, 2 threads, data assembled inline.
TrainOptions small_run(const std::string& root, const std::string& outdir, int64_t epochs) {
  TrainOptions o;
  o.root_dir = root;
  o.outdir = outdir;
  o.batch_size = 20;
  o.num_epochs = epochs;
  o.log_every = 4;
  o.seed = 7;
  o.threads = 2;
  o.num_workers = 0;
  return o;
}

class TrainTest : public acgan::testing::SyntheticCifarTest<40> {  // 200 training images
 protected:
  // 200 images, batch 20: 10 steps an epoch.
  static TrainOptions options(const std::string& outdir, int64_t epochs) {
    return small_run(data_dir(), outdir, epochs);
  }

  static std::vector<std::string> csv_rows(const std::string& path) {
    std::istringstream in(acgan::read_file(path));
    std::vector<std::string> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(line);
    return rows;
  }
  // A row without its last column (images/s, which depends on the machine's speed).
  static std::string without_rate(const std::string& row) { return row.substr(0, row.rfind(',')); }
};

TEST_F(TrainTest, FullRunWritesEveryOutput) {
  TempDir out;
  auto o = options(out.path(), 2);
  o.checkpoint_every = 1;
  o.num_workers = 2;
  ASSERT_EQ(acgan::train(o), 0);
  for (const char* file :
       {"metrics.csv", "checkpoint.pt", "gen.pt", "disc.pt", "images/real_samples.png",
        "images/epoch_001.png", "images/epoch_002.png", "checkpoints/epoch_001.pt",
        "checkpoints/epoch_002.pt"}) {
    EXPECT_TRUE(fs::exists(out / file)) << file;
  }
  const auto rows = csv_rows(out / "metrics.csv");
  ASSERT_EQ(rows.size(), 1u + 20u);
  for (size_t i = 1; i < rows.size(); ++i) {
    std::istringstream fields(rows[i]);
    std::vector<double> v;
    for (std::string f; std::getline(fields, f, ',');) v.push_back(std::stod(f));
    ASSERT_EQ(v.size(), 11u);
    EXPECT_EQ(v[0], (i - 1) / 10);            // epoch
    EXPECT_EQ(v[1], (i - 1) % 10);            // iteration
    EXPECT_EQ(v[2], static_cast<double>(i));  // step
    EXPECT_GT(v[3], 0);                       // loss_d
    EXPECT_GE(v[5], 0);                       // acc_real
    EXPECT_LE(v[5], 100);
    EXPECT_GT(v[7], 0);  // D(x) is a probability
    EXPECT_LT(v[7], 1);
    EXPECT_GT(v[10], 0);  // images/s
  }
  const auto grid = acgan::read_png(out / "images/epoch_002.png");
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{342, 342, 3}));
  const auto real = acgan::read_png(out / "images/real_samples.png");
  // Synthetic labels are i % 10, so row k holds images k, k + 10, ...: the first cell of row 3 is
  // image 3.
  auto first_of_row3 = real.narrow(0, 3 * 34 + 2, 32).narrow(1, 2, 32).permute({2, 0, 1});
  const auto set = acgan::testing::make_synthetic(40, 1);
  EXPECT_TRUE(torch::equal(first_of_row3, set.images[3]));
  const auto g = acgan::load_generator(out / "gen.pt");
  EXPECT_EQ(g->nz(), 110);
  TrainOptions fresh_options = o;
  acgan::TrainingState state(fresh_options, torch::kCPU);
  acgan::load_checkpoint(out / "checkpoints/epoch_001.pt", state);
  EXPECT_EQ(state.progress.epoch, 1);
  EXPECT_EQ(state.progress.step, 10);
}

TEST_F(TrainTest, StoppedAndResumedRunIsBitIdentical) {
  TempDir straight, resumed;
  auto a = options(straight.path(), 2);
  a.num_workers = 2;  // the data order must not depend on the workers either
  ASSERT_EQ(acgan::train(a), 0);

  auto first = options(resumed.path(), 1);
  ASSERT_EQ(acgan::train(first), 0);
  auto second = options(resumed.path(), 2);
  second.resume = true;
  second.given = {"num_epochs"};
  ASSERT_EQ(acgan::train(second), 0);

  acgan::testing::expect_same_weights(straight.path(), resumed.path());
  const auto rows_a = csv_rows(straight / "metrics.csv"),
             rows_b = csv_rows(resumed / "metrics.csv");
  ASSERT_EQ(rows_a.size(), rows_b.size());
  for (size_t i = 0; i < rows_a.size(); ++i)
    EXPECT_EQ(without_rate(rows_a[i]), without_rate(rows_b[i])) << i;
  EXPECT_EQ(acgan::read_file(straight / "images/epoch_002.png"),
            acgan::read_file(resumed / "images/epoch_002.png"));
}

// A run that fails (here: diverges) leaves the process's signal handlers as it found them, so a
// later run or the host program is not left with a stale Ctrl-C handler.
TEST_F(TrainTest, FailedRunRestoresTheSignalHandlers) {
  TempDir out;
  auto o = options(out.path(), 1);
  o.lr = 1e30;
  struct sigaction before {
  }, after{};
  sigaction(SIGINT, nullptr, &before);
  acgan::testing::expect_error([&] { acgan::train(o); }, {"diverged"});
  sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, SIG_DFL);
}

// --cuda_graphs where the step cannot be captured (here: the CPU, or a LibTorch without CUDA
// graphs) logs why and trains eagerly: the same weights, bit for bit, as a run without the flag.
TEST_F(TrainTest, CudaGraphsWhereUncapturableTrainEagerly) {
  TempDir plain, graphs;
  ASSERT_EQ(acgan::train(options(plain.path(), 1)), 0);
  auto o = options(graphs.path(), 1);
  o.cuda_graphs = true;
  ASSERT_EQ(acgan::train(o), 0);
  const auto a = acgan::load_tensor_dict_file(plain / "gen.pt");
  const auto b = acgan::load_tensor_dict_file(graphs / "gen.pt");
  for (const auto& item : a)
    EXPECT_TRUE(torch::equal(item.value().toTensor(), b.at(item.key()).toTensor()))
        << item.key().toStringRef();
  EXPECT_EQ(acgan::read_checkpoint_config(graphs / "checkpoint.pt").at("cuda_graphs"), "1");
}

// --deterministic travels in the checkpoint: a resume keeps it unless told otherwise.
TEST_F(TrainTest, DeterministicIsKeptOnResumeUnlessGiven) {
  TempDir out;
  auto o = options(out.path(), 1);
  o.deterministic = true;
  ASSERT_EQ(acgan::train(o), 0);
  EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("deterministic"), "1");
  auto resume = options(out.path(), 2);
  resume.resume = true;
  resume.given = {"num_epochs"};
  ASSERT_EQ(acgan::train(resume), 0);
  EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("deterministic"), "1");
  resume.num_epochs = 3;
  resume.given = {"num_epochs", "deterministic"};  // --deterministic=false
  ASSERT_EQ(acgan::train(resume), 0);
  EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("deterministic"), "0");
}

TEST_F(TrainTest, RefusesToOverwriteARunWithoutResumeOrOverwrite) {
  TempDir out;
  ASSERT_EQ(acgan::train(options(out.path(), 1)), 0);
  acgan::testing::expect_error<acgan::UsageError>([&] { acgan::train(options(out.path(), 1)); },
                                                  {"--resume", "--overwrite"});
  auto again = options(out.path(), 1);
  again.overwrite = true;
  EXPECT_EQ(acgan::train(again), 0);
}

TEST_F(TrainTest, ResumeRejectsContradictingFlagsAndTakesTheRest) {
  TempDir out;
  ASSERT_EQ(acgan::train(options(out.path(), 1)), 0);
  auto o = options(out.path(), 1);
  o.resume = true;
  o.nz = 64;
  o.given = {"nz"};
  acgan::testing::expect_error<acgan::UsageError>([&] { acgan::train(o); }, {"--nz"});
  // Nothing given: everything comes from the checkpoint, which is done already.
  auto done = options(out.path(), 5);
  done.resume = true;
  done.lr = 0.5;  // not given: the checkpoint's lr is used, no error
  EXPECT_EQ(acgan::train(done), 0);
  EXPECT_EQ(csv_rows(out / "metrics.csv").size(), 1u + 10u);  // nothing trained twice
}

TEST_F(TrainTest, SubsetLargerThanTheDataIsAUsageErrorBeforeAnythingIsWritten) {
  TempDir out;
  auto o = options(out / "new", 1);
  o.subset = 201;
  acgan::testing::expect_error<acgan::UsageError>([&] { acgan::train(o); }, {"--subset", "201"});
  EXPECT_FALSE(fs::exists(out / "new"));
}

TEST_F(TrainTest, GenerateWritesOneRowPerRequestedClass) {
  TempDir out;
  ASSERT_EQ(acgan::train(options(out.path(), 1)), 0);
  acgan::GenerateOptions g;
  g.checkpoint = out / "checkpoint.pt";
  g.classes = "0,cat,truck";
  g.n = 4;
  g.out = out / "grid.png";
  g.individual_dir = out / "each";
  acgan::generate(g);
  EXPECT_EQ(acgan::read_png(g.out).sizes(), (std::vector<int64_t>{3 * 34 + 2, 4 * 34 + 2, 3}));
  EXPECT_TRUE(fs::exists(out / "each/cat_003.png"));
  EXPECT_TRUE(fs::exists(out / "each/truck_000.png"));
  EXPECT_EQ(std::distance(fs::directory_iterator(out / "each"), fs::directory_iterator()), 12);
  // Same seed, same samples, from the full checkpoint or from gen.pt.
  g.checkpoint = out / "gen.pt";
  g.out = out / "grid2.png";
  g.individual_dir.clear();
  acgan::generate(g);
  EXPECT_EQ(acgan::read_file(out / "grid.png"), acgan::read_file(out / "grid2.png"));
}

TEST_F(TrainTest, ResumeMayLowerTheLearningRate) {
  TempDir out;
  ASSERT_EQ(acgan::train(options(out.path(), 1)), 0);
  auto o = options(out.path(), 2);
  o.resume = true;
  o.lr = 1e-4;
  o.beta1 = 0.25;
  o.given = {"lr", "beta1", "num_epochs"};
  ASSERT_EQ(acgan::train(o), 0);
  EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("lr"), "0.0001");
  acgan::TrainingState state(o, torch::kCPU);
  acgan::load_checkpoint(out / "checkpoint.pt", state);
  for (auto* optimizer : {state.opt_g.get(), state.opt_d.get()}) {
    const auto& adam =
        static_cast<const torch::optim::AdamOptions&>(optimizer->param_groups()[0].options());
    EXPECT_DOUBLE_EQ(adam.lr(), 1e-4);
    EXPECT_DOUBLE_EQ(std::get<0>(adam.betas()), 0.25);
  }
}

// bf16 on few images: where oneDNN is turned off (see fast_ops.cpp) bf16 runs on LibTorch's
// reference kernels at 2-5 images/s, so 40 images (2 steps an epoch) keep it within its limit.
class Bf16TrainTest : public acgan::testing::SyntheticCifarTest<8> {
 protected:
  static TrainOptions options(const std::string& outdir, int64_t epochs) {
    auto o = small_run(data_dir(), outdir, epochs);
    o.precision = "bf16";
    return o;
  }
};

TEST_F(Bf16TrainTest, Bf16RunResumesBitForBitAndMaySwitchPrecision) {
  TempDir straight, resumed;
  auto a = options(straight.path(), 2);
  ASSERT_EQ(acgan::train(a), 0);
  auto first = options(resumed.path(), 1);
  ASSERT_EQ(acgan::train(first), 0);
  auto second = options(resumed.path(), 2);
  second.resume = true;  // precision not given: the checkpoint's bf16
  second.given = {"num_epochs"};
  ASSERT_EQ(acgan::train(second), 0);
  EXPECT_EQ(acgan::read_file(straight / "gen.pt"), acgan::read_file(resumed / "gen.pt"));
  EXPECT_EQ(acgan::read_checkpoint_config(resumed / "checkpoint.pt").at("precision"), "bf16");
  const auto metrics = acgan::read_file(resumed / "metrics.csv");
  EXPECT_EQ(metrics.find("nan"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("inf"), std::string::npos) << metrics;

  auto third = options(resumed.path(), 3);
  third.resume = true;
  third.precision = "fp32";
  third.given = {"num_epochs", "precision"};
  ASSERT_EQ(acgan::train(third), 0);
  EXPECT_EQ(acgan::read_checkpoint_config(resumed / "checkpoint.pt").at("precision"), "fp32");
}

}  // namespace
