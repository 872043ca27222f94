// Image folders (ROOT/<class>/<image>): classes in sorted order, PNG (RGB, grey, RGBA, palette) and
// JPEG of mixed sizes decoded to the run's channels and side, train/ and val/ splits, the centre
// crop, bad files named (or skipped), FIFOs never opened, link loops ended, and a fingerprint that
// follows the files' bytes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <filesystem>

#include "acgan/data/datasets.h"
#include "acgan/data/image_folder.h"
#include "acgan/error.h"
#include "acgan/io/atomic_file.h"
#include "image_files.h"
#include "test_support.h"

namespace fs = std::filesystem;
using acgan::Split;
using acgan::testing::expect_error;
using acgan::testing::TempDir;

namespace {

acgan::ImageFolderOptions at32(bool skip_bad = false) {
  acgan::ImageFolderOptions o;
  o.side = 32;
  o.skip_bad = skip_bad;
  return o;
}

}  // namespace

TEST(ImageFolderTest, DecodesEveryKindToTheRunsChannelsAndSide) {
  TempDir dir;
  acgan::testing::write_image_folder(dir.path(), 5);
  acgan::DatasetRequest request;
  request.root = dir.path();
  request.side = 32;
  EXPECT_EQ(acgan::detect_dataset(request).kind, acgan::DatasetKind::kFolder);
  const auto spec = acgan::image_folder_spec(dir.path(), at32());
  EXPECT_EQ(spec.class_names, (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(spec.channels, 3);  // RGB files among them
  const auto train = acgan::read_image_folder_split(dir.path(), Split::kTrain, at32());
  ASSERT_EQ(train.images().sizes(), (std::vector<int64_t>{15, 3, 32, 32}));
  EXPECT_TRUE(torch::equal(train.labels(), torch::arange(3).repeat_interleave(5)));
  // Each file is flat: red 40 + 80 k in every pixel (JPEG within its rounding), whatever its
  // kind and size; grey files give three equal channels.
  for (int64_t i = 0; i < 15; ++i) {
    const auto red = train.images()[i][0].to(torch::kInt);
    const int expected = 40 + 80 * static_cast<int>(i / 5);
    EXPECT_LE((red - expected).abs().max().item<int>(), 3) << "image " << i;
  }
  EXPECT_EQ(train.images()[1][2].to(torch::kInt).max().item<int>(), 40);  // grey: blue = red
  EXPECT_EQ(train.images()[0][2].to(torch::kInt).max().item<int>(), 200);
  const auto val = acgan::read_image_folder_split(dir.path(), Split::kTest, at32());
  EXPECT_EQ(val.images().size(0), 6);
  auto grey = at32();
  grey.channels = 1;
  EXPECT_EQ(acgan::read_image_folder_split(dir.path(), Split::kTrain, grey).images().size(1), 1);
}

// --channels on a binary set converts as stb_image does for an image folder, so the same RGB
// images give the same grey either way; grey to RGB repeats the plane.
TEST(ImageFolderTest, ChannelConversionAgreesWithStbImage) {
  TempDir dir;
  for (const char* k : {"c0", "c1"}) fs::create_directories(dir / k);
  const std::vector<std::vector<uint8_t>> colours = {
      {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {200, 100, 50}, {13, 250, 77}, {255, 255, 255}};
  for (size_t i = 0; i < colours.size(); ++i) {
    acgan::testing::write_flat_image(
        dir / ("c" + std::to_string(i % 2) + "/" + std::to_string(i) + ".png"), 32, 32, colours[i]);
  }
  const auto rgb = acgan::read_image_folder_split(dir.path(), Split::kTrain, at32());
  auto grey_options = at32();
  grey_options.channels = 1;
  const auto grey = acgan::read_image_folder_split(dir.path(), Split::kTrain, grey_options);
  const auto converted = rgb.with_channels(1);
  EXPECT_EQ(converted.spec().channels, 1);
  EXPECT_TRUE(torch::equal(converted.images(), grey.images()))
      << converted.images().select(2, 0).select(2, 0) << grey.images().select(2, 0).select(2, 0);
  const auto back = grey.with_channels(3);
  EXPECT_EQ(back.spec().channels, 3);
  for (int64_t c = 0; c < 3; ++c)
    EXPECT_TRUE(torch::equal(back.images().select(1, c), grey.images().select(1, 0)));
}

TEST(ImageFolderTest, ShorterSideThenACentreCrop) {
  TempDir dir;
  for (const char* k : {"a", "b"}) fs::create_directories(dir / k);
  // 64 x 32: black, white in the middle 32 columns, black: the crop keeps the white.
  std::vector<uint8_t> pixels(64 * 32, 0);
  for (int y = 0; y < 32; ++y)
    for (int x = 16; x < 48; ++x) pixels[static_cast<size_t>(y * 64 + x)] = 255;
  acgan::testing::write_flat_image(dir / "b/flat.png", 8, 8, {9});
  acgan::testing::write_grey_png(dir / "a/band.png", 64, 32, pixels);
  const auto data = acgan::read_image_folder_split(dir.path(), Split::kTrain, at32());
  EXPECT_EQ(data.spec().channels, 1);  // every file grey
  EXPECT_EQ(data.images()[0].min().item<int>(), 255);
  EXPECT_EQ(data.images()[1].max().item<int>(), 9);  // 8x8 upscaled, still flat
}

TEST(ImageFolderTest, BadFilesAreNamedOrSkippedAndFifosNeverOpened) {
  TempDir dir;
  acgan::testing::write_image_folder(dir.path(), 3);
  const auto empty = dir / "train/cat/empty.png";
  acgan::write_file_atomic(empty, "");
  expect_error([&] { acgan::image_folder_spec(dir.path(), at32()); },
               {empty, "an empty file", "--skip_bad_images"});
  acgan::write_file_atomic(empty, "not an image at all");
  expect_error([&] { acgan::image_folder_spec(dir.path(), at32()); },
               {empty, "not a readable PNG, JPEG or BMP"});
  const auto fifo = dir / "train/dog/pipe.png";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // A loop of links: the walk ends.
  fs::create_directory_symlink(dir / "train/dog", dir / "train/dog/loop");
  const auto data = acgan::read_image_folder_split(dir.path(), Split::kTrain, at32(true));
  EXPECT_EQ(data.images().size(0), 9);  // the empty file and the FIFO left out
  expect_error([&] { acgan::image_folder_spec(dir.path(), at32()); }, {"(and 1 more)"});
  fs::remove(empty);
  expect_error([&] { acgan::image_folder_spec(dir.path(), at32()); }, {fifo, "a FIFO"});
}

TEST(ImageFolderTest, TheFingerprintFollowsTheFilesBytes) {
  TempDir dir;
  acgan::testing::write_image_folder(dir.path(), 2);
  const auto before = acgan::read_image_folder_split(dir.path(), Split::kTrain, at32());
  // Same pixels, other bytes (RGBA's alpha): the decoded images agree, the digest does not.
  acgan::testing::write_flat_image(dir / "train/bird/0.png", 40, 30, {40, 10, 200, 7});
  const auto after = acgan::read_image_folder_split(dir.path(), Split::kTrain, at32());
  EXPECT_TRUE(torch::equal(before.images(), after.images()));
  EXPECT_NE(before.source_digest(), after.source_digest());
  fs::create_directories(dir / "one/only");
  acgan::testing::write_flat_image(dir / "one/only/x.png", 4, 4, {1});
  expect_error([&] { acgan::image_folder_spec(dir / "one", at32()); },
               {"found 1 class folders", "expected 2 or more"});
}
