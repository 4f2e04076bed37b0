// The identity mutations of PolicyStore (access-model §10 and the related
// rows of §4.3; docs/identity.md "Through the store"): a test per rule,
// asserting the status code, the Refusal, the IdentityRule and the message;
// every refused transaction leaves the state, the revision and the audit log
// byte for byte as they were; the audit records (§9: USER INVITE / JOIN /
// REMOVE, SERVICE_ACCOUNT and API_KEY events); and no secret ever in the
// state, the delta, the audit records or a message.
//
// The state (tests/identity/identity_fixtures.h): org_a with alice (org
// owner), bob (collaborator on cld_a1, which has auto-add), carol, ivan
// (INVITED, no invitation record), judy (deleted), sa_ci (service account
// "ci"), group grp_team {bob}; org_b with zed.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/identity_rules.h"
#include "arbiter/policy_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IdentityNow;
using testing::IdentityTestState;
using ::testing::Not;

constexpr char kOrg[] = "org_a";

class IdentityMutationsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(IdentityTestState()); }

  void Reset(v1::PolicySet state, EngineOptions engine = {}) {
    clock_ = std::make_shared<testing::FakeClock>(IdentityNow());
    PolicyStoreOptions options;
    options.clock = clock_;
    engine.clock = clock_;
    options.engine = engine;
    auto store = PolicyStore::Create(std::move(state), options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  v1::Transaction Txn(const std::string& text) {
    v1::Transaction t;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &t))
        << text;
    return t;
  }

  AppliedTransaction Ok(const std::string& text) {
    absl::StatusOr<AppliedTransaction> a = store_->Apply(Txn(text));
    EXPECT_TRUE(a.ok()) << a.status() << "\n" << text;
    if (a.ok()) CheckNoSecrets(*a);
    return a.ok() ? *std::move(a) : AppliedTransaction();
  }

  // Applies and expects a refusal that changed nothing.
  absl::Status Refused(const std::string& text, absl::StatusCode code,
                       Refusal refusal,
                       IdentityRule rule = IdentityRule::kNone) {
    const std::string before = store_->StateCopy().SerializeAsString();
    const uint64_t revision = store_->revision();
    const size_t audit = store_->audit_log().Records(kOrg).size();
    absl::StatusOr<AppliedTransaction> a = store_->Apply(Txn(text));
    EXPECT_FALSE(a.ok()) << text;
    if (a.ok()) return absl::OkStatus();
    EXPECT_EQ(a.status().code(), code) << a.status();
    EXPECT_EQ(RefusalOf(a.status()), refusal)
        << a.status() << " is " << RefusalName(RefusalOf(a.status()));
    if (rule != IdentityRule::kNone) {
      EXPECT_EQ(IdentityRuleOf(a.status()), rule)
          << a.status() << " is "
          << IdentityRuleName(IdentityRuleOf(a.status()));
    }
    EXPECT_EQ(store_->StateCopy().SerializeAsString(), before)
        << "a refused transaction changed the state";
    EXPECT_EQ(store_->revision(), revision);
    EXPECT_EQ(store_->audit_log().Records(kOrg).size(), audit);
    for (const std::string& secret : secrets_) {
      EXPECT_THAT(std::string(a.status().message()), Not(HasSubstr(secret)));
    }
    return a.status();
  }

  // Remembers the secrets of the keys `a` made and checks that none of
  // them, nor any earlier one, is in the delta, the audit records or the
  // state.
  void CheckNoSecrets(const AppliedTransaction& a) {
    for (const IssuedKey& k : a.identity.keys) {
      ASSERT_NE(k.credential, nullptr);
      const std::string c(k.credential->Reveal());
      ASSERT_EQ(c.size(), 4 + k.key_id.size() + 1 + 64) << c;
      secrets_.push_back(c.substr(c.size() - 64));
    }
    const std::string state = store_->StateCopy().DebugString();
    const std::string delta = a.delta.DebugString();
    std::string audit;
    for (const v1::AuditRecord& r : a.audit) audit += r.DebugString();
    for (const std::string& secret : secrets_) {
      EXPECT_THAT(state, Not(HasSubstr(secret)));
      EXPECT_THAT(delta, Not(HasSubstr(secret)));
      EXPECT_THAT(audit, Not(HasSubstr(secret)));
    }
  }

  Authentication Auth(const std::string& credential) {
    return store_->engine()->Authenticate(credential);
  }

  std::string Secret(const AppliedTransaction& a, size_t i = 0) {
    return a.identity.keys.size() > i
               ? std::string(a.identity.keys[i].credential->Reveal())
               : "";
  }

  const v1::Invitation* Invitation(const v1::PolicySet& s,
                                   const std::string& id) {
    for (const v1::Invitation& inv : s.invitations()) {
      if (inv.id() == id) return &inv;
    }
    return nullptr;
  }
  v1::Principal PrincipalOf(const std::string& id) {
    const v1::PolicySet state_copy = store_->StateCopy();
    for (const v1::Principal& p : state_copy.principals()) {
      if (p.id() == id) return p;
    }
    return v1::Principal();
  }
  std::vector<std::string> Actions(const AppliedTransaction& a) {
    std::vector<std::string> out;
    for (const v1::AuditRecord& r : a.audit) {
      if (r.entity() != "CHECKPOINT") {
        out.push_back(absl::StrCat(r.entity(), " ", r.action()));
      }
    }
    return out;
  }

  std::shared_ptr<testing::FakeClock> clock_;
  std::unique_ptr<PolicyStore> store_;
  std::vector<std::string> secrets_;
};

