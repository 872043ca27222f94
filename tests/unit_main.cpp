// main() of the unit executable, which CTest runs one suite a process (tests/CMakeLists.txt): its
// exit code says what the suite did, since a suite's output cannot. 77 (CTest's SKIP_RETURN_CODE)
// only when every test that ran skipped, 1 when the filter matched no test (a suite CTest lists
// that the binary lacks), else GoogleTest's own code: a suite whose tests all fail is a failure.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#ifdef GTEST_FLAG_GET
#define ACGAN_GTEST_FLAG(name) GTEST_FLAG_GET(name)
#else
#define ACGAN_GTEST_FLAG(name) ::testing::GTEST_FLAG(name)
#endif

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  const auto& unit = *::testing::UnitTest::GetInstance();
  if (status != 0 || ACGAN_GTEST_FLAG(list_tests)) return status;
  if (unit.test_to_run_count() == 0) {
    std::fprintf(stderr, "unit_main: no test matched --gtest_filter=%s\n",
                 std::string(ACGAN_GTEST_FLAG(filter)).c_str());
    return 1;
  }
  if (unit.successful_test_count() == 0 && unit.skipped_test_count() > 0) return 77;
  return 0;
}
