// The parts `acgan train` is made of, called in-process: the resume policy (resume_policy.h), the
// outdir claim (outdir_claim.h) and the training data's checks (training_data.h). The binary's
// tests (test_cli.cpp, test_outdir_safety.cpp) check the same rules through the command line.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/outdir.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/outdir_claim.h"
#include "acgan/training/resume_policy.h"
#include "acgan/training/train_step.h"
#include "acgan/training/training_data.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using testing::expect_error;
using testing::TempDir;

// The configuration a checkpoint of a run with `nz` and `seed` records.
ConfigMap saved_config(int64_t nz, int64_t seed) {
  TrainOptions run;
  run.nz = nz;
  run.seed = seed;
  run.num_epochs = 5;
  run.run_id = "00000000000000aa";
  return config_of(run);
}

TEST(ResumePolicyTest, AGivenFixedFlagMustAgreeWithTheCheckpoint) {
  TrainOptions options;
  options.nz = 100;
  options.given = {"nz"};
  expect_error<UsageError>([&] { adopt_checkpoint_config(options, saved_config(110, 7), "ck.pt"); },
                           {"--nz 100 contradicts the checkpoint ck.pt (nz 110)",
                            "leave the flag out to continue that run"});
}

TEST(ResumePolicyTest, FlagsNotGivenComeFromTheCheckpointAndThoseThatMayChangeAreKept) {
  TrainOptions options;
  options.num_epochs = 9;  // may change on resume: given, so kept
  options.nz = 100;        // fixed, not given: the checkpoint's
  options.given = {"num_epochs"};
  adopt_checkpoint_config(options, saved_config(120, 7), "ck.pt");
  EXPECT_EQ(options.num_epochs, 9);
  EXPECT_EQ(options.nz, 120);
  EXPECT_EQ(options.seed, 7);
  EXPECT_EQ(options.run_id, "00000000000000aa");
}

TEST(ResumePolicyTest, AValueThatDoesNotParseIsNamedWithItsFile) {
  auto saved = saved_config(110, 7);
  saved["nz"] = "many";
  TrainOptions options;
  expect_error<Error>([&] { adopt_checkpoint_config(options, saved, "ck.pt"); }, {"ck.pt", "nz"});
}

class OutdirClaimTest : public ::testing::Test {
 protected:
  TrainOptions options_for_dir() const {
    TrainOptions o;
    o.outdir = dir_.path();
    return o;
  }
  TempDir dir_;
  OutputPaths paths_{dir_.path()};
};

TEST_F(OutdirClaimTest, ANewRunIsRefusedWhereARunIsAndOverwriteRemovesOnlyItsFiles) {
  auto options = options_for_dir();
  claim_outdir_for_a_new_run(paths_, options);  // empty: nothing to refuse
  fs::create_directories(paths_.images_dir);
  write_file_atomic(paths_.real_grid(), "png");
  claim_outdir_for_a_new_run(paths_, options);  // the real grid alone is not a run
  write_file_atomic(paths_.checkpoint, "checkpoint");
  write_file_atomic(dir_ / "notes.txt", "mine");
  expect_error<UsageError>([&] { claim_outdir_for_a_new_run(paths_, options); },
                           {"--outdir " + dir_.path(), "already holds a run (checkpoint.pt)",
                            "--resume", "--overwrite"});
  EXPECT_TRUE(fs::exists(paths_.checkpoint)) << "a refusal removes nothing";
  options.overwrite = true;
  claim_outdir_for_a_new_run(paths_, options);
  EXPECT_FALSE(fs::exists(paths_.checkpoint));
  EXPECT_FALSE(fs::exists(paths_.real_grid()));
  EXPECT_EQ(read_file(dir_ / "notes.txt"), "mine") << "a user's file is not a run's";
}

TEST_F(OutdirClaimTest, AResumeFromAnotherRunIsRefused) {
  auto options = options_for_dir();
  options.nz = 20;
  options.run_id = "00000000000000aa";
  const TrainingState state(options, torch::kCPU);
  write_file_atomic(paths_.checkpoint, checkpoint_bytes(state, options));
  const std::string elsewhere = dir_ / "elsewhere.pt";
  check_same_run(paths_, options, elsewhere);  // the same run's copy: fine
  check_same_run(paths_, options, paths_.checkpoint);
  options.run_id = "00000000000000bb";
  expect_error<UsageError>(
      [&] { check_same_run(paths_, options, elsewhere); },
      {"--resume " + elsewhere + " is run 00000000000000bb", "holds run 00000000000000aa"});
  check_same_run(paths_, options, paths_.checkpoint);  // the outdir's own checkpoint
}

