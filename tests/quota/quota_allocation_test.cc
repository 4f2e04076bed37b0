// The hot paths allocate nothing once a scope has been seen: AdmitNode,
// CheckNode, Commit, Release, NodeStarted, NodeStopped, and Admit(launch).
// (Counts operator new; not built with sanitizers.)

#include <memory>

#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/quota.h"
#include "gtest/gtest.h"
#include "tests/quota/quota_test_state.h"
#include "tests/testing/allocation_counter.h"

namespace arbiter {
namespace {

using quota_testing::AddBudget;
using quota_testing::AddQuota;
using quota_testing::MakeBook;
using quota_testing::MakeNode;
using testing::AllocationCount;

TEST(QuotaAllocationTest, NodePathsAllocateNothing) {
  v1::PolicySet s = quota_testing::BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits {
                      num_cpus: 1000
                      num_accelerators { key: "A100-80G" value: 100 }
                    })pb");
  AddQuota(&s, R"pb(id: "rsq_2"
                    cloud_id: "cld_a"
                    user_id: "usr_1"
                    enabled: true
                    limits { num_gpus: 1 })pb");
  auto book = MakeBook(s);
  QuotaAccountant accountant;
  const Node node = MakeNode("cld_a", "prj_a1", "usr_1", 4, 2, "a100-80g", 2);
  // Warm up: the scope records and the accelerator entries are created.
  NodeAdmission warm = accountant.AdmitNode(*book, node);
  ASSERT_TRUE(accountant.Release(warm.reservation).ok());

  const long before = AllocationCount();
  for (int i = 0; i < 100; ++i) {
    NodeAdmission a = accountant.AdmitNode(*book, node);
    ASSERT_EQ(a.outcome, QuotaOutcome::kAdmitWithAlert);
    if (i % 2 == 0) {
      ASSERT_TRUE(accountant.Release(a.reservation).ok());
    } else {
      ASSERT_TRUE(accountant.Commit(a.reservation).ok());
      ASSERT_TRUE(accountant.NodeStopped(node).ok());
    }
    ASSERT_TRUE(accountant.NodeStarted(node).ok());
    ASSERT_TRUE(accountant.NodeStopped(node).ok());
    ASSERT_EQ(accountant.CheckNode(*book, node).num_applicable, 2);
    // A blocked node allocates nothing either.
    ASSERT_EQ(
        accountant.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 2000))
            .outcome,
        QuotaOutcome::kBlock);
  }
  EXPECT_EQ(AllocationCount() - before, 0);
}

TEST(QuotaAllocationTest, AdmitLaunchAllocatesNothing) {
  v1::PolicySet s = DemoPolicySet();
  AddQuota(&s, R"pb(id: "rsq_ml"
                    cloud_id: "cld_prod"
                    project_id: "prj_ml_prod"
                    enabled: true
                    hard: true
                    limits { num_gpus: 1000 })pb");
  AddBudget(&s, R"pb(id: "bud_ml"
                     cloud_id: "cld_prod"
                     project_id: "prj_ml_prod"
                     period: BUDGET_PERIOD_MONTHLY
                     amount_credits: 1000
                     enabled: true)pb");
  auto engine = Engine::Create(s);
  ASSERT_TRUE(engine.ok());
  auto book = MakeBook(s);
  QuotaAccountant accountant;
  BudgetTracker budgets(nullptr);
  AdmissionContext c;
  c.engine = engine->get();
  c.book = book.get();
  c.accountant = &accountant;
  c.budgets = &budgets;
  LaunchRequest r;
  r.principal = "dave@acme.com";
  r.cloud = "prod";
  r.project = "ml-prod";
  r.type = v1::WORKLOAD_TYPE_WORKSPACE;
  r.head_cpus = 8;
  r.head_gpus = 1;
  LaunchDecision warm = Admit(c, r);
  ASSERT_EQ(warm.outcome, LaunchOutcome::kAdmit) << warm.ToString();
  ASSERT_TRUE(accountant.Release(warm.quota.reservation).ok());
  const long before = AllocationCount();
  for (int i = 0; i < 100; ++i) {
    LaunchDecision d = Admit(c, r);
    ASSERT_EQ(d.outcome, LaunchOutcome::kAdmit);
    ASSERT_TRUE(accountant.Release(d.quota.reservation).ok());
  }
  EXPECT_EQ(AllocationCount() - before, 0);
}

}  // namespace
}  // namespace arbiter