// ---- §10.1 Invitations
// -----------------------------------------------------------

TEST_F(IdentityMutationsTest, InvitingManyAnswersEveryEmail) {
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: ["New@Acme.com", "bob@acme.com",
                                          "not-an-email", "new@acme.com",
                                          "dan@acme.com"] } })");
  ASSERT_EQ(a.identity.invitations.size(), 5u);
  const auto& r = a.identity.invitations;
  EXPECT_TRUE(r[0].status.ok()) << r[0].status;
  EXPECT_EQ(r[0].email, "New@Acme.com");
  EXPECT_EQ(IdentityRuleOf(r[1].status), IdentityRule::kInviteAlreadyMember);
  EXPECT_EQ(r[1].status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RefusalOf(r[1].status), Refusal::kAlreadyMember);
  EXPECT_THAT(std::string(r[1].status.message()),
              HasSubstr("mutations[0].invite_users.emails[1]: invitation of "
                        "\"bob@acme.com\" to organization \"org_a\": already "
                        "a member (principal \"usr_bob\")"));
  EXPECT_EQ(IdentityRuleOf(r[2].status), IdentityRule::kInviteInvalidEmail);
  EXPECT_EQ(r[2].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IdentityRuleOf(r[3].status), IdentityRule::kInviteDuplicateEmail);
  EXPECT_TRUE(r[4].status.ok());
  // Each invitation: a PENDING record (address in lower case, expiring after
  // invitation_ttl) and an INVITED principal; one INVITE record each.
  const v1::PolicySet s = store_->StateCopy();
  const v1::Invitation* inv = Invitation(s, r[0].invitation_id);
  ASSERT_NE(inv, nullptr);
  EXPECT_EQ(inv->email(), "new@acme.com");
  EXPECT_EQ(inv->state(), v1::INVITATION_STATE_PENDING);
  EXPECT_EQ(inv->inviter_id(), "usr_alice");
  EXPECT_EQ(r[0].expires_at, IdentityNow() + absl::Hours(7 * 24));
  EXPECT_EQ(PrincipalOf(r[0].principal_id).state(),
            v1::PRINCIPAL_STATE_INVITED);
  EXPECT_THAT(Actions(a), ElementsAre("USER INVITE", "USER INVITE"));
  EXPECT_EQ(a.audit[0].metadata().fields().at("invitee_email").string_value(),
            "new@acme.com");
  // Listing: the pending ones, oldest first.
  PolicySetView view(s);
  std::vector<v1::Invitation> pending =
      ListPendingInvitations(view, kOrg, IdentityNow());
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[1].email(), "dan@acme.com");
}

TEST_F(IdentityMutationsTest, AllRefusedOrAllOrNothingRefusesTheTransaction) {
  absl::Status s =
      Refused(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: ["bob@acme.com", "x"] } })",
              absl::StatusCode::kAlreadyExists, Refusal::kAlreadyMember,
              IdentityRule::kInviteAlreadyMember);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("mutations[0].invite_users.emails[0]: invitation of "
                        "\"bob@acme.com\""));
  s = Refused(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: ["new@acme.com", "bad"]
                                 all_or_nothing: true } })",
              absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
              IdentityRule::kInviteInvalidEmail);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("mutations[0].invite_users.emails[1]: invitation of "
                        "\"bad\" to organization \"org_a\""));
}

