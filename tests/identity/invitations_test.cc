// access-model §10.1 (invitations) and the related rows of §4.3: one test
// per rule, asserting the status code, the IdentityRule and the message.

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/identity_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IdentityNow;
using ::arbiter::testing::IdentityTestState;
using ::arbiter::testing::StatusIs;
using ::arbiter::testing::TestOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

MATCHER_P3(Refused, rule, code, text, "") {
  return IdentityRuleOf(arg) == rule && arg.code() == code &&
         std::string(arg.message()).find(text) != std::string::npos;
}

class InvitationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = IdentityTestState();
    options_ = TestOptions();
  }
  absl::StatusOr<InviteOutcome> Invite(const std::vector<std::string>& emails,
                                       absl::Time now = IdentityNow()) {
    return PlanInvitations(PolicySetView(state_), "org_a", emails, "usr_alice",
                           now, options_);
  }
  // Invites and applies; returns the outcome.
  InviteOutcome InviteApplied(const std::vector<std::string>& emails,
                              absl::Time now = IdentityNow()) {
    absl::StatusOr<InviteOutcome> out = Invite(emails, now);
    EXPECT_TRUE(out.ok()) << out.status();
    EXPECT_TRUE(ApplyIdentityPlan(out->plan, &state_).ok());
    return *std::move(out);
  }
  void SetSettings(v1::SsoMode mode, bool scim) {
    v1::IdentitySettings* s = state_.add_identity_settings();
    s->set_org_id("org_a");
    s->set_sso_mode(mode);
    s->set_scim_enabled(scim);
  }

  v1::PolicySet state_;
  IdentityOptions options_;
};

TEST_F(InvitationsTest, InvitesSeveralEmailsAndReportsEachRefusal) {
  absl::StatusOr<InviteOutcome> out =
      Invite({"New@Acme.com", "bob@acme.com", "not-an-email", "new@acme.COM",
              "other@x.org"});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_THAT(out->invited, SizeIs(2));
  EXPECT_EQ(out->invited[0].email(), "new@acme.com");  // stored lower-cased
  EXPECT_EQ(out->invited[0].org_id(), "org_a");
  EXPECT_EQ(out->invited[0].inviter_id(), "usr_alice");
  EXPECT_EQ(out->invited[0].state(), v1::INVITATION_STATE_PENDING);
  EXPECT_EQ(out->invited[0].expires_at().seconds() -
                out->invited[0].created_at().seconds(),
            7 * 24 * 3600);
  EXPECT_EQ(out->invited[1].email(), "other@x.org");
  EXPECT_THAT(out->plan.add_invitations(), SizeIs(2));
  ASSERT_THAT(out->refused, SizeIs(3));
  EXPECT_EQ(out->refused[0].email, "bob@acme.com");
  EXPECT_THAT(out->refused[0].status,
              Refused(IdentityRule::kInviteAlreadyMember,
                      absl::StatusCode::kAlreadyExists,
                      "invitation of \"bob@acme.com\" to organization "
                      "\"org_a\": already a member (principal \"usr_bob\")"));
  EXPECT_THAT(out->refused[1].status,
              Refused(IdentityRule::kInviteInvalidEmail,
                      absl::StatusCode::kInvalidArgument,
                      "invalid email \"not-an-email\""));
  EXPECT_THAT(out->refused[2].status,
              Refused(IdentityRule::kInviteDuplicateEmail,
                      absl::StatusCode::kInvalidArgument,
                      "already emails[0] of this request"));
}

TEST_F(InvitationsTest, InvitedOrDeletedPrincipalsAreNotMembers) {
  // ivan is INVITED, judy DELETED: neither is a member (§4.1 rule 2).
  absl::StatusOr<InviteOutcome> out =
      Invite({"ivan@acme.com", "judy@acme.com"});
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out->invited, SizeIs(2));
  EXPECT_THAT(out->refused, SizeIs(0));
}

