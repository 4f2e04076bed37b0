// Engine::ResolveIam allocates nothing on the heap unless the workload's
// email matches one of the cloud's `user~=` patterns and that result is
// needed: equality, set and existence requirements, and project and
// workload-type patterns (precomputed at compile time) never allocate. To
// learn *which* user patterns match, RE2::Set::Match allocates a small buffer
// per call (an RE2 implementation detail); a first allocation-free pass asks
// whether any matches at all. Checking that the user is a live member of
// the cloud's organization (hash lookups) allocates nothing either, nor does
// refusing one who is not.
//
// This binary counts allocations with tests/testing/allocation_counter.h.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arbiter/engine.h"
#include "gtest/gtest.h"
#include "tests/iam/iam_test_state.h"
#include "tests/testing/allocation_counter.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IamTestState;
using ::arbiter::testing::IamTestStateWithOtherOrg;
using ::arbiter::testing::SetIamRules;

long AllocationsOf(const Engine& engine, const WorkloadAttributes& w,
                   IamDecision* d) {
  *d = engine.ResolveIam(w);  // warm up (thread-local scratch, RE2 caches)
  const long before = testing::AllocationCount();
  for (int i = 0; i < 100; ++i) *d = engine.ResolveIam(w);
  return testing::AllocationCount() - before;
}

TEST(IamAllocationTest, ResolveWithoutUserPatternsDoesNotAllocate) {
  v1::PolicySet state = IamTestState();
  SetIamRules(&state, "cld_a",
              {{"workload-type=job,project=ml-prod", "a"},
               {"user in (alice@acme.com, bob@acme.com),project!=web", "b"},
               {"project~=ml-.*,workload-type~=work.*", "c"},
               {"user notin (carol@acme.com),!project", "d"}});
  auto engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  WorkloadAttributes w;
  w.cloud = "alpha";
  w.type = v1::WORKLOAD_TYPE_WORKSPACE;
  w.project = "ml-prod";
  w.user = "Bob@acme.com";
  IamDecision d;
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.identity, "b");
  w.type = v1::WORKLOAD_TYPE_JOB;
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.identity, "a");
  w.project = "";
  w.user = "usr_alice";
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.identity, "b");
  w.user = "carol@acme.com";
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.outcome, IamOutcome::kCloudDefault);
  w.compute_config = "gpu";
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.identity, "gpu-role");
}

TEST(IamAllocationTest, UserPatternsThatDoNotMatchDoNotAllocate) {
  v1::PolicySet state = IamTestState();
  SetIamRules(
      &state, "cld_a",
      {{"user~=.*@acme\\.com,workload-type=job", "a"}, {"user~=ci@.*", "b"}},
      v1::IamMapping::FAIL);
  EngineOptions options;
  options.iam_match_unknown_users = true;  // eve is no principal
  auto engine = Engine::Create(state, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  WorkloadAttributes w;
  w.cloud = "alpha";
  w.type = v1::WORKLOAD_TYPE_JOB;
  w.user = "eve@evil.com";
  IamDecision d;
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.outcome, IamOutcome::kFail);
  w.user = "bob@acme.com";  // matches: the Set reports which pattern
  d = engine.value()->ResolveIam(w);
  EXPECT_EQ(d.identity, "a");
}

TEST(IamAllocationTest, RefusingUsersWhoAreNoLiveMembersDoesNotAllocate) {
  v1::PolicySet state = IamTestStateWithOtherOrg();
  SetIamRules(&state, "cld_a",
              {{"user~=.*@acme\\.com", "a"}, {"user notin (x@acme.com)", "b"}});
  auto engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  WorkloadAttributes w;
  w.cloud = "cld_a";
  w.type = v1::WORKLOAD_TYPE_JOB;
  IamDecision d;
  const std::pair<const char*, IamReason> kUsers[] = {
      {"zed@other.com", IamReason::kCrossOrg},
      {"usr_zed", IamReason::kCrossOrg},
      {"eve@acme.com", IamReason::kUnknownPrincipal},
      {"judy@acme.com", IamReason::kPrincipalDeleted},
      {"usr_judy", IamReason::kPrincipalDeleted},
      {"usr_bob_old", IamReason::kPrincipalDeleted},
      {"IVAN@acme.com", IamReason::kPrincipalInvited},
      {"not an email", IamReason::kInvalidUser},
  };
  for (const auto& [user, reason] : kUsers) {
    SCOPED_TRACE(user);
    w.user = user;
    EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
    EXPECT_EQ(d.outcome, IamOutcome::kFail);
    EXPECT_EQ(d.reason, reason);
  }
}

TEST(IamAllocationTest, UserPatternsNotConsultedDoNotAllocate) {
  v1::PolicySet state = IamTestState();
  // The user pattern sits behind a project anchor: it is only consulted for
  // workloads in ml-prod.
  SetIamRules(&state, "cld_a",
              {{"workload-type=job", "a"},
               {"project=ml-prod,user~=.*@acme\\.com", "b"}});
  auto engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  WorkloadAttributes w;
  w.cloud = "alpha";
  w.type = v1::WORKLOAD_TYPE_SERVICE;
  w.project = "web";
  w.user = "bob@acme.com";
  IamDecision d;
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);
  EXPECT_EQ(d.outcome, IamOutcome::kCloudDefault);
  w.type = v1::WORKLOAD_TYPE_JOB;
  w.project = "ml-prod";
  EXPECT_EQ(AllocationsOf(**engine, w, &d), 0);  // rule 0 decides first
  EXPECT_EQ(d.identity, "a");
}

}  // namespace
}  // namespace arbiter
