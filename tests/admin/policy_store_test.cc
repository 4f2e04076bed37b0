// PolicyStore (arbiter/policy_store.h) on the demo organization: a test per
// row of access-model §4.3 and per side effect of §10.1-§10.4, each asserting
// the status code, the refusal and the message; and the store's own rules
// (authorization, preconditions, limits, all or nothing, audit, incremental
// publishing).
//
// The demo: alice is the only org owner; bob owns cloud prod (auto-add on);
// carol and dave are prod collaborators (dave owns private project ml-prod);
// erin and kim reach ml-prod through groups ml-team / ml-interns; frank was
// auto-added to prod; grace reads research; ivan is invited; sa_ci is a
// service account.

#include "arbiter/policy_store.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace {

using ::testing::HasSubstr;

v1::Transaction Txn(const char* text) {
  v1::Transaction t;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &t)) << text;
  return t;
}

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(DemoPolicySet()); }
  void Reset(v1::PolicySet state) {
    auto store = PolicyStore::Create(std::move(state));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  // Applies and expects success.
  AppliedTransaction Ok(const char* text) {
    absl::StatusOr<AppliedTransaction> a = store_->Apply(Txn(text));
    EXPECT_TRUE(a.ok()) << a.status() << "\n" << text;
    return a.ok() ? *a : AppliedTransaction();
  }
  // Applies and expects a refusal; checks nothing changed.
  absl::Status RefusedWith(const char* text, absl::StatusCode code,
                           Refusal refusal) {
    const std::string before = store_->StateCopy().SerializeAsString();
    const uint64_t revision = store_->revision();
    const size_t audit = store_->audit_log().Records("org_123").size();
    absl::StatusOr<AppliedTransaction> a = store_->Apply(Txn(text));
    EXPECT_FALSE(a.ok()) << text;
    if (a.ok()) return absl::OkStatus();
    EXPECT_EQ(a.status().code(), code) << a.status();
    EXPECT_EQ(RefusalOf(a.status()), refusal)
        << a.status() << " is " << RefusalName(RefusalOf(a.status()));
    EXPECT_EQ(store_->StateCopy().SerializeAsString(), before)
        << "a refused transaction changed the state";
    EXPECT_EQ(store_->revision(), revision);
    EXPECT_EQ(store_->audit_log().Records("org_123").size(), audit);
    return a.status();
  }
  void Refused(const char* text, absl::StatusCode code, Refusal refusal) {
    RefusedWith(text, code, refusal).IgnoreError();
  }
  Decision CheckNow(const char* who, const char* what, const char* where) {
    AccessRequest r;
    r.principal = who;
    r.permission = what;
    r.resource = where;
    return store_->engine()->Check(r);
  }
  std::unique_ptr<PolicyStore> store_;
};

// ---- §4.3, row by row
// ----------------------------------------------------------

TEST_F(PolicyStoreTest, ProjectGrantWithoutCloudGrantIsRefused) {
  absl::Status s =
      RefusedWith(R"(actor: "alice@acme.com"
      mutations { set_project_member { project: "prod/ml-prod"
                                       principal: "grace@acme.com"
                                       role: "project_readonly" } })",
                  absl::StatusCode::kPermissionDenied, Refusal::kNoCloudGrant);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("mutations[0].set_project_member: \"usr_grace\" has no "
                        "access to cloud \"cld_prod\""));
  // The cloud grant first, in the same transaction: applied.
  Ok(R"(actor: "alice@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "grace@acme.com"
                                     role: "cloud_collaborator" } }
      mutations { set_project_member { project: "prod/ml-prod"
                                       principal: "grace@acme.com"
                                       role: "project_readonly" } })");
  EXPECT_TRUE(
      CheckNow("grace@acme.com", "project.view", "prod/ml-prod").allowed());
}

