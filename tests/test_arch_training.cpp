// The other families as a user trains them, in process. --arch mlp: grey 28-pixel images made from
// RGB CIFAR files, the family's defaults (nz 100, dropout 0.4) recorded, a resume bit for bit,
// generate from the checkpoint, --recipe mod (spectral norm in both networks); what the family
// cannot take is refused before any file is written, and a resume cannot change the family. --arch
// imagenet128: an image folder at 128x128, a resume bit for bit, export (gen.pt, TorchScript
// forward(z, classes)) and import back.
#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>

#include <torch/script.h>

#include "acgan/commands/generate.h"
#include "acgan/commands/train.h"
#include "acgan/error.h"
#include "acgan/eval/classifier.h"
#include "acgan/eval/classifier_training.h"
#include "acgan/eval/eval_command.h"
#include "acgan/interop/import_export.h"
#include "acgan/io/atomic_file.h"
#include "acgan/io/image_grid.h"
#include "acgan/io/state_dict.h"
#include "acgan/models/networks.h"
#include "acgan/training/checkpoint.h"
#include "image_files.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace acgan {
namespace {

using testing::TempDir;

class MlpTrainingTest : public testing::SyntheticCifarTest<12> {  // 60 training images
 protected:
  // 60 grey 28x28 images, batch 20: 3 steps an epoch.
  static TrainOptions options(const std::string& outdir, int64_t epochs) {
    TrainOptions o;
    o.root_dir = data_dir();
    o.outdir = outdir;
    o.arch = "mlp";
    o.channels = 1;
    o.image_size = 28;
    o.given = {"arch", "channels", "image_size"};
    o.batch_size = 20;
    o.num_epochs = epochs;
    o.log_every = 2;
    o.seed = 5;
    o.threads = 2;
    o.num_workers = 0;
    return o;
  }
};

TEST_F(MlpTrainingTest, TrainsWithTheFamilysDefaultsAndResumesBitForBit) {
  TempDir out;
  auto o = options(out.path(), 1);
  ASSERT_EQ(train(o), 0);
  const auto checkpoint = out / "checkpoint.pt";
  const auto config = read_checkpoint_config(checkpoint);
  EXPECT_EQ(config.at("arch"), "mlp");
  EXPECT_EQ(config.at("nz"), "100");  // the noise alone: the class is embedded, not in z
  EXPECT_EQ(config.at("dropout"), "0.4");
  EXPECT_EQ(config.at("image_size"), "28");
  torch::serialize::InputArchive archive;
  archive.load_from(checkpoint);
  c10::IValue version;
  archive.read("format_version", version);
  EXPECT_EQ(version.toInt(), 2) << "a release without --arch must refuse it by its version";

  DataSpec spec;
  auto g = load_generator(checkpoint, &spec);
  ASSERT_NE(g->as<MlpGeneratorImpl>(), nullptr);
  EXPECT_EQ(g->forward(torch::randn({2, 100}), torch::tensor({1, 8})).sizes(),
            (std::vector<int64_t>{2, 1, 28, 28}));
  // Ten rows of ten 28-pixel cells, 2 pixels apart.
  EXPECT_EQ(read_png(out / "images/epoch_001.png").sizes(), (std::vector<int64_t>{302, 302, 3}));
  GenerateOptions gen;
  gen.checkpoint = checkpoint;
  gen.classes = "0,9";
  gen.n = 3;
  gen.out = out / "two.png";
  generate(gen);
  EXPECT_EQ(read_png(gen.out).sizes(), (std::vector<int64_t>{62, 92, 3}));
  testing::expect_resume_is_exact(options("", 1));
}

// The classifier judges at the side it was trained at (32): a 28-pixel run is evaluated with it,
// its samples and the real images resized as the classifier's data was.
TEST_F(MlpTrainingTest, IsEvaluatedByAClassifierOfAnotherSide) {
  TempDir out;
  ASSERT_EQ(train(options(out.path(), 1)), 0);
  ClassifierTrainOptions classifier;
  classifier.root_dir = data_dir();
  classifier.channels = 1;
  classifier.out = out / "classifier.pt";
  classifier.num_epochs = 1;
  classifier.width = 2;
  classifier.batch_size = 20;
  classifier.threads = 2;
  train_classifier(classifier);
  EXPECT_EQ(load_classifier(classifier.out, "--classifier").spec.height, 32);
  EvalCommandOptions eval;
  eval.checkpoint = out / "checkpoint.pt";
  eval.n = 20;
  eval.cache = "none";
  eval.threads = 2;
  eval.settings.root_dir = data_dir();
  eval.settings.classifier = classifier.out;
  eval.settings.metrics = "accuracy";
  const auto report = run_eval(eval);
  ASSERT_TRUE(report.value("classifier_accuracy").has_value());
  EXPECT_GE(*report.value("classifier_accuracy_real"), 0.0);
}

TEST_F(MlpTrainingTest, TrainsWithRecipeMod) {
  TempDir out;
  auto o = options(out.path(), 1);
  o.recipe = "mod";  // hinge, no class loss on fakes, spectral norm in both networks, G's average
  ASSERT_EQ(train(o), 0);
  const auto config = read_checkpoint_config(out / "checkpoint.pt");
  EXPECT_EQ(config.at("spectral_norm"), "both");
  EXPECT_EQ(config.at("loss"), "hinge");
  const auto gen = load_tensor_dict_file(out / "gen.pt");
  EXPECT_TRUE(gen.contains("model.0.weight_orig"));
  EXPECT_TRUE(gen.contains("label_emb.weight"));
  EXPECT_TRUE(torch::isfinite(gen.at("model.11.weight_orig").toTensor()).all().item<bool>());
}

TEST_F(MlpTrainingTest, WhatTheFamilyCannotTakeIsRefusedBeforeAnyFile) {
  const std::vector<std::pair<std::function<void(TrainOptions&)>, std::string>> cases = {
      {[](TrainOptions& o) { o.image_size = 200; },
       "--image_size: expected 4..128 with --arch mlp"},
      {[](TrainOptions& o) { o.arch = "resnet"; },
       "--arch: expected cifar, mlp or imagenet128, got resnet"},
      {[](TrainOptions& o) { o.arch = "cifar"; }, "--image_size: expected 32 with --arch cifar"},
  };
  for (const auto& [change, needle] : cases) {
    TempDir refused;
    auto o = options(refused.path(), 1);
    change(o);
    testing::expect_error<UsageError>([&] { train(o); }, {needle});
    EXPECT_TRUE(fs::is_empty(refused.path())) << needle;
  }
  // A resume keeps the family: --arch cifar on an mlp run is refused, the checkpoint untouched.
  TempDir out;
  ASSERT_EQ(train(options(out.path(), 1)), 0);
  const auto before = read_file(out / "checkpoint.pt");
  auto resume = options(out.path(), 2);
  resume.resume = true;
  resume.arch = "cifar";
  resume.image_size = 0;
  resume.given = {"arch", "num_epochs"};
  testing::expect_error<UsageError>([&] { train(resume); }, {"--arch"});
  EXPECT_EQ(read_file(out / "checkpoint.pt"), before);
}

class Imagenet128TrainingTest : public ::testing::Test {
 protected:
  // ROOT/train/{bird,cat,dog}, 4 images each of mixed files and sizes, resized to 128.
  static void SetUpTestSuite() {
    data_ = new TempDir();
    testing::write_image_folder(data_->path(), 4);
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  // 12 images, batch 4: 3 steps an epoch.
  static TrainOptions options(const std::string& outdir, int64_t epochs) {
    TrainOptions o;
    o.root_dir = data_->path();
    o.outdir = outdir;
    o.arch = "imagenet128";
    o.given = {"arch"};
    o.batch_size = 4;
    o.num_epochs = epochs;
    o.log_every = 1;
    o.seed = 3;
    o.threads = 2;
    o.num_workers = 0;
    return o;
  }
  static inline TempDir* data_ = nullptr;
};

TEST_F(Imagenet128TrainingTest, TrainsOnAFolderResumesAndExportsForPython) {
  TempDir out;
  ASSERT_EQ(train(options(out.path(), 1)), 0);
  const auto checkpoint = out / "checkpoint.pt";
  const auto config = read_checkpoint_config(checkpoint);
  EXPECT_EQ(config.at("arch"), "imagenet128");
  EXPECT_EQ(config.at("nz"), "103");  // 100 + the folder's 3 classes, one-hot in z
  EXPECT_EQ(config.at("image_size"), "128");
  // Three rows of ten 128-pixel cells, 2 pixels apart.
  EXPECT_EQ(read_png(out / "images/epoch_001.png").sizes(), (std::vector<int64_t>{392, 1302, 3}));

  // Export: gen.pt under clvrai's keys, and G as TorchScript taking (z, classes).
  ExportOptions exported;
  exported.checkpoint = checkpoint;
  exported.out = out / "export";
  exported.torchscript = true;
  ASSERT_EQ(run_export(exported), 0);
  DataSpec spec;
  auto g = load_generator(checkpoint, &spec);
  ASSERT_NE(g->as<Imagenet128GeneratorImpl>(), nullptr);
  g->eval();
  {
    torch::NoGradGuard no_grad;
    const auto z = torch::randn({2, 103});
    const auto classes = torch::tensor({0, 2});
    auto script = torch::jit::load(out / "export/generator.pt");
    const auto scripted = script.forward({z, classes}).toTensor();
    EXPECT_EQ(script.attr("arch").toStringRef(), "imagenet128");
    EXPECT_LT((scripted - g->forward(z, classes)).abs().max().item<double>(), 1e-5);
  }

  // A bare gen.pt is recognised by its keys and imported back, its weights unchanged.
  ImportOptions imported;
  imported.gen = out / "export/gen.pt";
  imported.out = out / "imported.pt";
  ASSERT_EQ(run_import(imported), 0);
  EXPECT_EQ(read_checkpoint_config(imported.out).at("arch"), "imagenet128");
  auto back = load_generator(imported.out);
  for (const auto& item : g->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), back->named_parameters()[item.key()])) << item.key();

  testing::expect_resume_is_exact(options("", 1));
}

}  // namespace
}  // namespace acgan