TEST_F(IdentityMutationsTest, OnlyOwnersInvite) {
  absl::Status s =
      Refused(R"(actor: "bob@acme.com"
      mutations { invite_users { emails: "new@acme.com" } })",
              absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("\"usr_bob\" may not org.invitations.manage on "
                        "\"org_a\""));
}

TEST_F(IdentityMutationsTest, PendingAndDailyLimitsAreOptions) {
  EngineOptions engine;
  engine.identity.max_pending_invitations = 2;
  engine.identity.max_invitations_per_day = 3;
  Reset(IdentityTestState(), engine);
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: ["a@x.io", "b@x.io", "c@x.io"] } })");
  ASSERT_EQ(a.identity.invitations.size(), 3u);
  const absl::Status& third = a.identity.invitations[2].status;
  EXPECT_EQ(IdentityRuleOf(third), IdentityRule::kInvitePendingLimit);
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RefusalOf(third), Refusal::kLimitExceeded);
  EXPECT_THAT(std::string(third.message()),
              HasSubstr("2 invitations pending, the limit "
                        "(IdentityOptions::max_pending_invitations = 2)"));
  // Deleting one frees a pending place; the third sent today is the last.
  Ok(R"(actor: "alice@acme.com"
      mutations { delete_invitation { invitation: "A@x.io" } })");
  Ok(R"(actor: "alice@acme.com" mutations { invite_users { emails: "c@x.io" } })");
  Ok(R"(actor: "alice@acme.com"
      mutations { delete_invitation { invitation: "c@x.io" } })");
  absl::Status s =
      Refused(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "d@x.io" } })",
              absl::StatusCode::kResourceExhausted, Refusal::kLimitExceeded,
              IdentityRule::kInviteDailyLimit);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("3 invitations sent in the last 24 hours, the limit "
                        "(IdentityOptions::max_invitations_per_day = 3)"));
  // A day later the count starts again.
  clock_->Advance(absl::Hours(24));
  Ok(R"(actor: "alice@acme.com" mutations { invite_users { emails: "d@x.io" } })");
}

TEST_F(IdentityMutationsTest, ReInvitingReplacesWithANewIdInAnyCase) {
  AppliedTransaction first = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "new@acme.com" } })");
  AppliedTransaction second = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "NEW@acme.com" } })");
  const InvitationOutcome& a = first.identity.invitations[0];
  const InvitationOutcome& b = second.identity.invitations[0];
  ASSERT_TRUE(b.status.ok()) << b.status;
  EXPECT_NE(a.invitation_id, b.invitation_id);
  EXPECT_NE(a.principal_id, b.principal_id);
  EXPECT_EQ(b.replaced_invitation_id, a.invitation_id);
  const v1::PolicySet s = store_->StateCopy();
  const v1::Invitation* old = Invitation(s, a.invitation_id);
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->state(), v1::INVITATION_STATE_REPLACED);
  EXPECT_EQ(old->replaced_by_id(), b.invitation_id);
  EXPECT_EQ(PrincipalOf(a.principal_id).state(), v1::PRINCIPAL_STATE_DELETED);
  EXPECT_EQ(second.audit[0].metadata().fields().at("replaces").string_value(),
            a.invitation_id);
  // The first invitee's principal cannot join any more.
  Refused(absl::StrCat("actor: \"", a.principal_id,
                       "\" mutations { accept_invitation { } }"),
          absl::StatusCode::kFailedPrecondition, Refusal::kNotInvited);
}

TEST_F(IdentityMutationsTest, InvitationsAreRefusedUnderSsoRequiredOrScim) {
  Ok(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings {
          sso_mode: SSO_MODE_REQUIRED
          domains { domain: "acme.com" verified: true } } } })");
  absl::Status s =
      Refused(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "new@x.io" } })",
              absl::StatusCode::kFailedPrecondition,
              Refusal::kInvitationRefused, IdentityRule::kInviteSsoRequired);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("mutations[0].invite_users: organization \"org_a\": "
                        "invitations are refused while its SSO mode is "
                        "REQUIRED"));
  // SCIM and a group binding (§4.3).
  Ok(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings { scim_enabled: true } } }
      mutations { set_group_policy { resource: "cld_a1"
                                     bindings { group: "team" role: "cloud_collaborator" } } })");
  Refused(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "new@x.io" } })",
          absl::StatusCode::kFailedPrecondition, Refusal::kInvitationRefused,
          IdentityRule::kInviteScimWithPolicy);
  // SCIM without a binding accepts invitations.
  Ok(R"(actor: "alice@acme.com"
      mutations { set_group_policy { resource: "cld_a1" } })");
  Ok(R"(actor: "alice@acme.com" mutations { invite_users { emails: "new@x.io" } })");
}

