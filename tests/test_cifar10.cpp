// The CIFAR-10 binary reader: exact values, channel order, normalisation, folder layouts, and every
// malformed-file case, each with the message a user would see.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "acgan/data/cifar10.h"
#include "acgan/error.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::ImageDataset;
using acgan::Split;
using acgan::testing::expect_error;
using acgan::testing::TempDir;

TEST(Cifar10Test, ReadsExactPixelsLabelsAndChannelOrder) {
  TempDir dir;
  // One hand-made record: label 7, red plane all 10, green 20, blue a ramp over the row.
  std::string record(1 + 3072, '\0');
  record[0] = 7;
  for (int i = 0; i < 1024; ++i) {
    record[1 + i] = 10;
    record[1 + 1024 + i] = 20;
    record[1 + 2048 + i] = static_cast<char>(i % 32);
  }
  auto synthetic = acgan::testing::write_synthetic_cifar(dir.path(), 3);
  {
    std::ofstream out(dir / "data_batch_1.bin", std::ios::binary | std::ios::trunc);
    for (int r = 0; r < 3; ++r) out << record;
  }
  auto data = acgan::read_cifar10(dir.path(), Split::kTrain);
  ASSERT_EQ(*data.size(), 15u);
  EXPECT_EQ(data.images().sizes(), (std::vector<int64_t>{15, 3, 32, 32}));
  EXPECT_EQ(data.labels()[0].item<int64_t>(), 7);
  EXPECT_EQ(data.images()[0][0][5][9].item<int>(), 10);   // red plane first
  EXPECT_EQ(data.images()[0][1][31][0].item<int>(), 20);  // then green
  EXPECT_EQ(data.images()[0][2][3][17].item<int>(), 17);  // blue, row-major: column 17
  // Files are concatenated in order 1..5: records 3.. are data_batch_2's.
  EXPECT_TRUE(torch::equal(data.images().narrow(0, 3, 12), synthetic.images.narrow(0, 3, 12)));
  EXPECT_TRUE(torch::equal(data.labels().narrow(0, 3, 12), synthetic.labels.narrow(0, 3, 12)));
}

TEST(Cifar10Test, NormalisesLikeToTensorAndNormalize) {
  auto pixels = torch::tensor({0, 1, 127, 128, 254, 255}, torch::kUInt8);
  auto expected = (pixels.to(torch::kFloat) / 255 - 0.5) / 0.5;  // torchvision's two transforms
  EXPECT_TRUE(torch::equal(acgan::normalize_pixels(pixels), expected));
  EXPECT_EQ(acgan::normalize_pixels(pixels)[0].item<float>(), -1.0f);
  EXPECT_EQ(acgan::normalize_pixels(pixels)[5].item<float>(), 1.0f);
}

TEST(Cifar10Test, BatchEqualsStackedExamples) {
  auto set = acgan::testing::make_synthetic(50, 3);
  ImageDataset data(set.images, set.labels, acgan::cifar10_spec());
  auto idx = torch::tensor({49, 0, 7, 7, 23}, torch::kLong);
  auto batch = data.batch(idx);
  ASSERT_EQ(batch.data.sizes(), (std::vector<int64_t>{5, 3, 32, 32}));
  for (int64_t i = 0; i < idx.size(0); ++i) {
    auto one = data.get(static_cast<size_t>(idx[i].item<int64_t>()));
    EXPECT_TRUE(torch::equal(batch.data[i], one.data)) << "row " << i;
    EXPECT_EQ(batch.target[i].item<int64_t>(), one.target.item<int64_t>());
  }
  EXPECT_TRUE(torch::equal(batch.data, acgan::normalize_pixels(set.images.index_select(0, idx))));
}

TEST(Cifar10Test, FindsFilesInRootOrInBinFolderAndReadsTestSplit) {
  TempDir dir;
  acgan::testing::write_synthetic_cifar(dir / "cifar-10-batches-bin", 4);
  EXPECT_EQ(acgan::find_cifar10_dir(dir.path()), dir / "cifar-10-batches-bin");
  EXPECT_EQ(*acgan::read_cifar10(dir.path(), Split::kTrain).size(), 20u);
  EXPECT_EQ(*acgan::read_cifar10(dir / "cifar-10-batches-bin", Split::kTest).size(), 4u);
}

TEST(Cifar10Test, HeadSharesTheFirstExamples) {
  auto set = acgan::testing::make_synthetic(30);
  ImageDataset data(set.images, set.labels, acgan::cifar10_spec());
  auto head = data.head(12);
  EXPECT_EQ(*head.size(), 12u);
  EXPECT_TRUE(torch::equal(head.images(), set.images.narrow(0, 0, 12)));
}

TEST(Cifar10Test, MissingFolderAndMissingFilesAreNamed) {
  TempDir dir;
  expect_error([&] { acgan::read_cifar10(dir / "nope", Split::kTrain); },
               {"nope", "no such directory"});
  expect_error([&] { acgan::read_cifar10(dir.path(), Split::kTrain); },
               {dir.path(), "data_batch_1.bin", "get_cifar10.sh"});
  acgan::testing::write_synthetic_cifar(dir.path(), 2);
  fs::remove(dir / "data_batch_4.bin");
  expect_error([&] { acgan::read_cifar10(dir.path(), Split::kTrain); },
               {"data_batch_4.bin", "missing"});
}

TEST(Cifar10Test, PythonVersionGetsAHint) {
  TempDir dir;
  fs::create_directories(dir / "cifar-10-batches-py");
  expect_error([&] { acgan::read_cifar10(dir.path(), Split::kTrain); },
               {"cifar-10-batches-py", "Python", "binary version"});
}

TEST(Cifar10Test, TruncatedFileIsRejected) {
  TempDir dir;
  acgan::testing::write_synthetic_cifar(dir.path(), 2);
  fs::resize_file(dir / "data_batch_3.bin", 3073 + 100);
  expect_error([&] { acgan::read_cifar10(dir.path(), Split::kTrain); },
               {"data_batch_3.bin", "3,073-byte", "found 3173 bytes"});
  fs::resize_file(dir / "data_batch_3.bin", 0);
  expect_error([&] { acgan::read_cifar10(dir.path(), Split::kTrain); },
               {"data_batch_3.bin", "found 0 bytes"});
}

TEST(Cifar10Test, LabelOutOfRangeIsRejected) {
  TempDir dir;
  acgan::testing::write_synthetic_cifar(dir.path(), 3);
  {
    std::fstream f(dir / "data_batch_2.bin", std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(2 * 3073);
    f.put(static_cast<char>(200));
  }
  expect_error([&] { acgan::read_cifar10(dir.path(), Split::kTrain); },
               {"data_batch_2.bin", "record 2", "label byte 200", "0..9"});
}

TEST(Cifar10Test, ClassNamesInLabelOrder) {
  const auto& names = acgan::cifar10_spec().class_names;
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names[0], "airplane");
  EXPECT_EQ(names[3], "cat");
  EXPECT_EQ(names[9], "truck");
}