TEST_F(PolicyStoreTest, ProjectRoleAboveReadonlyUnderCloudReadOnlyIsRefused) {
  Refused(R"(actor: "alice@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "carol@acme.com"
                                     role: "cloud_collaborator" read_only: true } }
      mutations { set_project_member { project: "prod/ml-prod"
                                        principal: "carol@acme.com"
                                        role: "project_write" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kReadOnlyCap);
  // Carol owns prod/web: cloud_read_only on prod would cap a role she
  // already holds, whichever comes first.
  absl::Status s =
      RefusedWith(R"(actor: "alice@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "carol@acme.com"
                                     role: "cloud_collaborator" read_only: true } }
      mutations { set_project_member { project: "prod/ml-prod"
                                        principal: "carol@acme.com"
                                        role: "project_readonly" } })",
                  absl::StatusCode::kFailedPrecondition, Refusal::kReadOnlyCap);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"prj_web\""));
  Ok(R"(actor: "alice@acme.com"
      mutations { remove_project_member { project: "prod/web"
                                           principal: "carol@acme.com" } }
      mutations { set_cloud_member { cloud: "prod" principal: "carol@acme.com"
                                     role: "cloud_collaborator" read_only: true } }
      mutations { set_project_member { project: "prod/ml-prod"
                                        principal: "carol@acme.com"
                                        role: "project_readonly" } })");
}

// The cap holds through groups: adding a member holding cloud_read_only to a
// group with project_write is refused, and so is binding the group; removing
// grants from someone already in breach is never refused.
TEST_F(PolicyStoreTest, CloudReadOnlyCapHoldsThroughGroups) {
  Refused(R"(actor: "alice@acme.com"
      mutations { sync_group { group_id: "grp_ml_team"
                               member_ids: ["usr_erin", "grp_ml_interns", "usr_heidi"] } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kReadOnlyCap);
  // A state loaded with a breach (heidi: project_write on ml-prod under
  // cloud_read_only) loads; changes around it are not refused for it.
  v1::PolicySet state = DemoPolicySet();
  v1::Grant* g = state.add_grants();
  g->set_id("g_heidi_ml_prod_write");
  g->set_principal_id("usr_heidi");
  g->set_role("project_write");
  g->set_project_id("prj_ml_prod");
  Reset(state);
  Ok(R"(actor: "alice@acme.com"
      mutations { set_project_member { project: "prod/web"
                                        principal: "heidi@acme.com"
                                        role: "project_readonly" } })");
  Ok(R"(actor: "alice@acme.com"
      mutations { remove_project_member { project: "prod/ml-prod"
                                           principal: "heidi@acme.com" } })");
}

TEST_F(PolicyStoreTest, OwnerTogetherWithCloudReadOnlyIsRefused) {
  Refused(R"(actor: "alice@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "carol@acme.com"
                                     role: "cloud_owner" read_only: true } })",
          absl::StatusCode::kInvalidArgument, Refusal::kOwnerWithReadOnly);
}

TEST_F(PolicyStoreTest, RemovingOrChangingOneselfIsRefused) {
  absl::Status s = RefusedWith(R"(actor: "bob@acme.com"
      mutations { remove_cloud_member { cloud: "prod" principal: "bob@acme.com" } })",
                               absl::StatusCode::kPermissionDenied,
                               Refusal::kSelfModification);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot remove yourself from the cloud"));
  Refused(R"(actor: "bob@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "bob@acme.com"
                                     role: "cloud_collaborator" } })",
          absl::StatusCode::kPermissionDenied, Refusal::kSelfModification);
}

TEST_F(PolicyStoreTest, AnOrgOwnersCloudRoleCannotBeChanged) {
  absl::Status s = RefusedWith(R"(actor: "bob@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "alice@acme.com"
                                     role: "cloud_collaborator" } })",
                               absl::StatusCode::kFailedPrecondition,
                               Refusal::kOrgOwnerCloudRole);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("cannot modify an organization admin cloud role"));
}