TEST_F(IdentityMutationsTest, AcceptingMakesAnActiveMemberAutoAdded) {
  AppliedTransaction inv = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "new@acme.com" } })");
  const std::string id = inv.identity.invitations[0].principal_id;
  const std::string invitation = inv.identity.invitations[0].invitation_id;
  // Only the invitee accepts.
  Refused(absl::StrCat(R"(actor: "bob@acme.com"
      mutations { accept_invitation { principal: ")",
                       id, "\" } }"),
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  AppliedTransaction a = Ok(absl::StrCat("actor: \"", id, R"("
      mutations { accept_invitation { name: "Newcomer" } })"));
  EXPECT_THAT(Actions(a), ElementsAre("USER JOIN", "CLOUD GRANT"));
  EXPECT_EQ(a.audit[0].metadata().fields().at("invitation_id").string_value(),
            invitation);
  const v1::Principal p = PrincipalOf(id);
  EXPECT_EQ(p.state(), v1::PRINCIPAL_STATE_ACTIVE);
  EXPECT_EQ(p.name(), "Newcomer");
  const v1::PolicySet s = store_->StateCopy();
  EXPECT_EQ(Invitation(s, invitation)->state(), v1::INVITATION_STATE_ACCEPTED);
  EXPECT_EQ(Invitation(s, invitation)->principal_id(), id);
  AccessRequest r;
  r.principal = "new@acme.com";
  r.permission = "cloud.view";
  r.resource = "cld_a1";
  const Decision d = store_->engine()->Check(r);
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.source, GrantSource::kAutoAdd);
  r.resource = "cld_a2";  // no auto-add there
  EXPECT_FALSE(store_->engine()->Check(r).allowed());
  // Accepted: not pending any more.
  Refused(
      absl::StrCat("actor: \"", id, "\" mutations { accept_invitation { } }"),
      absl::StatusCode::kFailedPrecondition, Refusal::kNotInvited);
}

TEST_F(IdentityMutationsTest, AnExpiredInvitationCannotBeAccepted) {
  EngineOptions engine;
  engine.identity.invitation_ttl = absl::Hours(1);
  Reset(IdentityTestState(), engine);
  AppliedTransaction inv = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: "new@acme.com" } })");
  const std::string id = inv.identity.invitations[0].principal_id;
  clock_->Advance(absl::Hours(1));
  absl::Status s = Refused(
      absl::StrCat("actor: \"", id, "\" mutations { accept_invitation { } }"),
      absl::StatusCode::kFailedPrecondition, Refusal::kNotInvited,
      IdentityRule::kInvitationExpired);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("of \"new@acme.com\" expired at 2026-01-01T01:00:00Z"));
  // Housekeeping marks it EXPIRED (it still counts toward the daily limit
  // for a day).
  AppliedTransaction h = Ok(R"(actor: "alice@acme.com"
      mutations { expire_invitations { } })");
  EXPECT_THAT(Actions(h), ElementsAre("INVITATION EXPIRE"));
  EXPECT_EQ(
      Invitation(store_->StateCopy(), inv.identity.invitations[0].invitation_id)
          ->state(),
      v1::INVITATION_STATE_EXPIRED);
  clock_->Advance(absl::Hours(24));
  h = Ok(R"(actor: "alice@acme.com" mutations { expire_invitations { } })");
  EXPECT_THAT(Actions(h), ElementsAre("INVITATION PURGE"));
  EXPECT_EQ(store_->StateCopy().invitations_size(), 0);
}

