// The quota rules of access-model §7.2 and §7.3, one test each, and the
// reservation life cycle (commit, release, expiry).

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "arbiter/quota.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/quota/quota_test_state.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::quota_testing::AddQuota;
using ::arbiter::quota_testing::BaseState;
using ::arbiter::quota_testing::MakeBook;
using ::arbiter::quota_testing::MakeNode;
using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Pair;

class QuotaAccountantTest : public ::testing::Test {
 protected:
  QuotaAccountantTest()
      : clock_(
            std::make_shared<FakeClock>(absl::FromUnixSeconds(1'700'000'000))),
        accountant_(Options()) {}

  QuotaAccountantOptions Options() {
    QuotaAccountantOptions o;
    o.clock = clock_;
    o.reservation_ttl = absl::Minutes(5);
    o.max_reservations = 64;
    return o;
  }

  // Admits and commits: the node runs.
  NodeAdmission Start(const QuotaBook& book, const Node& node) {
    NodeAdmission a = accountant_.AdmitNode(book, node);
    if (a.reservation != 0)
      EXPECT_THAT(accountant_.Commit(a.reservation), IsOk());
    return a;
  }

  std::shared_ptr<FakeClock> clock_;
  QuotaAccountant accountant_;
};

// §7.3 [I]: usage + node <= limit is admitted; reaching the limit exactly is
// allowed, passing it is not.
TEST_F(QuotaAccountantTest, ExactLimitIsAllowedPassingIsNot) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_cpus: 10 })pb");
  auto book = MakeBook(s);
  EXPECT_EQ(Start(*book, MakeNode("cld_a", "prj_a1", "usr_1", 6)).outcome,
            QuotaOutcome::kAdmit);
  NodeAdmission exact = Start(*book, MakeNode("cld_a", "prj_a1", "usr_2", 4));
  EXPECT_EQ(exact.outcome, QuotaOutcome::kAdmit);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 10);
  NodeAdmission past =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a2", "usr_3", 1));
  EXPECT_EQ(past.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(past.reason, QuotaReason::kHardQuotaExceeded);
  EXPECT_EQ(past.reservation, 0u);
  ASSERT_EQ(past.num_breaches, 1);
  EXPECT_EQ(past.breaches[0].quota_id, "rsq_1");
  EXPECT_EQ(past.breaches[0].dimension, QuotaDimension::kCpus);
  EXPECT_EQ(past.breaches[0].usage, 10);
  EXPECT_EQ(past.breaches[0].requested, 1);
  EXPECT_EQ(past.breaches[0].limit, 10);
  EXPECT_TRUE(past.breaches[0].hard);
  // A node needing none of the blocked dimension still fits (10 + 0 <= 10).
  EXPECT_EQ(
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a2", "usr_3", 0, 8))
          .outcome,
      QuotaOutcome::kAdmit);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 10);  // nothing leaked
}

// §7.3 [D:QUOTA]: hitting any one of several limits triggers the quota.
TEST_F(QuotaAccountantTest, AnyOneLimitTriggers) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_cpus: 100 num_gpus: 4 num_instances: 3 })pb");
  auto book = MakeBook(s);
  NodeAdmission gpus =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1, 5));
  EXPECT_EQ(gpus.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(gpus.breaches[0].dimension, QuotaDimension::kGpus);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Start(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1)).outcome,
              QuotaOutcome::kAdmit);
  }
  NodeAdmission instances =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_1"));
  EXPECT_EQ(instances.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(instances.breaches[0].dimension, QuotaDimension::kInstances);
  EXPECT_EQ(instances.breaches[0].usage, 3);
  EXPECT_EQ(instances.breaches[0].requested, 1);
}

// §7.1: unset limits are unlimited; an empty quota never blocks.
TEST_F(QuotaAccountantTest, UnsetLimitsAreUnlimited) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_gpus: 1 })pb");
  AddQuota(&s, R"pb(id: "rsq_2" cloud_id: "cld_b" enabled: true hard: true)pb");
  auto book = MakeBook(s);
  NodeAdmission a = accountant_.CheckNode(
      *book, MakeNode("cld_a", "prj_a1", "usr_1", 1 << 30, 1, "A100", 1 << 20));
  EXPECT_EQ(a.outcome, QuotaOutcome::kAdmit);
  EXPECT_EQ(a.num_applicable, 1);
  EXPECT_EQ(accountant_
                .CheckNode(*book, MakeNode("cld_b", "prj_b1", "usr_1", 1 << 30,
                                           1 << 30))
                .outcome,
            QuotaOutcome::kAdmit);
}

