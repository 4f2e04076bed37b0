// KeyIndex: Authenticate and AuthenticateLogin, every AuthReason, the SSO
// rules of access-model §10.3, the console rule of §5.5, the liveness rule
// of §4.1 rule 2, and the validation of KeyIndex::Create.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/identity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IdentityNow;
using ::arbiter::testing::IdentityTestState;
using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;

class KeyIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { state_ = IdentityTestState(); }

  // Mints a key into the state and remembers its credential under `label`.
  v1::ApiKey* Add(const std::string& label, const std::string& principal,
                  v1::ApiKeyKind kind,
                  absl::Time created = absl::InfinitePast(),
                  absl::Time expires = absl::InfiniteFuture()) {
    if (created == absl::InfinitePast())
      created = IdentityNow() - absl::Hours(1);
    absl::StatusOr<MintedKey> k = MintApiKey(
        absl::StrCat("key_", label), principal, kind, label, created, expires);
    EXPECT_TRUE(k.ok()) << k.status();
    credentials_[label] = std::string(k->credential.Reveal());
    v1::ApiKey* r = state_.add_api_keys();
    *r = k->record;
    return r;
  }

  const KeyIndex& Index(const IdentityOptions& options = {}) {
    auto index = KeyIndex::Create(state_, options);
    EXPECT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    return *index_;
  }

  AuthResult Auth(const std::string& label, AuthContext context = {},
                  absl::Time now = IdentityNow()) {
    return index_->Authenticate(credentials_.at(label), now, context);
  }

  void SetSso(v1::SsoMode mode,
              const std::vector<std::pair<std::string, bool>>& domains) {
    v1::IdentitySettings* s = state_.add_identity_settings();
    s->set_org_id("org_a");
    s->set_sso_mode(mode);
    for (const auto& [domain, verified] : domains) {
      v1::SsoDomain* d = s->add_domains();
      d->set_domain(domain);
      d->set_verified(verified);
    }
  }

  v1::PolicySet state_;
  std::map<std::string, std::string> credentials_;
  std::unique_ptr<const KeyIndex> index_;
};

TEST_F(KeyIndexTest, AuthenticatesAnActiveUsersKey) {
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER);
  Index();
  AuthResult r = Auth("alice");
  EXPECT_TRUE(r.authenticated()) << AuthReasonName(r.reason);
  EXPECT_EQ(r.principal_index, 0u);
  EXPECT_EQ(r.principal_id, "usr_alice");
  EXPECT_EQ(r.org_id, "org_a");
  EXPECT_EQ(r.principal_kind, v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(r.key_id, "key_alice");
  EXPECT_EQ(r.key_kind, v1::API_KEY_KIND_USER);
  EXPECT_EQ(r.valid_until, absl::InfiniteFuture());
  EXPECT_EQ(r.revision, 7u);
}

