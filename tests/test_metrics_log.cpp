// metrics.csv: header, one row per step, and the trim that keeps a resumed run's file free of
// duplicated or missing steps.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "acgan/io/atomic_file.h"
#include "acgan/training/metrics_log.h"
#include "acgan/training/train_step.h"
#include "test_support.h"

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::istringstream in(acgan::read_file(path));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void write_steps(acgan::MetricsLog& log, int64_t first, int64_t last) {
  for (int64_t s = first; s <= last; ++s) {
    log.append(0, s - 1, s, torch::full({acgan::kNumStepStats}, 0.5f), 100.0);
  }
  log.flush();
}

TEST(MetricsLogTest, WritesHeaderAndOneRowPerStep) {
  acgan::testing::TempDir dir;
  acgan::MetricsLog log(dir / "metrics.csv", 0);
  write_steps(log, 1, 3);
  const auto lines = lines_of(dir / "metrics.csv");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], acgan::MetricsLog::header());
  EXPECT_EQ(lines[1], "0,0,1,1.000000,0.500000,0.50,0.50,0.500000,0.500000,0.500000,100.0");
}

TEST(MetricsLogTest, ResumeDropsRowsPastTheCheckpointAndCutRows) {
  acgan::testing::TempDir dir;
  {
    acgan::MetricsLog log(dir / "metrics.csv", 0);
    write_steps(log, 1, 7);
  }
  {
    std::ofstream out(dir / "metrics.csv", std::ios::app);
    out << "0,7,8,1.0";  // a row cut short by a kill
  }
  acgan::MetricsLog resumed(dir / "metrics.csv", 5);
  write_steps(resumed, 6, 9);
  EXPECT_EQ(acgan::testing::metric_steps(dir / "metrics.csv"),
            (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));  // each step once, none cut
}

// A line acgan cannot read (a user's note) does not cost the valid rows after it: they stay, and
// the file as it was is kept beside it.
TEST(MetricsLogTest, ResumeKeepsRowsAfterAnUnreadableLineAndTheFileAsItWas) {
  acgan::testing::TempDir dir;
  {
    acgan::MetricsLog log(dir / "metrics.csv", 0);
    write_steps(log, 1, 4);
  }
  auto text = acgan::read_file(dir / "metrics.csv");
  const auto after_step_2 = text.find("\n0,2,3,");
  text.insert(after_step_2 + 1, "# lr lowered here by hand\n");
  acgan::write_file_atomic(dir / "metrics.csv", text);
  const auto before = text;
  acgan::MetricsLog resumed(dir / "metrics.csv", 4);
  write_steps(resumed, 5, 5);
  EXPECT_EQ(acgan::testing::metric_steps(dir / "metrics.csv"),
            (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(acgan::read_file(dir / "metrics.csv.before-step-5"), before);
}

}  // namespace