// §7.1 [D:SDK example]: an accelerator limit of 0 means none may be used;
// other types are not limited by it.
TEST_F(QuotaAccountantTest, AcceleratorLimitZero) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits {
                      num_accelerators { key: "A100-80G" value: 0 }
                      num_accelerators { key: "T4" value: 2 }
                    })pb");
  auto book = MakeBook(s);
  NodeAdmission a100 = accountant_.CheckNode(
      *book, MakeNode("cld_a", "prj_a1", "usr_1", 8, 1, "a100-80g", 1));
  EXPECT_EQ(a100.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(a100.breaches[0].dimension, QuotaDimension::kAccelerators);
  EXPECT_EQ(a100.breaches[0].accelerator_type, "A100-80G");
  EXPECT_EQ(a100.breaches[0].limit, 0);
  EXPECT_EQ(a100.breaches[0].requested, 1);
  // Declaring the type with count 0 uses none.
  EXPECT_EQ(accountant_
                .CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 8, 0,
                                           "A100-80G", 0))
                .outcome,
            QuotaOutcome::kAdmit);
  EXPECT_EQ(
      Start(*book, MakeNode("cld_a", "prj_a1", "usr_1", 8, 2, "t4", 2)).outcome,
      QuotaOutcome::kAdmit);
  NodeAdmission t4 = accountant_.CheckNode(
      *book, MakeNode("cld_a", "prj_a1", "usr_2", 8, 1, "T4", 1));
  EXPECT_EQ(t4.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(t4.breaches[0].accelerator_type, "T4");
  EXPECT_EQ(t4.breaches[0].usage, 2);
  EXPECT_EQ(
      accountant_
          .CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_2", 8, 1, "L4", 1))
          .outcome,
      QuotaOutcome::kAdmit);
  EXPECT_THAT(accountant_.Usage("cld_a", "prj_a1", "usr_1").accelerators,
              ElementsAre(Pair("T4", 2)));
}

// §7.3 [I]: every enabled quota whose scope contains the node applies:
// cloud-wide plus per-user, per-project and per project+user.
TEST_F(QuotaAccountantTest, OverlappingQuotasAllApply) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_cloud"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_gpus: 10 })pb");
  AddQuota(&s, R"pb(id: "rsq_user"
                    cloud_id: "cld_a"
                    user_id: "usr_1"
                    enabled: true
                    hard: true
                    limits { num_gpus: 4 })pb");
  AddQuota(&s, R"pb(id: "rsq_proj"
                    cloud_id: "cld_a"
                    project_id: "prj_a1"
                    enabled: true
                    hard: true
                    limits { num_gpus: 6 })pb");
  AddQuota(&s, R"pb(id: "rsq_pu"
                    cloud_id: "cld_a"
                    project_id: "prj_a1"
                    user_id: "usr_2"
                    enabled: true
                    hard: true
                    limits { num_gpus: 1 })pb");
  auto book = MakeBook(s);
  NodeAdmission a =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_2"));
  EXPECT_EQ(a.num_applicable, 3);  // cloud, project, project+user
  // The per-user quota binds usr_1 first.
  EXPECT_EQ(Start(*book, MakeNode("cld_a", "prj_a2", "usr_1", 0, 4)).outcome,
            QuotaOutcome::kAdmit);
  NodeAdmission user =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a2", "usr_1", 0, 1));
  EXPECT_EQ(user.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(user.breaches[0].quota_id, "rsq_user");
  // The project+user quota binds usr_2 in prj_a1 at 1 GPU...
  EXPECT_EQ(Start(*book, MakeNode("cld_a", "prj_a1", "usr_2", 0, 1)).outcome,
            QuotaOutcome::kAdmit);
  EXPECT_EQ(
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_2", 0, 1))
          .breaches[0]
          .quota_id,
      "rsq_pu");
  // ... but not in prj_a2, where the cloud-wide quota binds at 10.
  EXPECT_EQ(Start(*book, MakeNode("cld_a", "prj_a2", "usr_2", 0, 5)).outcome,
            QuotaOutcome::kAdmit);
  NodeAdmission cloud =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a2", "usr_3", 0, 1));
  EXPECT_EQ(cloud.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(cloud.breaches[0].quota_id, "rsq_cloud");
  EXPECT_EQ(cloud.breaches[0].usage, 10);
  // Another cloud is untouched.
  EXPECT_EQ(
      accountant_.CheckNode(*book, MakeNode("cld_b", "prj_b1", "usr_1", 0, 100))
          .outcome,
      QuotaOutcome::kAdmit);
}

// §7.3 [D:QUOTA]: a soft quota admits with an alert; a hard one blocks, and
// the block names the hard quota first.
TEST_F(QuotaAccountantTest, SoftAlertsHardBlocks) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_soft"
                    cloud_id: "cld_a"
                    enabled: true
                    limits { num_cpus: 4 })pb");
  AddQuota(&s, R"pb(id: "rsq_hard"
                    cloud_id: "cld_a"
                    user_id: "usr_1"
                    enabled: true
                    hard: true
                    limits { num_cpus: 8 })pb");
  auto book = MakeBook(s);
  NodeAdmission soft = Start(*book, MakeNode("cld_a", "prj_a1", "usr_1", 6));
  EXPECT_EQ(soft.outcome, QuotaOutcome::kAdmitWithAlert);
  EXPECT_EQ(soft.reason, QuotaReason::kSoftQuotaExceeded);
  ASSERT_EQ(soft.num_breaches, 1);
  EXPECT_EQ(soft.breaches[0].quota_id, "rsq_soft");
  EXPECT_FALSE(soft.breaches[0].hard);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 6);  // admitted
  NodeAdmission both =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 3));
  EXPECT_EQ(both.outcome, QuotaOutcome::kBlock);
  ASSERT_EQ(both.num_breaches, 2);
  EXPECT_EQ(both.breaches[0].quota_id, "rsq_hard");
  EXPECT_EQ(both.breaches[1].quota_id, "rsq_soft");
}

