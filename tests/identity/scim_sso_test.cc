// access-model §10.4 (groups, SCIM), the SCIM rows of §4.3, and §10.3 (SSO
// settings): one test per rule, asserting code, IdentityRule and message.

#include <string>
#include <vector>

#include "arbiter/identity_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IdentityNow;
using ::arbiter::testing::IdentityTestState;
using ::arbiter::testing::TestOptions;
using ::testing::ElementsAre;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

MATCHER_P3(Refused, rule, code, text, "") {
  *result_listener << "rule " << IdentityRuleName(IdentityRuleOf(arg)) << ", "
                   << arg;
  return IdentityRuleOf(arg) == rule && arg.code() == code &&
         std::string(arg.message()).find(text) != std::string::npos;
}

v1::Grant* AddGrant(v1::PolicySet* s, const std::string& id,
                    const std::string& subject, bool group,
                    const std::string& role, const std::string& scope,
                    char scope_kind) {
  v1::Grant* g = s->add_grants();
  g->set_id(id);
  if (group) {
    g->set_group_id(subject);
  } else {
    g->set_principal_id(subject);
  }
  g->set_role(role);
  if (scope_kind == 'o') g->set_org_id(scope);
  if (scope_kind == 'c') g->set_cloud_id(scope);
  if (scope_kind == 'p') g->set_project_id(scope);
  return g;
}

class ScimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = IdentityTestState();
    v1::IdentitySettings* s = state_.add_identity_settings();
    s->set_org_id("org_a");
    s->set_scim_enabled(true);
  }
  v1::PolicySet state_;
};

TEST_F(ScimTest, HumanRevokeRefusedWithScimAndABinding) {
  // §4.3: no binding yet: revokes succeed.
  EXPECT_TRUE(
      CheckMemberRevocation(PolicySetView(state_), "usr_bob", IdentityNow())
          .ok());
  AddGrant(&state_, "g_team", "grp_team", true, "cloud_collaborator", "cld_a1",
           'c');
  EXPECT_THAT(
      CheckMemberRevocation(PolicySetView(state_), "usr_bob", IdentityNow()),
      Refused(IdentityRule::kScimHumanRevoke,
              absl::StatusCode::kFailedPrecondition,
              "user \"usr_bob\": organization \"org_a\" has SCIM on and a "
              "group policy binding"));
  // Service-account revokes still succeed.
  EXPECT_TRUE(
      CheckMemberRevocation(PolicySetView(state_), "sa_ci", IdentityNow())
          .ok());
  // Another organization is not concerned.
  EXPECT_TRUE(
      CheckMemberRevocation(PolicySetView(state_), "usr_zed", IdentityNow())
          .ok());
  EXPECT_THAT(
      CheckMemberRevocation(PolicySetView(state_), "usr_x", IdentityNow()),
      Refused(IdentityRule::kPrincipalUnknown, absl::StatusCode::kNotFound,
              "principal \"usr_x\" not found"));
  // SCIM off: allowed again.
  state_.mutable_identity_settings(0)->set_scim_enabled(false);
  EXPECT_TRUE(
      CheckMemberRevocation(PolicySetView(state_), "usr_bob", IdentityNow())
          .ok());
}

TEST_F(ScimTest, MembershipIsWrittenOnlyByTheSync) {
  EXPECT_TRUE(CheckGroupMembershipWrite("grp_team", true).ok());
  EXPECT_THAT(CheckGroupMembershipWrite("grp_team", false),
              Refused(IdentityRule::kGroupMembershipNotSynced,
                      absl::StatusCode::kPermissionDenied,
                      "group \"grp_team\": membership is written only by the "
                      "directory sync"));
}

