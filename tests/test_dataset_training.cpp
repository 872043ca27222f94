// Training on each kind of data set beside CIFAR-10, in process: Fashion-MNIST as Debian's
// dataset-fashion-mnist installs it, and CIFAR-100 (fine and coarse) made from CIFAR-10's bytes.
// Each run builds its networks from the data's spec, writes grids of its classes, records the spec
// in its checkpoint, and resumes bit for bit; a resume on another data set is refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <tuple>

#include "acgan/commands/generate.h"
#include "acgan/commands/train.h"
#include "acgan/data/cifar100.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/training/checkpoint.h"
#include "image_files.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::TrainOptions;
using acgan::testing::TempDir;

namespace {

const char* const kFashionMnist = "/usr/share/datasets/fashion-mnist";

TrainOptions options(const std::string& root, const std::string& outdir, int64_t epochs) {
  TrainOptions o;
  o.root_dir = root;
  o.outdir = outdir;
  o.subset = 200;
  o.batch_size = 20;
  o.num_epochs = epochs;
  o.log_every = 5;
  o.seed = 3;
  o.threads = 2;
  o.num_workers = 0;
  return o;
}

class Cifar100TrainingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir();
    const auto set = acgan::testing::make_synthetic(200);
    const auto fine = (torch::arange(200, torch::kLong) * 7).remainder(100);
    acgan::write_cifar100_file(*data_ / "train.bin", set.images, fine.div(5, "floor"), fine);
    acgan::write_cifar100_file(*data_ / "test.bin", set.images.narrow(0, 0, 20),
                               fine.narrow(0, 0, 20).div(5, "floor"), fine.narrow(0, 0, 20));
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static inline TempDir* data_ = nullptr;
};

}  // namespace

TEST(FashionMnistTrainingTest, TrainsOnGreyImagesAndResumesBitForBit) {
  if (!fs::exists(kFashionMnist)) {
    GTEST_SKIP() << kFashionMnist << " missing: apt-get install dataset-fashion-mnist "
                 << "(scripts/setup.sh --tests does)";
  }
  TempDir out;
  auto o = options(kFashionMnist, out.path(), 1);
  ASSERT_EQ(acgan::train(o), 0);
  acgan::DataSpec spec;
  auto g = acgan::load_generator(out / "checkpoint.pt", &spec);
  EXPECT_EQ(spec.kind, acgan::DatasetKind::kFashionMnist);
  EXPECT_EQ(spec.channels, 1);
  EXPECT_EQ(spec.class_names.at(0), "T-shirt/top");
  EXPECT_EQ(g->forward(torch::randn({2, g->nz()}), torch::zeros({2}, torch::kLong)).sizes(),
            (std::vector<int64_t>{2, 1, 32, 32}));
  // One row a class, ten columns; grey cells drawn in three equal channels.
  const auto grid = acgan::read_png(out / "images/epoch_001.png");
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{342, 342, 3}));
  EXPECT_TRUE(torch::equal(grid.select(2, 0), grid.select(2, 2)));
  // generate takes the data's names; a '/' in one does not make a folder.
  acgan::GenerateOptions gen;
  gen.checkpoint = out / "checkpoint.pt";
  gen.classes = "T-shirt/top,Ankle boot";
  gen.n = 2;
  gen.out = out / "two.png";
  gen.individual_dir = out / "each";
  acgan::generate(gen);
  EXPECT_TRUE(fs::exists(out / "each/T-shirt_top_001.png"));
  EXPECT_TRUE(fs::exists(out / "each/Ankle boot_000.png"));
  acgan::testing::expect_resume_is_exact(o);
}

TEST_F(Cifar100TrainingTest, FineLabelsGiveAHundredClassesAndTwentyGridRows) {
  TempDir out;
  auto o = options(data_->path(), out.path(), 1);
  ASSERT_EQ(acgan::train(o), 0);
  const auto config = acgan::read_checkpoint_config(out / "checkpoint.pt");
  EXPECT_EQ(config.at("nz"), "200");  // the original's 100 noise entries + 100 classes
  const auto recorded = acgan::options_from_config(config, "checkpoint.pt");
  EXPECT_EQ(recorded.data_spec.num_classes(), 100);
  const auto grid = acgan::read_png(out / "images/epoch_001.png");
  EXPECT_EQ(grid.size(0), 20 * 34 + 2);  // 20 of the 100 classes
  EXPECT_EQ(acgan::read_png(out / "images/real_samples.png").size(0), 20 * 34 + 2);
  acgan::testing::expect_resume_is_exact(o);
}

