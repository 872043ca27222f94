// The data sets beside CIFAR-10: CIFAR-100 (fine and coarse labels, made from CIFAR-10's bytes),
// MNIST / Fashion-MNIST IDX files (gzipped or not), what --dataset auto finds, the data spec a
// checkpoint records, and every malformed-file case with the message a user would see.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "acgan/data/cifar10.h"
#include "acgan/data/cifar100.h"
#include "acgan/data/data_spec.h"
#include "acgan/data/datasets.h"
#include "acgan/data/idx_files.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::DatasetKind;
using acgan::Split;
using acgan::testing::expect_error;
using acgan::testing::TempDir;

namespace {

// n grey 28x28 images whose pixels identify the image, labels i % 10.
std::pair<torch::Tensor, torch::Tensor> grey_set(int64_t n) {
  auto images = (torch::arange(n * 28 * 28, torch::kLong) * 7).remainder(256).to(torch::kUInt8);
  return {images.view({n, 28, 28}), torch::arange(n, torch::kLong).remainder(10)};
}

void write_idx_set(const std::string& dir, int64_t n, const std::string& suffix) {
  fs::create_directories(dir);
  const auto [images, labels] = grey_set(n);
  acgan::write_idx_file(dir + "/train-images-idx3-ubyte" + suffix, images);
  acgan::write_idx_file(dir + "/train-labels-idx1-ubyte" + suffix, labels);
  acgan::write_idx_file(dir + "/t10k-images-idx3-ubyte" + suffix, images.narrow(0, 0, 4));
  acgan::write_idx_file(dir + "/t10k-labels-idx1-ubyte" + suffix, labels.narrow(0, 0, 4));
}

// CIFAR-100 files from the synthetic CIFAR-10 images: fine label (7 i) % 100, coarse fine / 5.
void write_cifar100_set(const std::string& dir, int64_t n) {
  fs::create_directories(dir);
  const auto set = acgan::testing::make_synthetic(n);
  const auto fine = (torch::arange(n, torch::kLong) * 7).remainder(100);
  acgan::write_cifar100_file(dir + "/train.bin", set.images, fine.div(5, "floor"), fine);
  acgan::write_cifar100_file(dir + "/test.bin", set.images.narrow(0, 0, 5),
                             fine.narrow(0, 0, 5).div(5, "floor"), fine.narrow(0, 0, 5));
}

acgan::DatasetRequest request(const std::string& root, DatasetKind kind = DatasetKind::kAuto) {
  acgan::DatasetRequest r;
  r.root = root;
  r.kind = kind;
  r.side = 32;
  return r;
}

}  // namespace

TEST(IdxFilesTest, ReadsGzippedAndPlainFilesAlikeResizedToTheNetworksSide) {
  TempDir dir;
  write_idx_set(dir / "gz", 12, ".gz");
  write_idx_set(dir / "plain", 12, "");
  const auto gz = acgan::read_idx(dir / "gz", Split::kTrain, DatasetKind::kFashionMnist, 32);
  const auto plain = acgan::read_idx(dir / "plain", Split::kTrain, DatasetKind::kMnist, 32);
  EXPECT_EQ(gz.images().sizes(), (std::vector<int64_t>{12, 1, 32, 32}));
  EXPECT_TRUE(torch::equal(gz.images(), plain.images()));
  EXPECT_TRUE(torch::equal(gz.labels(), grey_set(12).second));
  EXPECT_EQ(gz.spec().class_names.at(9), "Ankle boot");
  EXPECT_EQ(plain.spec().class_names.at(9), "9");
  // At their own side the pixels are read exactly.
  const auto native = acgan::read_idx(dir / "gz", Split::kTest, DatasetKind::kMnist, 28);
  EXPECT_TRUE(torch::equal(native.images().squeeze(1), grey_set(12).first.narrow(0, 0, 4)));
  // Bilinear: a flat image stays flat, and every resized pixel lies within its source's range.
  const auto resized = gz.images().to(torch::kInt);
  const auto source = grey_set(12).first.to(torch::kInt);
  EXPECT_GE(resized.min().item<int>(), source.min().item<int>());
  EXPECT_LE(resized.max().item<int>(), source.max().item<int>());
}

