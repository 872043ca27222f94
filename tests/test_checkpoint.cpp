// Checkpoints: a round trip restores everything a run needs; every kind of bad file gives one line
// naming it; a failed write keeps the previous file whole.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "acgan/commands/train.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::TrainingState;
using acgan::TrainOptions;
using acgan::testing::TempDir;

namespace {

TrainOptions small_options() {
  TrainOptions o;
  o.nz = 20;
  o.batch_size = 4;
  o.seed = 3;
  return o;
}

// One training step on a random batch of 4, so that Adam has state to save.
torch::Tensor step(TrainingState& s) { return acgan::testing::steps_on_random_batches(s, 1, 4); }

using acgan::testing::error_of;
using acgan::testing::expect_error;

TEST(CheckpointTest, RoundTripContinuesBitForBit) {
  TempDir dir;
  const auto options = small_options();
  torch::manual_seed(1);
  TrainingState a(options, torch::kCPU);
  step(a);
  a.progress = {3, 2, 17};
  acgan::save_checkpoint(dir / "c.pt", a, options);
  const auto next_a = step(a);  // continues from the saved RNG state

  torch::manual_seed(99);  // a different state everywhere, all of it to be overwritten
  TrainingState b(options, torch::kCPU);
  acgan::load_checkpoint(dir / "c.pt", b);
  EXPECT_EQ(b.progress.epoch, 3);
  EXPECT_EQ(b.progress.batch, 2);
  EXPECT_EQ(b.progress.step, 17);
  EXPECT_TRUE(torch::equal(a.grid_z, b.grid_z));
  const auto next_b = step(b);
  EXPECT_TRUE(torch::equal(next_a, next_b)) << next_a << next_b;
  for (const auto& item : acgan::state_dict(*a.g)) {
    EXPECT_TRUE(torch::equal(item.value(), acgan::state_dict(*b.g).at(item.key()))) << item.key();
  }
  for (const auto& item : acgan::state_dict(*a.d)) {
    EXPECT_TRUE(torch::equal(item.value(), acgan::state_dict(*b.d).at(item.key()))) << item.key();
  }
  EXPECT_EQ(acgan::read_checkpoint_config(dir / "c.pt").at("nz"), "20");
}

TEST(CheckpointTest, TruncatedAndRandomFilesAreNamedErrors) {
  TempDir dir;
  const auto options = small_options();
  TrainingState s(options, torch::kCPU);
  acgan::save_checkpoint(dir / "c.pt", s, options);
  const auto bytes = acgan::read_file(dir / "c.pt");
  for (size_t cut : {size_t{0}, size_t{100}, bytes.size() / 2, bytes.size() - 10}) {
    acgan::write_file_atomic(dir / "cut.pt", bytes.substr(0, cut));
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_error([&] { acgan::load_checkpoint(dir / "cut.pt", s); },
                 {dir / "cut.pt", "not a readable acgan checkpoint"});
  }
  std::string noise(5000, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 7919) % 251);
  acgan::write_file_atomic(dir / "noise.pt", noise);
  expect_error([&] { acgan::load_checkpoint(dir / "noise.pt", s); }, {"not a readable"});
  expect_error([&] { acgan::load_checkpoint(dir / "absent.pt", s); }, {"cannot open"});
}

TEST(CheckpointTest, StateDictIsNotACheckpoint) {
  TempDir dir;
  const auto options = small_options();
  TrainingState s(options, torch::kCPU);
  acgan::save_state_dict_file(*s.g, dir / "gen.pt");
  expect_error([&] { acgan::load_checkpoint(dir / "gen.pt", s); }, {"bare network state dict"});
}

TEST(CheckpointTest, OtherNzIsRefused) {
  TempDir dir;
  auto options = small_options();
  TrainingState s(options, torch::kCPU);
  acgan::save_checkpoint(dir / "c.pt", s, options);
  options.nz = 30;
  TrainingState other(options, torch::kCPU);
  expect_error([&] { acgan::load_checkpoint(dir / "c.pt", other); }, {"--nz 20"});
}