TEST_F(KeyIndexTest, PrincipalIndexIsTheEnginesPrincipalRef) {
  Add("bob", "usr_bob", v1::API_KEY_KIND_USER);
  Add("ci", "sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT);
  Add("zed", "usr_zed", v1::API_KEY_KIND_USER);
  Index();
  auto engine = Engine::Create(state_);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (const char* label : {"bob", "ci", "zed"}) {
    AuthResult r = Auth(label);
    ASSERT_TRUE(r.authenticated()) << label;
    absl::optional<PrincipalRef> ref =
        (*engine)->FindPrincipal(r.principal_id, r.org_id);
    ASSERT_TRUE(ref.has_value()) << label;
    EXPECT_EQ(ref->index(), r.principal_index) << label;
  }
}

TEST_F(KeyIndexTest, EveryRefusalReason) {
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER);
  Add("revoked", "usr_bob", v1::API_KEY_KIND_USER)
      ->mutable_revoked_at()
      ->set_seconds(absl::ToUnixSeconds(IdentityNow()) - 60);
  Add("expired", "usr_bob", v1::API_KEY_KIND_USER,
      IdentityNow() - absl::Hours(2), IdentityNow() - absl::Seconds(1));
  Add("invited", "usr_ivan", v1::API_KEY_KIND_USER);
  Add("deleted", "usr_judy", v1::API_KEY_KIND_USER);
  Add("ghost", "usr_ghost", v1::API_KEY_KIND_USER);
  Add("sa_kind_on_user", "usr_bob", v1::API_KEY_KIND_SERVICE_ACCOUNT);
  Add("user_kind_on_sa", "sa_ci", v1::API_KEY_KIND_USER);
  Add("cli_on_sa", "sa_ci", v1::API_KEY_KIND_CLI_LOGIN);
  Index();
  const std::map<std::string, AuthReason> expected = {
      {"revoked", AuthReason::kKeyRevoked},
      {"expired", AuthReason::kKeyExpired},
      {"invited", AuthReason::kPrincipalInvited},
      {"deleted", AuthReason::kPrincipalDeleted},
      {"ghost", AuthReason::kUnknownPrincipal},
      {"sa_kind_on_user", AuthReason::kKeyKindMismatch},
      {"user_kind_on_sa", AuthReason::kKeyKindMismatch},
      {"cli_on_sa", AuthReason::kKeyKindMismatch},
  };
  for (const auto& [label, reason] : expected) {
    AuthResult r = Auth(label);
    EXPECT_EQ(r.reason, reason) << label << ": " << AuthReasonName(r.reason);
    EXPECT_FALSE(r.authenticated());
    EXPECT_EQ(r.principal_index, AuthResult::kNoPrincipal) << label;
    EXPECT_EQ(r.key_id, absl::StrCat("key_", label));
  }
  // Unknown id, wrong secret, malformed.
  std::string c = credentials_["alice"];
  std::string unknown = c;
  unknown.replace(4, 9, "key_nobod");
  EXPECT_EQ(index_->Authenticate(unknown, IdentityNow()).reason,
            AuthReason::kUnknownKey);
  std::string wrong = c;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  AuthResult w = index_->Authenticate(wrong, IdentityNow());
  EXPECT_EQ(w.reason, AuthReason::kWrongSecret);
  EXPECT_TRUE(w.principal_id.empty());  // nothing told without the secret
  EXPECT_EQ(index_->Authenticate("Bearer " + c, IdentityNow()).reason,
            AuthReason::kMalformedCredential);
  EXPECT_EQ(index_->Authenticate("", IdentityNow()).reason,
            AuthReason::kMalformedCredential);
}

TEST_F(KeyIndexTest, WrongSecretHidesRevocationAndExpiry) {
  Add("revoked", "usr_bob", v1::API_KEY_KIND_USER)
      ->mutable_revoked_at()
      ->set_seconds(1);
  Add("deleted", "usr_judy", v1::API_KEY_KIND_USER);
  Index();
  for (const char* label : {"revoked", "deleted"}) {
    std::string wrong = credentials_[label];
    wrong.back() = wrong.back() == 'f' ? 'e' : 'f';
    AuthResult r = index_->Authenticate(wrong, IdentityNow());
    EXPECT_EQ(r.reason, AuthReason::kWrongSecret) << label;
    EXPECT_TRUE(r.principal_id.empty());
  }
}

TEST_F(KeyIndexTest, RevocationIsImmediateWhateverItsTimestamp) {
  // A revoked_at after `now` (a skewed clock) still revokes: fail closed.
  Add("later", "usr_bob", v1::API_KEY_KIND_USER)
      ->mutable_revoked_at()
      ->set_seconds(absl::ToUnixSeconds(IdentityNow()) + 3600);
  Index();
  EXPECT_EQ(Auth("later").reason, AuthReason::kKeyRevoked);
}

