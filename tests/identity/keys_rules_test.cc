// access-model §10.5 (service accounts and API keys): one test per rule,
// asserting the status code, the IdentityRule and the message; and that a
// revoked, rotated-away or expired key never authenticates afterwards.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/identity.h"
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
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

MATCHER_P3(Refused, rule, code, text, "") {
  *result_listener << "rule " << IdentityRuleName(IdentityRuleOf(arg)) << ", "
                   << arg;
  return IdentityRuleOf(arg) == rule && arg.code() == code &&
         std::string(arg.message()).find(text) != std::string::npos;
}

class KeyRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = IdentityTestState();
    options_ = TestOptions();
  }
  // Applies a successful outcome's plan; returns its credential.
  std::string Take(absl::StatusOr<NewKeyOutcome> out) {
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return "";
    EXPECT_TRUE(ApplyIdentityPlan(out->plan, &state_).ok());
    return std::string(out->credential.Reveal());
  }
  void Apply(absl::StatusOr<v1::IdentityPlan> plan) {
    ASSERT_TRUE(plan.ok()) << plan.status();
    ASSERT_TRUE(ApplyIdentityPlan(*plan, &state_).ok());
  }
  AuthResult Auth(const std::string& credential,
                  absl::Time now = IdentityNow()) {
    auto index = KeyIndex::Create(state_, options_);
    EXPECT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    return index_->Authenticate(credential, now);
  }
  KeySpec Spec(const std::string& principal, v1::ApiKeyKind kind,
               const std::string& name = "") {
    KeySpec s;
    s.principal_id = principal;
    s.kind = kind;
    s.name = name;
    return s;
  }

  v1::PolicySet state_;
  IdentityOptions options_;
  std::unique_ptr<const KeyIndex> index_;
};

// ---- Service accounts ----

TEST_F(KeyRulesTest, ServiceAccountEmailForm) {
  EXPECT_EQ(ServiceAccountEmail("org_123", "ci"),
            "ci@org-123.serviceaccount.com");
  EXPECT_EQ(ServiceAccountEmail("org_Ab_c", "deploy"),
            "deploy@org-ab-c.serviceaccount.com");
  EXPECT_EQ(ServiceAccountEmail("acme", "x"), "x@org-acme.serviceaccount.com");
}