TEST(TrainingDataTest, TheFingerprintRefusesOtherDataAndIsRecorded) {
  const auto set = testing::make_synthetic(40, 1);
  const ImageDataset data(set.images, set.labels, cifar10_spec());
  TrainOptions options;
  check_same_data(data, options);  // a new run: records its data's fingerprint
  EXPECT_EQ(options.data_fingerprint, data_fingerprint(data));
  EXPECT_EQ(options.data_fingerprint.rfind("40:", 0), 0u) << options.data_fingerprint;
  const auto other = testing::make_synthetic(40, 2);
  const ImageDataset other_data(other.images, other.labels, cifar10_spec());
  expect_error<UsageError>([&] { check_same_data(other_data, options); },
                           {"--root_dir", "not the data this run was trained on"});
}

TEST(TrainingDataTest, RealExamplesAreOneClassARowAndMissingClassesBlack) {
  auto set = testing::make_synthetic(20, 3);
  set.labels.fill_(4);  // every image of class 4
  const ImageDataset data(set.images, set.labels, cifar10_spec());
  const auto grid = real_examples(data, grid_classes(10), 3);
  ASSERT_EQ(grid.size(0), 3 * static_cast<int64_t>(cifar10_spec().class_names.size()));
  EXPECT_TRUE(grid.narrow(0, 0, 12).eq(-1).all().item<bool>()) << "classes 0..3 are missing";
  EXPECT_TRUE(torch::equal(grid.narrow(0, 12, 3), data.batch(torch::arange(3)).data));
}

// validate(): each flag out of range is a usage error naming it, set as the command line sets it
// (through the option table); test_cli.cpp checks a few of them through the binary's exit code.
TEST(ValidateTest, EachFlagOutOfRangeIsNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"batch_size", "0"},
      {"batch_size", "-5"},
      {"num_epochs", "-1"},
      {"lr", "0"},
      {"lr", "-0.1"},
      {"lr", "nan"},
      {"lr", "inf"},
      {"beta1", "1"},
      {"beta1", "-0.5"},
      {"nz", "10"},
      {"nz", "0"},
      {"num_workers", "-1"},
      {"log_every", "0"},
      {"sample_every", "0"},
      {"checkpoint_every", "-2"},
      {"threads", "-1"},
      {"dropout", "1"},
      {"precision", "fp8"},
      {"loss", "wgan"},
      {"label_smoothing", "1"},
      {"d_class_loss_on_fakes", "yes"},
      {"spectral_norm", "g"},
      {"g_ema", "1"},
      {"diffaugment", "blur"},
      {"channels", "2"},
      {"image_size", "64"},
      {"dataset", "svhn"},
      {"labels", "medium"},
      {"seed", "-2"},
      {"backend", "mpi"},
  };
  for (const auto& [flag, value] : cases) {
    TrainOptions options;
    const auto* spec = find_train_option(flag);
    ASSERT_NE(spec, nullptr) << flag;
    ASSERT_TRUE(set_option_value(options, *spec, value)) << flag << " " << value;
    SCOPED_TRACE(flag + " " + value);
    expect_error<UsageError>([&] { validate(options); }, {"--" + flag + ": expected"});
  }
  TrainOptions hinge;
  hinge.loss = "hinge";
  hinge.label_smoothing = 0.1;
  expect_error<UsageError>([&] { validate(hinge); }, {"--label_smoothing", "0 with --loss hinge"});
  EXPECT_NO_THROW(validate(TrainOptions()));
}

TEST(ValidateTest, StringFlagsReadAsWhatTheyMean) {
  EXPECT_EQ(parse_source_loss("hinge"), SourceLoss::kHinge);
  EXPECT_EQ(parse_source_loss("bce"), SourceLoss::kBce);
  EXPECT_EQ(parse_spectral_norm("d"), SpectralNormOn::kD);
  EXPECT_EQ(parse_spectral_norm("both"), SpectralNormOn::kBoth);
  EXPECT_EQ(parse_spectral_norm("none"), SpectralNormOn::kNone);
  EXPECT_TRUE(parse_on_off("d_class_loss_on_fakes", "on"));
  EXPECT_FALSE(parse_on_off("d_class_loss_on_fakes", "off"));
  expect_error<UsageError>([] { parse_on_off("d_class_loss_on_fakes", "On"); },
                           {"--d_class_loss_on_fakes: expected on or off, got On"});
}

}  // namespace
}  // namespace acgan
