// The fault suite's second half (CTest label `faults`): a run never loses, overwrites or touches
// what is not its own, never hangs on an input, and names the true cause. Each test tries a family
// of cases through the binary, as a user would meet them: foreign files in the outdir, two runs on
// one outdir, outputs that are not regular files, damaged checkpoints, inputs that never end,
// sizes without bounds, signals from a closed terminal or pipe.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "acgan/io/atomic_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::testing::AcganProcess;
using acgan::testing::expect_one_line_error;
using acgan::testing::run_acgan;
using acgan::testing::TempDir;

namespace {

// A pid that was a process a moment ago and is not one now.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

class OutdirSafetyTest : public acgan::testing::SyntheticCifarTest<10> {  // 50 training images
 protected:
  // 50 images, batch 10: 5 steps an epoch.
  static std::vector<std::string> args(const std::string& outdir, int epochs) {
    return {"--root_dir", data_dir(), "--outdir",  outdir, "--batch_size", "10",
            "--seed",     "3",        "--threads", "1",    "--num_epochs", std::to_string(epochs)};
  }
  static std::vector<std::string> with(std::vector<std::string> base,
                                       const std::vector<std::string>& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  }
  static void write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
};

// A user's files whose names look like ours (temporaries, epoch files of other shapes, symbolic
// links, temporaries of a live or impossible pid or with foreign contents) survive every run,
// failed or not, and are named; only a dead acgan's own temporaries are removed.
TEST_F(OutdirSafetyTest, ForeignFilesAreNeverTouched) {
  TempDir out, elsewhere;
  write(elsewhere / "target.txt", "not acgan's");
  const std::vector<std::string> foreign = {"notes.tmp.txt",      "checkpoint.pt.tmp.x1",
                                            "images/epoch_1.png", "checkpoints/notes.pt",
                                            "gen.pt.bak",         "images/my.tmp.png"};
  for (const auto& name : foreign) write(out / name, "user data " + name);
  fs::create_symlink(elsewhere / "target.txt", out / "link.tmp.123");
  const std::string dead = std::to_string(dead_pid());
  write(out / ("checkpoint.pt.tmp." + dead), std::string("PK\x03\x04 a dead run's", 17));
  write(out / ("images/epoch_002.png.tmp." + dead), std::string("\x89PNG\r\n\x1a\n dead", 13));
  const std::vector<std::string> lookalikes = {
      "metrics.csv.tmp.99999999999", "gen.pt.tmp." + dead, "images/epoch_001.png.tmp.1"};
  for (const auto& name : lookalikes) write(out / name, "user data " + name);

  // Runs that stop with a usage error first, then one that trains.
  expect_one_line_error(run_acgan(with(args(out.path(), 1), {"--batch_size", "0"})), 2,
                        "--batch_size");
  expect_one_line_error(run_acgan(with(args(out.path(), 1), {"--resume"})), 2, "--resume");
  EXPECT_TRUE(fs::exists(out / ("checkpoint.pt.tmp." + dead))) << "removed before the run owned it";
  const auto trained = run_acgan(args(out.path(), 1));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;

  for (const auto& name : foreign) {
    EXPECT_EQ(acgan::read_file(out / name), "user data " + name) << name;
  }
  for (const auto& name : lookalikes) {
    EXPECT_EQ(acgan::read_file(out / name), "user data " + name) << name;
    EXPECT_NE(trained.output.find(name + ": left as it is"), std::string::npos) << name;
  }
  EXPECT_TRUE(fs::is_symlink(out / "link.tmp.123"));
  EXPECT_EQ(acgan::read_file(elsewhere / "target.txt"), "not acgan's");
  EXPECT_FALSE(fs::exists(out / ("checkpoint.pt.tmp." + dead)));
  EXPECT_FALSE(fs::exists(out / ("images/epoch_002.png.tmp." + dead)));
}

// One run per outdir: a second one is refused with the holder's pid while the first trains, and
// the lock goes with the first run's process, even when it is killed.
TEST_F(OutdirSafetyTest, TwoRunsOnOneOutdirCannotMeet) {
  TempDir out;
  AcganProcess first(with(args(out.path(), 200), {"--log_every", "1"}));
  ASSERT_TRUE(first.read_until("[1/200][0/5]")) << "the first run never finished an epoch";
  const auto holder = "pid " + std::to_string(first.pid());
  expect_one_line_error(run_acgan(with(args(out.path(), 1), {"--overwrite"})), 1, holder,
                        "a second fresh run");
  expect_one_line_error(run_acgan(with(args(out.path(), 300), {"--resume"})), 1, holder,
                        "a resume while the run trains");
  first.send_signal(SIGKILL);
  first.wait();
  EXPECT_EQ(run_acgan(with(args(out.path(), 1), {"--overwrite"})).exit_code, 0)
      << "the killed run's lock outlived it";
}

// A new run refuses an outdir holding a run's outputs (from acgan or from the original script,
// which also writes gen.pt) unless --overwrite, which removes exactly the old run's files.
TEST_F(OutdirSafetyTest, ANewRunReplacesOutputsOnlyWithOverwrite) {
  TempDir out;
  write(out / "gen.pt", "the original script's generator");
  expect_one_line_error(run_acgan(args(out.path(), 1)), 2, "gen.pt", "gen.pt present");
  EXPECT_EQ(acgan::read_file(out / "gen.pt"), "the original script's generator");
  EXPECT_FALSE(fs::exists(out / "metrics.csv"));

  fs::remove(out / "gen.pt");
  ASSERT_EQ(run_acgan(with(args(out.path(), 3), {"--checkpoint_every", "1"})).exit_code, 0);
  write(out / "notes.txt", "mine");
  expect_one_line_error(run_acgan(with(args(out.path(), 1), {"--overwrite", "--resume"})), 2,
                        "--overwrite", "--overwrite --resume");
  ASSERT_EQ(run_acgan(with(args(out.path(), 1), {"--overwrite"})).exit_code, 0);
  EXPECT_TRUE(fs::exists(out / "images/epoch_001.png"));
  EXPECT_FALSE(fs::exists(out / "images/epoch_003.png")) << "the old run's grid left behind";
  EXPECT_FALSE(fs::exists(out / "checkpoints/epoch_003.pt")) << "the old run's copy left behind";
  EXPECT_EQ(acgan::testing::metric_steps(out / "metrics.csv").size(), 5u);
  EXPECT_EQ(acgan::read_file(out / "notes.txt"), "mine");
}

// Outputs replace regular files only: a FIFO, a symbolic link or a directory in the way is refused
// with one line and left as it was; the grid's format and the --individual folder are checked
// before anything is written.
TEST_F(OutdirSafetyTest, OutputsReplaceOnlyRegularFiles) {
  TempDir out, work;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  const auto gen = out / "gen.pt";
  ASSERT_EQ(mkfifo((work / "fifo.png").c_str(), 0644), 0);
  fs::create_symlink(work / "elsewhere.png", work / "link.png");
  fs::create_directories(work / "dir.png");
  for (const char* name : {"fifo.png", "link.png", "dir.png"}) {
    expect_one_line_error(run_acgan({"generate", "--checkpoint", gen, "--out", work / name}), 1,
                          work / name, name);
  }
  EXPECT_TRUE(fs::is_fifo(work / "fifo.png"));
  EXPECT_TRUE(fs::is_symlink(work / "link.png"));
  EXPECT_FALSE(fs::exists(work / "elsewhere.png"));
  expect_one_line_error(run_acgan({"generate", "--checkpoint", gen, "--out", work / "x.jpg"}), 2,
                        ".png", "jpg");
  write(work / "a_file", "x");
  expect_one_line_error(run_acgan({"generate", "--checkpoint", gen, "--out", work / "grid.png",
                                   "--individual", work / "a_file"}),
                        2, "--individual", "--individual FILE");
  EXPECT_FALSE(fs::exists(work / "grid.png")) << "the grid was written before the check";
  expect_one_line_error(run_acgan({"generate", "--checkpoint", gen, "--out", ""}), 2, "--out",
                        "empty --out");
}

// A byte flipped inside a tensor of a checkpoint or of gen.pt is caught by the zip's CRC-32, not
// trained on.
TEST_F(OutdirSafetyTest, FlippedBytesInCheckpointsAreRefused) {
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  for (const char* name : {"checkpoint.pt", "gen.pt"}) {
    auto bytes = acgan::read_file(out / name);
    for (const double where : {0.3, 0.6, 0.9}) {
      auto damaged = bytes;
      damaged[static_cast<size_t>(where * static_cast<double>(bytes.size()))] ^= 0x10;
      acgan::write_file_atomic(out / name, damaged);
      const auto r =
          std::string(name) == "gen.pt"
              ? run_acgan({"generate", "--checkpoint", out / name, "--out", out / "g.png"})
              : run_acgan(with(args(out.path(), 2), {"--resume"}));
      expect_one_line_error(r, 1, "damaged", std::string(name) + " at " + std::to_string(where));
    }
    acgan::write_file_atomic(out / name, bytes);
  }
  EXPECT_EQ(run_acgan(with(args(out.path(), 2), {"--resume"})).exit_code, 0);
}

// Inputs that never end or block (devices, FIFOs, directories) are refused at once, by what they
// are; nothing is read from them.
TEST_F(OutdirSafetyTest, EndlessAndBlockingInputsAreRefusedAtOnce) {
  TempDir out, work;
  ASSERT_EQ(mkfifo((work / "fifo").c_str(), 0644), 0);
  fs::create_directories(work / "dir");
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"/dev/zero", "a device"}, {work / "fifo", "a FIFO"}, {work / "dir", "a directory"}};
  for (const auto& [path, kind] : inputs) {
    expect_one_line_error(run_acgan(with(args(out.path(), 1), {"--resume", path})), 1, kind,
                          "--resume " + path);
    expect_one_line_error(run_acgan({"generate", "--checkpoint", path, "--out", out / "g.png"}), 1,
                          kind, "--checkpoint " + path);
  }
  // A data file that is a FIFO or a directory.
  TempDir data;
  acgan::testing::write_synthetic_cifar(data.path(), 10);
  fs::remove(data / "data_batch_3.bin");
  ASSERT_EQ(mkfifo((data / "data_batch_3.bin").c_str(), 0644), 0);
  auto on_data = args(out.path(), 1);
  on_data[1] = data.path();
  expect_one_line_error(run_acgan(on_data), 1, "not a regular file", "data FIFO");
  fs::remove(data / "data_batch_3.bin");
  fs::create_directories(data / "data_batch_3.bin");
  expect_one_line_error(run_acgan(on_data), 1, "is a directory", "data directory");
}