TEST_F(PolicyStoreTest, RemovingACollaboratorWhileAutoAddIsOnIsRefused) {
  Refused(R"(actor: "bob@acme.com"
      mutations { remove_cloud_member { cloud: "prod" principal: "frank@acme.com" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kAutoAddEnabled);
  // Off: revokes nothing, and the removal then works.
  Ok(R"(actor: "bob@acme.com" mutations { set_auto_add { cloud: "prod" enabled: false } })");
  EXPECT_TRUE(CheckNow("frank@acme.com", "cloud.view", "prod").allowed());
  Ok(R"(actor: "bob@acme.com"
      mutations { remove_cloud_member { cloud: "prod" principal: "frank@acme.com" } })");
  EXPECT_EQ(CheckNow("frank@acme.com", "cloud.view", "prod").reason,
            Reason::kNoCloudGrant);
}

TEST_F(PolicyStoreTest,
       ScimWithABindingRefusesHumanRevokesButNotServiceAccounts) {
  v1::PolicySet state = DemoPolicySet();
  auto* settings = state.add_identity_settings();
  settings->set_org_id("org_123");
  settings->set_scim_enabled(true);
  auto* g = state.add_grants();
  g->set_id("g_sa_prod");
  g->set_principal_id("sa_ci");
  g->set_role("cloud_collaborator");
  g->set_cloud_id("cld_prod");
  Ok(R"(actor: "bob@acme.com" mutations { set_auto_add { cloud: "prod" enabled: false } })");
  Reset(state);
  Ok(R"(actor: "bob@acme.com" mutations { set_auto_add { cloud: "prod" enabled: false } })");
  Refused(R"(actor: "bob@acme.com"
      mutations { remove_cloud_member { cloud: "prod" principal: "dave@acme.com" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kScimRevoke);
  Ok(R"(actor: "bob@acme.com"
      mutations { remove_cloud_member { cloud: "prod" principal: "sa_ci" } })");
}

TEST_F(PolicyStoreTest,
       InvitationsAreRefusedUnderSsoRequiredOrScimWithABinding) {
  v1::PolicySet state = DemoPolicySet();
  auto* settings = state.add_identity_settings();
  settings->set_org_id("org_123");
  settings->set_sso_mode(v1::SSO_MODE_REQUIRED);
  Reset(state);
  Refused(
      R"(actor: "alice@acme.com" mutations { invite_users { emails: "new@acme.com" } })",
      absl::StatusCode::kFailedPrecondition, Refusal::kInvitationRefused);
  settings->set_sso_mode(v1::SSO_MODE_OPTIONAL);
  settings->set_scim_enabled(true);  // the demo has group bindings
  Reset(state);
  Refused(
      R"(actor: "alice@acme.com" mutations { invite_users { emails: "new@acme.com" } })",
      absl::StatusCode::kFailedPrecondition, Refusal::kInvitationRefused);
}

TEST_F(PolicyStoreTest, TheLastOrgOwnerCannotBeDemotedOrRemoved) {
  Refused(R"(actor: "alice@acme.com"
      mutations { set_org_role { principal: "alice@acme.com" role: "org_collaborator" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kLastOrgOwner);
  Refused(R"(actor: "alice@acme.com"
      mutations { remove_user { principal: "alice@acme.com" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kLastOrgOwner);
  // With a second owner, the first may step down.
  Ok(R"(actor: "alice@acme.com"
      mutations { set_org_role { principal: "bob@acme.com" role: "org_owner" } }
      mutations { set_org_role { principal: "alice@acme.com" role: "org_collaborator" } })");
  EXPECT_EQ(CheckNow("bob@acme.com", "org.roles.manage", "org_123").reason,
            Reason::kOrgOwner);
  EXPECT_FALSE(
      CheckNow("alice@acme.com", "org.roles.manage", "org_123").allowed());
}

TEST_F(PolicyStoreTest, ASecondQuotaForOneScopeIsRefused) {
  Ok(R"(actor: "alice@acme.com"
      mutations { create_quota { quota { id: "rsq_1" name: "q1" cloud_id: "prod"
                                         enabled: true hard: true
                                         limits { num_cpus: 10 } } } })");
  Refused(R"(actor: "alice@acme.com"
      mutations { create_quota { quota { id: "rsq_2" name: "q2" cloud_id: "cld_prod"
                                         enabled: true limits { num_gpus: 1 } } } })",
          absl::StatusCode::kAlreadyExists, Refusal::kDuplicateQuota);
}

TEST_F(PolicyStoreTest, ASecondDailyBudgetForOneScopeIsRefused) {
  Ok(R"(actor: "alice@acme.com"
      mutations { create_budget { budget { id: "b1" name: "daily" cloud_id: "prod"
                                           period: BUDGET_PERIOD_DAILY
                                           amount_credits: 100 enabled: true } } })");
  Refused(R"(actor: "alice@acme.com"
      mutations { create_budget { budget { id: "b2" name: "again" cloud_id: "prod"
                                           period: BUDGET_PERIOD_DAILY
                                           amount_credits: 50 enabled: true } } })",
          absl::StatusCode::kAlreadyExists, Refusal::kDuplicateBudget);
}

// modify_quota replaces what a quota is and keeps who made it and when;
// the new scope may not be another live quota's, a deleted quota never
// changes, and only a holder of org.quotas.manage may modify.
TEST_F(PolicyStoreTest, ModifyQuotaReplacesLimitsAndKeepsItsOrigin) {
  Ok(R"(actor: "alice@acme.com"
      mutations { create_quota { quota { id: "rsq_1" name: "q1" cloud_id: "prod"
                                         enabled: true hard: true
                                         limits { num_cpus: 10 } } } }
      mutations { create_quota { quota { id: "rsq_2" name: "q2" cloud_id: "prod"
                                         user_id: "bob@acme.com"
                                         enabled: true limits { num_gpus: 1 } } } })");
  const v1::ResourceQuota before = store_->StateCopy().quotas(0);
  ASSERT_EQ(before.id(), "rsq_1");
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      mutations { modify_quota { quota { id: "rsq_1" name: "renamed" cloud_id: "prod"
                                         creator_id: "usr_forged" enabled: false
                                         limits { num_cpus: 32 num_gpus: 4 } } } })");
  ASSERT_EQ(a.audit.size(), 1u);
  EXPECT_EQ(a.audit[0].entity(), "RESOURCE_QUOTA");
  EXPECT_EQ(a.audit[0].action(), "MODIFY");
  EXPECT_EQ(a.audit[0].resource_id(), "rsq_1");
  EXPECT_FALSE(a.audit[0].metadata().fields().at("is_enabled").bool_value());
  const v1::ResourceQuota after = store_->StateCopy().quotas(0);
  EXPECT_EQ(after.name(), "renamed");
  EXPECT_EQ(after.limits().num_cpus(), 32);
  EXPECT_EQ(after.limits().num_gpus(), 4);
  EXPECT_FALSE(after.enabled());
  EXPECT_FALSE(after.hard());
  EXPECT_EQ(after.creator_id(), before.creator_id());
  EXPECT_EQ(after.created_at().seconds(), before.created_at().seconds());
  // Onto rsq_2's scope (cloud prod, user bob): refused.
  Refused(R"(actor: "alice@acme.com"
      mutations { modify_quota { quota { id: "rsq_1" cloud_id: "prod"
                                         user_id: "bob@acme.com" enabled: true } } })",
          absl::StatusCode::kAlreadyExists, Refusal::kDuplicateQuota);
  Refused(R"(actor: "alice@acme.com"
      mutations { modify_quota { quota { cloud_id: "prod" enabled: true } } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid);
  Refused(R"(actor: "alice@acme.com"
      mutations { modify_quota { quota { id: "rsq_9" cloud_id: "prod" } } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
  Refused(R"(actor: "carol@acme.com"
      mutations { modify_quota { quota { id: "rsq_1" cloud_id: "prod" } } })",
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  Ok(R"(actor: "alice@acme.com" mutations { delete_quota { quota_id: "rsq_1" } })");
  Refused(R"(actor: "alice@acme.com"
      mutations { modify_quota { quota { id: "rsq_1" cloud_id: "prod"
                                         limits { num_cpus: 1 } } } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kInvalid);
}

// Another organization's quota is as unknown as a missing one: it cannot be
// modified, enabled or deleted (and so moved into this organization).
TEST_F(PolicyStoreTest, AnotherOrganizationsQuotaIsNotFound) {
  v1::PolicySet state = DemoPolicySet();
  ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(
      R"(organizations { id: "org_b" name: "beta" }
         clouds { id: "cld_b" org_id: "org_b" name: "prod" }
         projects { id: "prj_b_default" cloud_id: "cld_b" name: "default"
                    is_default: true visibility: VISIBILITY_PUBLIC }
         quotas { id: "rsq_b" name: "beta's" cloud_id: "cld_b" enabled: true
                  limits { num_cpus: 4 } })",
      &state));
  Reset(state);
  Refused(R"(actor: "alice@acme.com"
      mutations { modify_quota { quota { id: "rsq_b" cloud_id: "prod"
                                         limits { num_cpus: 400 } } } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
  Refused(R"(actor: "alice@acme.com"
      mutations { set_quota_enabled { quota_id: "rsq_b" enabled: false } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
  Refused(R"(actor: "alice@acme.com"
      mutations { delete_quota { quota_id: "rsq_b" } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
}

// Budgets: enabling, disabling and modifying are BUDGET MODIFY with id,
// is_enabled and the amount (§9 [D]); a modify keeps the budget's origin
// and the one-daily-one-monthly rule.
TEST_F(PolicyStoreTest, ModifyBudgetAndItsAuditRecords) {
  Ok(R"(actor: "alice@acme.com"
      mutations { create_budget { budget { id: "b1" name: "daily" cloud_id: "prod"
                                           period: BUDGET_PERIOD_DAILY
                                           amount_credits: 100 enabled: true } } }
      mutations { create_budget { budget { id: "b2" name: "monthly" cloud_id: "prod"
                                           period: BUDGET_PERIOD_MONTHLY
                                           amount_credits: 2000 enabled: true } } })");
  AppliedTransaction off = Ok(R"(actor: "alice@acme.com"
      mutations { set_budget_enabled { budget_id: "b1" enabled: false } })");
  ASSERT_EQ(off.audit.size(), 1u);
  EXPECT_EQ(off.audit[0].entity(), "BUDGET");
  EXPECT_EQ(off.audit[0].action(), "MODIFY");
  EXPECT_FALSE(off.audit[0].metadata().fields().at("is_enabled").bool_value());
  EXPECT_EQ(off.audit[0].metadata().fields().at("budget_amount").number_value(),
            100);
  AppliedTransaction m = Ok(R"(actor: "alice@acme.com"
      mutations { modify_budget { budget { id: "b1" name: "daily" cloud_id: "prod"
                                           period: BUDGET_PERIOD_DAILY
                                           amount_credits: 150 enabled: true
                                           thresholds_percent: 80 } } })");
  ASSERT_EQ(m.audit.size(), 1u);
  EXPECT_EQ(m.audit[0].action(), "MODIFY");
  EXPECT_EQ(m.audit[0].metadata().fields().at("budget_amount").number_value(),
            150);
  const v1::Budget b1 = store_->StateCopy().budgets(0);
  EXPECT_EQ(b1.amount_credits(), 150);
  EXPECT_EQ(b1.org_id(), "org_123");
  EXPECT_FALSE(b1.creator_id().empty());
  // Daily into monthly: prod already has a live monthly budget.
  Refused(R"(actor: "alice@acme.com"
      mutations { modify_budget { budget { id: "b1" cloud_id: "prod"
                                           period: BUDGET_PERIOD_MONTHLY
                                           amount_credits: 1 } } })",
          absl::StatusCode::kAlreadyExists, Refusal::kDuplicateBudget);
  Refused(R"(actor: "carol@acme.com"
      mutations { modify_budget { budget { id: "b1" cloud_id: "prod"
                                           period: BUDGET_PERIOD_DAILY } } })",
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  // Another organization's budget cannot be made from this one.
  Refused(R"(actor: "alice@acme.com"
      mutations { create_budget { budget { id: "b3" org_id: "org_other"
                                           period: BUDGET_PERIOD_MONTHLY
                                           amount_credits: 5 } } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid);
}

TEST_F(PolicyStoreTest,
       AGroupPolicyOutsideItsScopeOrForAnUnknownGroupIsRefused) {
  Refused(R"(actor: "alice@acme.com"
      mutations { set_group_policy { resource: "prod"
                                     bindings { group: "ml-team" role: "project_owner" } } })",
          absl::StatusCode::kInvalidArgument, Refusal::kRoleOutOfScope);
  Refused(R"(actor: "alice@acme.com"
      mutations { set_group_policy { resource: "prod"
                                     bindings { group: "no-such-group" role: "cloud_collaborator" } } })",
          absl::StatusCode::kNotFound, Refusal::kUnknownGroup);
}

// ---- §10 side effects
// -----------------------------------------------------------

TEST_F(PolicyStoreTest, InviteThenAcceptMakesAnActiveMemberAutoAddedToProd) {
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "New@Acme.com" principal_ids: "usr_new" } })");
  ASSERT_EQ(a.audit.size(), 1u);
  EXPECT_EQ(a.audit[0].action(), "INVITE");
  EXPECT_EQ(CheckNow("usr_new", "cloud.view", "prod").reason,
            Reason::kPrincipalInvited);
  // Re-inviting a pending address (any case) replaces the invitation.
  Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "new@acme.com" principal_ids: "usr_new2" } })");
  EXPECT_EQ(CheckNow("usr_new", "cloud.view", "prod").reason,
            Reason::kPrincipalDeleted);
  Ok(R"(actor: "usr_new2" mutations { accept_invitation { principal: "usr_new2" } })");
  EXPECT_TRUE(CheckNow("new@acme.com", "cloud.view", "prod").allowed());
  EXPECT_EQ(CheckNow("new@acme.com", "cloud.view", "prod").source,
            GrantSource::kAutoAdd);
  // Inviting a member fails.
  Refused(
      R"(actor: "alice@acme.com" mutations { invite_users { emails: "new@acme.com" } })",
      absl::StatusCode::kAlreadyExists, Refusal::kAlreadyMember);
}

TEST_F(PolicyStoreTest, RemovingAUserCascadesItsGrantsAndKeepsItsWorkloads) {
  Ok(R"(actor: "alice@acme.com" mutations { remove_user { principal: "dave@acme.com" } })");
  EXPECT_EQ(CheckNow("usr_dave", "project.view", "prod/ml-prod").reason,
            Reason::kPrincipalDeleted);
  const v1::PolicySet state = store_->StateCopy();
  for (const v1::Grant& g : state.grants()) {
    EXPECT_NE(g.principal_id(), "usr_dave") << g.id();
  }
  bool notebook = false;
  for (const v1::Workload& w : state.workloads())
    notebook |= w.id() == "wl_dave_notebook";
  EXPECT_TRUE(notebook);
}

TEST_F(PolicyStoreTest, TurningAutoAddOnIsRetroactive) {
  Ok(R"(actor: "alice@acme.com" mutations { set_auto_add { cloud: "research" enabled: true } })");
  for (const char* who : {"carol@acme.com", "dave@acme.com", "mallory@acme.com",
                          "ci@org-123.serviceaccount.com"}) {
    const Decision d = CheckNow(who, "cloud.view", "research");
    EXPECT_TRUE(d.allowed()) << who << " " << d;
  }
  // The invited and the removed are not members.
  EXPECT_FALSE(CheckNow("usr_ivan", "cloud.view", "research").allowed());
}

TEST_F(PolicyStoreTest, CreatorsOwnWhatTheyCreate) {
  Ok(R"(actor: "alice@acme.com"
      mutations { create_cloud { cloud_id: "cld_new" name: "fresh" } })");
  EXPECT_EQ(CheckNow("alice@acme.com", "cloud.delete", "fresh").reason,
            Reason::kOrgOwner);
  const Decision dp =
      CheckNow("alice@acme.com", "project.view", "fresh/default");
  EXPECT_TRUE(dp.allowed()) << dp;
  Ok(R"(actor: "carol@acme.com"
      mutations { create_project { project_id: "prj_carol" cloud: "prod" name: "carols" } })");
  const Decision d =
      CheckNow("carol@acme.com", "project.delete", "prod/carols");
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.reason, Reason::kGrant);
  EXPECT_FALSE(
      CheckNow("dave@acme.com", "project.view", "prod/carols").allowed());
}

TEST_F(PolicyStoreTest, TheDefaultProjectIsProtected) {
  Refused(
      R"(actor: "alice@acme.com" mutations { delete_project { project: "prod/default" } })",
      absl::StatusCode::kPermissionDenied, Refusal::kProtectedResource);
  Refused(R"(actor: "alice@acme.com"
      mutations { set_project_visibility { project: "prod/default"
                                           visibility: VISIBILITY_PRIVATE } })",
          absl::StatusCode::kPermissionDenied, Refusal::kProtectedResource);
}

TEST_F(PolicyStoreTest, GroupPolicyReplacesEveryBindingOfTheResource) {
  Ok(R"(actor: "alice@acme.com"
      mutations { set_group_policy { resource: "prod/ml-prod"
                                     bindings { group: "ml-interns" role: "project_readonly" } } })");
  // ml-team's project_write on ml-prod is gone; kim keeps read access.
  EXPECT_FALSE(
      CheckNow("erin@acme.com", "project.workload.create", "prod/ml-prod")
          .allowed());
  EXPECT_TRUE(
      CheckNow("kim@acme.com", "project.view", "prod/ml-prod").allowed());
}

TEST_F(PolicyStoreTest, DeletingAGroupCascadesItsBindings) {
  Ok(R"(actor: "alice@acme.com" mutations { delete_group { group: "ml-team" } })");
  EXPECT_FALSE(
      CheckNow("erin@acme.com", "project.view", "prod/ml-prod").allowed());
  const v1::PolicySet state = store_->StateCopy();
  for (const v1::Grant& g : state.grants()) {
    EXPECT_NE(g.group_id(), "grp_ml_team");
  }
}

TEST_F(PolicyStoreTest, ScimEnforceGroupsDryRunChangesNothing) {
  absl::StatusOr<AppliedTransaction> dry = store_->Apply(Txn(
      R"(actor: "alice@acme.com" mutations { scim_enforce_groups { dry_run: true } })"));
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->revision, 1u);
  EXPECT_FALSE(dry->audit.empty());  // what would be removed
  EXPECT_EQ(store_->revision(), 1u);
  Ok(R"(actor: "alice@acme.com" mutations { scim_enforce_groups { } })");
  // Users in no group are removed; erin (in ml-team) keeps group access.
  EXPECT_EQ(CheckNow("usr_carol", "cloud.view", "prod").reason,
            Reason::kPrincipalDeleted);
  EXPECT_TRUE(
      CheckNow("erin@acme.com", "project.view", "prod/ml-prod").allowed());
  EXPECT_TRUE(CheckNow("sa_ci", "org.images.use", "org_123").allowed());
}

TEST_F(PolicyStoreTest, ServiceAccountsGetTheDocumentedEmail) {
  Ok(R"(actor: "alice@acme.com" mutations { create_service_account { principal_id: "sa_new" name: "deployer" } })");
  // The documented form, as the demo's ci@org-123.serviceaccount.com:
  // the org id without "org_" (identity_rules.h ServiceAccountEmail).
  EXPECT_TRUE(CheckNow("deployer@org-123.serviceaccount.com", "org.images.use",
                       "org_123")
                  .allowed());
  Refused(
      R"(actor: "alice@acme.com" mutations { create_service_account { name: "deployer" } })",
      absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists);
  Refused(R"(actor: "alice@acme.com"
      mutations { set_org_role { principal: "sa_new" role: "org_owner" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kServiceAccountOwner);
}

// ---- The store's own rules
// --------------------------------------------------------

TEST_F(PolicyStoreTest, TheActorNeedsTheGuardingPermission) {
  absl::Status s = RefusedWith(R"(actor: "carol@acme.com"
      mutations { set_cloud_member { cloud: "prod" principal: "grace@acme.com"
                                     role: "cloud_collaborator" } })",
                               absl::StatusCode::kPermissionDenied,
                               Refusal::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("may not cloud.members.manage on \"cld_prod\" "
                        "(INSUFFICIENT_ROLE)"));
}

TEST_F(PolicyStoreTest, AStalePreconditionIsAbortedNamingBothRevisions) {
  absl::Status s =
      RefusedWith(R"(actor: "alice@acme.com" expected_revision: 7
      mutations { set_auto_add { cloud: "prod" enabled: false } })",
                  absl::StatusCode::kAborted, Refusal::kStaleRevision);
  EXPECT_THAT(std::string(s.message()), HasSubstr("revision 7"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("at revision 1"));
  Ok(R"(actor: "alice@acme.com" expected_revision: 1
      mutations { set_auto_add { cloud: "prod" enabled: false } })");
}

TEST_F(PolicyStoreTest, ALargeTransactionAppliesAtomicallyAndTheLimitIsTyped) {
  v1::Transaction txn;
  txn.set_actor("alice@acme.com");
  for (int i = 0; i < 10000; ++i) {
    auto* m = txn.add_mutations()->mutable_set_project_member();
    m->set_project("prod/web");
    m->set_principal("frank@acme.com");
    m->set_role(i % 2 ? "project_readonly" : "project_write");
  }
  absl::StatusOr<AppliedTransaction> a = store_->Apply(txn);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->revision, 2u);
  txn.add_mutations()->mutable_set_auto_add()->set_cloud("prod");
  const std::string before = store_->StateCopy().SerializeAsString();
  absl::StatusOr<AppliedTransaction> b = store_->Apply(txn);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RefusalOf(b.status()), Refusal::kTooLarge);
  EXPECT_EQ(store_->StateCopy().SerializeAsString(), before);
  // One refused mutation among 10,000 leaves nothing behind.
  txn.mutable_mutations()->RemoveLast();
  txn.mutable_mutations(9999)->mutable_set_project_member()->set_principal(
      "nobody@acme.com");
  absl::StatusOr<AppliedTransaction> c = store_->Apply(txn);
  EXPECT_EQ(RefusalOf(c.status()), Refusal::kNotFound) << c.status();
  EXPECT_EQ(store_->StateCopy().SerializeAsString(), before);
}