TEST_F(ScimTest, CheckPermissionsListsCloudRoleWithoutProjectRole) {
  // bob: cloud role on cld_a1 and a project role there -> fine.
  // carol: cloud role on cld_a2, no project role -> gap.
  // ci (service account): not a user -> not listed.
  // alice: org owner -> not listed even with a bare cloud role.
  AddGrant(&state_, "g_alice_a2", "usr_alice", false, "cloud_owner", "cld_a2",
           'c');
  // A group's project role fills the gap of its members: kim in grp_team.
  v1::Principal* kim = state_.add_principals();
  kim->set_id("usr_kim");
  kim->set_org_id("org_a");
  kim->set_kind(v1::PRINCIPAL_KIND_USER);
  kim->set_email("kim@acme.com");
  state_.mutable_groups(0)->add_member_ids("usr_kim");
  AddGrant(&state_, "g_kim_a2", "usr_kim", false, "cloud_collaborator",
           "cld_a2", 'c');
  AddGrant(&state_, "g_team_p2", "grp_team", true, "project_readonly", "prj_a2",
           'p');
  // An expired project role does not count; a deny role is no cloud role.
  AddGrant(&state_, "g_carol_p2_old", "usr_carol", false, "project_write",
           "prj_a2", 'p')
      ->mutable_expires_at()
      ->set_seconds(absl::ToUnixSeconds(IdentityNow()) - 1);
  AddGrant(&state_, "g_bob_ro_a2", "usr_bob", false, "cloud_read_only",
           "cld_a2", 'c');
  absl::StatusOr<std::vector<PermissionGap>> gaps =
      ScimCheckPermissions(state_, "org_a", IdentityNow());
  ASSERT_TRUE(gaps.ok()) << gaps.status();
  ASSERT_THAT(*gaps, SizeIs(1));
  EXPECT_EQ((*gaps)[0].principal_id, "usr_carol");
  EXPECT_EQ((*gaps)[0].email, "carol@contractor.io");
  EXPECT_EQ((*gaps)[0].cloud_id, "cld_a2");
  EXPECT_THAT((*gaps)[0].cloud_roles, ElementsAre("cloud_collaborator"));
  EXPECT_THAT(ScimCheckPermissions(state_, "org_x", IdentityNow()).status(),
              Refused(IdentityRule::kUnknownOrganization,
                      absl::StatusCode::kNotFound, "\"org_x\" not found"));
}

TEST_F(ScimTest, EnforceGroupsPlan) {
  // alice owns the org through a group, so she may lose her direct role.
  v1::Group* admins = state_.add_groups();
  admins->set_id("grp_admins");
  admins->set_org_id("org_a");
  admins->add_member_ids("usr_alice");
  AddGrant(&state_, "g_admins_owner", "grp_admins", true, "org_owner", "org_a",
           'o');
  AddGrant(&state_, "g_team_a1", "grp_team", true, "cloud_collaborator",
           "cld_a1", 'c');
  v1::ApiKey* carol_key = state_.add_api_keys();
  carol_key->set_id("key_carol");
  carol_key->set_principal_id("usr_carol");
  absl::StatusOr<v1::IdentityPlan> plan =
      PlanScimEnforceGroups(state_, "org_a", IdentityNow());
  ASSERT_TRUE(plan.ok()) << plan.status();
  // Every direct user binding goes (org scope stays by default); group and
  // service-account bindings stay.
  EXPECT_THAT(plan->remove_grant_ids(),
              UnorderedElementsAre("g_bob_a1", "g_bob_p1", "g_carol_a2"));
  // carol is in no group: removed, her key revoked. ivan (INVITED) and judy
  // (DELETED) are not members; alice and bob are in groups.
  ASSERT_THAT(plan->principal_states(), SizeIs(1));
  EXPECT_EQ(plan->principal_states(0).principal_id(), "usr_carol");
  EXPECT_EQ(plan->principal_states(0).state(), v1::PRINCIPAL_STATE_DELETED);
  ASSERT_THAT(plan->revoke_api_keys(), SizeIs(1));
  EXPECT_EQ(plan->revoke_api_keys(0).key_id(), "key_carol");

  // With org-scope removal, alice's direct org_owner goes too (she stays an
  // owner through grp_admins).
  IdentityOptions options;
  options.enforce_groups_removes_org_bindings = true;
  plan = PlanScimEnforceGroups(state_, "org_a", IdentityNow(), options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->remove_grant_ids(),
              UnorderedElementsAre("g_alice_owner", "g_bob_a1", "g_bob_p1",
                                   "g_carol_a2"));
  ASSERT_TRUE(ApplyIdentityPlan(*plan, &state_).ok());
}

TEST_F(ScimTest, EnforceGroupsKeepsAnOwner) {
  // alice, the only owner, is in no group: enforcing would remove her.
  EXPECT_THAT(PlanScimEnforceGroups(state_, "org_a", IdentityNow()).status(),
              Refused(IdentityRule::kLastOrgOwner,
                      absl::StatusCode::kFailedPrecondition,
                      "organization \"org_a\": enforce-groups would leave it "
                      "without an active owner"));
  // In a group, but owning only directly, with org bindings removed.
  state_.mutable_groups(0)->add_member_ids("usr_alice");
  EXPECT_TRUE(PlanScimEnforceGroups(state_, "org_a", IdentityNow()).ok());
  IdentityOptions options;
  options.enforce_groups_removes_org_bindings = true;
  EXPECT_EQ(IdentityRuleOf(
                PlanScimEnforceGroups(state_, "org_a", IdentityNow(), options)
                    .status()),
            IdentityRule::kLastOrgOwner);
}