TEST_F(Cifar100TrainingTest, CoarseLabelsResumeBitForBitAndOtherDataIsRefused) {
  auto o = options(data_->path(), "", 1);
  o.labels = "coarse";
  acgan::testing::expect_resume_is_exact(o);
  TempDir out;
  o.outdir = out.path();
  ASSERT_EQ(acgan::train(o), 0);
  EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("nz"), "120");
  // The same run resumed on CIFAR-10: refused before anything is written.
  TempDir cifar10;
  acgan::testing::write_synthetic_cifar(cifar10.path(), 40);
  const auto before = acgan::read_file(out / "checkpoint.pt");
  auto other = o;
  other.root_dir = cifar10.path();
  other.resume = true;
  other.num_epochs = 2;
  other.given = {"num_epochs"};
  acgan::testing::expect_error<acgan::UsageError>(
      [&] { acgan::train(other); }, {"--root_dir " + cifar10.path(), "holds cifar10: 10 classes",
                                     "trained on cifar100: 20 classes"});
  EXPECT_EQ(acgan::read_file(out / "checkpoint.pt"), before);
  // --nz must leave room for noise after the 20-wide one-hot class.
  TempDir small;
  auto narrow = options(data_->path(), small.path(), 1);
  narrow.labels = "coarse";
  narrow.nz = 15;
  acgan::testing::expect_error<acgan::UsageError>([&] { acgan::train(narrow); },
                                                  {"--nz: expected 21..", "got 15"});
  EXPECT_TRUE(fs::is_empty(small.path()));
}

// --channels 1 turns CIFAR-100's RGB into grey: the networks take and make one channel, the
// checkpoint records it, a resume continues bit for bit; --channels 3 on Fashion-MNIST repeats its
// grey. Other channel counts and sides the seed's networks cannot take are refused before any file.
TEST_F(Cifar100TrainingTest, ChannelsFlagConvertsTheImagesAndTheNetworksFollow) {
  auto o = options(data_->path(), "", 1);
  o.labels = "coarse";
  o.channels = 1;
  o.given = {"channels"};
  acgan::testing::expect_resume_is_exact(o);
  TempDir out;
  o.outdir = out.path();
  ASSERT_EQ(acgan::train(o), 0);
  acgan::DataSpec spec;
  auto g = acgan::load_generator(out / "checkpoint.pt", &spec);
  EXPECT_EQ(spec.channels, 1);
  EXPECT_EQ(g->forward(torch::randn({2, g->nz()}), torch::zeros({2}, torch::kLong)).size(1), 1);
  EXPECT_EQ(acgan::read_checkpoint_config(out / "checkpoint.pt").at("channels"), "1");
  const auto real = acgan::read_png(out / "images/real_samples.png");
  EXPECT_TRUE(torch::equal(real.select(2, 0), real.select(2, 1))) << "grey cells";

  for (const auto& [flag, value, needle] :
       {std::tuple{"channels", 2, "--channels: expected 1 (grey) or 3 (RGB)"},
        std::tuple{"image_size", 64,
                   "--image_size: expected 32 with --arch cifar (its layer tables fix it)"}}) {
    TempDir refused;
    auto bad = options(data_->path(), refused.path(), 1);
    (std::string(flag) == "channels" ? bad.channels : bad.image_size) = value;
    acgan::testing::expect_error<acgan::UsageError>([&] { acgan::train(bad); }, {needle});
    EXPECT_TRUE(fs::is_empty(refused.path())) << flag;
  }
}