TEST(IdxFilesTest, EachDamagedFileIsOneLineNamingIt) {
  TempDir dir;
  write_idx_set(dir.path(), 10, ".gz");
  const auto images = dir / "train-images-idx3-ubyte.gz";
  const auto labels = dir / "train-labels-idx1-ubyte.gz";
  const auto read = [&] { acgan::read_idx(dir.path(), Split::kTrain, DatasetKind::kMnist, 32); };
  const auto good_images = acgan::read_file(images);

  // The labels file where the images file should be: the wrong magic number.
  fs::copy_file(labels, images, fs::copy_options::overwrite_existing);
  expect_error(read, {images, "bad magic number 0x00000801", "expected 0x00000803"});
  // Cut short: the stream ends before the header's size.
  acgan::write_file_atomic(images, good_images.substr(0, good_images.size() / 2));
  expect_error(read, {images});
  // Damaged compressed bytes in the middle.
  auto damaged = good_images;
  for (size_t i = damaged.size() / 3; i < damaged.size() / 3 + 40; ++i) damaged[i] ^= 0x5a;
  acgan::write_file_atomic(images, damaged);
  expect_error(read, {images});
  acgan::write_file_atomic(images, good_images);
  // A label out of range, and fewer labels than images.
  acgan::write_idx_file(labels, torch::full({10}, 12, torch::kUInt8));
  expect_error(read, {labels, "label 0 is 12", "expected 0..9"});
  acgan::write_idx_file(labels, torch::zeros({9}, torch::kUInt8));
  expect_error(read, {labels, "holds 9 labels", "10 images"});
  fs::remove(labels);
  expect_error(read, {"train-labels-idx1-ubyte", "missing IDX file"});
}

TEST(Cifar100Test, ReadsFineOrCoarseLabelsWithNamesWhenPresent) {
  TempDir dir;
  write_cifar100_set(dir / "cifar-100-binary", 30);
  const auto set = acgan::testing::make_synthetic(30);
  const auto fine_labels = (torch::arange(30, torch::kLong) * 7).remainder(100);
  const auto fine = acgan::read_cifar100(dir.path(), Split::kTrain, acgan::Cifar100Labels::kFine);
  EXPECT_TRUE(torch::equal(fine.images(), set.images));
  EXPECT_TRUE(torch::equal(fine.labels(), fine_labels));
  EXPECT_EQ(fine.spec().num_classes(), 100);
  EXPECT_EQ(fine.spec().class_names.at(42), "42");  // no names file: numbers
  {
    std::ofstream names(dir / "cifar-100-binary/coarse_label_names.txt");
    for (int k = 0; k < 20; ++k) names << "super" << k << "\n";
  }
  const auto coarse =
      acgan::read_cifar100(dir.path(), Split::kTest, acgan::Cifar100Labels::kCoarse);
  EXPECT_TRUE(torch::equal(coarse.labels(), fine_labels.narrow(0, 0, 5).div(5, "floor")));
  EXPECT_EQ(coarse.spec().class_names.at(19), "super19");
  EXPECT_EQ(coarse.spec().describe(), "cifar100: 20 classes of 3x32x32 images");
}

TEST(Cifar100Test, DamagedFilesAreOneLineNamingThem) {
  TempDir dir;
  write_cifar100_set(dir.path(), 6);
  const auto train = dir / "train.bin";
  const auto read = [&] {
    acgan::read_cifar100(dir.path(), Split::kTrain, acgan::Cifar100Labels::kFine);
  };
  auto bytes = acgan::read_file(train);
  bytes[3074 * 2 + 1] = static_cast<char>(150);  // record 2's fine label
  acgan::write_file_atomic(train, bytes);
  expect_error(read, {train, "record 2", "label byte 150", "0..99"});
  acgan::write_file_atomic(train, bytes.substr(0, 3074 * 2 + 100));
  expect_error(read, {train, "3,074-byte", "truncated"});
  {
    std::ofstream names(dir / "fine_label_names.txt");
    names << "apple\npear\n";
  }
  write_cifar100_set(dir.path(), 6);
  expect_error(read, {"fine_label_names.txt", "expected 100 class names, found 2"});
}