TEST_F(KeyIndexTest, ExpiryIsExclusiveAndReportedAsValidUntil) {
  const absl::Time expiry = IdentityNow() + absl::Hours(1);
  Add("bob", "usr_bob", v1::API_KEY_KIND_USER, IdentityNow(), expiry);
  Index();
  AuthResult r = Auth("bob", {}, expiry - absl::Nanoseconds(1));
  EXPECT_TRUE(r.authenticated());
  EXPECT_EQ(r.valid_until, expiry);
  EXPECT_EQ(Auth("bob", {}, expiry).reason, AuthReason::kKeyExpired);
}

TEST_F(KeyIndexTest, CliLoginKeysExpireAfterTheConfiguredTime) {
  // §10.5: `anyscale login` keys expire after 7 days, whatever the record.
  Add("fresh", "usr_bob", v1::API_KEY_KIND_CLI_LOGIN,
      IdentityNow() - absl::Hours(24));
  Add("old", "usr_bob", v1::API_KEY_KIND_CLI_LOGIN,
      IdentityNow() - absl::Hours(7 * 24));
  Add("record_says_later", "usr_bob", v1::API_KEY_KIND_CLI_LOGIN,
      IdentityNow() - absl::Hours(8 * 24), IdentityNow() + absl::Hours(24));
  v1::ApiKey* undated = Add("undated", "usr_bob", v1::API_KEY_KIND_CLI_LOGIN);
  undated->clear_created_at();
  Index();
  AuthResult fresh = Auth("fresh");
  EXPECT_TRUE(fresh.authenticated());
  EXPECT_EQ(fresh.valid_until, IdentityNow() + absl::Hours(6 * 24));
  EXPECT_EQ(Auth("old").reason, AuthReason::kKeyExpired);
  EXPECT_EQ(Auth("record_says_later").reason, AuthReason::kKeyExpired);
  EXPECT_EQ(Auth("undated").reason, AuthReason::kKeyExpired);
  // A shorter configured time takes effect on the next index.
  IdentityOptions options;
  options.cli_login_key_ttl = absl::Hours(12);
  Index(options);
  EXPECT_EQ(Auth("fresh").reason, AuthReason::kKeyExpired);
}

TEST_F(KeyIndexTest, OrganizationBoundary) {
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER);
  Add("zed", "usr_zed", v1::API_KEY_KIND_USER);
  Index();
  EXPECT_TRUE(Auth("alice", {Channel::kApi, "org_a"}).authenticated());
  EXPECT_EQ(Auth("alice", {Channel::kApi, "org_b"}).reason,
            AuthReason::kCrossOrg);
  EXPECT_EQ(Auth("zed", {Channel::kApi, "org_a"}).reason,
            AuthReason::kCrossOrg);
  EXPECT_EQ(Auth("zed", {Channel::kApi, "org_nope"}).reason,
            AuthReason::kUnknownOrg);
}

TEST_F(KeyIndexTest, KeyOfAnotherDeploymentIsUnknown) {
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER);
  Index();
  // The same id minted elsewhere: another secret, and another salt.
  absl::StatusOr<MintedKey> elsewhere =
      MintApiKey("key_alice", "usr_alice", v1::API_KEY_KIND_USER, "",
                 IdentityNow(), absl::InfiniteFuture());
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(index_->Authenticate(elsewhere->credential.Reveal(), IdentityNow())
                .reason,
            AuthReason::kWrongSecret);
  absl::StatusOr<MintedKey> other_id =
      MintApiKey("key_other", "usr_alice", v1::API_KEY_KIND_USER, "",
                 IdentityNow(), absl::InfiniteFuture());
  EXPECT_EQ(
      index_->Authenticate(other_id->credential.Reveal(), IdentityNow()).reason,
      AuthReason::kUnknownKey);
}