// §7.3 [I]: disabled quotas are not enforced; §7.1: deleted ones neither.
TEST_F(QuotaAccountantTest, DisabledAndDeletedQuotasAreNotEnforced) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_off"
                    cloud_id: "cld_a"
                    enabled: false
                    hard: true
                    limits { num_cpus: 0 })pb");
  AddQuota(&s, R"pb(id: "rsq_del"
                    cloud_id: "cld_a"
                    user_id: "usr_1"
                    enabled: true
                    hard: true
                    limits { num_cpus: 0 }
                    deleted_at { seconds: 1 })pb");
  auto book = MakeBook(s);
  EXPECT_EQ(book->num_enforced_quotas(), 0u);
  NodeAdmission a =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 64));
  EXPECT_EQ(a.outcome, QuotaOutcome::kAdmit);
  EXPECT_EQ(a.num_applicable, 0);
  // Enabling it makes it apply.
  s.mutable_quotas(0)->set_enabled(true);
  auto enabled = MakeBook(s);
  EXPECT_EQ(
      accountant_.CheckNode(*enabled, MakeNode("cld_a", "prj_a1", "usr_1", 64))
          .outcome,
      QuotaOutcome::kBlock);
}

// §7.2: unset project / user mean every current and future project / user;
// a quota sees the usage already running in its scope when it is created,
// and usage survives any change of quotas.
TEST_F(QuotaAccountantTest, NewQuotaSeesRunningUsage) {
  v1::PolicySet s = BaseState();
  auto empty = MakeBook(s);
  EXPECT_EQ(Start(*empty, MakeNode("cld_a", "prj_a1", "usr_1", 4, 2)).outcome,
            QuotaOutcome::kAdmit);
  EXPECT_EQ(Start(*empty, MakeNode("cld_a", "prj_a2", "usr_2", 4, 2)).outcome,
            QuotaOutcome::kAdmit);
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_gpus: 5 })pb");
  AddQuota(&s, R"pb(id: "rsq_2"
                    cloud_id: "cld_a"
                    project_id: "prj_a1"
                    enabled: true
                    hard: true
                    limits { num_cpus: 4 })pb");
  auto book = MakeBook(s);
  NodeAdmission a =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a2", "usr_3", 0, 2));
  EXPECT_EQ(a.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(a.breaches[0].usage, 4);
  NodeAdmission b =
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_3", 1));
  EXPECT_EQ(b.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(b.breaches[0].quota_id, "rsq_2");
  EXPECT_EQ(b.breaches[0].usage, 4);
  // A user first seen after the quota was created is inside it too.
  AddQuota(&s, R"pb(id: "rsq_3"
                    cloud_id: "cld_a"
                    user_id: "sa_ci"
                    enabled: true
                    hard: true
                    limits { num_instances: 1 })pb");
  auto later = MakeBook(s);
  EXPECT_EQ(Start(*later, MakeNode("cld_a", "prj_a2", "sa_ci")).outcome,
            QuotaOutcome::kAdmit);
  EXPECT_EQ(accountant_.CheckNode(*later, MakeNode("cld_a", "prj_a2", "sa_ci"))
                .breaches[0]
                .quota_id,
            "rsq_3");
}

// §7.3 [D:QUOTA]: running clusters are not terminated. Lowering a limit
// below the usage changes nothing that runs; new nodes are blocked, and
// stopping brings the usage back under the limit.
TEST_F(QuotaAccountantTest, RunningNodesAreNeverTerminated) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_cpus: 100 })pb");
  auto book = MakeBook(s);
  const Node big = MakeNode("cld_a", "prj_a1", "usr_1", 60);
  EXPECT_EQ(Start(*book, big).outcome, QuotaOutcome::kAdmit);
  s.mutable_quotas(0)->mutable_limits()->set_num_cpus(10);
  auto lowered = MakeBook(s);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 60);
  EXPECT_EQ(
      accountant_.CheckNode(*lowered, MakeNode("cld_a", "prj_a1", "usr_1", 0))
          .outcome,
      QuotaOutcome::kBlock);  // 60 > 10 even with 0 more
  // A node the control plane started on its own is counted, never refused.
  EXPECT_THAT(accountant_.NodeStarted(MakeNode("cld_a", "prj_a1", "usr_1", 5)),
              IsOk());
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 65);
  EXPECT_THAT(accountant_.NodeStopped(big), IsOk());
  EXPECT_THAT(accountant_.NodeStopped(MakeNode("cld_a", "prj_a1", "usr_1", 5)),
              IsOk());
  EXPECT_EQ(
      accountant_.CheckNode(*lowered, MakeNode("cld_a", "prj_a1", "usr_1", 10))
          .outcome,
      QuotaOutcome::kAdmit);
}

