// ApplyIdentityPlan: every change kind, and all or nothing on a conflict.

#include <string>

#include "arbiter/identity_rules.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IdentityNow;
using ::arbiter::testing::IdentityTestState;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

TEST(ApplyIdentityPlanTest, AppliesEveryKindOfChange) {
  v1::PolicySet state = IdentityTestState();
  v1::Invitation* old = state.add_invitations();
  old->set_id("inv_old");
  old->set_org_id("org_a");
  old->set_state(v1::INVITATION_STATE_ACCEPTED);
  v1::ApiKey* key = state.add_api_keys();
  key->set_id("key_1");
  key->set_principal_id("usr_bob");

  v1::IdentityPlan plan;
  v1::Principal* p = plan.add_add_principals();
  p->set_id("usr_new");
  p->set_org_id("org_a");
  v1::PrincipalStateChange* ps = plan.add_principal_states();
  ps->set_principal_id("usr_ivan");
  ps->set_state(v1::PRINCIPAL_STATE_ACTIVE);
  plan.add_add_grants()->set_id("g_new");
  plan.add_remove_grant_ids("g_bob_p1");
  v1::Invitation* inv = plan.add_add_invitations();
  inv->set_id("inv_new");
  v1::InvitationStateChange* is = plan.add_invitation_states();
  is->set_invitation_id("inv_new");
  is->set_state(v1::INVITATION_STATE_ACCEPTED);
  is->set_principal_id("usr_new");
  plan.add_remove_invitation_ids("inv_old");
  plan.add_add_api_keys()->set_id("key_2");
  v1::KeyRevocation* r = plan.add_revoke_api_keys();
  r->set_key_id("key_1");
  r->mutable_revoked_at()->set_seconds(42);
  v1::IdentitySettings* s = plan.add_set_identity_settings();
  s->set_org_id("org_b");
  s->set_scim_enabled(true);

  const int grants = state.grants_size();
  ASSERT_TRUE(ApplyIdentityPlan(plan, &state).ok());
  EXPECT_EQ(state.principals(state.principals_size() - 1).id(), "usr_new");
  EXPECT_EQ(state.principals(3).state(), v1::PRINCIPAL_STATE_ACTIVE);  // ivan
  EXPECT_EQ(state.grants_size(), grants);  // one added, one removed
  EXPECT_EQ(state.grants(state.grants_size() - 1).id(), "g_new");
  for (const v1::Grant& g : state.grants()) EXPECT_NE(g.id(), "g_bob_p1");
  // Order of the kept grants is unchanged.
  EXPECT_EQ(state.grants(0).id(), "g_alice_owner");
  EXPECT_EQ(state.grants(1).id(), "g_bob_a1");
  EXPECT_EQ(state.grants(2).id(), "g_carol_a2");
  ASSERT_EQ(state.invitations_size(), 1);
  EXPECT_EQ(state.invitations(0).id(), "inv_new");
  EXPECT_EQ(state.invitations(0).state(), v1::INVITATION_STATE_ACCEPTED);
  EXPECT_EQ(state.invitations(0).principal_id(), "usr_new");
  EXPECT_EQ(state.api_keys(0).revoked_at().seconds(), 42);
  EXPECT_EQ(state.api_keys(1).id(), "key_2");
  ASSERT_EQ(state.identity_settings_size(), 1);
  EXPECT_TRUE(state.identity_settings(0).scim_enabled());
}

TEST(ApplyIdentityPlanTest, AConflictChangesNothing) {
  const v1::PolicySet original = IdentityTestState();
  struct Case {
    std::function<void(v1::IdentityPlan*)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::IdentityPlan* p) { p->add_add_principals()->set_id("usr_bob"); },
       "new principal id \"usr_bob\" is already in use"},
      {[](v1::IdentityPlan* p) { p->add_add_grants()->set_id("cld_a1"); },
       "new grant id \"cld_a1\" is already in use"},
      {[](v1::IdentityPlan* p) {
         p->add_add_api_keys()->set_id("k");
         p->add_add_invitations()->set_id("k");
       },
       "new key id \"k\" is already in use"},
      {[](v1::IdentityPlan* p) { p->add_add_api_keys(); },
       "a new key has no id"},
      {[](v1::IdentityPlan* p) {
         p->add_principal_states()->set_principal_id("usr_x");
       },
       "principal \"usr_x\" not found"},
      {[](v1::IdentityPlan* p) { p->add_remove_grant_ids("g_x"); },
       "grant \"g_x\" not found"},
      {[](v1::IdentityPlan* p) {
         p->add_invitation_states()->set_invitation_id("inv_x");
       },
       "invitation \"inv_x\" not found"},
      {[](v1::IdentityPlan* p) { p->add_remove_invitation_ids("inv_x"); },
       "invitation \"inv_x\" not found"},
      {[](v1::IdentityPlan* p) {
         p->add_revoke_api_keys()->set_key_id("key_x");
       },
       "key \"key_x\" not found"},
      {[](v1::IdentityPlan* p) {
         p->add_set_identity_settings()->set_org_id("org_x");
       },
       "organization \"org_x\" not found"},
  };
  for (const Case& c : cases) {
    v1::IdentityPlan plan;
    // A valid change first: it must not be applied either.
    plan.add_remove_grant_ids("g_bob_p1");
    plan.add_add_grants()->set_id("g_fine");
    c.edit(&plan);
    v1::PolicySet state = original;
    absl::Status s = ApplyIdentityPlan(plan, &state);
    EXPECT_EQ(IdentityRuleOf(s), IdentityRule::kPlanConflict) << c.message;
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message));
    EXPECT_TRUE(MessageDifferencer::Equals(state, original)) << c.message;
  }
}

}  // namespace
}  // namespace arbiter