TEST_F(KeyIndexTest, ServiceAccountsNeverUseTheConsole) {
  // §5.5 / §4.1 rule 3.
  Add("ci", "sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT);
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER);
  Index();
  EXPECT_TRUE(Auth("ci", {Channel::kApi, {}}).authenticated());
  EXPECT_EQ(Auth("ci", {Channel::kConsole, {}}).reason,
            AuthReason::kServiceAccountConsole);
  EXPECT_TRUE(Auth("alice", {Channel::kConsole, {}}).authenticated());
  EXPECT_EQ(index_
                ->AuthenticateLogin("org_a", "ci@org-a.serviceaccount.com",
                                    LoginMethod::kPassword)
                .reason,
            AuthReason::kServiceAccountConsole);
}

TEST_F(KeyIndexTest, UserKeysUnderRequiredSsoFollowThePolicy) {
  SetSso(v1::SSO_MODE_REQUIRED, {{"acme.com", true}});
  Add("alice_user", "usr_alice", v1::API_KEY_KIND_USER);
  Add("alice_cli", "usr_alice", v1::API_KEY_KIND_CLI_LOGIN);
  Add("carol_user", "usr_carol", v1::API_KEY_KIND_USER);  // contractor.io
  Add("ci", "sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT);
  struct Case {
    SsoKeyPolicy policy;
    AuthReason user, cli;
  };
  for (const Case& c :
       {Case{SsoKeyPolicy::kAllowAllKeys, AuthReason::kAuthenticated,
             AuthReason::kAuthenticated},
        Case{SsoKeyPolicy::kCliLoginKeysOnly, AuthReason::kSsoRequired,
             AuthReason::kAuthenticated},
        Case{SsoKeyPolicy::kNoUserKeys, AuthReason::kSsoRequired,
             AuthReason::kSsoRequired}}) {
    IdentityOptions options;
    options.user_keys_under_required_sso = c.policy;
    Index(options);
    EXPECT_EQ(Auth("alice_user").reason, c.user);
    EXPECT_EQ(Auth("alice_cli").reason, c.cli);
    // Outside the verified domains, and service accounts: never affected.
    EXPECT_TRUE(Auth("carol_user").authenticated());
    EXPECT_TRUE(Auth("ci").authenticated());
  }
}

TEST_F(KeyIndexTest, OptionalSsoEnforcesOnlyWhenConfigured) {
  SetSso(v1::SSO_MODE_OPTIONAL, {{"acme.com", true}});
  Add("alice_user", "usr_alice", v1::API_KEY_KIND_USER);
  IdentityOptions options;
  options.user_keys_under_required_sso = SsoKeyPolicy::kNoUserKeys;
  Index(options);
  EXPECT_TRUE(Auth("alice_user").authenticated());
  EXPECT_TRUE(
      index_
          ->AuthenticateLogin("org_a", "alice@acme.com", LoginMethod::kPassword)
          .authenticated());
  options.enforce_sso_in_optional_mode = true;
  Index(options);
  EXPECT_EQ(Auth("alice_user").reason, AuthReason::kSsoRequired);
  EXPECT_EQ(
      index_
          ->AuthenticateLogin("org_a", "alice@acme.com", LoginMethod::kPassword)
          .reason,
      AuthReason::kSsoRequired);
}

TEST_F(KeyIndexTest, LoginsUnderRequiredSso) {
  // §10.3: a verified-domain user must log in with SSO; others keep password
  // or magic link; the IdP vouches only for verified domains.
  SetSso(v1::SSO_MODE_REQUIRED, {{"ACME.com", true}, {"contractor.io", false}});
  Index();
  auto login = [&](absl::string_view email, LoginMethod m) {
    return index_->AuthenticateLogin("org_a", email, m).reason;
  };
  EXPECT_EQ(login("alice@acme.com", LoginMethod::kPassword),
            AuthReason::kSsoRequired);
  EXPECT_EQ(login("Alice@ACME.com", LoginMethod::kMagicLink),
            AuthReason::kSsoRequired);
  EXPECT_EQ(login("alice@acme.com", LoginMethod::kSso),
            AuthReason::kAuthenticated);
  // Claimed but not verified: password allowed, SSO refused.
  EXPECT_EQ(login("carol@contractor.io", LoginMethod::kPassword),
            AuthReason::kAuthenticated);
  EXPECT_EQ(login("carol@contractor.io", LoginMethod::kSso),
            AuthReason::kSsoDomainNotVerified);
  EXPECT_TRUE(index_->SsoRequiredFor("org_a", "BOB@acme.com"));
  EXPECT_FALSE(index_->SsoRequiredFor("org_a", "carol@contractor.io"));
  EXPECT_FALSE(index_->SsoRequiredFor("org_b", "zed@acme.com"));
  AuthResult ok =
      index_->AuthenticateLogin("org_a", "BOB@Acme.Com", LoginMethod::kSso);
  EXPECT_TRUE(ok.authenticated());
  EXPECT_EQ(ok.principal_id, "usr_bob");
  EXPECT_EQ(ok.principal_index, 1u);
}

TEST_F(KeyIndexTest, LoginRefusals) {
  Index();  // no SSO settings: mode UNSPECIFIED
  auto login = [&](absl::string_view org, absl::string_view email,
                   LoginMethod m) {
    return index_->AuthenticateLogin(org, email, m).reason;
  };
  EXPECT_EQ(login("org_a", "alice@acme.com", LoginMethod::kPassword),
            AuthReason::kAuthenticated);
  EXPECT_EQ(login("org_a", "alice@acme.com", LoginMethod::kSso),
            AuthReason::kSsoNotConfigured);
  EXPECT_EQ(login("org_a", "ivan@acme.com", LoginMethod::kPassword),
            AuthReason::kPrincipalInvited);
  EXPECT_EQ(login("org_a", "judy@acme.com", LoginMethod::kPassword),
            AuthReason::kPrincipalDeleted);
  EXPECT_EQ(login("org_a", "nobody@acme.com", LoginMethod::kPassword),
            AuthReason::kUnknownPrincipal);
  EXPECT_EQ(login("org_a", "zed@globex.com", LoginMethod::kPassword),
            AuthReason::kUnknownPrincipal);  // another org's user
  EXPECT_EQ(login("org_x", "alice@acme.com", LoginMethod::kPassword),
            AuthReason::kUnknownOrg);
  EXPECT_EQ(login("org_a", std::string(300, 'a') + "@acme.com",
                  LoginMethod::kPassword),
            AuthReason::kUnknownPrincipal);
}

TEST_F(KeyIndexTest, ReinvitedUserLogsInAsTheLivePrincipal) {
  // §4.1 rule 2: the deleted principal keeps its email; the new one is live.
  v1::Principal* again = state_.add_principals();
  again->set_id("usr_judy2");
  again->set_org_id("org_a");
  again->set_kind(v1::PRINCIPAL_KIND_USER);
  again->set_email("JUDY@acme.com");
  Add("old_judy", "usr_judy", v1::API_KEY_KIND_USER);
  Index();
  AuthResult r = index_->AuthenticateLogin("org_a", "judy@acme.com",
                                           LoginMethod::kPassword);
  EXPECT_TRUE(r.authenticated());
  EXPECT_EQ(r.principal_id, "usr_judy2");
  // The old principal's key does not come back with the new principal.
  EXPECT_EQ(Auth("old_judy").reason, AuthReason::kPrincipalDeleted);
}

TEST_F(KeyIndexTest, ReasonNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(AuthReason::kInternalError); ++i) {
    const AuthReason r = static_cast<AuthReason>(i);
    AuthReason parsed;
    ASSERT_TRUE(ParseAuthReason(AuthReasonName(r), &parsed)) << i;
    EXPECT_EQ(parsed, r);
  }
  AuthReason unused;
  EXPECT_FALSE(ParseAuthReason("NOPE", &unused));
}