TEST_F(InvitationsTest, RefusedWhileSsoIsRequired) {
  SetSettings(v1::SSO_MODE_REQUIRED, false);
  EXPECT_THAT(Invite({"new@acme.com"}).status(),
              Refused(IdentityRule::kInviteSsoRequired,
                      absl::StatusCode::kFailedPrecondition,
                      "organization \"org_a\": invitations are refused while "
                      "its SSO mode is REQUIRED"));
}

TEST_F(InvitationsTest, OptionalSsoAllowsInvitations) {
  SetSettings(v1::SSO_MODE_OPTIONAL, false);
  EXPECT_TRUE(Invite({"new@acme.com"}).ok());
}

TEST_F(InvitationsTest, RefusedWithScimAndAGroupBinding) {
  // §4.3: SCIM on and ≥ 1 policy binding (a grant to a group).
  SetSettings(v1::SSO_MODE_UNSPECIFIED, true);
  EXPECT_TRUE(Invite({"new@acme.com"}).ok());  // SCIM, but no binding yet
  v1::Grant* g = state_.add_grants();
  g->set_id("g_team_a1");
  g->set_group_id("grp_team");
  g->set_role("cloud_collaborator");
  g->set_cloud_id("cld_a1");
  EXPECT_THAT(Invite({"new@acme.com"}).status(),
              Refused(IdentityRule::kInviteScimWithPolicy,
                      absl::StatusCode::kFailedPrecondition,
                      "invitations are refused while SCIM is on and a group "
                      "policy binding exists"));
  // An expired binding is no binding.
  g->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(IdentityNow()) - 1);
  EXPECT_TRUE(Invite({"new@acme.com"}).ok());
  // A binding without SCIM does not block.
  g->clear_expires_at();
  state_.mutable_identity_settings(0)->set_scim_enabled(false);
  EXPECT_TRUE(Invite({"new@acme.com"}).ok());
}

TEST_F(InvitationsTest, UnknownOrganization) {
  EXPECT_THAT(
      PlanInvitations(PolicySetView(state_), "org_x", {"a@b.c"}, "",
                      IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kUnknownOrganization, absl::StatusCode::kNotFound,
              "organization \"org_x\" not found"));
}

TEST_F(InvitationsTest, ReinvitingAPendingAddressReplacesItsInvitation) {
  InviteOutcome first = InviteApplied({"new@acme.com"});
  const std::string old_id = first.invited[0].id();
  absl::StatusOr<InviteOutcome> again =
      Invite({"NEW@acme.com"}, IdentityNow() + absl::Minutes(5));
  ASSERT_TRUE(again.ok());
  ASSERT_THAT(again->invited, SizeIs(1));
  EXPECT_NE(again->invited[0].id(), old_id);
  ASSERT_THAT(again->plan.invitation_states(), SizeIs(1));
  EXPECT_EQ(again->plan.invitation_states(0).invitation_id(), old_id);
  EXPECT_EQ(again->plan.invitation_states(0).state(),
            v1::INVITATION_STATE_REPLACED);
  EXPECT_EQ(again->plan.invitation_states(0).replaced_by_id(),
            again->invited[0].id());
  ASSERT_TRUE(ApplyIdentityPlan(again->plan, &state_).ok());
  const std::vector<v1::Invitation> pending = ListPendingInvitations(
      PolicySetView(state_), "org_a", IdentityNow() + absl::Minutes(5));
  ASSERT_THAT(pending, SizeIs(1));
  EXPECT_EQ(pending[0].id(), again->invited[0].id());
  // The old one can no longer be accepted.
  EXPECT_THAT(PlanAcceptInvitation(PolicySetView(state_), old_id,
                                   "new@acme.com", "", IdentityNow(), options_)
                  .status(),
              Refused(IdentityRule::kInvitationNotPending,
                      absl::StatusCode::kFailedPrecondition,
                      "is INVITATION_STATE_REPLACED, not pending"));
}