TEST_F(PolicyStoreTest, AGrantChangeIsPublishedIncrementallyAndSeenAtOnce) {
  auto who = store_->engine()->FindPrincipal("frank@acme.com");
  auto what = store_->engine()->FindPermission("project.workload.create");
  auto where = store_->engine()->FindResource("prod/ml-prod");
  ASSERT_TRUE(who && what && where);
  AppliedTransaction a = Ok(R"(actor: "dave@acme.com"
      mutations { set_project_member { project: "prod/ml-prod"
                                       principal: "frank@acme.com"
                                       role: "project_write" } })");
  EXPECT_TRUE(a.incremental);
  const Decision d = store_->engine()->Check(*who, *what, *where);
  EXPECT_TRUE(d.allowed()) << d;  // old handles, new snapshot
  EXPECT_EQ(d.revision, a.revision);
  ASSERT_EQ(a.delta.add_grants_size(), 1);
  EXPECT_EQ(a.delta.add_grants(0).principal_id(), "usr_frank");
}

TEST_F(PolicyStoreTest, AuditRecordsFollowAnyscalesSchemaAndChain) {
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      metadata { source_ip: "10.0.0.7" }
      mutations { set_org_role { principal: "bob@acme.com" role: "org_owner" } })");
  ASSERT_FALSE(a.audit.empty());
  const v1::AuditRecord& r = a.audit[0];
  EXPECT_EQ(r.action(), "MODIFY");
  EXPECT_EQ(r.entity(), "USER");
  EXPECT_EQ(r.user_id(), "usr_alice");
  EXPECT_EQ(r.source_ip(), "10.0.0.7");
  EXPECT_EQ(r.revision(), a.revision);
  EXPECT_FALSE(r.hash().empty());
  EXPECT_FALSE(VerifyAuditChain(store_->audit_log().Records("org_123"))
                   .problem.has_value());
}

}  // namespace
}  // namespace arbiter
