// DeniedCheckSampler: which checks it samples, what it drops, how it cuts
// long ids, and that its records append to an AuditLog.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

Decision Deny(Reason reason = Reason::kNoProjectGrant, uint64_t revision = 7) {
  Decision d;
  d.effect = Effect::kDeny;
  d.reason = reason;
  d.revision = revision;
  return d;
}

TEST(DeniedCheckSamplerTest, RecordsDeniedChecksAsAuditRecords) {
  FakeClock clock(absl::FromUnixMicros(1690851845073682));
  DeniedCheckSampler::Options options;
  options.sample_one_in = 1;
  options.clock = &clock;
  ASSERT_OK_AND_ASSIGN(auto sampler, DeniedCheckSampler::Create(options));
  AccessRequest request{"bob@acme.com", "project.workload.create",
                        "prod/ml-prod"};
  EXPECT_TRUE(sampler->Record("org_123", request, Deny()));
  Decision allow;
  allow.effect = Effect::kAllow;
  allow.reason = Reason::kGrant;
  EXPECT_FALSE(sampler->Record("org_123", request, allow));
  EXPECT_FALSE(sampler->Record("", request, Deny()));

  std::vector<v1::AuditRecord> records = sampler->Drain();
  ASSERT_THAT(records, SizeIs(1));
  const v1::AuditRecord& r = records[0];
  EXPECT_EQ(r.org_id(), "org_123");
  EXPECT_EQ(r.action(), "DENY");
  EXPECT_EQ(r.entity(), "ACCESS");
  EXPECT_EQ(r.user_id(), "bob@acme.com");
  EXPECT_EQ(r.resource_id(), "prod/ml-prod");
  EXPECT_EQ(r.revision(), 7u);
  EXPECT_EQ(r.timestamp(), "2023-08-01 01:04:05.073682+00:00");
  const auto& m = r.metadata().fields();
  EXPECT_EQ(m.at("permission").string_value(), "project.workload.create");
  EXPECT_EQ(m.at("reason").string_value(), "NO_PROJECT_GRANT");
  EXPECT_EQ(m.at("principal").string_value(), "bob@acme.com");
  EXPECT_EQ(m.at("resource").string_value(), "prod/ml-prod");
  EXPECT_EQ(m.at("sample_one_in").number_value(), 1.0);
  EXPECT_FALSE(m.at("truncated").bool_value());
  EXPECT_THAT(sampler->Drain(), SizeIs(0));

  const DeniedCheckSampler::Stats s = sampler->stats();
  EXPECT_EQ(s.denied, 1u);
  EXPECT_EQ(s.sampled, 1u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.unattributed, 1u);

  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create());
  ASSERT_THAT(log->Append(records), IsOk());
}

TEST(DeniedCheckSamplerTest, SamplesOneInN) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = 10;
  options.capacity = 1024;
  ASSERT_OK_AND_ASSIGN(auto sampler, DeniedCheckSampler::Create(options));
  AccessRequest request{"p", "x.y", "r"};
  int recorded = 0;
  for (int i = 0; i < 1000; ++i) {
    const bool r = sampler->Record("org_1", request, Deny());
    EXPECT_EQ(r, i % 10 == 0) << i;
    recorded += r;
  }
  EXPECT_EQ(recorded, 100);
  EXPECT_THAT(sampler->Drain(40), SizeIs(40));
  EXPECT_THAT(sampler->Drain(), SizeIs(60));
  EXPECT_EQ(sampler->stats().denied, 1000u);
  EXPECT_EQ(sampler->stats().sampled, 100u);
}

TEST(DeniedCheckSamplerTest, AFullRingDropsAndCounts) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = 1;
  options.capacity = 5;  // rounded up to 8
  ASSERT_OK_AND_ASSIGN(auto sampler, DeniedCheckSampler::Create(options));
  AccessRequest request{"p", "x.y", "r"};
  int recorded = 0;
  for (int i = 0; i < 12; ++i)
    recorded += sampler->Record("o", request, Deny());
  EXPECT_EQ(recorded, 8);
  EXPECT_EQ(sampler->stats().dropped, 4u);
  EXPECT_THAT(sampler->Drain(3), SizeIs(3));
  // Room again for three.
  for (int i = 0; i < 4; ++i) recorded += sampler->Record("o", request, Deny());
  EXPECT_EQ(recorded, 11);
  EXPECT_EQ(sampler->stats().dropped, 5u);
  EXPECT_THAT(sampler->Drain(), SizeIs(8));
}

TEST(DeniedCheckSamplerTest, CutsLongIdsAtACharacterBoundary) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = 1;
  ASSERT_OK_AND_ASSIGN(auto sampler, DeniedCheckSampler::Create(options));
  // 127 ASCII bytes then a 2-byte character: cutting at 128 would split it.
  const std::string principal = std::string(127, 'a') + "\xc3\xa9" + "zzz";
  const std::string resource(300, 'r');
  const std::string bad_utf8 = "perm.\xff";
  AccessRequest request{principal, bad_utf8, resource};
  ASSERT_TRUE(sampler->Record("org_1", request, Deny()));
  std::vector<v1::AuditRecord> records = sampler->Drain();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0].user_id(), std::string(127, 'a'));
  EXPECT_EQ(records[0].resource_id(), std::string(128, 'r'));
  EXPECT_EQ(records[0].metadata().fields().at("permission").string_value(),
            "perm.?");
  EXPECT_TRUE(records[0].metadata().fields().at("truncated").bool_value());
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create());
  EXPECT_THAT(log->Append(records), IsOk());
}

TEST(DeniedCheckSamplerTest, AnOrgIdThatCannotNameADirectoryIsNotRecorded) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = 1;
  ASSERT_OK_AND_ASSIGN(auto sampler, DeniedCheckSampler::Create(options));
  AccessRequest request{"p", "x.y", "r"};
  ASSERT_TRUE(sampler->Record("../etc", request, Deny()));
  ASSERT_TRUE(sampler->Record("org_1", request, Deny()));
  std::vector<v1::AuditRecord> records = sampler->Drain();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0].org_id(), "org_1");
  EXPECT_EQ(sampler->stats().unattributed, 1u);
}

TEST(DeniedCheckSamplerTest, RefusesBadOptions) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = 0;
  EXPECT_THAT(
      DeniedCheckSampler::Create(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sample_one_in")));
  options.sample_one_in = 1;
  options.capacity = 1;
  EXPECT_THAT(
      DeniedCheckSampler::Create(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("capacity: 1")));
}

}  // namespace
}  // namespace arbiter