TEST_F(ScimTest, EnforceGroupsNeedsScim) {
  state_.mutable_identity_settings(0)->set_scim_enabled(false);
  EXPECT_THAT(PlanScimEnforceGroups(state_, "org_a", IdentityNow()).status(),
              Refused(IdentityRule::kScimNotEnabled,
                      absl::StatusCode::kFailedPrecondition,
                      "enforce-groups needs SCIM directory sync"));
  EXPECT_EQ(IdentityRuleOf(
                PlanScimEnforceGroups(state_, "org_b", IdentityNow()).status()),
            IdentityRule::kScimNotEnabled);
}

// ---- §10.3 SSO settings ----

TEST(SsoSettingsTest, NormalizesAndValidatesDomains) {
  v1::PolicySet state = IdentityTestState();
  v1::IdentitySettings s;
  s.set_org_id("org_a");
  s.set_sso_mode(v1::SSO_MODE_REQUIRED);
  v1::SsoDomain* d = s.add_domains();
  d->set_domain("Acme.COM");
  d->set_verified(true);
  absl::StatusOr<v1::IdentityPlan> plan =
      PlanSetIdentitySettings(PolicySetView(state), s);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_THAT(plan->set_identity_settings(), SizeIs(1));
  EXPECT_EQ(plan->set_identity_settings(0).domains(0).domain(), "acme.com");
  ASSERT_TRUE(ApplyIdentityPlan(*plan, &state).ok());
  ASSERT_THAT(state.identity_settings(), SizeIs(1));
  // Replacing keeps one settings record per org.
  s.set_sso_mode(v1::SSO_MODE_OPTIONAL);
  ASSERT_TRUE(ApplyIdentityPlan(
                  *PlanSetIdentitySettings(PolicySetView(state), s), &state)
                  .ok());
  ASSERT_THAT(state.identity_settings(), SizeIs(1));
  EXPECT_EQ(state.identity_settings(0).sso_mode(), v1::SSO_MODE_OPTIONAL);

  // Another organization cannot verify the same domain (nor claim it as
  // verified); claiming it unverified is allowed.
  v1::IdentitySettings b;
  b.set_org_id("org_b");
  v1::SsoDomain* bd = b.add_domains();
  bd->set_domain("acme.com");
  bd->set_verified(true);
  EXPECT_THAT(
      PlanSetIdentitySettings(PolicySetView(state), b).status(),
      Refused(IdentityRule::kSsoDomainTaken, absl::StatusCode::kAlreadyExists,
              "domain \"acme.com\" is verified by organization "
              "\"org_a\""));
  bd->set_verified(false);
  EXPECT_TRUE(PlanSetIdentitySettings(PolicySetView(state), b).ok());

  v1::IdentitySettings bad;
  bad.set_org_id("org_a");
  bad.add_domains()->set_domain("-acme.com");
  EXPECT_THAT(PlanSetIdentitySettings(PolicySetView(state), bad).status(),
              Refused(IdentityRule::kSsoDomainInvalid,
                      absl::StatusCode::kInvalidArgument,
                      "domains[0]: domain \"-acme.com\": a label starts or "
                      "ends with '-'"));
  bad.mutable_domains(0)->set_domain("a.com");
  bad.add_domains()->set_domain("A.com");
  EXPECT_THAT(PlanSetIdentitySettings(PolicySetView(state), bad).status(),
              Refused(IdentityRule::kSsoDomainDuplicate,
                      absl::StatusCode::kInvalidArgument,
                      "domains[1]: duplicate domain \"a.com\""));
  bad.clear_domains();
  bad.set_sso_mode(static_cast<v1::SsoMode>(9));
  EXPECT_THAT(
      PlanSetIdentitySettings(PolicySetView(state), bad).status(),
      Refused(IdentityRule::kSsoModeInvalid, absl::StatusCode::kInvalidArgument,
              "unknown SSO mode 9"));
  bad.set_org_id("org_x");
  EXPECT_EQ(IdentityRuleOf(
                PlanSetIdentitySettings(PolicySetView(state), bad).status()),
            IdentityRule::kUnknownOrganization);
}

}  // namespace
}  // namespace arbiter
