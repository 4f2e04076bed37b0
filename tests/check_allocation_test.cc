// Engine::Check allocates nothing on the heap, by handles or by names, for
// every kind of decision (allow, deny, deny role, unknown names, expiring
// grants read through the clock), on the demo organization and on a random
// state with groups, deny roles and custom roles.
//
// This binary counts allocations with tests/testing/allocation_counter.h, so
// it is left out of sanitizer builds, whose runtimes replace operator new
// too.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "gtest/gtest.h"
#include "tests/testing/allocation_counter.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

// Checks every permission of the profile against every resource for each
// request in `requests`, by names and by handles; returns the allocations
// made while checking and the number of decisions taken.
std::pair<long, long> AllocationsOfChecks(
    const Engine& engine, const std::vector<AccessRequest>& requests) {
  // Resolve handles and warm up (Clock::System() and friends) first: only
  // the checks themselves are counted.
  struct Prepared {
    AccessRequest request;
    PrincipalRef principal;
    PermissionRef permission;
    ResourceRef resource;
  };
  std::vector<Prepared> prepared;
  for (const AccessRequest& r : requests) {
    Prepared p{r, {}, {}, {}};
    if (auto x = engine.FindPrincipal(r.principal, r.org)) p.principal = *x;
    if (auto x = engine.FindPermission(r.permission)) p.permission = *x;
    if (auto x = engine.FindResource(r.resource, "")) p.resource = *x;
    prepared.push_back(p);
    engine.Check(r);
  }
  long decisions = 0;
  const long before = testing::AllocationCount();
  for (const Prepared& p : prepared) {
    Decision a = engine.Check(p.request);
    Decision b =
        engine.Check(p.principal, p.permission, p.resource, p.request.context);
    decisions += 2;
    // Keep the results observable.
    if (a.revision != engine.revision() || b.revision != engine.revision()) {
      ADD_FAILURE() << "revision";
    }
  }
  return {testing::AllocationCount() - before, decisions};
}

TEST(CheckAllocationTest, DemoChecksDoNotAllocate) {
  auto engine = Engine::Create(DemoPolicySet());
  ASSERT_TRUE(engine.ok()) << engine.status();
  // Every principal form, permission and resource form of the demo,
  // including unknown names and an expiring grant judged at two instants.
  const std::vector<std::string> principals = {
      "alice@acme.com",  "BOB@acme.com",
      "usr_carol",       "erin@acme.com",
      "kim@acme.com",    "heidi@acme.com",
      "grace@acme.com",  "judy@acme.com",
      "ivan@acme.com",   "ci@org-123.serviceaccount.com",
      "nobody@acme.com", "usr_nobody"};
  const std::vector<std::string> resources = {"prod",
                                              "prod/web",
                                              "prod/ml-prod",
                                              "prod/ml-prod/nightly-etl",
                                              "research/ml-research",
                                              "img_acme_ml",
                                              "cc_cpu_small",
                                              "org_123",
                                              "prod/nothing",
                                              "wl_scratch"};
  std::vector<AccessRequest> requests;
  for (const std::string& p : principals) {
    for (const v1::Permission& k : (*engine)->profile().permissions()) {
      for (const std::string& r : resources) {
        for (int t = 0; t < 2; ++t) {
          AccessRequest req;
          req.principal = p;
          req.permission = k.name();
          req.resource = r;
          req.context.now =
              absl::FromUnixSeconds(t == 0 ? 1796083200    // 2026-12
                                           : 1801440000);  // 2027-02
          requests.push_back(req);
        }
      }
    }
  }
  const auto [allocations, decisions] = AllocationsOfChecks(**engine, requests);
  EXPECT_EQ(allocations, 0) << "over " << decisions << " decisions";
  EXPECT_GT(decisions, 10000);
}

TEST(CheckAllocationTest, RandomStatesDoNotAllocate) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const testing::RandomPolicy policy = testing::GenerateRandomPolicy(seed);
    auto engine = Engine::Create(policy.state, policy.options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    testing::RandomQueryGenerator queries(policy, (*engine)->profile(), seed);
    std::vector<testing::RandomQuery> kept;
    std::vector<AccessRequest> requests;
    for (int i = 0; i < 2000; ++i) kept.push_back(queries.Next());
    for (const testing::RandomQuery& q : kept)
      requests.push_back(q.ToRequest());
    const auto [allocations, decisions] =
        AllocationsOfChecks(**engine, requests);
    EXPECT_EQ(allocations, 0)
        << "seed " << seed << ", " << decisions << " decisions";
  }
}

}  // namespace
}  // namespace arbiter