// §7.3 [I]: the head node counts; the creator is the user, so a service
// account's workloads count toward the service account.
TEST_F(QuotaAccountantTest, CreatorIsTheUserHeadNodeCounts) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_sa"
                    cloud_id: "cld_a"
                    user_id: "sa_ci"
                    enabled: true
                    hard: true
                    limits { num_instances: 1 })pb");
  auto book = MakeBook(s);
  const Node head = MakeNode("cld_a", "prj_a1", "sa_ci", 2);
  EXPECT_EQ(Start(*book, head).outcome, QuotaOutcome::kAdmit);
  EXPECT_EQ(
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "sa_ci", 2))
          .outcome,
      QuotaOutcome::kBlock);
  // usr_1 launching in the same project is not the service account.
  EXPECT_EQ(
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 2))
          .outcome,
      QuotaOutcome::kAdmit);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "sa_ci").instances, 1);
}

// Fail closed: a node that does not resolve in the book is blocked.
TEST_F(QuotaAccountantTest, UnresolvedNodesBlock) {
  auto book = MakeBook(BaseState());
  auto reason = [&](const Node& n) {
    return accountant_.AdmitNode(*book, n).reason;
  };
  EXPECT_EQ(reason(MakeNode("cld_9", "prj_a1", "usr_1")),
            QuotaReason::kUnknownCloud);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_9", "usr_1")),
            QuotaReason::kUnknownProject);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_b1", "usr_1")),
            QuotaReason::kProjectNotInCloud);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_a1", "usr_9")),
            QuotaReason::kUnknownCreator);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_a1", "usr_x")),
            QuotaReason::kCreatorNotInOrg);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_a1", "usr_1", -1)),
            QuotaReason::kInvalidNode);
  EXPECT_EQ(reason(MakeNode("cld_a", "", "usr_1")), QuotaReason::kInvalidNode);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_a1", "usr_1", 0, 0, "", 1)),
            QuotaReason::kInvalidNode);
  EXPECT_EQ(reason(MakeNode("cld_a", "prj_a1", "usr_1", 0, 0, "bad type", 1)),
            QuotaReason::kInvalidNode);
  EXPECT_EQ(accountant_.AdmitNode(*book, MakeNode("cld_9", "prj_a1", "usr_1"))
                .outcome,
            QuotaOutcome::kBlock);
  EXPECT_EQ(accountant_.num_reservations(), 0u);
}