TEST(DatasetDetectionTest, AutoNamesWhatItFoundAndWhy) {
  TempDir dir;
  acgan::testing::write_synthetic_cifar(dir / "c10/cifar-10-batches-bin", 2);
  write_cifar100_set(dir / "c100", 6);
  write_idx_set(dir / "f/fashion-mnist", 4, ".gz");
  write_idx_set(dir / "m/MNIST/raw", 4, "");
  const auto found = [&](const std::string& root) { return acgan::detect_dataset(request(root)); };
  EXPECT_EQ(found(dir / "c10").kind, DatasetKind::kCifar10);
  EXPECT_EQ(found(dir / "c100").kind, DatasetKind::kCifar100);
  EXPECT_EQ(found(dir / "f").kind, DatasetKind::kFashionMnist);
  EXPECT_NE(found(dir / "f").reason.find("fashion"), std::string::npos);
  EXPECT_EQ(found(dir / "m").kind, DatasetKind::kMnist);
  EXPECT_EQ(acgan::training_set_size(request(dir / "c10")), 10);
  EXPECT_EQ(acgan::training_set_size(request(dir / "c100")), 6);
  EXPECT_EQ(acgan::training_set_size(request(dir / "m")), 4);
  EXPECT_EQ(acgan::dataset_input_files(dir / "m").size(), 4u);
  fs::create_directories(dir / "empty");
  expect_error([&] { found(dir / "empty"); }, {dir / "empty", "found no data set", "CIFAR-100"});
  // --dataset names the reader: the wrong one says what it did not find.
  expect_error(
      [&] { acgan::load_dataset(request(dir / "c10", DatasetKind::kCifar100), Split::kTrain); },
      {"no CIFAR-100 binary files"});
}

TEST(DataSpecTest, CheckpointFieldsRoundTripAndOldCheckpointsAreCifar10) {
  auto spec = acgan::cifar10_spec();
  spec.kind = DatasetKind::kFashionMnist;
  spec.channels = 1;
  spec.class_names = {"T-shirt/top", "a,b", "100%", "line\nbreak"};
  EXPECT_EQ(acgan::data_spec_from_fields(spec.as_fields(), "ck.pt"), spec);
  // A checkpoint written before specs were recorded trained on CIFAR-10.
  EXPECT_EQ(acgan::data_spec_from_fields({{"nz", "110"}}, "old.pt"), acgan::cifar10_spec());
  auto fields = spec.as_fields();
  fields.erase("data_channels");
  expect_error([&] { acgan::data_spec_from_fields(fields, "ck.pt"); },
               {"ck.pt", "without data_channels"});
  fields = spec.as_fields();
  fields["data_kind"] = "imagenet";
  expect_error([&] { acgan::data_spec_from_fields(fields, "ck.pt"); }, {"ck.pt", "imagenet"});
  EXPECT_EQ(acgan::find_class(spec, "a,b"), 1);
  EXPECT_EQ(acgan::find_class(spec, "3"), 3);
  EXPECT_EQ(acgan::find_class(spec, "4"), -1);
  expect_error<acgan::UsageError>([] { acgan::parse_dataset_kind("svhn"); },
                                  {"--dataset", "fashion_mnist", "svhn"});
}

// Every kind is resized to the side asked for (the mlp networks take 4..128): CIFAR's 32-pixel
// records too, the spec saying so before the data is read; at their own side they are untouched.
TEST(DatasetSideTest, CifarRecordsAreResizedToTheRequestedSide) {
  TempDir dir;
  acgan::testing::write_synthetic_cifar(dir.path(), 2);
  auto r = request(dir.path());
  r.side = 20;
  EXPECT_EQ(acgan::dataset_spec(r).height, 20);
  const auto small = acgan::load_dataset(r, Split::kTrain);
  EXPECT_EQ(small.images().sizes(), (std::vector<int64_t>{10, 3, 20, 20}));
  EXPECT_EQ(small.spec(), acgan::dataset_spec(r));
  r.side = 32;
  const auto native = acgan::load_dataset(r, Split::kTrain);
  EXPECT_TRUE(
      torch::equal(native.images(), acgan::read_cifar10(dir.path(), Split::kTrain).images()));
  EXPECT_TRUE(torch::equal(native.with_side(20).images(), small.images()));
  EXPECT_EQ(native.with_side(20).source_digest(), native.source_digest());
}