TEST_F(InvitationsTest, PendingLimit) {
  options_.max_invitations_per_day = 100;
  std::vector<std::string> emails;
  for (int i = 0; i < 21; ++i) emails.push_back(absl::StrCat("u", i, "@x.org"));
  absl::StatusOr<InviteOutcome> out = Invite(emails);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out->invited, SizeIs(20));
  ASSERT_THAT(out->refused, SizeIs(1));
  EXPECT_EQ(out->refused[0].email, "u20@x.org");
  EXPECT_THAT(out->refused[0].status,
              Refused(IdentityRule::kInvitePendingLimit,
                      absl::StatusCode::kResourceExhausted,
                      "20 invitations pending, the limit "
                      "(IdentityOptions::max_pending_invitations = 20)"));
  ASSERT_TRUE(ApplyIdentityPlan(out->plan, &state_).ok());
  // A re-invitation replaces and so fits; a new address does not.
  absl::StatusOr<InviteOutcome> more = Invite({"u3@x.org", "fresh@x.org"});
  ASSERT_TRUE(more.ok());
  EXPECT_THAT(more->invited, SizeIs(1));
  EXPECT_EQ(more->invited[0].email(), "u3@x.org");
  EXPECT_EQ(IdentityRuleOf(more->refused[0].status),
            IdentityRule::kInvitePendingLimit);
  // Expired invitations stop counting as pending.
  absl::StatusOr<InviteOutcome> later =
      Invite({"fresh@x.org"}, IdentityNow() + absl::Hours(7 * 24));
  ASSERT_TRUE(later.ok());
  EXPECT_THAT(later->invited, SizeIs(1));
}

TEST_F(InvitationsTest, DailyLimitCountsEveryInvitationSent) {
  options_.max_pending_invitations = 100;
  std::vector<std::string> emails;
  for (int i = 0; i < 20; ++i) emails.push_back(absl::StrCat("u", i, "@x.org"));
  InviteApplied(emails);
  // Deleting invitations does not give sends back.
  ASSERT_TRUE(
      ApplyIdentityPlan(*PlanDeleteInvitation(PolicySetView(state_),
                                              state_.invitations(0).id()),
                        &state_)
          .ok());
  const absl::Time later = IdentityNow() + absl::Hours(23);
  absl::StatusOr<InviteOutcome> out = Invite({"u0@x.org", "v@x.org"}, later);
  ASSERT_TRUE(out.ok());
  ASSERT_THAT(out->refused, SizeIs(2));
  EXPECT_THAT(out->refused[0].status,
              Refused(IdentityRule::kInviteDailyLimit,
                      absl::StatusCode::kResourceExhausted,
                      "20 invitations sent in the last 24 hours, the limit "
                      "(IdentityOptions::max_invitations_per_day = 20)"));
  // A day after the sends, the window is free again.
  out = Invite({"u0@x.org", "v@x.org"}, IdentityNow() + absl::Hours(24));
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(out->invited, SizeIs(2));
}

