// Outputs a user names never replace what they should not (io/output_file.h), a file the user may
// not write is never replaced, and a run removes only the temporaries a dead acgan left
// (io/outdir.h). In-process: each case takes milliseconds, no binary is started.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "acgan/commands/generate.h"
#include "acgan/eval/classifier.h"
#include "acgan/eval/classifier_training.h"
#include "acgan/eval/eval_command.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/outdir.h"
#include "acgan/io/output_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/models.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using testing::expect_error;
using testing::TempDir;

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(OutputFileTest, AnExistingFileNeedsOverwriteAndAnInputIsNeverAnOutput) {
  TempDir dir;
  write(dir / "notes.json", "mine");
  write(dir / "ck.pt", "a checkpoint");
  write(dir / "images/cat_000.png", "an image");
  fs::create_symlink(dir / "ck.pt", dir / "link.pt");
  const std::vector<NamedPath> inputs = {{"--checkpoint", dir / "ck.pt"},
                                         {"--images", dir / "images"}};
  expect_error<UsageError>(
      [&] {
        check_output_file({"--json", dir / "notes.json"}, inputs, false);
      },
      {"--json " + dir / "notes.json", "exists", "--overwrite"});
  check_output_file({"--json", dir / "notes.json"}, inputs, true);  // asked for: allowed
  check_output_file({"--json", dir / "new.json"}, inputs, false);   // a new path: allowed
  check_output_file({"--json", dir / "images/new.json"}, inputs, false);
  // The same file by its name, through a link, by another spelling, or inside an input folder:
  // refused even with --overwrite.
  for (const auto& same : {dir / "ck.pt", dir / "link.pt", dir.path() + "/./images/../ck.pt"}) {
    expect_error<UsageError>(
        [&] {
          check_output_file({"--json", same}, inputs, true);
        },
        {"--json " + same, "this command's input --checkpoint"});
  }
  expect_error<UsageError>(
      [&] {
        check_output_file({"--json", dir / "images/cat_000.png"}, inputs, true);
      },
      {"inside this command's input --images"});
  EXPECT_EQ(read_file(dir / "ck.pt"), "a checkpoint");
}

TEST(OutputFileTest, SuggestedPathsNeverPointAtAnExistingFile) {
  TempDir dir;
  EXPECT_EQ(unused_path(dir.path(), "classifier.pt"), dir / "classifier.pt");
  write(dir / "classifier.pt", "x");
  write(dir / "classifier_2.pt", "x");
  EXPECT_EQ(unused_path(dir.path(), "classifier.pt"), dir / "classifier_3.pt");
  // A file that is not a classifier: the line's suggestion names a free path, not that file.
  save_state_dict_file(*Generator(64), dir / "gen.pt");
  const auto message = testing::error_of([&] { load_classifier(dir / "gen.pt", "--classifier"); });
  const auto suggestion = message.substr(message.rfind("--out ") + 6);
  EXPECT_EQ(suggestion, dir / "classifier_3.pt") << message;
}

// Each command refuses before it reads a network or writes a byte.
TEST(OutputFileTest, EveryCommandAppliesTheRule) {
  TempDir dir;
  write(dir / "gen.pt", "the user's generator");
  write(dir / "grid.png", "a grid");
  write(dir / "ind/cat_001.png", "an individual sample");
  EvalCommandOptions eval;
  eval.checkpoint = dir / "gen.pt";
  eval.json = dir / "gen.pt";
  expect_error<UsageError>([&] { run_eval(eval); }, {"--json", "input --checkpoint"});
  eval.json = dir / "grid.png";
  expect_error<UsageError>([&] { run_eval(eval); }, {"--json", "exists"});
  GenerateOptions generate;
  generate.checkpoint = dir / "gen.pt";
  generate.out = dir / "gen.pt.png";
  generate.classes = "cat";
  generate.individual_dir = dir / "ind";
  expect_error<UsageError>([&] { check_generate_options(generate, acgan::cifar10_spec()); },
                           {"--individual " + dir / "ind/cat_001.png", "exists"});
  generate.overwrite = true;
  check_generate_options(generate, acgan::cifar10_spec());
  generate.out = dir / "grid.png";
  generate.overwrite = false;
  expect_error<UsageError>([&] { check_generate_options(generate, acgan::cifar10_spec()); },
                           {"--out", "exists"});
  ClassifierTrainOptions classifier;
  classifier.root_dir = dir.path();
  classifier.out = dir / "gen.pt";
  expect_error<UsageError>([&] { train_classifier(classifier); }, {"--out", "exists"});
  EXPECT_EQ(read_file(dir / "gen.pt"), "the user's generator");
  EXPECT_EQ(read_file(dir / "grid.png"), "a grid");
}

