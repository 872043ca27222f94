// The failure diagnosis of a data-parallel job (failure_diagnosis.h) on a map standing in for the
// rendezvous store: a posted failure is decoded and named, a rank that never checks in is named
// with the timeout, and this rank checks itself in and closes its connections first. The same
// rules through real processes and Gloo are in test_distributed.cpp.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "acgan/distributed/failure_diagnosis.h"
#include "acgan/error.h"

namespace {

struct MapStore : acgan::RendezvousStore {
  std::map<std::string, std::string> values;
  bool has(const std::string& key) override { return values.count(key) > 0; }
  std::string get(const std::string& key) override { return values.at(key); }
  void set(const std::string& key, const std::string& value) override { values[key] = value; }
};

constexpr auto kTimeout = std::chrono::milliseconds(10);

TEST(FailureDiagnosisTest, APostedFailureIsDecodedAndNamed) {
  MapStore store;
  store.set(acgan::store_key("failed", 2),
            acgan::posted_failure_text(std::make_exception_ptr(acgan::UsageError("--lr: bad"))));
  for (int64_t r : {0, 2}) store.set(acgan::store_key("alive", r), "1");  // already checked in
  acgan::FailureDiagnosis diagnosis(store, 1, 3, "host", kTimeout);
  const auto first = diagnosis.first_posted_failure();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->rank, 2);
  EXPECT_TRUE(first->usage);
  EXPECT_EQ(first->line, "--lr: bad");
  bool closed = false;
  const auto text = diagnosis.diagnose([&] { closed = true; });
  EXPECT_EQ(text, "rank 2 failed: --lr: bad (found by another rank)");
  EXPECT_TRUE(closed);
  EXPECT_EQ(store.values.at(acgan::store_key("alive", 1)), "1") << "checked itself in";
  EXPECT_EQ(store.values.at(acgan::store_key("diagnosed", 1)), "1");
  EXPECT_EQ(acgan::posted_failure_text(std::make_exception_ptr(std::runtime_error("a\nb"))),
            "error:a");
}

// Rank 1 of 2 finds nothing posted and rank 0 silent: after its grace it names rank 0 with the
// timeout and posts that finding for the others.
TEST(FailureDiagnosisTest, ARankThatNeverChecksInIsNamedWithTheTimeout) {
  MapStore store;
  acgan::FailureDiagnosis diagnosis(store, 1, 2, "host", kTimeout);
  EXPECT_FALSE(diagnosis.first_posted_failure().has_value());
  const auto text = diagnosis.diagnose([] {});
  EXPECT_EQ(text, "rank 0 did not answer within --dist_timeout 0.01 s");
  EXPECT_EQ(store.values.at("acgan/diagnosis"), text);
}

}  // namespace