TEST_F(InvitationsTest, AcceptMakesAnActiveMemberWithAutoAddGrants) {
  InviteOutcome inv = InviteApplied({"new@acme.com"});
  absl::StatusOr<AcceptOutcome> acc =
      PlanAcceptInvitation(PolicySetView(state_), inv.invited[0].id(),
                           "New@Acme.com", "Newton", IdentityNow(), options_);
  ASSERT_TRUE(acc.ok()) << acc.status();
  ASSERT_THAT(acc->plan.add_principals(), SizeIs(1));
  const v1::Principal& p = acc->plan.add_principals(0);
  EXPECT_EQ(p.id(), acc->principal_id);
  EXPECT_EQ(p.org_id(), "org_a");
  EXPECT_EQ(p.email(), "new@acme.com");
  EXPECT_EQ(p.name(), "Newton");
  EXPECT_EQ(p.kind(), v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(p.state(), v1::PRINCIPAL_STATE_ACTIVE);
  // cloud_collaborator on cld_a1 (auto-add on), nothing on cld_a2; the org
  // collaborator role is the profile's member_role, implicit.
  ASSERT_THAT(acc->plan.add_grants(), SizeIs(1));
  EXPECT_EQ(acc->plan.add_grants(0).cloud_id(), "cld_a1");
  EXPECT_EQ(acc->plan.add_grants(0).role(), "cloud_collaborator");
  EXPECT_EQ(acc->plan.add_grants(0).principal_id(), acc->principal_id);
  EXPECT_EQ(acc->plan.add_grants(0).source(), v1::GRANT_SOURCE_AUTO_ADD);
  ASSERT_THAT(acc->plan.invitation_states(), SizeIs(1));
  EXPECT_EQ(acc->plan.invitation_states(0).state(),
            v1::INVITATION_STATE_ACCEPTED);
  EXPECT_EQ(acc->plan.invitation_states(0).principal_id(), acc->principal_id);
  ASSERT_TRUE(ApplyIdentityPlan(acc->plan, &state_).ok());
  // Accepting twice fails; inviting the new member fails.
  EXPECT_EQ(IdentityRuleOf(PlanAcceptInvitation(
                               PolicySetView(state_), inv.invited[0].id(),
                               "new@acme.com", "", IdentityNow(), options_)
                               .status()),
            IdentityRule::kInvitationNotPending);
  EXPECT_EQ(IdentityRuleOf(Invite({"new@acme.com"})->refused[0].status),
            IdentityRule::kInviteAlreadyMember);
}

TEST_F(InvitationsTest, AcceptActivatesAnInvitedPrincipal) {
  InviteOutcome inv = InviteApplied({"ivan@acme.com"});
  absl::StatusOr<AcceptOutcome> acc =
      PlanAcceptInvitation(PolicySetView(state_), inv.invited[0].id(),
                           "ivan@acme.com", "", IdentityNow(), options_);
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->principal_id, "usr_ivan");
  EXPECT_THAT(acc->plan.add_principals(), SizeIs(0));
  ASSERT_THAT(acc->plan.principal_states(), SizeIs(1));
  EXPECT_EQ(acc->plan.principal_states(0).state(), v1::PRINCIPAL_STATE_ACTIVE);
}

TEST_F(InvitationsTest, ReinvitedDeletedUserGetsANewId) {
  // §4.1 rule 2 / §10.2: old grants do not come back.
  InviteOutcome inv = InviteApplied({"judy@acme.com"});
  absl::StatusOr<AcceptOutcome> acc =
      PlanAcceptInvitation(PolicySetView(state_), inv.invited[0].id(),
                           "judy@acme.com", "", IdentityNow(), options_);
  ASSERT_TRUE(acc.ok());
  EXPECT_NE(acc->principal_id, "usr_judy");
  ASSERT_THAT(acc->plan.add_principals(), SizeIs(1));
}

TEST_F(InvitationsTest, AcceptRefusals) {
  InviteOutcome inv = InviteApplied({"new@acme.com"});
  const std::string id = inv.invited[0].id();
  PolicySetView view(state_);
  EXPECT_THAT(
      PlanAcceptInvitation(view, "inv_nope", "new@acme.com", "", IdentityNow(),
                           options_)
          .status(),
      Refused(IdentityRule::kInvitationUnknown, absl::StatusCode::kNotFound,
              "invitation \"inv_nope\" not found"));
  EXPECT_THAT(
      PlanAcceptInvitation(view, id, "new@acme.com", "",
                           IdentityNow() + absl::Hours(7 * 24), options_)
          .status(),
      Refused(IdentityRule::kInvitationExpired,
              absl::StatusCode::kFailedPrecondition,
              "of \"new@acme.com\" expired at 2026-01-08T00:00:00Z"));
  EXPECT_THAT(PlanAcceptInvitation(view, id, "mallory@acme.com", "",
                                   IdentityNow(), options_)
                  .status(),
              Refused(IdentityRule::kInvitationEmailMismatch,
                      absl::StatusCode::kPermissionDenied,
                      "cannot be accepted by \"mallory@acme.com\""));
}