TEST(CheckpointTest, OtherFormatVersionIsRefused) {
  TempDir dir;
  torch::serialize::OutputArchive archive;
  archive.write("magic", c10::IValue(std::string("acgan-checkpoint")));
  archive.write("format_version", c10::IValue(int64_t{99}));
  archive.save_to(dir / "future.pt");
  TrainingState s(small_options(), torch::kCPU);
  expect_error([&] { acgan::load_checkpoint(dir / "future.pt", s); }, {"format version 99"});
  torch::serialize::OutputArchive foreign;
  foreign.write("weights", torch::ones({2}));
  foreign.save_to(dir / "foreign.pt");
  expect_error([&] { acgan::load_checkpoint(dir / "foreign.pt", s); }, {"not an acgan checkpoint"});
}

// A number in the configuration that does not parse is named with its file and key (it was
// "internal error: stoll").
TEST(CheckpointTest, DamagedConfigurationNumberIsNamed) {
  TempDir dir, data;
  acgan::testing::write_synthetic_cifar(data.path(), 10);
  torch::serialize::OutputArchive archive;
  archive.write("magic", c10::IValue(std::string("acgan-checkpoint")));
  archive.write("format_version", c10::IValue(acgan::kCheckpointFormatVersion));
  archive.write("config", c10::IValue(std::string("nz=1x0\nseed=3\n")));
  archive.save_to(dir / "damaged.pt");
  acgan::TrainOptions o;
  o.root_dir = data.path();
  o.outdir = dir / "out";
  o.resume = true;
  o.resume_path = dir / "damaged.pt";
  expect_error([&] { acgan::train(o); }, {"damaged.pt: records nz '1x0'"});
}

// The flags' table drives the checkpoint's configuration: every flag a resume weighs is kept, in
// a text that reads back to the same value; the others are not kept.
TEST(CheckpointTest, ConfigurationKeepsExactlyTheTablesKeptFlags) {
  acgan::TrainOptions changed;
  changed.batch_size = 7;
  changed.lr = 1.25e-4;
  changed.precision = "bf16";
  changed.deterministic = true;
  changed.threads = 3;
  const auto config = acgan::config_of(changed);
  for (const auto& spec : acgan::train_option_table()) {
    const bool kept = spec.on_resume != acgan::OnResume::kNotKept;
    ASSERT_EQ(config.count(spec.name), kept ? 1u : 0u) << spec.name;
    if (!kept) continue;
    acgan::TrainOptions restored;
    ASSERT_TRUE(acgan::set_option_value(restored, spec, config.at(spec.name))) << spec.name;
    EXPECT_EQ(acgan::option_value(restored, spec), config.at(spec.name)) << spec.name;
  }
  EXPECT_EQ(config.at("lr"), "0.000125");
  EXPECT_EQ(config.at("deterministic"), "1");
  acgan::TrainOptions o;
  EXPECT_FALSE(acgan::set_option_value(o, *acgan::find_train_option("nz"), "12a"));
  EXPECT_FALSE(acgan::set_option_value(o, *acgan::find_train_option("deterministic"), "yes"));
  EXPECT_EQ(o.nz, 110);
}

TEST(CheckpointTest, GeneratorLoadsFromCheckpointAndFromGenPt) {
  TempDir dir;
  const auto options = small_options();
  TrainingState s(options, torch::kCPU);
  acgan::save_checkpoint(dir / "c.pt", s, options);
  acgan::save_state_dict_file(*s.g, dir / "gen.pt");
  acgan::save_state_dict_file(*s.d, dir / "disc.pt");
  for (const auto& file : {dir / "c.pt", dir / "gen.pt"}) {
    auto g = acgan::load_generator(file);
    EXPECT_EQ(g->nz(), 20);
    EXPECT_TRUE(
        torch::equal(g->named_parameters()["fc1.weight"], s.g->named_parameters()["fc1.weight"]))
        << file;
  }
  expect_error([&] { acgan::load_generator(dir / "disc.pt"); }, {"disc.pt"});
  // A plain dict of tensors: no LibTorch type tag, a global torch.load(weights_only=True) refuses.
  const auto bytes = acgan::read_file(dir / "gen.pt");
  EXPECT_EQ(bytes.find("restore_type_tag"), std::string::npos);
  EXPECT_EQ(bytes.find("torch.jit"), std::string::npos);
}