TEST(FashionMnistTrainingTest, ChannelsThreeRepeatsTheGreyImages) {
  if (!fs::exists(kFashionMnist)) GTEST_SKIP() << kFashionMnist << " missing";
  TempDir out;
  auto o = options(kFashionMnist, out.path(), 1);
  o.subset = 40;
  o.channels = 3;
  ASSERT_EQ(acgan::train(o), 0);
  acgan::DataSpec spec;
  auto g = acgan::load_generator(out / "checkpoint.pt", &spec);
  EXPECT_EQ(spec.channels, 3);
  EXPECT_EQ(spec.kind, acgan::DatasetKind::kFashionMnist);
  EXPECT_EQ(g->forward(torch::randn({2, g->nz()}), torch::zeros({2}, torch::kLong)).size(1), 3);
}

// A checkpoint written before data specs were kept (its configuration without the data_* keys and
// without --dataset, --labels, --channels, --image_size, as main wrote them) is CIFAR-10's: it
// resumes and continues exactly as a run that never stopped, given the data's own channels and
// side or not, and records them resolved from then on.
TEST(OlderCheckpointTest, WithoutADataSpecItIsCifar10sAndResumesBitForBit) {
  TempDir data, straight, resumed;
  acgan::testing::write_synthetic_cifar(data.path(), 40);
  auto a = options(data.path(), straight.path(), 2);
  ASSERT_EQ(acgan::train(a), 0);
  auto first = options(data.path(), resumed.path(), 1);
  ASSERT_EQ(acgan::train(first), 0);
  // Rewritten as the older acgan wrote it.
  const auto path = resumed / "checkpoint.pt";
  auto config = acgan::read_checkpoint_config(path);
  for (const char* key : {"data_kind", "data_channels", "data_height", "data_width", "data_classes",
                          "dataset", "labels", "channels", "image_size"}) {
    ASSERT_EQ(config.erase(key), 1u) << key;
  }
  auto recorded = acgan::options_from_config(config, path);
  acgan::TrainingState state(recorded, torch::kCPU);
  acgan::load_checkpoint(path, state);
  acgan::write_file_atomic(path, acgan::checkpoint_bytes(state, config));
  EXPECT_EQ(acgan::options_from_config(acgan::read_checkpoint_config(path), path).data_spec,
            acgan::cifar10_spec());
  auto second = first;
  second.num_epochs = 2;
  second.resume = true;
  second.channels = 3;
  second.image_size = 32;
  second.given = {"num_epochs", "channels", "image_size"};
  ASSERT_EQ(acgan::train(second), 0);
  EXPECT_EQ(acgan::read_file(straight / "gen.pt"), acgan::read_file(resumed / "gen.pt"));
  EXPECT_EQ(acgan::read_file(straight / "disc.pt"), acgan::read_file(resumed / "disc.pt"));
  const auto now = acgan::read_checkpoint_config(path);
  EXPECT_EQ(now.at("channels"), "3");
  EXPECT_EQ(now.at("image_size"), "32");
}

// An image folder of PNG (RGB, grey, RGBA, palette) and JPEG files of mixed sizes: three classes,
// RGB networks, grids of its classes, resumed bit for bit; a changed file is another data set.
TEST(ImageFolderTrainingTest, TrainsOnMixedFilesAndResumesBitForBit) {
  TempDir data, out;
  acgan::testing::write_image_folder(data.path(), 20);
  auto o = options(data.path(), out.path(), 1);
  o.subset = 0;  // all 60
  ASSERT_EQ(acgan::train(o), 0);
  acgan::DataSpec spec;
  acgan::load_generator(out / "checkpoint.pt", &spec);
  EXPECT_EQ(spec.kind, acgan::DatasetKind::kFolder);
  EXPECT_EQ(spec.class_names, (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(spec.channels, 3);
  EXPECT_EQ(acgan::read_png(out / "images/epoch_001.png").size(0), 3 * 34 + 2);
  acgan::testing::expect_resume_is_exact(o);
  // The same names and pixels, other bytes: a resume is refused.
  acgan::testing::write_flat_image(data / "train/cat/0.png", 40, 30, {120, 10, 200, 99});
  auto again = o;
  again.resume = true;
  again.num_epochs = 2;
  again.given = {"num_epochs"};
  acgan::testing::expect_error<acgan::UsageError>([&] { acgan::train(again); },
                                                  {"not the data this run was trained on"});
}