TEST_F(InvitationsTest, AcceptRefusedWhenTheAddressBecameAMember) {
  InviteOutcome inv = InviteApplied({"new@acme.com"});
  v1::Principal* p = state_.add_principals();  // e.g. an admin batch-create
  p->set_id("usr_new");
  p->set_org_id("org_a");
  p->set_kind(v1::PRINCIPAL_KIND_USER);
  p->set_email("NEW@acme.com");
  EXPECT_THAT(PlanAcceptInvitation(PolicySetView(state_), inv.invited[0].id(),
                                   "new@acme.com", "", IdentityNow(), options_)
                  .status(),
              Refused(IdentityRule::kInviteAlreadyMember,
                      absl::StatusCode::kAlreadyExists,
                      "already a member of organization \"org_a\" (principal "
                      "\"usr_new\")"));
}

TEST_F(InvitationsTest, DeleteAndList) {
  InviteOutcome inv = InviteApplied({"a@x.org", "b@x.org"});
  absl::StatusOr<v1::IdentityPlan> del =
      PlanDeleteInvitation(PolicySetView(state_), inv.invited[0].id());
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(ApplyIdentityPlan(*del, &state_).ok());
  std::vector<v1::Invitation> pending =
      ListPendingInvitations(PolicySetView(state_), "org_a", IdentityNow());
  ASSERT_THAT(pending, SizeIs(1));
  EXPECT_EQ(pending[0].email(), "b@x.org");
  EXPECT_THAT(
      PlanDeleteInvitation(PolicySetView(state_), inv.invited[0].id()).status(),
      Refused(IdentityRule::kInvitationNotPending,
              absl::StatusCode::kFailedPrecondition,
              "is INVITATION_STATE_DELETED, not pending"));
  EXPECT_THAT(PlanDeleteInvitation(PolicySetView(state_), "inv_x").status(),
              Refused(IdentityRule::kInvitationUnknown,
                      absl::StatusCode::kNotFound, "\"inv_x\" not found"));
}

TEST_F(InvitationsTest, HousekeepingExpiresThenPrunes) {
  InviteOutcome inv = InviteApplied({"a@x.org"});
  const std::string id = inv.invited[0].id();
  // Expired after 7 days: marked EXPIRED only once the send is a day old...
  const absl::Time t1 = IdentityNow() + absl::Hours(7 * 24);
  v1::IdentityPlan plan =
      PlanInvitationHousekeeping(PolicySetView(state_), "org_a", t1);
  EXPECT_THAT(plan.remove_invitation_ids(), ElementsAre(id));
  // ...while a fresh, unexpired one is kept.
  InviteOutcome second = InviteApplied({"b@x.org"}, t1);
  plan = PlanInvitationHousekeeping(PolicySetView(state_), "org_a",
                                    t1 + absl::Hours(1));
  EXPECT_THAT(plan.remove_invitation_ids(), ElementsAre(id));
  EXPECT_THAT(plan.invitation_states(), SizeIs(0));
  // With a 1-hour invitation time: expired but sent within the day.
  options_.invitation_ttl = absl::Hours(1);
  InviteOutcome third = InviteApplied({"c@x.org"}, t1);
  plan = PlanInvitationHousekeeping(PolicySetView(state_), "org_a",
                                    t1 + absl::Hours(2));
  ASSERT_THAT(plan.invitation_states(), SizeIs(1));
  EXPECT_EQ(plan.invitation_states(0).invitation_id(), third.invited[0].id());
  EXPECT_EQ(plan.invitation_states(0).state(), v1::INVITATION_STATE_EXPIRED);
  ASSERT_TRUE(ApplyIdentityPlan(plan, &state_).ok());
}

TEST_F(InvitationsTest, RuleNamesAreDistinctAndRoundTrip) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(IdentityRule::kInternal); ++i) {
    const IdentityRule rule = static_cast<IdentityRule>(i);
    const std::string name(IdentityRuleName(rule));
    EXPECT_NE(name, "UNKNOWN") << i;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_EQ(IdentityRuleOf(absl::OkStatus()), IdentityRule::kNone);
  EXPECT_EQ(IdentityRuleOf(absl::InternalError("x")), IdentityRule::kNone);
}

}  // namespace
}  // namespace arbiter