// Sizes are bounded by what the machine can do, checked before any work, and nothing is written.
TEST_F(OutdirSafetyTest, SizesWithoutBoundsAreUsageErrors) {
  TempDir out;
  const auto fresh = out / "new";
  const std::vector<std::pair<std::string, std::string>> flags = {{"--num_workers", "100000"},
                                                                  {"--threads", "100000"},
                                                                  {"--nz", "2147483648"},
                                                                  {"--seed", "4294967296"}};
  for (const auto& [flag, value] : flags) {
    expect_one_line_error(run_acgan(with(args(fresh, 1), {flag, value})), 2, flag, flag + value);
  }
  const auto huge = run_acgan(with(args(fresh, 1), {"--seed", "9223372036854775808"}));
  EXPECT_EQ(huge.exit_code, 2) << huge.output;  // past int64: CLI11's own message
  EXPECT_NE(huge.output.find("--seed"), std::string::npos) << huge.output;
  EXPECT_FALSE(fs::exists(fresh)) << "a usage error created the outdir";
  expect_one_line_error(run_acgan({"generate", "--checkpoint", out / "none.pt", "--n", "100000"}),
                        2, "--n", "--n");
}

// A closed terminal (SIGHUP) stops like Ctrl-C, with a checkpoint; output piped into a reader that
// quits (SIGPIPE) does not stop training.
TEST_F(OutdirSafetyTest, ClosedTerminalsAndPipesLoseNothing) {
  TempDir out, piped;
  AcganProcess run(with(args(out.path(), 200), {"--log_every", "1"}));
  ASSERT_TRUE(run.read_until("[0/200][2/5]"));
  run.send_signal(SIGHUP);
  const auto stopped = run.wait();
  EXPECT_EQ(stopped.exit_code, 128 + SIGHUP) << stopped.output;
  acgan::TrainOptions o;
  o.batch_size = 10;
  acgan::TrainingState state(o, torch::kCPU);
  acgan::load_checkpoint(out / "checkpoint.pt", state);
  EXPECT_GE(state.progress.step, 3);

  std::string command = "set -o pipefail; '" + acgan::testing::acgan_binary() + "'";
  for (const auto& a : with(args(piped.path(), 2), {"--log_every", "1"})) command += " '" + a + "'";
  command += " 2>&1 | head -c 1 > /dev/null";
  const int status = std::system(("bash -c \"" + command + "\"").c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(acgan::testing::metric_steps(piped / "metrics.csv").size(), 10u);
}

// Every run has an identity and a data fingerprint in its checkpoint: --resume PATH cannot splice
// another run into an outdir, nor continue on other data.
TEST_F(OutdirSafetyTest, ResumeCannotMixRunsOrData) {
  TempDir a, b, empty, other_data;
  ASSERT_EQ(run_acgan(args(a.path(), 1)).exit_code, 0);
  ASSERT_EQ(run_acgan(with(args(b.path(), 1), {"--seed", "4"})).exit_code, 0);
  const auto a_checkpoint = acgan::read_file(a / "checkpoint.pt");
  expect_one_line_error(
      run_acgan(with(args(a.path(), 2), {"--resume", b / "checkpoint.pt", "--seed", "4"})), 2,
      "holds run", "another run's checkpoint");
  EXPECT_EQ(acgan::read_file(a / "checkpoint.pt"), a_checkpoint) << "the outdir was written";
  EXPECT_EQ(run_acgan(with(args(empty.path(), 2), {"--resume", b / "checkpoint.pt", "--seed", "4"}))
                .exit_code,
            0)
      << "a run may move to an empty outdir";
  EXPECT_EQ(
      run_acgan(with(args(a.path(), 2), {"--resume", a / "checkpoints/epoch_001.pt"})).exit_code, 0)
      << "a run may rewind to its own kept checkpoint";

  acgan::testing::write_synthetic_cifar(other_data.path(), 10);
  {
    // The same shapes, one pixel of one image changed.
    auto bytes = acgan::read_file(other_data / "data_batch_1.bin");
    bytes[1] = static_cast<char>(bytes[1] ^ 0x01);
    acgan::write_file_atomic(other_data / "data_batch_1.bin", bytes);
  }
  auto on_other = with(args(a.path(), 3), {"--resume"});
  on_other[1] = other_data.path();
  expect_one_line_error(run_acgan(on_other), 2, "not the data", "other data");
}

// Weights of another dtype are refused, not converted silently.
TEST_F(OutdirSafetyTest, StateDictOfAnotherDtypeIsRefused) {
  TempDir out;
  ASSERT_EQ(run_acgan(args(out.path(), 1)).exit_code, 0);
  c10::Dict<std::string, torch::Tensor> doubled;
  for (const auto& item : acgan::load_tensor_dict_file(out / "gen.pt")) {
    const auto t = item.value().toTensor();
    doubled.insert(item.key().toStringRef(), t.is_floating_point() ? t.to(torch::kDouble) : t);
  }
  const auto bytes = torch::pickle_save(c10::IValue(doubled));
  acgan::write_file_atomic(out / "gen64.pt", std::string(bytes.begin(), bytes.end()));
  expect_one_line_error(
      run_acgan({"generate", "--checkpoint", out / "gen64.pt", "--out", out / "g.png"}), 1,
      "expected Float", "float64 gen.pt");
}

}  // namespace
