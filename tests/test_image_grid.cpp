// Sample grids: torchvision's make_grid layout and save_image's pixel mapping, through PNG and
// back.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "acgan/io/image_grid.h"
#include "test_support.h"

TEST(ImageGridTest, LayoutIsTenByTenWithTwoPixelPadding) {
  auto images = torch::zeros({100, 3, 32, 32});
  auto grid = acgan::make_grid(images, 10);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{342, 342, 3}));  // 10 * (32 + 2) + 2
  EXPECT_EQ(grid[0][0][0].item<int>(), 0);                       // padding is black
  EXPECT_EQ(grid[2][2][0].item<int>(), 128);    // 0 -> (0 + 1) / 2 * 255 + 0.5 -> 128
  EXPECT_EQ(grid[36][36][1].item<int>(), 128);  // second cell starts at 2 + 32 + 2
  EXPECT_EQ(grid[34][34][1].item<int>(), 0);    // padding between cells
  EXPECT_EQ(grid[35][35][1].item<int>(), 0);
}

TEST(ImageGridTest, MapsMinusOneToZeroAndOneTo255AndClamps) {
  auto images = torch::stack(
      {torch::full({3, 4, 4}, -1.0f), torch::full({3, 4, 4}, 1.0f), torch::full({3, 4, 4}, 7.0f)});
  auto grid = acgan::make_grid(images, 3, 0);
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{4, 12, 3}));
  EXPECT_EQ(grid[0][0][0].item<int>(), 0);
  EXPECT_EQ(grid[0][4][0].item<int>(), 255);
  EXPECT_EQ(grid[0][8][0].item<int>(), 255);
}

TEST(ImageGridTest, RowsAreFilledLeftToRightAndChannelsKept) {
  auto images = torch::full({4, 3, 2, 2}, -1.0f);
  images[3][0].fill_(1.0f);                    // last image: red
  auto grid = acgan::make_grid(images, 2, 1);  // 2 x 2 cells of 3 x 3 pixels plus 1
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{7, 7, 3}));
  EXPECT_EQ(grid[4][4][0].item<int>(), 255);  // second row, second column, red channel
  EXPECT_EQ(grid[4][4][1].item<int>(), 0);
  EXPECT_EQ(grid[1][4][0].item<int>(), 0);
}

TEST(ImageGridTest, PngRoundTrip) {
  acgan::testing::TempDir dir;
  auto images = torch::rand({20, 3, 32, 32}) * 2 - 1;
  acgan::save_grid_png(dir / "g.png", images, 10);
  auto back = acgan::read_png(dir / "g.png");
  EXPECT_TRUE(torch::equal(back, acgan::make_grid(images, 10)));
}