TEST_F(KeyRulesTest, CreateServiceAccountReturnsItsFirstKey) {
  absl::StatusOr<NewKeyOutcome> out = PlanCreateServiceAccount(
      PolicySetView(state_), "org_a", "deployer", IdentityNow(), options_);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_THAT(out->plan.add_principals(), SizeIs(1));
  const v1::Principal& sa = out->plan.add_principals(0);
  EXPECT_EQ(sa.kind(), v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
  EXPECT_EQ(sa.email(), "deployer@org-a.serviceaccount.com");
  EXPECT_EQ(sa.name(), "deployer");
  EXPECT_EQ(sa.state(), v1::PRINCIPAL_STATE_ACTIVE);
  ASSERT_THAT(out->plan.add_api_keys(), SizeIs(1));
  EXPECT_EQ(out->plan.add_api_keys(0).kind(), v1::API_KEY_KIND_SERVICE_ACCOUNT);
  EXPECT_EQ(out->plan.add_api_keys(0).org_id(), "org_a");
  EXPECT_THAT(out->plan.add_grants(), SizeIs(0));  // no auto-add [I]
  const std::string principal = out->principal_id;
  const std::string credential = Take(std::move(out));
  AuthResult r = Auth(credential);
  ASSERT_TRUE(r.authenticated()) << AuthReasonName(r.reason);
  EXPECT_EQ(r.principal_id, principal);
}

TEST_F(KeyRulesTest, ServiceAccountNamesAreValidatedAndUnique) {
  PolicySetView view(state_);
  for (const char* bad : {"", "CI", "-ci", "c i", "ci@x", "ci_bot"}) {
    EXPECT_THAT(
        PlanCreateServiceAccount(view, "org_a", bad, IdentityNow(), options_)
            .status(),
        Refused(IdentityRule::kServiceAccountNameInvalid,
                absl::StatusCode::kInvalidArgument,
                "not 1..63 bytes of [a-z0-9-]"))
        << bad;
  }
  EXPECT_EQ(IdentityRuleOf(PlanCreateServiceAccount(view, "org_a",
                                                    std::string(64, 'a'),
                                                    IdentityNow(), options_)
                               .status()),
            IdentityRule::kServiceAccountNameInvalid);
  EXPECT_THAT(
      PlanCreateServiceAccount(view, "org_a", "ci", IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kServiceAccountNameTaken,
              absl::StatusCode::kAlreadyExists,
              "service account name \"ci\" is taken in organization "
              "\"org_a\" (principal \"sa_ci\""));
  // The same name in another organization is another account.
  EXPECT_TRUE(
      PlanCreateServiceAccount(view, "org_b", "ci", IdentityNow(), options_)
          .ok());
  EXPECT_THAT(
      PlanCreateServiceAccount(view, "org_x", "ci", IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kUnknownOrganization, absl::StatusCode::kNotFound,
              "\"org_x\" not found"));
}

TEST_F(KeyRulesTest, DeleteServiceAccountRevokesKeysAndRemovesGrants) {
  const std::string k1 = Take(PlanCreateApiKey(
      PolicySetView(state_), Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
      IdentityNow(), options_));
  absl::StatusOr<v1::IdentityPlan> plan = PlanDeleteServiceAccount(
      PolicySetView(state_), "org_a", "ci", IdentityNow());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_THAT(plan->principal_states(), SizeIs(1));
  EXPECT_EQ(plan->principal_states(0).principal_id(), "sa_ci");
  EXPECT_EQ(plan->principal_states(0).state(), v1::PRINCIPAL_STATE_DELETED);
  EXPECT_THAT(plan->revoke_api_keys(), SizeIs(1));
  ASSERT_THAT(plan->remove_grant_ids(), SizeIs(1));
  EXPECT_EQ(plan->remove_grant_ids(0), "g_ci_a1");
  Apply(plan);
  EXPECT_EQ(Auth(k1).reason, AuthReason::kKeyRevoked);
  // A deleted account (here by id) and a user are no service accounts.
  EXPECT_THAT(
      PlanDeleteServiceAccount(PolicySetView(state_), "org_a", "sa_ci",
                               IdentityNow())
          .status(),
      Refused(IdentityRule::kServiceAccountUnknown, absl::StatusCode::kNotFound,
              "service account \"sa_ci\" not found in organization "
              "\"org_a\""));
  EXPECT_EQ(
      IdentityRuleOf(PlanDeleteServiceAccount(PolicySetView(state_), "org_a",
                                              "usr_bob", IdentityNow())
                         .status()),
      IdentityRule::kServiceAccountUnknown);
}

// ---- Keys ----

TEST_F(KeyRulesTest, ServiceAccountsHoldSeveralKeys) {
  const std::string a = Take(PlanCreateApiKey(
      PolicySetView(state_), Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
      IdentityNow(), options_));
  const std::string b = Take(PlanCreateApiKey(
      PolicySetView(state_), Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
      IdentityNow(), options_));
  EXPECT_TRUE(Auth(a).authenticated());
  EXPECT_TRUE(Auth(b).authenticated());
  EXPECT_THAT(ListApiKeys(PolicySetView(state_), "sa_ci", IdentityNow()),
              SizeIs(2));
}

TEST_F(KeyRulesTest, RotateReturnsOneKeyAndRevokesTheOthers) {
  std::vector<std::string> old;
  for (int i = 0; i < 3; ++i) {
    old.push_back(Take(PlanCreateApiKey(
        PolicySetView(state_), Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
        IdentityNow(), options_)));
  }
  absl::StatusOr<NewKeyOutcome> rot = PlanRotateApiKeys(
      PolicySetView(state_), Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
      IdentityNow(), options_);
  ASSERT_TRUE(rot.ok());
  EXPECT_THAT(rot->plan.add_api_keys(), SizeIs(1));
  EXPECT_THAT(rot->plan.revoke_api_keys(), SizeIs(3));
  const std::string fresh = Take(std::move(rot));
  for (const std::string& c : old) {
    EXPECT_EQ(Auth(c).reason, AuthReason::kKeyRevoked);
  }
  EXPECT_TRUE(Auth(fresh).authenticated());
  std::vector<ApiKeyInfo> keys =
      ListApiKeys(PolicySetView(state_), "sa_ci", IdentityNow());
  ASSERT_THAT(keys, SizeIs(4));
  int active = 0;
  for (const ApiKeyInfo& k : keys) active += k.status == KeyStatus::kActive;
  EXPECT_EQ(active, 1);
}

TEST_F(KeyRulesTest, RotatingAUsersKeysInvalidatesAllOfThem) {
  const std::string laptop = Take(PlanCreateApiKey(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_USER, "laptop"),
      IdentityNow(), options_));
  const std::string cli = Take(PlanCreateApiKey(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_CLI_LOGIN),
      IdentityNow(), options_));
  // The new key may reuse a name: the old keys are revoked by the same plan.
  const std::string fresh = Take(PlanRotateApiKeys(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_USER, "laptop"),
      IdentityNow(), options_));
  EXPECT_EQ(Auth(laptop).reason, AuthReason::kKeyRevoked);
  EXPECT_EQ(Auth(cli).reason, AuthReason::kKeyRevoked);
  EXPECT_TRUE(Auth(fresh).authenticated());
}