// ---- Reservations ----

TEST_F(QuotaAccountantTest, ReleaseReturnsCapacityOnce) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits {
                      num_gpus: 4
                      num_accelerators { key: "A10G" value: 4 }
                    })pb");
  auto book = MakeBook(s);
  NodeAdmission a = accountant_.AdmitNode(
      *book, MakeNode("cld_a", "prj_a1", "usr_1", 8, 4, "A10G", 4));
  ASSERT_EQ(a.outcome, QuotaOutcome::kAdmit);
  ASSERT_NE(a.reservation, 0u);
  EXPECT_EQ(accountant_.num_reservations(), 1u);
  // The reservation holds the capacity.
  EXPECT_EQ(
      accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_2", 0, 1))
          .outcome,
      QuotaOutcome::kBlock);
  EXPECT_THAT(accountant_.Release(a.reservation), IsOk());
  EXPECT_THAT(accountant_.Release(a.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(accountant_.Commit(a.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  ResourceUsage u = accountant_.Usage("cld_a", "", "");
  EXPECT_EQ(u.cpus, 0);
  EXPECT_EQ(u.gpus, 0);
  EXPECT_EQ(u.instances, 0);
  EXPECT_TRUE(u.accelerators.empty());
  EXPECT_EQ(accountant_.num_reservations(), 0u);
}

TEST_F(QuotaAccountantTest, CommitKeepsUsageUntilStopped) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_gpus: 4 })pb");
  auto book = MakeBook(s);
  const Node node = MakeNode("cld_a", "prj_a1", "usr_1", 8, 4);
  NodeAdmission a = accountant_.AdmitNode(*book, node);
  ASSERT_THAT(accountant_.Commit(a.reservation), IsOk());
  EXPECT_THAT(accountant_.Commit(a.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(accountant_.Release(a.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  clock_->Advance(absl::Hours(1));  // committed usage never expires
  EXPECT_EQ(accountant_.ExpireReservations(), 0u);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").gpus, 4);
  EXPECT_THAT(accountant_.NodeStopped(node), IsOk());
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").gpus, 0);
  // A stop without a start is refused and changes nothing.
  EXPECT_THAT(accountant_.NodeStopped(node),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(accountant_.NodeStopped(MakeNode("cld_a", "prj_a2", "usr_1")),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").instances, 0);
}

// A caller that crashes between AdmitNode and Commit holds capacity only
// until the reservation's deadline on the injected clock.
TEST_F(QuotaAccountantTest, ReservationsExpire) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_gpus: 4 })pb");
  auto book = MakeBook(s);
  NodeAdmission a =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 0, 4));
  ASSERT_EQ(a.outcome, QuotaOutcome::kAdmit);
  clock_->Advance(absl::Minutes(5) - absl::Seconds(1));
  EXPECT_EQ(
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_2", 0, 1))
          .outcome,
      QuotaOutcome::kBlock);  // still held
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").gpus, 4);
  clock_->Advance(absl::Seconds(1));
  // The block path expires overdue reservations and decides again.
  NodeAdmission b =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_2", 0, 3));
  EXPECT_EQ(b.outcome, QuotaOutcome::kAdmit);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").gpus, 3);
  EXPECT_THAT(accountant_.Commit(a.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(accountant_.Release(b.reservation), IsOk());
  // Explicit expiry.
  NodeAdmission c =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_2", 0, 1));
  EXPECT_EQ(accountant_.ExpireReservations(), 0u);
  clock_->Advance(absl::Minutes(6));
  EXPECT_EQ(accountant_.ExpireReservations(), 1u);
  EXPECT_EQ(accountant_.ExpireReservations(), 0u);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").gpus, 0);
  EXPECT_THAT(accountant_.Release(c.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(QuotaAccountantTest, ReservationSlotsRunOut) {
  auto book = MakeBook(BaseState());
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(
        accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1))
            .outcome,
        QuotaOutcome::kAdmit);
  }
  NodeAdmission full =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1));
  EXPECT_EQ(full.outcome, QuotaOutcome::kBlock);
  EXPECT_EQ(full.reason, QuotaReason::kTooManyReservations);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 64);
  clock_->Advance(absl::Minutes(10));
  EXPECT_EQ(
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1))
          .outcome,
      QuotaOutcome::kAdmit);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 1);
}