TEST(AtomicFileTest, FailedWriteKeepsThePreviousFile) {
  TempDir dir;
  const auto path = dir / "checkpoint.pt";
  acgan::write_file_atomic(path, "previous");
  // A file size limit makes write() fail with EFBIG (as a full disk fails with ENOSPC).
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 1000;
  setrlimit(RLIMIT_FSIZE, &small);
  const auto msg = error_of([&] { acgan::write_file_atomic(path, std::string(5000, 'x')); });
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("previous file kept"), std::string::npos) << msg;
  EXPECT_EQ(acgan::read_file(path), "previous");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) files += entry.is_regular_file();
  EXPECT_EQ(files, 1) << "temporary file left behind";
}

}  // namespace

namespace {

std::string fixture(const std::string& name) {
  return std::string(ACGAN_SOURCE_DIR) + "/tests/data/" + name;
}

TEST(StateDictFileTest, ReadsADictSavedByPythonTorch) {
  const auto dict = acgan::load_tensor_dict_file(fixture("python_dict.pt"));
  ASSERT_EQ(dict.size(), 2u);
  EXPECT_TRUE(torch::equal(dict.at("fc1.bias").toTensor(), torch::tensor({0.0f, 1.0f})));
  EXPECT_EQ(dict.at("fc1.weight").toTensor().sizes(), (std::vector<int64_t>{2, 3}));
}

// module.state_dict() is an OrderedDict, which LibTorch's unpickler cannot rebuild: acgan's own
// reader (io/python_state_dict.h) gives the same tensors as the plain dict, in file order.
TEST(StateDictFileTest, ReadsAnOrderedDictSavedByPythonTorch) {
  const auto ordered = acgan::load_tensor_dict_file(fixture("python_ordered_dict.pt"));
  const auto plain = acgan::load_tensor_dict_file(fixture("python_dict.pt"));
  ASSERT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered.begin()->key().toStringRef(), "fc1.weight");
  for (const auto& item : plain) {
    EXPECT_TRUE(torch::equal(ordered.at(item.key()).toTensor(), item.value().toTensor()))
        << item.key().toStringRef();
  }
}

}  // namespace

namespace {

// LibTorch 1.13's pickle_load over-reads buffers that are not complete zips, so every file is
// checked first; the check must accept every real file and reject every cut or foreign one.
// zip_damage on a directory entry whose lengths point past the directory: named as damage, with
// no read outside the file (AddressSanitizer would see one). Real files have none.
TEST(StateDictFileTest, ZipDamageBoundsEveryDirectoryRead) {
  TempDir dir;
  TrainingState s(small_options(), torch::kCPU);
  acgan::save_state_dict_file(*s.g, dir / "gen.pt");
  const auto bytes = acgan::read_file(dir / "gen.pt");
  EXPECT_FALSE(acgan::zip_damage(bytes).has_value());
  const auto entry = bytes.rfind(std::string("PK\x01\x02", 4));  // the last directory entry
  ASSERT_NE(entry, std::string::npos);
  auto damaged = bytes;
  damaged[entry + 30] = '\xff';  // its extra field now runs 65,535 bytes past the directory
  damaged[entry + 31] = '\xff';
  const auto damage = acgan::zip_damage(damaged);
  ASSERT_TRUE(damage.has_value());
  EXPECT_NE(damage->find("directory is damaged"), std::string::npos) << *damage;
}

TEST(StateDictFileTest, CompleteZipCheckAcceptsRealFilesAndRejectsCutOnes) {
  TempDir dir;
  const auto options = small_options();
  TrainingState s(options, torch::kCPU);
  acgan::save_state_dict_file(*s.g, dir / "gen.pt");
  acgan::save_checkpoint(dir / "c.pt", s, options);
  for (const auto& path : {dir / "gen.pt", dir / "c.pt", fixture("python_dict.pt"),
                           fixture("python_ordered_dict.pt")}) {
    const auto bytes = acgan::read_file(path);
    EXPECT_TRUE(acgan::is_complete_zip(bytes)) << path;
    for (size_t cut : {size_t{0}, size_t{3}, size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
      EXPECT_FALSE(acgan::is_complete_zip(std::string_view(bytes).substr(0, cut)))
          << path << " cut at " << cut;
    }
  }
  EXPECT_FALSE(acgan::is_complete_zip(std::string(5000, '\x5a')));
  EXPECT_FALSE(acgan::is_complete_zip("PK\x03\x04 but nothing else"));
  expect_error([&] { acgan::load_tensor_dict_file(fixture("README.md")); },
               {"not a complete zip archive"});
}

}  // namespace