TEST_F(KeyRulesTest, UserKeyNamesAreRequiredAndUniquePerUser) {
  PolicySetView view(state_);
  EXPECT_THAT(
      PlanCreateApiKey(view, Spec("usr_bob", v1::API_KEY_KIND_USER),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kKeyNameInvalid, absl::StatusCode::kInvalidArgument,
              "key of user \"usr_bob\": a personal (USER) key needs "
              "a name"));
  EXPECT_THAT(
      PlanCreateApiKey(view, Spec("usr_bob", v1::API_KEY_KIND_USER, "a\nb"),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kKeyNameInvalid, absl::StatusCode::kInvalidArgument,
              "not 1..128 printable ASCII bytes"));
  Take(PlanCreateApiKey(view, Spec("usr_bob", v1::API_KEY_KIND_USER, "laptop"),
                        IdentityNow(), options_));
  PolicySetView after(state_);
  EXPECT_THAT(
      PlanCreateApiKey(after, Spec("usr_bob", v1::API_KEY_KIND_USER, "laptop"),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kKeyNameTaken, absl::StatusCode::kAlreadyExists,
              "key name \"laptop\" is taken by key"));
  // Another user may use the name.
  EXPECT_TRUE(PlanCreateApiKey(
                  after, Spec("usr_alice", v1::API_KEY_KIND_USER, "laptop"),
                  IdentityNow(), options_)
                  .ok());
  // Once revoked, the name is free again.
  Apply(PlanRevokeApiKeys(after, "usr_bob", IdentityNow()));
  EXPECT_TRUE(PlanCreateApiKey(PolicySetView(state_),
                               Spec("usr_bob", v1::API_KEY_KIND_USER, "laptop"),
                               IdentityNow(), options_)
                  .ok());
}

TEST_F(KeyRulesTest, KeyKindMustFitThePrincipal) {
  PolicySetView view(state_);
  EXPECT_THAT(
      PlanCreateApiKey(view, Spec("usr_bob", v1::API_KEY_KIND_SERVICE_ACCOUNT),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kKeyKindMismatch,
              absl::StatusCode::kInvalidArgument,
              "user \"usr_bob\" cannot hold a SERVICE_ACCOUNT key"));
  EXPECT_THAT(PlanCreateApiKey(view, Spec("sa_ci", v1::API_KEY_KIND_USER, "x"),
                               IdentityNow(), options_)
                  .status(),
              Refused(IdentityRule::kKeyKindMismatch,
                      absl::StatusCode::kInvalidArgument,
                      "service account \"sa_ci\" cannot hold a USER key"));
  EXPECT_EQ(IdentityRuleOf(PlanCreateApiKey(
                               view, Spec("sa_ci", v1::API_KEY_KIND_CLI_LOGIN),
                               IdentityNow(), options_)
                               .status()),
            IdentityRule::kKeyKindMismatch);
  EXPECT_EQ(
      IdentityRuleOf(
          PlanCreateApiKey(view, Spec("usr_bob", v1::API_KEY_KIND_UNSPECIFIED),
                           IdentityNow(), options_)
              .status()),
      IdentityRule::kKeyKindMismatch);
}

TEST_F(KeyRulesTest, OnlyActivePrincipalsGetKeys) {
  PolicySetView view(state_);
  EXPECT_THAT(
      PlanCreateApiKey(view, Spec("usr_ivan", v1::API_KEY_KIND_USER, "x"),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kPrincipalNotActive,
              absl::StatusCode::kFailedPrecondition,
              "user \"usr_ivan\" is PRINCIPAL_STATE_INVITED"));
  EXPECT_EQ(
      IdentityRuleOf(
          PlanCreateApiKey(view, Spec("usr_judy", v1::API_KEY_KIND_USER, "x"),
                           IdentityNow(), options_)
              .status()),
      IdentityRule::kPrincipalNotActive);
  EXPECT_THAT(
      PlanCreateApiKey(view, Spec("usr_nope", v1::API_KEY_KIND_USER, "x"),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kPrincipalUnknown, absl::StatusCode::kNotFound,
              "principal \"usr_nope\" not found"));
}

TEST_F(KeyRulesTest, CliLoginKeysExpireAfterTheConfiguredTime) {
  absl::StatusOr<NewKeyOutcome> out = PlanCreateApiKey(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_CLI_LOGIN),
      IdentityNow(), options_);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->plan.add_api_keys(0).expires_at().seconds(),
            absl::ToUnixSeconds(IdentityNow() + absl::Hours(7 * 24)));
  const std::string c = Take(std::move(out));
  EXPECT_TRUE(Auth(c, IdentityNow() + absl::Hours(7 * 24) - absl::Seconds(1))
                  .authenticated());
  EXPECT_EQ(Auth(c, IdentityNow() + absl::Hours(7 * 24)).reason,
            AuthReason::kKeyExpired);
  options_.cli_login_key_ttl = absl::Hours(1);
  absl::StatusOr<NewKeyOutcome> short_lived = PlanCreateApiKey(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_CLI_LOGIN),
      IdentityNow(), options_);
  EXPECT_EQ(short_lived->plan.add_api_keys(0).expires_at().seconds(),
            absl::ToUnixSeconds(IdentityNow() + absl::Hours(1)));
}

