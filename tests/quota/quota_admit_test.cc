// Admit(launch): RBAC, IAM mapping, the head node against the quotas and the
// budget state in one decision (access-model §4.1 rule 9), failing closed.
// The state is the demo organization plus quotas and budgets.

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/quota.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/quota/quota_test_state.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::quota_testing::AddBudget;
using ::arbiter::quota_testing::AddQuota;
using ::arbiter::quota_testing::Utc;
using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::testing::HasSubstr;

class AdmitTest : public ::testing::Test {
 protected:
  AdmitTest()
      : clock_(std::make_shared<FakeClock>(Utc(2026, 3, 15, 12))),
        accountant_(AccountantOptions()),
        budgets_(nullptr, BudgetOptions()) {
    state_ = DemoPolicySet();
    AddQuota(&state_, R"pb(id: "rsq_ml"
                           cloud_id: "cld_prod"
                           project_id: "prj_ml_prod"
                           enabled: true
                           hard: true
                           limits { num_gpus: 8 })pb");
    AddQuota(&state_, R"pb(id: "rsq_dave"
                           cloud_id: "cld_prod"
                           user_id: "usr_dave"
                           enabled: true
                           limits { num_cpus: 32 })pb");
    AddBudget(&state_, R"pb(id: "bud_ml"
                            cloud_id: "cld_prod"
                            project_id: "prj_ml_prod"
                            period: BUDGET_PERIOD_MONTHLY
                            amount_credits: 1000
                            enabled: true)pb");
    Rebuild();
  }

  QuotaAccountantOptions AccountantOptions() {
    QuotaAccountantOptions o;
    o.clock = clock_;
    return o;
  }
  BudgetTrackerOptions BudgetOptions() {
    BudgetTrackerOptions o;
    o.clock = clock_;
    return o;
  }

  void Rebuild() {
    auto engine = Engine::Create(state_);
    ASSERT_THAT(engine, IsOk());
    engine_ = std::move(*engine);
    auto book = QuotaBook::Create(state_);
    ASSERT_THAT(book, IsOk());
    book_ = std::move(*book);
  }

  AdmissionContext Context() {
    AdmissionContext c;
    c.engine = engine_.get();
    c.book = book_.get();
    c.accountant = &accountant_;
    c.budgets = &budgets_;
    return c;
  }

  static LaunchRequest Launch(absl::string_view principal,
                              absl::string_view cloud,
                              absl::string_view project, v1::WorkloadType type,
                              int64_t cpus = 4, int64_t gpus = 0) {
    LaunchRequest r;
    r.principal = principal;
    r.cloud = cloud;
    r.project = project;
    r.type = type;
    r.head_cpus = cpus;
    r.head_gpus = gpus;
    return r;
  }

  std::shared_ptr<FakeClock> clock_;
  v1::PolicySet state_;
  std::unique_ptr<const Engine> engine_;
  std::unique_ptr<const QuotaBook> book_;
  QuotaAccountant accountant_;
  BudgetTracker budgets_;
};

TEST_F(AdmitTest, AllPartsAllowAdmits) {
  LaunchDecision d =
      Admit(Context(), Launch("dave@acme.com", "prod", "ml-prod",
                              v1::WORKLOAD_TYPE_WORKSPACE, 8, 4));
  EXPECT_EQ(d.outcome, LaunchOutcome::kAdmit) << d.ToString();
  EXPECT_EQ(d.blocker, LaunchBlocker::kNone);
  EXPECT_EQ(d.scope.user_id, "usr_dave");
  EXPECT_EQ(d.scope.project_id, "prj_ml_prod");
  EXPECT_TRUE(d.rbac.allowed());
  EXPECT_EQ(d.permission, "project.workload.create");
  EXPECT_EQ(d.iam.outcome, IamOutcome::kMapped);
  EXPECT_EQ(d.iam.identity, "ml-role");
  EXPECT_EQ(d.quota.outcome, QuotaOutcome::kAdmit);
  EXPECT_EQ(d.quota.num_applicable, 2);
  ASSERT_NE(d.quota.reservation, 0u);
  EXPECT_EQ(accountant_.Usage("cld_prod", "prj_ml_prod", "").gpus, 4);
  ASSERT_TRUE(d.has_budget);
  EXPECT_EQ(d.budget.budget_id, "bud_ml");
  EXPECT_FALSE(d.budget.over);
  EXPECT_THAT(accountant_.Commit(d.quota.reservation), IsOk());
  const std::string text = d.ToString();
  EXPECT_THAT(text, HasSubstr("ADMIT\n"));
  EXPECT_THAT(text, HasSubstr("rbac:   ALLOW"));
  EXPECT_THAT(text, HasSubstr("iam:    MAPPED ml-role"));
  EXPECT_THAT(text, HasSubstr("quota:  ADMIT WITHIN_QUOTA"));
  EXPECT_THAT(text, HasSubstr("budget: bud_ml MONTHLY 0.00 of 1000.00"));
}