// Waits for `pid` with a deadline (the child does a few file operations); its exit code, or -1
// when it did not end in time (then it is killed).
int wait_with_deadline(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child, not syncing
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

// In a folder anyone may write (no sticky bit), another user's read-only file could be replaced by
// a rename; acgan refuses instead. As root the writer is a child that became `nobody`.
TEST(AtomicFileTest, AFileTheUserCannotWriteIsNotReplaced) {
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::all);  // 0777, no sticky bit
  const auto path = dir / "theirs.json";
  write(path, "root's");
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const auto attempt = [&] {
    try {
      write_file_atomic(path, "mine");
    } catch (const Error& e) {
      return std::string(e.what()).find("not writable by this user") != std::string::npos ? 0 : 2;
    }
    return 1;
  };
  if (::geteuid() != 0) {
    EXPECT_EQ(attempt(), 0);
  } else {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      ::_exit(attempt());
    }
    EXPECT_EQ(wait_with_deadline(child), 0) << "1: replaced, 2: another error, 3: no setuid";
  }
  EXPECT_EQ(read_file(path), "root's");
}

// A pid that was a process a moment ago and is not one now.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(OutdirTest, OnlyADeadAcgansTemporariesAreStale) {
  TempDir out;
  const OutputPaths paths(out.path());
  const auto dead = std::to_string(dead_pid()), alive = std::to_string(::getpid());
  const std::string zip("PK\x03\x04 half a checkpoint", 23), png("\x89PNG\r\n\x1a\n half", 13);
  write(out / ("checkpoint.pt.tmp." + dead), zip);
  write(out / ("images/epoch_001.png.tmp." + dead), png);
  write(out / ("metrics.csv.tmp." + dead), "epoch,iteration,step,loss_d");
  write(out / ("checkpoints/epoch_002.pt.tmp." + dead), "PK");  // a write killed early
  write(out / ("gen.pt.tmp." + alive), zip);                    // a live process's
  write(out / "disc.pt.tmp.99999999999", zip);                  // a pid never seen
  write(out / ("eval.csv.tmp." + dead), "my notes");            // not acgan's contents
  write(out / ("gen_ema.pt.tmp." + dead), "");                  // nothing to tell by
  const auto found = find_temporaries(paths);
  std::set<std::string> stale(found.stale.begin(), found.stale.end());
  EXPECT_EQ(stale, (std::set<std::string>{out / ("checkpoint.pt.tmp." + dead),
                                          out / ("images/epoch_001.png.tmp." + dead),
                                          out / ("metrics.csv.tmp." + dead),
                                          out / ("checkpoints/epoch_002.pt.tmp." + dead)}));
  std::map<std::string, std::string> kept(found.kept.begin(), found.kept.end());
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_NE(kept[out / ("gen.pt.tmp." + alive)].find("is alive"), std::string::npos);
  EXPECT_NE(kept[out / "disc.pt.tmp.99999999999"].find("never a process"), std::string::npos);
  EXPECT_NE(kept[out / ("eval.csv.tmp." + dead)].find("not acgan's"), std::string::npos);
  EXPECT_NE(kept[out / ("gen_ema.pt.tmp." + dead)].find("not acgan's"), std::string::npos);
}

}  // namespace
}  // namespace acgan