TEST_F(KeyRulesTest, ExpiryMustBeInTheFuture) {
  KeySpec spec = Spec("usr_bob", v1::API_KEY_KIND_USER, "x");
  spec.expires_at = IdentityNow();
  EXPECT_THAT(
      PlanCreateApiKey(PolicySetView(state_), spec, IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kKeyExpiryInvalid,
              absl::StatusCode::kInvalidArgument,
              "expiry 2026-01-01T00:00:00Z is not after now"));
  spec.expires_at = IdentityNow() + absl::Hours(1);
  const std::string c = Take(
      PlanCreateApiKey(PolicySetView(state_), spec, IdentityNow(), options_));
  EXPECT_EQ(Auth(c, IdentityNow() + absl::Hours(1)).reason,
            AuthReason::kKeyExpired);
}

TEST_F(KeyRulesTest, LiveKeyLimit) {
  options_.max_live_keys_per_principal = 2;
  for (int i = 0; i < 2; ++i) {
    Take(PlanCreateApiKey(PolicySetView(state_),
                          Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
                          IdentityNow(), options_));
  }
  EXPECT_THAT(
      PlanCreateApiKey(PolicySetView(state_),
                       Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
                       IdentityNow(), options_)
          .status(),
      Refused(IdentityRule::kKeyLimit, absl::StatusCode::kResourceExhausted,
              "service account \"sa_ci\" holds 2 live keys, the limit"));
  // Rotation always fits: the others are revoked by the same plan.
  EXPECT_TRUE(PlanRotateApiKeys(PolicySetView(state_),
                                Spec("sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT),
                                IdentityNow(), options_)
                  .ok());
}

TEST_F(KeyRulesTest, RevokeOneKey) {
  absl::StatusOr<NewKeyOutcome> out = PlanCreateApiKey(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_USER, "a"),
      IdentityNow(), options_);
  const std::string key_id = out->key_id;
  const std::string c = Take(std::move(out));
  Apply(PlanRevokeApiKey(PolicySetView(state_), key_id, IdentityNow()));
  EXPECT_EQ(Auth(c).reason, AuthReason::kKeyRevoked);
  EXPECT_THAT(
      PlanRevokeApiKey(PolicySetView(state_), key_id, IdentityNow()).status(),
      Refused(IdentityRule::kKeyAlreadyRevoked,
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("key \"", key_id,
                           "\" was already revoked at "
                           "2026-01-01T00:00:00Z")));
  EXPECT_THAT(PlanRevokeApiKey(PolicySetView(state_), "key_nope", IdentityNow())
                  .status(),
              Refused(IdentityRule::kKeyUnknown, absl::StatusCode::kNotFound,
                      "key \"key_nope\" not found"));
  // Revoking an already revoked key through a stale plan is a conflict.
  v1::IdentityPlan stale;
  stale.add_revoke_api_keys()->set_key_id(key_id);
  EXPECT_EQ(IdentityRuleOf(ApplyIdentityPlan(stale, &state_)),
            IdentityRule::kPlanConflict);
}

TEST_F(KeyRulesTest, ListingsShowNoSecretMaterial) {
  absl::StatusOr<NewKeyOutcome> out = PlanCreateApiKey(
      PolicySetView(state_), Spec("usr_bob", v1::API_KEY_KIND_USER, "laptop"),
      IdentityNow(), options_);
  const std::string c = Take(std::move(out));
  std::vector<ApiKeyInfo> keys =
      ListApiKeys(PolicySetView(state_), "usr_bob", IdentityNow());
  ASSERT_THAT(keys, SizeIs(1));
  EXPECT_EQ(keys[0].name, "laptop");
  EXPECT_EQ(keys[0].kind, v1::API_KEY_KIND_USER);
  EXPECT_EQ(keys[0].status, KeyStatus::kActive);
  EXPECT_EQ(keys[0].created_at, IdentityNow());
  EXPECT_EQ(keys[0].expires_at, absl::InfiniteFuture());
  EXPECT_EQ(keys[0].revoked_at, absl::InfiniteFuture());
  EXPECT_THAT(c, HasSubstr(keys[0].id));
  EXPECT_THAT(keys[0].id + keys[0].name,
              Not(HasSubstr(c.substr(c.size() - 64))));
}

}  // namespace
}  // namespace arbiter