TEST_F(IdentityMutationsTest, DeletingAnInvitationAndRemovingAnInvitee) {
  AppliedTransaction inv = Ok(R"(actor: "alice@acme.com"
      mutations { invite_users { emails: ["new@acme.com", "two@acme.com"] } })");
  const InvitationOutcome& one = inv.identity.invitations[0];
  const InvitationOutcome& two = inv.identity.invitations[1];
  AppliedTransaction d = Ok(absl::StrCat(
      R"(actor: "alice@acme.com" mutations { delete_invitation { invitation: ")",
      one.invitation_id, "\" } }"));
  EXPECT_THAT(Actions(d), ElementsAre("INVITATION DELETE"));
  EXPECT_EQ(PrincipalOf(one.principal_id).state(), v1::PRINCIPAL_STATE_DELETED);
  absl::Status s =
      Refused(absl::StrCat(R"(actor: "alice@acme.com"
          mutations { delete_invitation { invitation: ")",
                           one.invitation_id, "\" } }"),
              absl::StatusCode::kFailedPrecondition, Refusal::kNotInvited,
              IdentityRule::kInvitationNotPending);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("is INVITATION_STATE_DELETED, not pending"));
  Refused(R"(actor: "alice@acme.com"
      mutations { delete_invitation { invitation: "inv_nope" } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
  // Removing an invitee deletes its pending invitation: it cannot join.
  AppliedTransaction r = Ok(absl::StrCat(
      R"(actor: "alice@acme.com" mutations { remove_user { principal: ")",
      two.principal_id, "\" } }"));
  EXPECT_THAT(Actions(r), ElementsAre("INVITATION DELETE", "USER REMOVE"));
  EXPECT_EQ(Invitation(store_->StateCopy(), two.invitation_id)->state(),
            v1::INVITATION_STATE_DELETED);
}

// ---- §10.5 Service accounts
// ------------------------------------------------------

TEST_F(IdentityMutationsTest, ServiceAccountsComeWithAKeyShownOnce) {
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      metadata { source_ip: "10.1.2.3" }
      mutations { create_service_account { name: "deployer" } })");
  ASSERT_EQ(a.identity.keys.size(), 1u);
  const IssuedKey& key = a.identity.keys[0];
  EXPECT_EQ(key.kind, v1::API_KEY_KIND_SERVICE_ACCOUNT);
  EXPECT_EQ(key.mutation, 0);
  const v1::Principal sa = PrincipalOf(key.principal_id);
  EXPECT_EQ(sa.email(), "deployer@org-a.serviceaccount.com");
  EXPECT_EQ(sa.kind(), v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
  EXPECT_THAT(Actions(a), ElementsAre("SERVICE_ACCOUNT CREATE",
                                      "API_KEY CREATE", "CLOUD GRANT"));
  EXPECT_EQ(a.audit[1].metadata().fields().at("key_id").string_value(),
            key.key_id);
  EXPECT_EQ(a.audit[1].source_ip(), "10.1.2.3");
  const Authentication auth = Auth(Secret(a));
  ASSERT_TRUE(auth.authenticated()) << AuthReasonName(auth.reason);
  EXPECT_EQ(auth.principal_id, key.principal_id);
  // The stored record: a 16-byte salt and a 32-byte hash.
  const v1::PolicySet state_copy = store_->StateCopy();
  for (const v1::ApiKey& k : state_copy.api_keys()) {
    if (k.id() != key.key_id) continue;
    EXPECT_EQ(k.salt().size(), 16u);
    EXPECT_EQ(k.secret_hash().size(), 32u);
    EXPECT_EQ(k.org_id(), kOrg);
  }
}

TEST_F(IdentityMutationsTest, ServiceAccountRules) {
  absl::Status s =
      Refused(R"(actor: "alice@acme.com"
      mutations { create_service_account { name: "ci" } })",
              absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
              IdentityRule::kServiceAccountNameTaken);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("mutations[0].create_service_account: service "
                        "account name \"ci\" is taken in organization "
                        "\"org_a\" (principal \"sa_ci\", "
                        "ci@org-a.serviceaccount.com)"));
  Refused(R"(actor: "alice@acme.com"
      mutations { create_service_account { name: "Bad Name" } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
          IdentityRule::kServiceAccountNameInvalid);
  Refused(R"(actor: "alice@acme.com"
      mutations { create_service_account { name: "x" principal_id: "usr_bob" } })",
          absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists);
  // Org owners only, to create, delete, or manage their keys.
  Refused(R"(actor: "bob@acme.com"
      mutations { create_service_account { name: "mine" } })",
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  Refused(R"(actor: "bob@acme.com"
      mutations { delete_service_account { principal: "ci" } })",
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  Refused(R"(actor: "bob@acme.com"
      mutations { create_api_key { principal: "ci" } })",
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  Refused(R"(actor: "alice@acme.com"
      mutations { delete_service_account { principal: "nope" } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound,
          IdentityRule::kServiceAccountUnknown);
  // A user is not a service account.
  Refused(R"(actor: "alice@acme.com"
      mutations { delete_service_account { principal: "usr_bob" } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound,
          IdentityRule::kServiceAccountUnknown);
}

TEST_F(IdentityMutationsTest, DeletingAServiceAccountRevokesItsKeysAndGrants) {
  AppliedTransaction k = Ok(R"(actor: "alice@acme.com"
      mutations { create_api_key { principal: "ci" } }
      mutations { create_api_key { principal: "ci@org-a.serviceaccount.com" } })");
  ASSERT_EQ(k.identity.keys.size(), 2u);
  EXPECT_EQ(k.identity.keys[1].mutation, 1);
  AppliedTransaction d = Ok(R"(actor: "alice@acme.com"
      mutations { delete_service_account { principal: "ci@org-a.serviceaccount.com" } })");
  EXPECT_THAT(Actions(d), ElementsAre("SERVICE_ACCOUNT DELETE",
                                      "API_KEY REVOKE", "API_KEY REVOKE"));
  EXPECT_EQ(PrincipalOf("sa_ci").state(), v1::PRINCIPAL_STATE_DELETED);
  const v1::PolicySet state_copy = store_->StateCopy();
  for (const v1::Grant& g : state_copy.grants()) {
    EXPECT_NE(g.principal_id(), "sa_ci") << g.id();
  }
  EXPECT_EQ(Auth(Secret(k, 0)).reason, AuthReason::kKeyRevoked);
  EXPECT_EQ(Auth(Secret(k, 1)).reason, AuthReason::kKeyRevoked);
}

// ---- §10.5 API keys
// --------------------------------------------------------------

TEST_F(IdentityMutationsTest, PersonalKeysHaveNamesUniquePerUser) {
  AppliedTransaction a = Ok(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "laptop" } })");
  EXPECT_EQ(a.identity.keys[0].kind, v1::API_KEY_KIND_USER);
  EXPECT_TRUE(Auth(Secret(a)).authenticated());
  absl::Status s =
      Refused(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "laptop" } })",
              absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
              IdentityRule::kKeyNameTaken);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("mutations[0].create_api_key: key name \"laptop\" is "
                        "taken by key"));
  // Another user may use the name.
  Ok(R"(actor: "alice@acme.com" mutations { create_api_key { name: "laptop" } })");
  s = Refused(R"(actor: "bob@acme.com" mutations { create_api_key { } })",
              absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
              IdentityRule::kKeyNameInvalid);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("a personal (USER) key needs a name"));
  Refused(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "x" kind: API_KEY_KIND_SERVICE_ACCOUNT } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
          IdentityRule::kKeyKindMismatch);
  Refused(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "old" expires_at { seconds: 1767225600 } } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
          IdentityRule::kKeyExpiryInvalid);
}

