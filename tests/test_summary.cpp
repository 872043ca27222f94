// `acgan summary` against the layer tables of the original README (../shared/seeds) and of
// clvrai/ACGAN-PyTorch's 128-pixel networks, row by row.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "acgan/models/models.h"
#include "acgan/models/summary.h"
#include "test_support.h"

namespace {

std::vector<std::string> tokens(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

// The rows of a table: lines whose first token looks like "Type-N", plus the totals and sizes.
std::vector<std::vector<std::string>> table_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto t = tokens(line);
    if (t.empty()) continue;
    static const std::regex layer_name("[A-Za-z0-9]+-[0-9]+");
    const bool layer = std::regex_match(t[0], layer_name);
    const bool total =
        line.find("params:") != std::string::npos || line.find("(MB):") != std::string::npos;
    if (layer || total) rows.push_back(t);
  }
  return rows;
}

// The tables as the seed README prints them (000_56bcb6bed3778bf7.txt), kept here so the test
// needs nothing outside the repository.
const char* kSeedTables = R"(Linear-1 [-1, 384] 42,624
ConvTranspose2d-2 [-1, 192, 4, 4] 1,179,840
BatchNorm2d-3 [-1, 192, 4, 4] 384
ReLU-4 [-1, 192, 4, 4] 0
ConvTranspose2d-5 [-1, 96, 8, 8] 295,008
BatchNorm2d-6 [-1, 96, 8, 8] 192
ReLU-7 [-1, 96, 8, 8] 0
ConvTranspose2d-8 [-1, 48, 16, 16] 73,776
BatchNorm2d-9 [-1, 48, 16, 16] 96
ReLU-10 [-1, 48, 16, 16] 0
ConvTranspose2d-11 [-1, 3, 32, 32] 2,307
Tanh-12 [-1, 3, 32, 32] 0
Total params: 1,594,227
Trainable params: 1,594,227
Non-trainable params: 0
Input size (MB): 0.00
Forward/backward pass size (MB): 0.54
Params size (MB): 6.08
Estimated Total Size (MB): 6.62
Conv2d-1 [-1, 16, 16, 16] 448
LeakyReLU-2 [-1, 16, 16, 16] 0
Conv2d-3 [-1, 32, 16, 16] 4,640
BatchNorm2d-4 [-1, 32, 16, 16] 64
LeakyReLU-5 [-1, 32, 16, 16] 0
Dropout-6 [-1, 32, 16, 16] 0
Conv2d-7 [-1, 64, 8, 8] 18,496
BatchNorm2d-8 [-1, 64, 8, 8] 128
LeakyReLU-9 [-1, 64, 8, 8] 0
Dropout-10 [-1, 64, 8, 8] 0
Conv2d-11 [-1, 128, 8, 8] 73,856
BatchNorm2d-12 [-1, 128, 8, 8] 256
LeakyReLU-13 [-1, 128, 8, 8] 0
Dropout-14 [-1, 128, 8, 8] 0
Conv2d-15 [-1, 256, 4, 4] 295,168
BatchNorm2d-16 [-1, 256, 4, 4] 512
LeakyReLU-17 [-1, 256, 4, 4] 0
Dropout-18 [-1, 256, 4, 4] 0
Conv2d-19 [-1, 512, 4, 4] 1,180,160
BatchNorm2d-20 [-1, 512, 4, 4] 1,024
LeakyReLU-21 [-1, 512, 4, 4] 0
Dropout-22 [-1, 512, 4, 4] 0
Linear-23 [-1, 1] 8,193
Sigmoid-24 [-1, 1] 0
Linear-25 [-1, 10] 81,930
Total params: 1,664,875
Trainable params: 1,664,875
Non-trainable params: 0
Input size (MB): 0.01
Forward/backward pass size (MB): 1.06
Params size (MB): 6.35
Estimated Total Size (MB): 7.43
)";

