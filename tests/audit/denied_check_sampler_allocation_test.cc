// DeniedCheckSampler::Record allocates nothing on the heap: sampled or not,
// with long ids, and when the ring is full. (Counts allocations with
// tests/testing/allocation_counter.h, so it is left out of sanitizer
// builds.)

#include <string>
#include <vector>

#include "arbiter/audit.h"
#include "gtest/gtest.h"
#include "tests/testing/allocation_counter.h"

namespace arbiter {
namespace {

TEST(DeniedCheckSamplerAllocationTest, RecordDoesNotAllocate) {
  for (uint32_t one_in : {1u, 3u}) {
    DeniedCheckSampler::Options options;
    options.sample_one_in = one_in;
    options.capacity = 64;
    auto sampler = DeniedCheckSampler::Create(options);
    ASSERT_TRUE(sampler.ok());
    const std::string long_id(1000, 'x');
    std::vector<AccessRequest> requests = {
        {"alice@acme.com", "project.workload.create", "prod/ml-prod"},
        {long_id, long_id, long_id},
        {"usr_1", "cloud.read", "cld_1"}};
    Decision deny;
    deny.reason = Reason::kInsufficientRole;
    Decision allow;
    allow.effect = Effect::kAllow;
    allow.reason = Reason::kGrant;
    (*sampler)->Record("org_1", requests[0], deny);  // warm up the clock
    long recorded = 0;
    const long before = testing::AllocationCount();
    // 300 denied checks fill the 64-slot ring: both the recording and the
    // dropping paths run.
    for (int i = 0; i < 100; ++i) {
      for (const AccessRequest& r : requests) {
        recorded += (*sampler)->Record("org_1", r, deny);
        recorded += (*sampler)->Record("org_1", r, allow);
        recorded += (*sampler)->Record("", r, deny);
      }
    }
    EXPECT_EQ(testing::AllocationCount() - before, 0) << "one in " << one_in;
    EXPECT_GT(recorded, 0);
    EXPECT_GT((*sampler)->stats().dropped, 0u);
    EXPECT_EQ((*sampler)->Drain().size(), 64u);
  }
}

}  // namespace
}  // namespace arbiter