TEST_F(IdentityMutationsTest, KeysAreMadeByTheirUserAndRevokedByOwnersToo) {
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      mutations { create_api_key { name: "laptop" } })");
  AppliedTransaction b = Ok(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "laptop" } })");
  absl::Status s =
      Refused(R"(actor: "alice@acme.com"
      mutations { create_api_key { principal: "bob@acme.com" name: "x" } })",
              absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("\"usr_alice\" may not make keys for \"usr_bob\": a "
                        "user's key is made by that user"));
  Refused(absl::StrCat(R"(actor: "bob@acme.com"
      mutations { revoke_api_key { key_id: ")",
                       a.identity.keys[0].key_id, "\" } }"),
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  AppliedTransaction r = Ok(absl::StrCat(R"(actor: "alice@acme.com"
      mutations { revoke_api_key { key_id: ")",
                                         b.identity.keys[0].key_id, "\" } }"));
  EXPECT_THAT(Actions(r), ElementsAre("API_KEY REVOKE"));
  EXPECT_EQ(Auth(Secret(b)).reason, AuthReason::kKeyRevoked);
  s = Refused(absl::StrCat(R"(actor: "alice@acme.com"
      mutations { revoke_api_key { key_id: ")",
                           b.identity.keys[0].key_id, "\" } }"),
              absl::StatusCode::kFailedPrecondition, Refusal::kInvalid,
              IdentityRule::kKeyAlreadyRevoked);
  EXPECT_THAT(std::string(s.message()), HasSubstr("was already revoked at"));
  Refused(R"(actor: "alice@acme.com"
      mutations { revoke_api_key { key_id: "key_nope" } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
}

TEST_F(IdentityMutationsTest, AnotherOrganizationsKeyIsUnknown) {
  v1::PolicySet state = IdentityTestState();
  absl::StatusOr<MintedKey> zed =
      MintApiKey("key_zed", "usr_zed", v1::API_KEY_KIND_USER, "z",
                 IdentityNow(), absl::InfiniteFuture());
  ASSERT_TRUE(zed.ok());
  *state.add_api_keys() = zed->record;
  Reset(state);
  absl::Status s = Refused(R"(actor: "alice@acme.com"
      mutations { revoke_api_key { key_id: "key_zed" } })",
                           absl::StatusCode::kNotFound, Refusal::kNotFound);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("no key \"key_zed\" in organization \"org_a\""));
  Refused(R"(actor: "alice@acme.com"
      mutations { revoke_api_keys { principal: "usr_zed" } })",
          absl::StatusCode::kNotFound, Refusal::kNotFound);
}

TEST_F(IdentityMutationsTest, TheLiveKeyLimitIsAnOption) {
  EngineOptions engine;
  engine.identity.max_live_keys_per_principal = 2;
  Reset(IdentityTestState(), engine);
  Ok(R"(actor: "alice@acme.com"
      mutations { create_api_key { principal: "ci" } }
      mutations { create_api_key { principal: "ci" } })");
  absl::Status s = Refused(R"(actor: "alice@acme.com"
      mutations { create_api_key { principal: "ci" } })",
                           absl::StatusCode::kResourceExhausted,
                           Refusal::kLimitExceeded, IdentityRule::kKeyLimit);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("service account \"sa_ci\" holds 2 live keys"));
  // Rotation is not held to the limit: it revokes the others.
  AppliedTransaction r = Ok(R"(actor: "alice@acme.com"
      mutations { rotate_api_keys { principal: "ci" } })");
  EXPECT_THAT(Actions(r), ElementsAre("API_KEY ROTATE", "API_KEY REVOKE",
                                      "API_KEY REVOKE"));
  ASSERT_EQ(r.identity.keys.size(), 1u);
  EXPECT_TRUE(Auth(Secret(r)).authenticated());
  int live = 0;
  const v1::PolicySet state_copy = store_->StateCopy();
  for (const v1::ApiKey& k : state_copy.api_keys()) {
    live += !k.has_revoked_at();
  }
  EXPECT_EQ(live, 1);
}

TEST_F(IdentityMutationsTest, CliLoginKeysExpireAfterTheConfiguredTime) {
  EngineOptions engine;
  engine.identity.cli_login_key_ttl = absl::Hours(1);
  Reset(IdentityTestState(), engine);
  AppliedTransaction a = Ok(R"(actor: "bob@acme.com"
      mutations { create_api_key { kind: API_KEY_KIND_CLI_LOGIN
                                   expires_at { seconds: 1893456000 } } })");
  EXPECT_EQ(a.identity.keys[0].expires_at, IdentityNow() + absl::Hours(1));
  EXPECT_TRUE(Auth(Secret(a)).authenticated());
  clock_->Advance(absl::Hours(1));
  EXPECT_EQ(Auth(Secret(a)).reason, AuthReason::kKeyExpired);
}

TEST_F(IdentityMutationsTest, RevokeAllAndRemoveUserRevokeEveryKey) {
  AppliedTransaction a = Ok(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "one" } }
      mutations { create_api_key { name: "two" } })");
  AppliedTransaction r = Ok(R"(actor: "bob@acme.com"
      mutations { revoke_api_keys { } })");
  EXPECT_THAT(Actions(r), ElementsAre("API_KEY REVOKE", "API_KEY REVOKE"));
  EXPECT_EQ(Auth(Secret(a, 0)).reason, AuthReason::kKeyRevoked);
  AppliedTransaction b = Ok(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "three" } })");
  AppliedTransaction rm = Ok(R"(actor: "alice@acme.com"
      mutations { remove_user { principal: "bob@acme.com" } })");
  EXPECT_EQ(Actions(rm).front(), "API_KEY REVOKE");
  EXPECT_EQ(Actions(rm).back(), "USER REMOVE");
  EXPECT_EQ(Auth(Secret(b)).reason, AuthReason::kKeyRevoked);
}