// RBAC first: a denied principal is blocked, and nothing is reserved.
TEST_F(AdmitTest, RbacDenyBlocksWithoutReserving) {
  LaunchDecision d =
      Admit(Context(), Launch("mallory@acme.com", "prod", "ml-prod",
                              v1::WORKLOAD_TYPE_JOB, 8, 4));
  EXPECT_EQ(d.outcome, LaunchOutcome::kBlock);
  EXPECT_EQ(d.blocker, LaunchBlocker::kRbac);
  EXPECT_EQ(d.rbac.reason, Reason::kNoCloudGrant);
  EXPECT_EQ(d.quota.outcome,
            QuotaOutcome::kAdmit);  // evaluated, for the record
  EXPECT_EQ(d.quota.reservation, 0u);
  EXPECT_EQ(accountant_.Usage("cld_prod", "", "").instances, 0);
  // A read-only member may view but not launch.
  LaunchDecision heidi =
      Admit(Context(),
            Launch("heidi@acme.com", "prod", "default", v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(heidi.blocker, LaunchBlocker::kRbac);
}

// §6: an IAM mapping FAIL blocks a launch RBAC allows.
TEST_F(AdmitTest, IamFailBlocks) {
  LaunchDecision d = Admit(Context(), Launch("alice@acme.com", "research", "",
                                             v1::WORKLOAD_TYPE_JOB));
  EXPECT_TRUE(d.rbac.allowed()) << d.ToString();
  EXPECT_EQ(d.iam.outcome, IamOutcome::kFail);
  EXPECT_EQ(d.outcome, LaunchOutcome::kBlock);
  EXPECT_EQ(d.blocker, LaunchBlocker::kIam);
  EXPECT_EQ(d.quota.reservation, 0u);
  // An unspecified workload type cannot be mapped: fail closed.
  LaunchDecision untyped =
      Admit(Context(), Launch("dave@acme.com", "prod", "ml-prod",
                              v1::WORKLOAD_TYPE_UNSPECIFIED));
  EXPECT_EQ(untyped.blocker, LaunchBlocker::kIam);
}

// §7.3: the head node against a hard quota; a soft one alerts.
TEST_F(AdmitTest, QuotaBlocksAndAlerts) {
  LaunchDecision big =
      Admit(Context(), Launch("dave@acme.com", "prod", "ml-prod",
                              v1::WORKLOAD_TYPE_WORKSPACE, 4, 9));
  EXPECT_EQ(big.outcome, LaunchOutcome::kBlock);
  EXPECT_EQ(big.blocker, LaunchBlocker::kQuota);
  ASSERT_EQ(big.quota.num_breaches, 1);
  EXPECT_EQ(big.quota.breaches[0].quota_id, "rsq_ml");
  EXPECT_EQ(big.quota.breaches[0].limit, 8);
  EXPECT_THAT(big.ToString(), HasSubstr("BLOCK (QUOTA)"));
  EXPECT_THAT(
      big.ToString(),
      HasSubstr("quota=rsq_ml (hard) gpus usage=0 requested=9 limit=8"));
  LaunchDecision cpu =
      Admit(Context(), Launch("dave@acme.com", "prod", "ml-prod",
                              v1::WORKLOAD_TYPE_WORKSPACE, 40, 0));
  EXPECT_EQ(cpu.outcome, LaunchOutcome::kAdmitWithAlert);
  EXPECT_EQ(cpu.blocker, LaunchBlocker::kNone);
  EXPECT_EQ(cpu.quota.breaches[0].quota_id, "rsq_dave");
  EXPECT_NE(cpu.quota.reservation, 0u);
}

// §8.1: over budget is an alert, never a block.
TEST_F(AdmitTest, OverBudgetAlertsNeverBlocks) {
  SpendEvent e;
  e.cloud_id = "cld_prod";
  e.project_id = "prj_ml_prod";
  e.credits = 1500;
  e.time = Utc(2026, 3, 2);
  ASSERT_THAT(budgets_.RecordSpend(*book_, e), IsOk());
  LaunchDecision d = Admit(Context(), Launch("erin@acme.com", "prod", "ml-prod",
                                             v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(d.outcome, LaunchOutcome::kAdmitWithAlert) << d.ToString();
  EXPECT_TRUE(d.budget.over);
  EXPECT_DOUBLE_EQ(d.budget.percent, 150);
  EXPECT_THAT(d.ToString(), HasSubstr("OVER BUDGET"));
  // Without a tracker the budget part is simply absent.
  AdmissionContext c = Context();
  c.budgets = nullptr;
  LaunchDecision plain = Admit(
      c, Launch("erin@acme.com", "prod", "ml-prod", v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(plain.outcome, LaunchOutcome::kAdmit);
  EXPECT_FALSE(plain.has_budget);
}

// Fail closed: unknown names, components from different states, missing
// components.
TEST_F(AdmitTest, FailsClosed) {
  LaunchDecision cloud = Admit(
      Context(), Launch("dave@acme.com", "nope", "", v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(cloud.outcome, LaunchOutcome::kBlock);
  EXPECT_EQ(cloud.blocker, LaunchBlocker::kRequest);
  EXPECT_THAT(cloud.request_error, HasSubstr("unknown cloud"));
  EXPECT_EQ(Admit(Context(), Launch("dave@acme.com", "prod", "nope",
                                    v1::WORKLOAD_TYPE_JOB))
                .blocker,
            LaunchBlocker::kRequest);
  EXPECT_EQ(Admit(Context(),
                  Launch("nobody@acme.com", "prod", "", v1::WORKLOAD_TYPE_JOB))
                .blocker,
            LaunchBlocker::kRequest);
  // Deleted and invited principals resolve, and RBAC refuses them.
  EXPECT_EQ(Admit(Context(),
                  Launch("judy@acme.com", "prod", "", v1::WORKLOAD_TYPE_JOB))
                .rbac.reason,
            Reason::kPrincipalDeleted);
  EXPECT_EQ(Admit(Context(),
                  Launch("ivan@acme.com", "prod", "", v1::WORKLOAD_TYPE_JOB))
                .blocker,
            LaunchBlocker::kRbac);

  // An Engine and a QuotaBook of different revisions.
  v1::PolicySet newer = state_;
  newer.set_revision(state_.revision() + 1);
  auto other_book = QuotaBook::Create(newer);
  ASSERT_THAT(other_book, IsOk());
  AdmissionContext mixed = Context();
  mixed.book = other_book->get();
  LaunchDecision stale = Admit(
      mixed, Launch("dave@acme.com", "prod", "ml-prod", v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(stale.outcome, LaunchOutcome::kBlock);
  EXPECT_EQ(stale.blocker, LaunchBlocker::kState);

  AdmissionContext missing = Context();
  missing.accountant = nullptr;
  EXPECT_EQ(Admit(missing, Launch("dave@acme.com", "prod", "ml-prod",
                                  v1::WORKLOAD_TYPE_JOB))
                .blocker,
            LaunchBlocker::kInternal);
  EXPECT_EQ(accountant_.num_reservations(), 0u);
}

TEST_F(AdmitTest, DecideOnlyReservesNothing) {
  LaunchRequest r =
      Launch("dave@acme.com", "prod", "ml-prod", v1::WORKLOAD_TYPE_JOB, 4, 8);
  r.reserve = false;
  for (int i = 0; i < 3; ++i) {
    LaunchDecision d = Admit(Context(), r);
    EXPECT_EQ(d.outcome, LaunchOutcome::kAdmit);
    EXPECT_EQ(d.quota.reservation, 0u);
  }
  r.reserve = true;
  EXPECT_EQ(Admit(Context(), r).outcome, LaunchOutcome::kAdmit);
  EXPECT_EQ(Admit(Context(), r).blocker, LaunchBlocker::kQuota);  // 8 + 8 > 8
}

// The service account's launches count toward its own quota (§7.3 [I]).
TEST_F(AdmitTest, ServiceAccountIsTheCreator) {
  AddQuota(&state_, R"pb(id: "rsq_ci"
                         cloud_id: "cld_prod"
                         user_id: "sa_ci"
                         enabled: true
                         hard: true
                         limits { num_instances: 1 })pb");
  Rebuild();
  LaunchDecision first =
      Admit(Context(), Launch("ci@org-123.serviceaccount.com", "prod",
                              "ml-prod", v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(first.outcome, LaunchOutcome::kAdmit) << first.ToString();
  EXPECT_EQ(first.iam.identity, "etl-role");
  LaunchDecision second = Admit(
      Context(), Launch("sa_ci", "prod", "ml-prod", v1::WORKLOAD_TYPE_JOB));
  EXPECT_EQ(second.blocker, LaunchBlocker::kQuota);
  EXPECT_EQ(second.quota.breaches[0].quota_id, "rsq_ci");
}

}  // namespace
}  // namespace arbiter
