// The memory estimates behind LoadOptions::max_memory_ratio
// (src/io/memory_estimate.h, the JSON scan of src/io/json_scan.cc) follow
// what protobuf really allocates: on generated organization states they are
// within 10% of the parsed message's SpaceUsedLong, and generated states
// load under the default ratio in every format.

#include "src/io/memory_estimate.h"

#include <string>

#include "arbiter/policy_io.h"
#include "gtest/gtest.h"
#include "src/io/json_scan.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

class MemoryEstimateTest : public ::testing::TestWithParam<PolicyFormat> {};

TEST_P(MemoryEstimateTest, TracksSpaceUsedOnAnOrganizationState) {
  const v1::PolicySet state =
      testing::GenerateWorkload(testing::SpecFor(testing::WorkloadSize::kS))
          .policy;
  const std::string data = *SerializePolicySet(state, GetParam());
  uint64_t estimate = 0;
  if (GetParam() == PolicyFormat::kBinary) {
    const internal::Estimate e =
        internal::EstimateBinary(data, v1::PolicySet::descriptor());
    EXPECT_TRUE(e.complete);
    estimate = e.bytes;
  } else {
    ASSERT_TRUE(internal::CheckStrictJson(data, v1::PolicySet::descriptor(),
                                          "s.json", &estimate)
                    .ok());
  }
  const double used = static_cast<double>(state.SpaceUsedLong());
  EXPECT_GT(static_cast<double>(estimate), 0.9 * used);
  EXPECT_LT(static_cast<double>(estimate), 1.1 * used);
  // Generated states are far from the default limit.
  EXPECT_LT(static_cast<double>(estimate), 8.0 * data.size());
  EXPECT_TRUE(ParsePolicySet(data, GetParam(), "s").ok());
}

INSTANTIATE_TEST_SUITE_P(BinaryAndJson, MemoryEstimateTest,
                         ::testing::Values(PolicyFormat::kBinary,
                                           PolicyFormat::kJson));

TEST(MemoryEstimateTest, MalformedBinaryIsIncompleteAndCountsItsPrefix) {
  // A principal whose length runs past the end.
  const std::string data("\x42\x00\x42\x7f", 4);
  const internal::Estimate e =
      internal::EstimateBinary(data, v1::PolicySet::descriptor());
  EXPECT_FALSE(e.complete);
  EXPECT_GE(e.bytes, v1::PolicySet().SpaceUsedLong());
}

TEST(MemoryEstimateTest, RatioCheckHasAFloorAndNamesTheOption) {
  EXPECT_TRUE(
      internal::CheckMemoryEstimate(internal::kMemoryEstimateFloor, 1, 2, "x")
          .ok());
  const absl::Status refused = internal::CheckMemoryEstimate(
      internal::kMemoryEstimateFloor + 1, 1000, 2, "f.binpb");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("f.binpb: parsing would take"),
            std::string::npos);
}

}  // namespace
}  // namespace arbiter