TEST_F(IdentityMutationsTest, ARefusedMutationTakesTheKeysOfItsTransaction) {
  // A key made by the first mutation is gone with the refused second one.
  Refused(R"(actor: "alice@acme.com"
      mutations { create_api_key { principal: "ci" } }
      mutations { create_service_account { name: "ci" } })",
          absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists,
          IdentityRule::kServiceAccountNameTaken);
  EXPECT_EQ(store_->StateCopy().api_keys_size(), 0);
}

// ---- §10.3 SSO and §10.4 SCIM settings
// ------------------------------------------------------------

TEST_F(IdentityMutationsTest, SsoSettingsRules) {
  AppliedTransaction a = Ok(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings {
          sso_mode: SSO_MODE_OPTIONAL
          domains { domain: "ACME.com" verified: true }
          domains { domain: "acme.io" } } } })");
  EXPECT_THAT(Actions(a), ElementsAre("IDENTITY_SETTINGS SET"));
  const auto& meta = a.audit[0].metadata().fields();
  EXPECT_EQ(meta.at("sso_mode").string_value(), "optional");
  EXPECT_EQ(meta.at("verified_domains").string_value(), "acme.com");
  EXPECT_EQ(meta.at("claimed_domains").string_value(), "acme.io");
  Refused(R"(actor: "bob@acme.com"
      mutations { set_identity_settings { settings { sso_mode: SSO_MODE_REQUIRED } } })",
          absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied);
  absl::Status s = Refused(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings {
          domains { domain: "localhost" } } } })",
                           absl::StatusCode::kInvalidArgument,
                           Refusal::kInvalid, IdentityRule::kSsoDomainInvalid);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("identity settings of \"org_a\": domains[0]: "));
  Refused(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings {
          domains { domain: "a.io" } domains { domain: "A.io" } } } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
          IdentityRule::kSsoDomainDuplicate);
  Refused(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings { org_id: "org_b" } } })",
          absl::StatusCode::kInvalidArgument, Refusal::kInvalid);
}