TEST_F(QuotaAccountantTest, StaleAndForgedReservationIdsAreRefused) {
  auto book = MakeBook(BaseState());
  NodeAdmission a =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1));
  ASSERT_THAT(accountant_.Release(a.reservation), IsOk());
  // The slot is reused with a new generation; the old id does not reach it.
  NodeAdmission b =
      accountant_.AdmitNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 2));
  EXPECT_NE(a.reservation, b.reservation);
  EXPECT_THAT(accountant_.Release(a.reservation),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(accountant_.Release(0),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(accountant_.Release(~uint64_t{0}),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 2);
}

TEST_F(QuotaAccountantTest, CheckNodeReservesNothing) {
  v1::PolicySet s = BaseState();
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_cpus: 1 })pb");
  auto book = MakeBook(s);
  for (int i = 0; i < 3; ++i) {
    NodeAdmission a =
        accountant_.CheckNode(*book, MakeNode("cld_a", "prj_a1", "usr_1", 1));
    EXPECT_EQ(a.outcome, QuotaOutcome::kAdmit);
    EXPECT_EQ(a.reservation, 0u);
  }
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 0);
  EXPECT_EQ(accountant_.num_reservations(), 0u);
}

TEST_F(QuotaAccountantTest, UsageByScopeShape) {
  auto book = MakeBook(BaseState());
  ASSERT_THAT(accountant_.NodeStarted(
                  MakeNode("cld_a", "prj_a1", "usr_1", 1, 0, "T4", 1)),
              IsOk());
  ASSERT_THAT(accountant_.NodeStarted(MakeNode("cld_a", "prj_a2", "usr_1", 2)),
              IsOk());
  ASSERT_THAT(accountant_.NodeStarted(
                  MakeNode("cld_a", "prj_a1", "usr_2", 4, 0, "A10G", 2)),
              IsOk());
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").cpus, 7);
  EXPECT_EQ(accountant_.Usage("cld_a", "prj_a1", "").cpus, 5);
  EXPECT_EQ(accountant_.Usage("cld_a", "", "usr_1").cpus, 3);
  EXPECT_EQ(accountant_.Usage("cld_a", "prj_a1", "usr_2").cpus, 4);
  EXPECT_EQ(accountant_.Usage("cld_b", "", "").cpus, 0);
  EXPECT_THAT(accountant_.Usage("cld_a", "", "").accelerators,
              ElementsAre(Pair("A10G", 2), Pair("T4", 1)));
  EXPECT_EQ(accountant_.Usage("cld_a", "", "").instances, 3);
}

TEST(QuotaBookTest, ResolveNamesAndIds) {
  auto book = MakeBook(BaseState());
  ASSERT_OK_AND_ASSIGN(ScopeIds ids,
                       book->Resolve("alpha", "one", "U1@ACME.com"));
  EXPECT_EQ(ids.org_id, "org_1");
  EXPECT_EQ(ids.cloud_id, "cld_a");
  EXPECT_EQ(ids.project_id, "prj_a1");
  EXPECT_EQ(ids.user_id, "usr_1");
  ASSERT_OK_AND_ASSIGN(ScopeIds def, book->Resolve("cld_b", "", "usr_2"));
  EXPECT_EQ(def.project_id, "prj_b_default");
  ASSERT_OK_AND_ASSIGN(ScopeIds other,
                       book->Resolve("xray", "", "x@other.com", "other"));
  EXPECT_EQ(other.cloud_id, "cld_x");
  EXPECT_THAT(book->Resolve("alpha", "nope", ""),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(book->Resolve("alpha", "prj_b1", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(book->Resolve("alpha", "", "usr_x"),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(book->Resolve("alpha", "", "x@other.com"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(book->Resolve("cld_a", "", "", "other"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

}  // namespace
}  // namespace arbiter
