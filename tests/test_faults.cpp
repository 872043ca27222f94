// The fault-injection suite (CTest label `faults`): kills at many points of a run, write failures,
// corrupt checkpoints and bad data through the binary. The guarantee under test: whatever happens,
// the last checkpoint stays loadable, no file a reader would take for whole is half-written, the
// error is one line naming the file, and a resumed run ends exactly where an uninterrupted one
// does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::testing::AcganProcess;
using acgan::testing::run_acgan;
using acgan::testing::TempDir;

namespace {

using acgan::testing::expect_one_line_error;

class FaultTest : public acgan::testing::SyntheticCifarTest<20> {  // 100 training images
 protected:
  // 100 images, batch 10: 10 steps an epoch; every epoch writes a grid and a kept checkpoint.
  static std::vector<std::string> args(const std::string& outdir, int epochs) {
    return {"--root_dir",
            data_dir(),
            "--outdir",
            outdir,
            "--batch_size",
            "10",
            "--seed",
            "11",
            "--num_workers",
            "0",
            "--log_every",
            "1",
            "--threads",
            "1",
            "--checkpoint_every",
            "1",
            "--num_epochs",
            std::to_string(epochs)};
  }

  // Every file a reader would open must be whole: checkpoints load, state dicts load, PNGs decode.
  static void expect_every_file_whole(const std::string& outdir, const std::string& when) {
    for (const auto& entry : fs::recursive_directory_iterator(outdir)) {
      if (!entry.is_regular_file()) continue;
      const auto path = entry.path().string();
      const auto name = entry.path().filename().string();
      if (name.find(".tmp.") != std::string::npos || name == "metrics.csv") continue;
      try {
        if (name == "gen.pt" || name == "disc.pt") {
          acgan::load_tensor_dict_file(path);
        } else if (entry.path().extension() == ".pt") {
          acgan::TrainOptions o;
          acgan::TrainingState state(o, torch::kCPU);
          acgan::load_checkpoint(path, state);
        } else if (entry.path().extension() == ".png") {
          acgan::read_png(path);
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << when << ": " << path << " is not whole: " << e.what();
      }
    }
  }
};

// SIGKILL at 24 points: in the middle of the Nth file write of a process (metrics, grids,
// checkpoints, kept copies, gen.pt / disc.pt) and after a random number of steps. After every kill
// each file is whole; then the run is resumed, and after the last kill it must end bit-identical to
// an uninterrupted run with every step in metrics.csv exactly once.
TEST_F(FaultTest, RandomKillsNeverLoseACheckpointAndResumeExactly) {
  constexpr int kEpochs = 10, kSteps = kEpochs * 10;
  TempDir reference, out;
  ASSERT_EQ(run_acgan(args(reference.path(), kEpochs)).exit_code, 0);

  std::mt19937 rng(2026);
  std::vector<std::pair<std::string, int>> schedule;
  for (int write = 1; write <= 10; ++write) schedule.push_back({"write", write});
  for (int i = 0; i < 14; ++i) schedule.push_back({"step", 1 + static_cast<int>(rng() % 4)});
  std::shuffle(schedule.begin(), schedule.end(), rng);

  int kills = 0, finished_early = 0;
  for (const auto& [kind, n] : schedule) {
    auto a = args(out.path(), kEpochs);
    if (fs::exists(out / "checkpoint.pt")) a.push_back("--resume");
    std::vector<std::string> env;
    if (kind == "write") env.push_back("ACGAN_FAULT_KILL_IN_WRITE=" + std::to_string(n));
    AcganProcess run(a, env);
    if (kind == "step") {
      if (!run.read_until_more("Loss_D", n)) {
        ++finished_early;
        run.wait();
        continue;
      }
      run.send_signal(SIGKILL);
    }
    const auto result = run.wait();
    if (result.exit_code == 0) {
      ++finished_early;
      continue;
    }
    ASSERT_EQ(result.exit_code, 128 + SIGKILL) << kind << " " << n << ": " << result.output;
    ++kills;
    expect_every_file_whole(out.path(), kind + " " + std::to_string(n));
  }
  EXPECT_GE(kills, 20) << "finished before the kill: " << finished_early;
  std::cout << "[ faults ] " << kills << " SIGKILLs (" << schedule.size() - 14
            << " scheduled mid-write), " << finished_early
            << " runs finished before their kill point\n";

  auto last = args(out.path(), kEpochs);
  if (fs::exists(out / "checkpoint.pt")) last.push_back("--resume");
  const auto done = run_acgan(last);
  ASSERT_EQ(done.exit_code, 0) << done.output;
  std::vector<int64_t> expected(kSteps);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(acgan::testing::metric_steps(out / "metrics.csv"), expected);
  for (const char* file : {"gen.pt", "disc.pt"}) {
    const auto x = acgan::load_tensor_dict_file(reference / file);
    const auto y = acgan::load_tensor_dict_file(out / file);
    for (const auto& item : x) {
      EXPECT_TRUE(torch::equal(item.value().toTensor(), y.at(item.key()).toTensor()))
          << file << " " << item.key().toStringRef() << " differs after " << kills << " kills";
    }
  }
  EXPECT_EQ(acgan::read_file(reference / "images/epoch_010.png"),
            acgan::read_file(out / "images/epoch_010.png"));
}

// A checkpoint write that fails (here: past a file size limit, as a full disk) names the file,
// exits 1 and leaves the previous checkpoint whole.
TEST_F(FaultTest, FailedCheckpointWriteKeepsThePreviousOne) {
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  auto resume = args(out.path(), 2);
  resume.push_back("--resume");
  // Grids fit, a 39 MB checkpoint does not. The first checkpoint file of epoch 2 to be written
  // (the kept copy) is the one that fails.
  const auto r = run_acgan(resume, {}, 5 * 1024 * 1024);
  expect_one_line_error(r, 1, out / "checkpoints/epoch_002.pt: write failed");
  expect_one_line_error(r, 1, "previous file kept");
  acgan::TrainOptions o;
  acgan::TrainingState state(o, torch::kCPU);
  acgan::load_checkpoint(out / "checkpoint.pt", state);
  EXPECT_EQ(state.progress.epoch, 1);
  expect_every_file_whole(out.path(), "after the failed write");
}

TEST_F(FaultTest, FailedGridWriteIsNamed) {
  TempDir out;
  // The 342x342 PNG is ~290 KB.
  expect_one_line_error(run_acgan(args(out.path(), 1), {}, 100 * 1024), 1, "real_samples.png");
}

TEST_F(FaultTest, FailedMetricsWriteIsNamed) {
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 0)).exit_code, 0);  // writes the real-sample grid
  fs::remove(out / "metrics.csv");  // (and a header-only metrics.csv, which a new run would refuse)
  auto a = args(out.path(), 1);
  a.insert(a.end(),
           {"--batch_size", "2"});  // 50 rows, more than the limit allows (last value wins)
  expect_one_line_error(run_acgan(a, {}, 3000), 1, "metrics.csv");
}