TEST(IdentityMutationsOrgBTest, AVerifiedDomainBelongsToOneOrganization) {
  v1::PolicySet state = IdentityTestState();
  v1::Grant* g = state.add_grants();
  g->set_id("g_zed_owner");
  g->set_principal_id("usr_zed");
  g->set_role("org_owner");
  g->set_org_id("org_b");
  v1::IdentitySettings* s = state.add_identity_settings();
  s->set_org_id("org_a");
  s->add_domains()->set_domain("acme.com");
  s->mutable_domains(0)->set_verified(true);
  auto store = PolicyStore::Create(state);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Transaction t;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(actor: "usr_zed" mutations { set_identity_settings { settings {
          domains { domain: "acme.com" verified: true } } } })",
      &t));
  absl::StatusOr<AppliedTransaction> a = (*store)->Apply(t);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(IdentityRuleOf(a.status()), IdentityRule::kSsoDomainTaken);
  EXPECT_THAT(std::string(a.status().message()),
              HasSubstr("domain \"acme.com\" is verified by organization "
                        "\"org_a\""));
}

TEST_F(IdentityMutationsTest, RequiredSsoRefusesUserKeysWhenTheOptionSaysSo) {
  EngineOptions engine;
  engine.identity.user_keys_under_required_sso = SsoKeyPolicy::kNoUserKeys;
  Reset(IdentityTestState(), engine);
  AppliedTransaction a = Ok(R"(actor: "bob@acme.com"
      mutations { create_api_key { name: "laptop" } })");
  EXPECT_TRUE(Auth(Secret(a)).authenticated());
  Ok(R"(actor: "alice@acme.com"
      mutations { set_identity_settings { settings {
          sso_mode: SSO_MODE_REQUIRED
          domains { domain: "acme.com" verified: true } } } })");
  EXPECT_EQ(Auth(Secret(a)).reason, AuthReason::kSsoRequired);
}

TEST_F(IdentityMutationsTest, ScimCheckPermissionsOnTheStoresState) {
  // bob: cloud and project role on cld_a1; carol: cloud role on cld_a2 only.
  absl::StatusOr<std::vector<PermissionGap>> gaps =
      ScimCheckPermissions(store_->StateCopy(), kOrg, IdentityNow());
  ASSERT_TRUE(gaps.ok()) << gaps.status();
  ASSERT_EQ(gaps->size(), 1u);
  EXPECT_EQ((*gaps)[0].principal_id, "usr_carol");
  EXPECT_EQ((*gaps)[0].cloud_id, "cld_a2");
  // Group membership is written by the directory sync only: a synced group
  // holding a project role closes carol's gap.
  Ok(R"(actor: "alice@acme.com"
      mutations { sync_group { group_id: "grp_p2" name: "p2" member_ids: "usr_carol" } }
      mutations { set_group_policy { resource: "prj_a2"
                                     bindings { group: "grp_p2" role: "project_readonly" } } })");
  gaps = ScimCheckPermissions(store_->StateCopy(), kOrg, IdentityNow());
  ASSERT_TRUE(gaps.ok());
  EXPECT_TRUE(gaps->empty());
}

}  // namespace
}  // namespace arbiter
