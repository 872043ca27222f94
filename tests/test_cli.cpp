// The acgan binary as a user runs it: help, version, exit codes, one-line errors for every bad flag
// (bad files through the binary are in test_faults.cpp), and a graceful stop on Ctrl-C that resumes
// without losing or repeating a step.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "acgan/io/atomic_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::testing::run_acgan;
using acgan::testing::TempDir;

namespace {

using acgan::testing::expect_one_line_error;

// 100 training images.
class CliTest : public acgan::testing::SyntheticCifarTest<20> {
 protected:
  static std::vector<std::string> train_args(const std::string& outdir) {
    return {"--root_dir", data_dir(), "--outdir",      outdir, "--batch_size", "10",
            "--seed",     "5",        "--num_workers", "0",    "--log_every",  "1"};
  }
};

// Each of the original's flags on its own help line with its help text and default. CLI11 lays the
// default out as "INT=200" (2.3) or "INT [200]" (2.4), so the test reads the line, not the layout.
TEST(CliBasicsTest, HelpShowsTheOriginalFlagsWithTheirTexts) {
  const auto r = run_acgan({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  struct Flag {
    std::string name, help, default_value;
  };
  for (const auto& flag :
       std::vector<Flag>{{"--root_dir", "path to dataset", "./"},
                         {"--num_workers", "number of data loading workers", "2"},
                         {"--batch_size", "input batch size", "100"},
                         {"--nz", "size of the latent z vector", "110"},
                         {"--num_epochs", "number of epochs to train for", "200"},
                         {"--lr", "learning rate, default=0.0002", "0.0002"},
                         {"--beta1", "beta1 for adam. default=0.5", "0.5"},
                         {"--outdir", "folder to output images and model checkpoints", "./"}}) {
    const auto start = r.output.find("  " + flag.name + " ");
    ASSERT_NE(start, std::string::npos) << flag.name << " not in\n" << r.output;
    const auto line = r.output.substr(start, r.output.find('\n', start) - start);
    EXPECT_NE(line.find(flag.help), std::string::npos) << line;
    const auto type_end = line.find_first_of("=[", flag.name.size() + 2);
    ASSERT_NE(type_end, std::string::npos) << "no default on: " << line;
    EXPECT_EQ(line.compare(line.find_first_not_of("=[ ", type_end), flag.default_value.size(),
                           flag.default_value),
              0)
        << line;
  }
  for (const char* subcommand : {"summary", "generate"})
    EXPECT_NE(r.output.find(subcommand), std::string::npos) << subcommand;
}

TEST(CliBasicsTest, VersionAndUsageErrors) {
  const auto version = run_acgan({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.output.find("acgan 0."), std::string::npos);
  const auto unknown = run_acgan({"--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("--bogus"), std::string::npos);
  const auto malformed = run_acgan({"--batch_size", "ten"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.output.find("--batch_size"), std::string::npos);
}

TEST(CliBasicsTest, SummaryPrintsBothTotals) {
  const auto r = run_acgan({"summary"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("Total params: 1,594,227"), std::string::npos);
  EXPECT_NE(r.output.find("Total params: 1,664,875"), std::string::npos);
  EXPECT_EQ(run_acgan({"summary", "--nz", "10"}).exit_code, 2);
}

// Every bad flag value: exit 2 before any work, one line naming the flag.
TEST_F(CliTest, BadFlagValuesAreUsageErrors) {
  TempDir out;
  // A few through the binary for the exit code and the one line; every flag's range is checked
  // in-process (ValidateTest in test_training_parts.cpp).
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--batch_size", "0"}, "--batch_size"},
      {{"--lr", "nan"}, "--lr"},
      {{"--nz", "10"}, "--nz"},
      {{"--device", "tpu"}, "--device"},
      {{"--device", "cuda:x"}, "--device"},
      {{"--subset", "101"}, "--subset"},
      {{"--precision", "fp16", "--device", "cpu"}, "--precision fp16 needs a CUDA device"},
      {{"--resume"}, "--resume"},
  };
  for (const auto& [flags, name] : cases) {
    auto args = train_args(out.path());
    args.insert(args.end(), flags.begin(), flags.end());
    expect_one_line_error(run_acgan(args), 2, name, flags[0]);
  }
  EXPECT_FALSE(fs::exists(out / "checkpoint.pt"));
}

// --device cuda trains on the GPU where this process sees one (a silent CPU fallback fails), and
// is a usage error where it sees none.
TEST_F(CliTest, DeviceCudaTrainsOnTheGpuOrIsAUsageError) {
  TempDir out;
  auto args = train_args(out.path());
  args.insert(args.end(), {"--device", "cuda", "--num_epochs", "1"});
  const auto r = run_acgan(args);
  if (torch::cuda::is_available()) {
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("device cuda"), std::string::npos) << r.output;
    return;
  }
  expect_one_line_error(r, 2, "no CUDA GPU");
}

TEST_F(CliTest, UnwritableOutdirIsNamed) {
  TempDir out;
  std::ofstream(out / "file") << "x";
  auto args = train_args(out / "file/sub");
  expect_one_line_error(run_acgan(args), 1, "file/sub");
}

// Stopped mid-epoch with the default 2 data workers and resumed: every step once, and the same
// weights, bit for bit, as a run that was never stopped. `args`: train_args and more flags;
// `steps`: the steps of an epoch of 10 batches with them.
void expect_stop_and_resume_equal_an_unstopped_run(std::vector<std::string> args,
                                                   const std::string& straight, int64_t steps) {
  const std::string out = args[3];  // train_args' --outdir
  args.insert(args.end(), {"--num_epochs", "2", "--num_workers", "2"});
  acgan::testing::AcganProcess run(args);
  ASSERT_TRUE(run.read_until("[0/2][3/10]")) << "training never logged batch 4";
  run.send_signal(SIGINT);
  const auto stopped = run.wait();
  ASSERT_EQ(stopped.exit_code, 130) << stopped.output;
  EXPECT_NE(stopped.output.find("--resume"), std::string::npos);
  acgan::TrainOptions options;
  options.batch_size = 10;
  acgan::TrainingState state(options, torch::kCPU);
  acgan::load_checkpoint(out + "/checkpoint.pt", state);
  const int64_t stopped_at = state.progress.step;
  EXPECT_GE(stopped_at, 2);
  EXPECT_LT(stopped_at, 2 * steps);

  auto resume = args;
  resume.push_back("--resume");
  const auto finished = run_acgan(resume);
  ASSERT_EQ(finished.exit_code, 0) << finished.output;
  std::vector<int64_t> expected(static_cast<size_t>(2 * steps));
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(acgan::testing::metric_steps(out + "/metrics.csv"), expected)
      << "every step exactly once";
  EXPECT_TRUE(fs::exists(out + "/images/epoch_002.png"));

  auto unstopped = args;
  unstopped.insert(unstopped.end(), {"--outdir", straight});
  ASSERT_EQ(run_acgan(unstopped).exit_code, 0);
  for (const char* file : {"gen.pt", "disc.pt"}) {
    const auto x = acgan::load_tensor_dict_file(straight + "/" + file);
    const auto y = acgan::load_tensor_dict_file(out + "/" + file);
    for (const auto& item : x) {
      EXPECT_TRUE(torch::equal(item.value().toTensor(), y.at(item.key()).toTensor()))
          << file << " " << item.key().toStringRef();
    }
  }
}

TEST_F(CliTest, CtrlCMidEpochAndResumeEqualAnUnstoppedRun) {
  TempDir out, straight;
  expect_stop_and_resume_equal_an_unstopped_run(train_args(out.path()), straight.path(), 10);
}

// With three D updates a step: a stop lands between steps, and the resume takes the next three
// batches where the stopped run would have.
TEST_F(CliTest, CtrlCMidEpochAndResumeEqualAnUnstoppedRunWithDSteps) {
  TempDir out, straight;
  auto args = train_args(out.path());
  args.insert(args.end(), {"--d_steps", "3"});
  expect_stop_and_resume_equal_an_unstopped_run(args, straight.path(), 4);  // 3 + 3 + 3 + 1
}

TEST_F(CliTest, GenerateFromTheBinary) {
  TempDir out;
  auto args = train_args(out.path());
  args.insert(args.end(), {"--num_epochs", "1"});
  ASSERT_EQ(run_acgan(args).exit_code, 0);
  auto r = run_acgan({"generate", "--checkpoint", out / "gen.pt", "--class", "horse", "--n", "5",
                      "--out", out / "horses.png"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "horses.png"));
  expect_one_line_error(
      run_acgan({"generate", "--checkpoint", out / "gen.pt", "--classes", "unicorn"}), 2,
      "unicorn");
  expect_one_line_error(run_acgan({"generate", "--checkpoint", out / "metrics.csv"}), 1,
                        "metrics.csv");
  // A resume from a gen.pt is refused with a hint.
  auto resume = args;
  resume.insert(resume.end(), {"--resume", out / "gen.pt"});
  expect_one_line_error(run_acgan(resume), 1, "bare network state dict");
}

}  // namespace