// ---- Create: validation ----

TEST_F(KeyIndexTest, CreateRejectsMalformedRecords) {
  struct Case {
    std::function<void(v1::PolicySet*)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::PolicySet* s) { s->mutable_api_keys(0)->set_id("key 1"); },
       "api_keys[0].id: \"key 1\" is not 1..64 bytes of [A-Za-z0-9_-]"},
      {[](v1::PolicySet* s) { *s->add_api_keys() = s->api_keys(0); },
       "api_keys[1].id: duplicate key id \"key_alice\" (also api_keys[0])"},
      {[](v1::PolicySet* s) { s->mutable_api_keys(0)->clear_principal_id(); },
       "api_keys[0].principal_id: missing"},
      {[](v1::PolicySet* s) {
         s->mutable_api_keys(0)->set_kind(v1::API_KEY_KIND_UNSPECIFIED);
       },
       "api_keys[0].kind: missing or unknown key kind"},
      {[](v1::PolicySet* s) { s->mutable_api_keys(0)->set_salt("short"); },
       "api_keys[0].salt: 5 bytes; a salt is 16 to 64 bytes"},
      {[](v1::PolicySet* s) { s->mutable_api_keys(0)->set_secret_hash("x"); },
       "api_keys[0].secret_hash: 1 bytes; a SHA-256 is 32 bytes"},
      {[](v1::PolicySet* s) { s->mutable_api_keys(0)->set_org_id("org_b"); },
       "api_keys[0].org_id: \"org_b\" but principal \"usr_alice\" belongs to "
       "organization \"org_a\""},
      {[](v1::PolicySet* s) {
         s->add_identity_settings()->set_org_id("org_x");
       },
       "identity_settings[0].org_id: unknown organization \"org_x\""},
      {[](v1::PolicySet* s) {
         s->add_identity_settings()->set_org_id("org_a");
         s->add_identity_settings()->set_org_id("org_a");
       },
       "identity_settings[1].org_id: second settings for organization "
       "\"org_a\" (also identity_settings[0])"},
      {[](v1::PolicySet* s) {
         auto* d = s->add_identity_settings();
         d->set_org_id("org_a");
         d->add_domains()->set_domain("acme");
       },
       "identity_settings[0].domains[0].domain: domain \"acme\": needs at "
       "least two labels"},
      {[](v1::PolicySet* s) {
         auto* d = s->add_identity_settings();
         d->set_org_id("org_a");
         d->add_domains()->set_domain("acme.com");
         d->add_domains()->set_domain("ACME.com");
       },
       "identity_settings[0].domains[1].domain: duplicate domain "
       "\"acme.com\""},
      {[](v1::PolicySet* s) {
         for (const char* org : {"org_a", "org_b"}) {
           auto* d = s->add_identity_settings();
           d->set_org_id(org);
           auto* dom = d->add_domains();
           dom->set_domain("acme.com");
           dom->set_verified(true);
         }
       },
       "identity_settings[1].domains[0].domain: domain \"acme.com\" is "
       "verified by organization \"org_a\" too"},
  };
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER);
  const v1::PolicySet base = state_;
  for (const Case& c : cases) {
    v1::PolicySet s = base;
    c.edit(&s);
    EXPECT_THAT(
        KeyIndex::Create(s),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
  // A dangling principal is not a load error: it is refused at use.
  v1::PolicySet s = base;
  s.mutable_api_keys(0)->set_principal_id("usr_gone");
  EXPECT_TRUE(KeyIndex::Create(s).ok());
}

TEST_F(KeyIndexTest, AnOrgIdMatchingThePrincipalIsAccepted) {
  Add("alice", "usr_alice", v1::API_KEY_KIND_USER)->set_org_id("org_a");
  Index();
  EXPECT_TRUE(Auth("alice").authenticated());
  EXPECT_EQ(index_->num_keys(), 1u);
  EXPECT_GT(index_->MemoryUsage(), 0u);
}

}  // namespace
}  // namespace arbiter