TEST_F(FaultTest, CorruptCheckpointOnResumeIsOneLine) {
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  const auto bytes = acgan::read_file(out / "checkpoint.pt");
  auto resume = args(out.path(), 2);
  resume.push_back("--resume");
  const std::vector<std::pair<std::string, std::string>> corruptions = {
      {"truncated", bytes.substr(0, bytes.size() / 3)},
      {"empty", ""},
      {"random", std::string(4096, '\x5a')},
      {"gen.pt", acgan::read_file(out / "gen.pt")},
  };
  for (const auto& [what, content] : corruptions) {
    acgan::write_file_atomic(out / "checkpoint.pt", content);
    expect_one_line_error(run_acgan(resume), 1, out / "checkpoint.pt", what);
  }
  // A checkpoint of another nz.
  TempDir other;
  auto small = args(other.path(), 1);
  small.insert(small.end(), {"--nz", "20"});
  ASSERT_EQ(run_acgan(small).exit_code, 0);
  fs::copy_file(other / "checkpoint.pt", out / "checkpoint.pt",
                fs::copy_options::overwrite_existing);
  auto contradict = resume;
  contradict.insert(contradict.end(), {"--nz", "110"});
  expect_one_line_error(run_acgan(contradict), 2, "--nz");
}

TEST_F(FaultTest, DivergenceStopsWithoutTouchingTheCheckpoint) {
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  const auto before = acgan::read_file(out / "checkpoint.pt");
  auto resume = args(out.path(), 2);
  resume.insert(resume.end(), {"--resume", "--lr", "1e30"});  // lr may change on resume
  const auto r = run_acgan(resume);
  expect_one_line_error(r, 1, "diverged at step 11");
  expect_one_line_error(r, 1, "lower --lr");
  EXPECT_EQ(acgan::read_file(out / "checkpoint.pt"), before);
}

TEST_F(FaultTest, BadDataFilesThroughTheBinary) {
  struct Case {
    std::string what, expected;
    std::function<void(const std::string&)> damage;
  };
  const std::vector<Case> cases = {
      {"truncated", "3,073-byte",
       [](const std::string& d) { fs::resize_file(d + "/data_batch_1.bin", 3073 * 2 + 1); }},
      {"empty", "found 0 bytes",
       [](const std::string& d) { fs::resize_file(d + "/data_batch_5.bin", 0); }},
      {"missing", "data_batch_3.bin",
       [](const std::string& d) { fs::remove(d + "/data_batch_3.bin"); }},
      {"label", "label byte 10",
       [](const std::string& d) {
         std::fstream f(d + "/data_batch_2.bin", std::ios::binary | std::ios::in | std::ios::out);
         f.put(10);
       }},
      {"python", "cifar-10-batches-py",
       [](const std::string& d) {
         for (const auto& e : fs::directory_iterator(d)) fs::remove(e.path());
         fs::create_directories(d + "/cifar-10-batches-py");
       }},
      {"absent", "no such directory", [](const std::string& d) { fs::remove_all(d); }},
  };
  for (const auto& c : cases) {
    TempDir data, out;
    acgan::testing::write_synthetic_cifar(data.path(), 3);
    c.damage(data.path());
    auto a = args(out.path(), 1);
    a.insert(a.end(), {"--root_dir", data.path()});
    expect_one_line_error(run_acgan(a), 1, c.expected, c.what);
  }
}

}  // namespace