TEST(SummaryTest, MatchesTheSeedTablesRowByRow) {
  const auto ours =
      table_rows(acgan::model_summary(acgan::GeneratorOptions(), acgan::DiscriminatorOptions()));
  const auto expected = table_rows(kSeedTables);
  ASSERT_EQ(ours.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(ours[i], expected[i]) << "row " << i;
}

TEST(SummaryTest, MatchesTheSeedFileWhenPresent) {
  const std::string seed =
      std::string(ACGAN_SOURCE_DIR) + "/../shared/seeds/000_56bcb6bed3778bf7.txt";
  if (!std::filesystem::exists(seed)) GTEST_SKIP() << seed << " not found";
  std::ifstream in(seed);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(
      table_rows(acgan::model_summary(acgan::GeneratorOptions(), acgan::DiscriminatorOptions())),
      table_rows(text.str()));
}

TEST(SummaryTest, FollowsNz) {
  const auto text =
      acgan::model_summary(acgan::GeneratorOptions().nz(50), acgan::DiscriminatorOptions());
  EXPECT_NE(text.find("Generator (nz = 50, 10 classes)"), std::string::npos);
  // Linear(50, 384): 50 * 384 + 384 = 19,584 parameters.
  EXPECT_NE(text.find("19,584"), std::string::npos);
  EXPECT_NE(text.find("Total params: 1,571,187"), std::string::npos);
}

// torchsummary's rows for clvrai/ACGAN-PyTorch's network.py, _netG(ngpu, 110) on (110,) and
// _netD(ngpu, 10) on (3, 128, 128), derived from its layers: Conv/ConvT without bias (k*k*Cin*Cout
// parameters), BatchNorm 2C, the heads on 13*13*512 = 86,528 features, and its forward's Softmax
// then Sigmoid.
const char* kClvraiImagenetTables = R"(Linear-1 [-1, 768] 85,248
ConvTranspose2d-2 [-1, 384, 5, 5] 7,372,800
BatchNorm2d-3 [-1, 384, 5, 5] 768
ReLU-4 [-1, 384, 5, 5] 0
ConvTranspose2d-5 [-1, 256, 13, 13] 2,457,600
BatchNorm2d-6 [-1, 256, 13, 13] 512
ReLU-7 [-1, 256, 13, 13] 0
ConvTranspose2d-8 [-1, 192, 29, 29] 1,228,800
BatchNorm2d-9 [-1, 192, 29, 29] 384
ReLU-10 [-1, 192, 29, 29] 0
ConvTranspose2d-11 [-1, 64, 61, 61] 307,200
Tanh-12 [-1, 64, 61, 61] 0
ConvTranspose2d-13 [-1, 3, 128, 128] 12,288
Tanh-14 [-1, 3, 128, 128] 0
Total params: 11,465,600
Trainable params: 11,465,600
Non-trainable params: 0
Conv2d-1 [-1, 16, 64, 64] 432
LeakyReLU-2 [-1, 16, 64, 64] 0
Dropout-3 [-1, 16, 64, 64] 0
Conv2d-4 [-1, 32, 62, 62] 4,608
BatchNorm2d-5 [-1, 32, 62, 62] 64
LeakyReLU-6 [-1, 32, 62, 62] 0
Dropout-7 [-1, 32, 62, 62] 0
Conv2d-8 [-1, 64, 31, 31] 18,432
BatchNorm2d-9 [-1, 64, 31, 31] 128
LeakyReLU-10 [-1, 64, 31, 31] 0
Dropout-11 [-1, 64, 31, 31] 0
Conv2d-12 [-1, 128, 29, 29] 73,728
BatchNorm2d-13 [-1, 128, 29, 29] 256
LeakyReLU-14 [-1, 128, 29, 29] 0
Dropout-15 [-1, 128, 29, 29] 0
Conv2d-16 [-1, 256, 15, 15] 294,912
BatchNorm2d-17 [-1, 256, 15, 15] 512
LeakyReLU-18 [-1, 256, 15, 15] 0
Dropout-19 [-1, 256, 15, 15] 0
Conv2d-20 [-1, 512, 13, 13] 1,179,648
BatchNorm2d-21 [-1, 512, 13, 13] 1,024
LeakyReLU-22 [-1, 512, 13, 13] 0
Dropout-23 [-1, 512, 13, 13] 0
Linear-24 [-1, 1] 86,529
Linear-25 [-1, 10] 865,290
Softmax-26 [-1, 10] 0
Sigmoid-27 [-1, 1] 0
Total params: 2,525,563
Trainable params: 2,525,563
Non-trainable params: 0
)";

TEST(SummaryTest, MatchesClvraisImagenetTablesRowByRow) {
  const auto arch = acgan::Arch::kImagenet128;
  const auto text = acgan::model_summary(acgan::GeneratorOptions().arch(arch).image_side(128),
                                         acgan::DiscriminatorOptions().arch(arch).image_side(128));
  EXPECT_NE(text.find("Generator, imagenet128 (nz = 110, 10 classes)"), std::string::npos) << text;
  std::vector<std::vector<std::string>> ours;
  for (auto& row : table_rows(text)) {  // the layers and counts; the sizes in MB are left out
    if (std::find(row.begin(), row.end(), "(MB):") == row.end()) ours.push_back(row);
  }
  const auto expected = table_rows(kClvraiImagenetTables);
  ASSERT_EQ(ours.size(), expected.size()) << text;
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(ours[i], expected[i]) << "row " << i;
}

}  // namespace
