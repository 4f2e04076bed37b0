// The built-in demo organization and profile compile, and the quickstart's
// headline decisions hold.

#include "arbiter/demo.h"

#include "absl/time/time.h"
#include "arbiter/engine.h"
#include "arbiter/profile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

Decision CheckAt(const Engine& engine, absl::string_view principal,
                 absl::string_view permission, absl::string_view resource) {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.context.now = absl::FromUnixSeconds(1796083200);  // 2026-12-01
  return engine.Check(r);
}

TEST(DemoTest, CompilesWithTheBuiltinProfile) {
  EXPECT_GT(BuiltinProfile().roles_size(), 10);
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  EXPECT_EQ(engine->revision(), 1u);
  EXPECT_EQ(engine->num_principals(), 13u);
}

TEST(DemoTest, HeadlineDecisions) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  Decision d = CheckAt(*engine, "alice@acme.com", "project.workload.delete",
                       "prod/ml-prod/nightly-etl");
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kOrgOwner);
  EXPECT_EQ(d.grant_id, "g_alice_org_owner");
  EXPECT_EQ(d.revision, 1u);

  d = CheckAt(*engine, "bob@acme.com", "project.view", "prod/ml-prod");
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kNoProjectGrant);
}

}  // namespace
}  // namespace arbiter
