// Engine::Authenticate (arbiter/engine.h): every reason on a compiled state,
// the handle going straight to Check, the Engine's clock, validation of the
// key records by Engine::Create, the store publishing revocations and
// rotations at once (and keeping keys across incremental publishes), and a
// seeded differential test against a naive reference written from
// docs/identity.md over random key sets.

#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/identity.h"
#include "arbiter/policy_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "src/engine/engine_friend_access.h"
#include "src/engine/engine_keys.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace {

using ::testing::HasSubstr;
using testing::IdentityNow;
using testing::IdentityTestState;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

// Mints a key into `state` and returns its credential.
std::string AddKey(v1::PolicySet* state, const std::string& id,
                   const std::string& principal, v1::ApiKeyKind kind,
                   absl::Time expires = absl::InfiniteFuture(),
                   absl::Time created = IdentityNow() - absl::Hours(1)) {
  absl::StatusOr<MintedKey> m =
      MintApiKey(id, principal, kind, "", created, expires);
  EXPECT_TRUE(m.ok()) << m.status();
  *state->add_api_keys() = m->record;
  return std::string(m->credential.Reveal());
}

class EngineAuthenticateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = IdentityTestState();
    alice_ = AddKey(&state_, "key_alice", "usr_alice", v1::API_KEY_KIND_USER);
    ci_ = AddKey(&state_, "key_ci", "sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT);
    bob_cli_ =
        AddKey(&state_, "key_bob_cli", "usr_bob", v1::API_KEY_KIND_CLI_LOGIN);
    revoked_ = AddKey(&state_, "key_revoked", "usr_bob", v1::API_KEY_KIND_USER);
    SetTime(IdentityNow() - absl::Minutes(5),
            state_.mutable_api_keys(3)->mutable_revoked_at());
    expired_ = AddKey(&state_, "key_expired", "usr_bob", v1::API_KEY_KIND_USER,
                      IdentityNow());
    judy_ = AddKey(&state_, "key_judy", "usr_judy", v1::API_KEY_KIND_USER);
    ivan_ = AddKey(&state_, "key_ivan", "usr_ivan", v1::API_KEY_KIND_USER);
    ghost_ = AddKey(&state_, "key_ghost", "usr_ghost", v1::API_KEY_KIND_USER);
    mismatch_ = AddKey(&state_, "key_mismatch", "usr_bob",
                       v1::API_KEY_KIND_SERVICE_ACCOUNT);
    zed_ = AddKey(&state_, "key_zed", "usr_zed", v1::API_KEY_KIND_USER);
    Compile();
  }
  void Compile(EngineOptions options = {}) {
    auto engine = Engine::Create(state_, options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  Authentication Auth(const std::string& credential,
                      const AuthContext& context = {}) {
    return engine_->Authenticate(credential, IdentityNow(), context);
  }

  v1::PolicySet state_;
  std::unique_ptr<const Engine> engine_;
  std::string alice_, ci_, bob_cli_, revoked_, expired_, judy_, ivan_, ghost_,
      mismatch_, zed_;
};

TEST_F(EngineAuthenticateTest, AValidKeyGivesAHandleThatGoesStraightToCheck) {
  const Authentication a = Auth(alice_, {Channel::kApi, "org_a"});
  ASSERT_TRUE(a.authenticated()) << AuthReasonName(a.reason);
  EXPECT_EQ(a.principal_id, "usr_alice");
  EXPECT_EQ(a.org_id, "org_a");
  EXPECT_EQ(a.key_id, "key_alice");
  EXPECT_EQ(a.revision, 7u);
  const absl::optional<PrincipalRef> by_id =
      engine_->FindPrincipal("usr_alice");
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(a.principal.index(), by_id->index());
  EXPECT_EQ(a.principal_index, by_id->index());
  const PermissionRef perm = *engine_->FindPermission("org.clouds.create");
  const ResourceRef org = *engine_->FindResource("org_a");
  const Decision d = engine_->Check(a.principal, perm, org);
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.reason, Reason::kOrgOwner);
  // A user's handle is the user's: bob may not create clouds.
  const Authentication b = Auth(bob_cli_);
  ASSERT_TRUE(b.authenticated()) << AuthReasonName(b.reason);
  EXPECT_FALSE(engine_->Check(b.principal, perm, org).allowed());
  // A handle of a failed authentication denies.
  EXPECT_EQ(engine_->Check(Auth(revoked_).principal, perm, org).reason,
            Reason::kStaleReference);
}

TEST_F(EngineAuthenticateTest, EveryReasonFailsClosed) {
  struct Case {
    std::string credential;
    AuthContext context;
    AuthReason reason;
  } cases[] = {
      {"Bearer abc", {}, AuthReason::kMalformedCredential},
      {alice_.substr(0, alice_.size() - 1) + "G",
       {},
       AuthReason::kMalformedCredential},
      {"ask_key_nobody_" + std::string(64, '0'), {}, AuthReason::kUnknownKey},
      {alice_.substr(0, alice_.size() - 1) + (alice_.back() == '0' ? "1" : "0"),
       {},
       AuthReason::kWrongSecret},
      {revoked_, {}, AuthReason::kKeyRevoked},
      {expired_, {}, AuthReason::kKeyExpired},
      {ghost_, {}, AuthReason::kUnknownPrincipal},
      {alice_, {Channel::kApi, "org_nope"}, AuthReason::kUnknownOrg},
      {zed_, {Channel::kApi, "org_a"}, AuthReason::kCrossOrg},
      {judy_, {}, AuthReason::kPrincipalDeleted},
      {ivan_, {}, AuthReason::kPrincipalInvited},
      {mismatch_, {}, AuthReason::kKeyKindMismatch},
      {ci_, {Channel::kConsole, ""}, AuthReason::kServiceAccountConsole},
  };
  for (const Case& c : cases) {
    const Authentication a = Auth(c.credential, c.context);
    EXPECT_EQ(a.reason, c.reason)
        << AuthReasonName(a.reason) << " for " << c.credential.substr(0, 20);
    EXPECT_FALSE(a.authenticated());
    EXPECT_EQ(a.principal_index, AuthResult::kNoPrincipal);
    EXPECT_EQ(a.revision, 7u);
  }
  // Nothing about the key is told before the secret matches.
  const Authentication wrong = Auth(judy_.substr(0, judy_.size() - 1) +
                                    (judy_.back() == 'a' ? "b" : "a"));
  EXPECT_EQ(wrong.reason, AuthReason::kWrongSecret);
  EXPECT_TRUE(wrong.principal_id.empty());
}

TEST_F(EngineAuthenticateTest,
       SsoRequiredForTheVerifiedDomainFollowsTheOption) {
  v1::IdentitySettings* s = state_.add_identity_settings();
  s->set_org_id("org_a");
  s->set_sso_mode(v1::SSO_MODE_REQUIRED);
  s->add_domains()->set_domain("acme.com");
  s->mutable_domains(0)->set_verified(true);
  Compile();
  EXPECT_TRUE(Auth(alice_).authenticated());  // kAllowAllKeys by default
  EngineOptions options;
  options.identity.user_keys_under_required_sso =
      SsoKeyPolicy::kCliLoginKeysOnly;
  Compile(options);
  EXPECT_EQ(Auth(alice_).reason, AuthReason::kSsoRequired);
  EXPECT_TRUE(Auth(bob_cli_).authenticated());  // a CLI login key
  EXPECT_TRUE(Auth(ci_).authenticated());       // never subject to SSO
  options.identity.user_keys_under_required_sso = SsoKeyPolicy::kNoUserKeys;
  Compile(options);
  EXPECT_EQ(Auth(bob_cli_).reason, AuthReason::kSsoRequired);
}

TEST_F(EngineAuthenticateTest, ExpiryIsJudgedAtTheEnginesClockAndItsOptions) {
  auto clock = std::make_shared<testing::FakeClock>(IdentityNow());
  EngineOptions options;
  options.clock = clock;
  options.identity.cli_login_key_ttl = absl::Hours(2);
  Compile(options);
  // Created an hour before IdentityNow(): a 2 h CLI login key has an hour
  // left.
  Authentication a = engine_->Authenticate(bob_cli_);
  ASSERT_TRUE(a.authenticated()) << AuthReasonName(a.reason);
  EXPECT_EQ(a.valid_until, IdentityNow() + absl::Hours(1));
  clock->Advance(absl::Hours(1));
  EXPECT_EQ(engine_->Authenticate(bob_cli_).reason, AuthReason::kKeyExpired);
  EXPECT_TRUE(engine_->Authenticate(alice_).authenticated());
}

TEST_F(EngineAuthenticateTest, CreateRefusesMalformedKeyRecordsNamingTheField) {
  state_.mutable_api_keys(1)->set_salt("short");
  absl::StatusOr<std::unique_ptr<const Engine>> e = Engine::Create(state_);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("api_keys[1].salt: 5 bytes; a salt is 16 to 64 bytes"));
  EXPECT_FALSE(Engine::Validate(state_).empty());
  state_ = IdentityTestState();
  AddKey(&state_, "key_x", "usr_zed", v1::API_KEY_KIND_USER);
  state_.mutable_api_keys(0)->set_org_id("org_a");
  e = Engine::Create(state_);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("api_keys[0].org_id: \"org_a\" but principal "
                        "\"usr_zed\" belongs to organization \"org_b\""));
}

TEST_F(EngineAuthenticateTest, AnEngineWithoutKeysSaysUnknownKey) {
  auto e = Engine::Create(IdentityTestState());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->Authenticate(alice_, IdentityNow()).reason,
            AuthReason::kUnknownKey);
  EXPECT_EQ((*e)->Authenticate("", IdentityNow()).reason,
            AuthReason::kMalformedCredential);
}

// ---- Through the store ----

v1::Transaction Txn(const std::string& text) {
  v1::Transaction t;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &t)) << text;
  if (!t.metadata().has_time())
    SetTime(IdentityNow(), t.mutable_metadata()->mutable_time());
  return t;
}

TEST(EngineAuthenticateStoreTest, PublishedEnginesReflectRevocationsAtOnce) {
  auto clock = std::make_shared<testing::FakeClock>(IdentityNow());
  PolicyStoreOptions options;
  options.clock = clock;
  options.engine.clock = clock;
  auto store = PolicyStore::Create(IdentityTestState(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  PolicyStore& s = **store;

  auto applied = s.Apply(Txn(R"(actor: "usr_alice"
      mutations { create_api_key { principal: "ci" } }
      mutations { create_api_key { name: "laptop" } })"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  // Keys alone: published on the same snapshot, its key index updated.
  EXPECT_TRUE(applied->incremental);
  ASSERT_EQ(applied->identity.keys.size(), 2u);
  const std::string ci(applied->identity.keys[0].credential->Reveal());
  const std::string alice(applied->identity.keys[1].credential->Reveal());
  const std::string ci_id = applied->identity.keys[0].key_id;
  Authentication a = s.engine()->Authenticate(ci);
  ASSERT_TRUE(a.authenticated()) << AuthReasonName(a.reason);
  EXPECT_EQ(a.principal_id, "sa_ci");
  EXPECT_EQ(a.revision, applied->revision);
  EXPECT_TRUE(s.engine()->Authenticate(alice).authenticated());

  // A grant change is published incrementally: the keys stay, and the
  // handle a key gives sees the new grant.
  applied = s.Apply(Txn(R"(actor: "usr_alice"
      mutations { set_project_member { project: "prj_a1" principal: "sa_ci"
                                       role: "project_write" } })"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->incremental);
  std::shared_ptr<const Engine> engine = s.engine();
  a = engine->Authenticate(ci);
  ASSERT_TRUE(a.authenticated()) << AuthReasonName(a.reason);
  EXPECT_EQ(a.revision, applied->revision);
  EXPECT_TRUE(engine
                  ->Check(a.principal,
                          *engine->FindPermission("project.workload.create"),
                          *engine->FindResource("prj_a1"))
                  .allowed());

  // Revoked: refused by the next engine, while the old one still answers
  // for its own revision.
  applied = s.Apply(Txn(absl::StrCat(
      R"(actor: "usr_alice" mutations { revoke_api_key { key_id: ")", ci_id,
      R"(" } })")));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_TRUE(applied->incremental);
  EXPECT_EQ(s.engine()->Authenticate(ci).reason, AuthReason::kKeyRevoked);
  EXPECT_TRUE(engine->Authenticate(ci).authenticated());
  // Handles of the engine before stay valid in the one after.
  EXPECT_TRUE(s.engine()
                  ->Check(a.principal,
                          *engine->FindPermission("project.workload.create"),
                          *engine->FindResource("prj_a1"))
                  .allowed());

  // Rotated: the old key stops, the new one works.
  applied = s.Apply(Txn(R"(actor: "usr_alice"
      mutations { rotate_api_keys { } })"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ(applied->identity.keys.size(), 1u);
  const std::string rotated(applied->identity.keys[0].credential->Reveal());
  EXPECT_EQ(s.engine()->Authenticate(alice).reason, AuthReason::kKeyRevoked);
  EXPECT_TRUE(s.engine()->Authenticate(rotated).authenticated());

  // The user removed: every key of theirs refused, whatever it was.
  applied = s.Apply(Txn(R"(actor: "usr_alice"
      mutations { create_api_key { principal: "ci" } })"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  const std::string ci2(applied->identity.keys[0].credential->Reveal());
  applied = s.Apply(Txn(R"(actor: "usr_alice"
      mutations { delete_service_account { principal: "ci" } })"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(s.engine()->Authenticate(ci2).reason, AuthReason::kKeyRevoked);

  // Expiry follows the engine's clock.
  applied = s.Apply(Txn(R"(actor: "usr_bob"
      mutations { create_api_key { kind: API_KEY_KIND_CLI_LOGIN } })"));
  ASSERT_TRUE(applied.ok()) << applied.status();
  const std::string cli(applied->identity.keys[0].credential->Reveal());
  EXPECT_EQ(applied->identity.keys[0].expires_at,
            IdentityNow() + absl::Hours(7 * 24));
  EXPECT_TRUE(s.engine()->Authenticate(cli).authenticated());
  clock->Advance(absl::Hours(7 * 24));
  EXPECT_EQ(s.engine()->Authenticate(cli).reason, AuthReason::kKeyExpired);
}

// ---- Differential: random key lifecycles through the store ----

// Random key mutations (create, revoke, rotate, revoke all, users removed,
// grant changes) through a PolicyStore; after each, every credential ever
// issued authenticates on the published engine exactly as on a full
// compile of the store's state, with the same principal handle. Most
// publishes take the keys-only path (tiers over the full index), and enough
// of them to fill every tier and rebuild the full index.
TEST(EngineAuthenticateStoreTest, KeyLifecyclesMatchAFullCompile) {
  const int steps = EnvInt("ARBITER_AUTH_STORE_STEPS", 700);
  const uint64_t seed = 20261220;
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t k) { return rng() % k; };
  auto clock = std::make_shared<testing::FakeClock>(IdentityNow());
  PolicyStoreOptions options;
  options.clock = clock;
  options.engine.clock = clock;
  options.engine.identity.cli_login_key_ttl = absl::Hours(6);
  v1::PolicySet state = IdentityTestState();
  for (int i = 0; i < 6; ++i) {  // more users holding keys
    v1::Principal* p = state.add_principals();
    p->set_id(absl::StrCat("usr_extra", i));
    p->set_org_id("org_a");
    p->set_kind(v1::PRINCIPAL_KIND_USER);
    p->set_email(absl::StrCat("extra", i, "@acme.com"));
  }
  auto store = PolicyStore::Create(state, options);
  ASSERT_TRUE(store.ok()) << store.status();
  PolicyStore& s = **store;
  std::vector<std::string> users = {"usr_bob", "usr_carol", "usr_alice"};
  for (int i = 0; i < 6; ++i) users.push_back(absl::StrCat("usr_extra", i));
  std::vector<std::string> credentials, key_ids;
  size_t applied_count = 0, keys_only = 0, compared = 0, max_tier_keys = 0;
  int failures = 0;
  for (int step = 0; step < steps && failures < 3; ++step) {
    v1::Transaction t;
    SetTime(clock->Now(), t.mutable_metadata()->mutable_time());
    const std::string user = users[below(users.size())];
    const uint64_t op = below(20);
    if (op < 9) {  // a key of one's own, or of the service account
      const bool sa = below(4) == 0;
      t.set_actor(sa ? "usr_alice" : user);
      auto* m = t.add_mutations()->mutable_create_api_key();
      if (sa) m->set_principal("ci");
      if (!sa && below(3) == 0) m->set_kind(v1::API_KEY_KIND_CLI_LOGIN);
      if (!sa) m->set_name(absl::StrCat("k", step));
    } else if (op < 13 && !key_ids.empty()) {
      t.set_actor("usr_alice");
      t.add_mutations()->mutable_revoke_api_key()->set_key_id(
          key_ids[below(key_ids.size())]);
    } else if (op < 15) {
      t.set_actor(user);
      auto* m = t.add_mutations()->mutable_rotate_api_keys();
      m->set_name(absl::StrCat("r", step));
    } else if (op < 16) {
      t.set_actor(user);
      t.add_mutations()->mutable_revoke_api_keys();
    } else if (op < 17 && user != "usr_alice" && step > steps * 3 / 4 &&
               below(2) == 0) {
      t.set_actor("usr_alice");
      t.add_mutations()->mutable_remove_user()->set_principal(user);
    } else if (op < 19) {
      t.set_actor("usr_alice");
      auto* m = t.add_mutations()->mutable_set_cloud_member();
      m->set_cloud("cld_a2");
      m->set_principal(user == "usr_alice" ? "usr_bob" : user);
      m->set_role(below(2) ? "cloud_collaborator" : "cloud_writer");
    } else {
      clock->Advance(absl::Hours(below(4)));
      continue;
    }
    absl::StatusOr<AppliedTransaction> a = s.Apply(t);
    if (!a.ok()) continue;
    ++applied_count;
    for (const IssuedKey& k : a->identity.keys) {
      credentials.push_back(std::string(k.credential->Reveal()));
      key_ids.push_back(k.key_id);
    }
    const v1::StateDelta& d = a->delta;
    const std::shared_ptr<const Engine> engine = s.engine();
    if (a->incremental && d.put_api_keys_size() > 0) {
      ++keys_only;
      const internal::EngineKeys* keys =
          internal::EngineKeys::Of(EngineFriendAccess::State(*engine));
      ASSERT_NE(keys, nullptr);
      max_tier_keys = std::max(max_tier_keys, keys->num_tier_keys());
    }
    auto full = Engine::Create(s.StateCopy(), options.engine);
    ASSERT_TRUE(full.ok()) << full.status();
    // Every credential every 50 steps; else the newest 40 and 40 others.
    std::vector<std::string> sample;
    if (step % 50 == 0 || credentials.size() <= 80) {
      sample = credentials;
    } else {
      sample.assign(credentials.end() - 40, credentials.end());
      for (int i = 0; i < 40; ++i) {
        sample.push_back(credentials[below(credentials.size())]);
      }
    }
    for (const std::string& c : sample) {
      const Authentication got = engine->Authenticate(c);
      const Authentication want = (*full)->Authenticate(c);
      ++compared;
      if (got.reason != want.reason || got.principal_id != want.principal_id ||
          got.principal_index != want.principal_index ||
          got.valid_until != want.valid_until ||
          got.revision != want.revision) {
        ++failures;
        ADD_FAILURE() << "MISMATCH seed " << seed << " step " << step << ": "
                      << AuthReasonName(got.reason) << " " << got.principal_id
                      << " vs a full compile's " << AuthReasonName(want.reason)
                      << " " << want.principal_id;
        break;
      }
    }
  }
  std::printf(
      "%zu transactions applied, %zu published keys-only (at most "
      "%zu keys in tiers), %zu authentications compared\n",
      applied_count, keys_only, max_tier_keys, compared);
  EXPECT_EQ(failures, 0) << "seed " << seed;
  EXPECT_GT(keys_only, 300u);
  EXPECT_GT(max_tier_keys, 16u);  // tier 1 reached
}

// The keys-only path alone, many times over (EngineKeys::DeriveEngine on
// the engine it made last, with random creations and revocations): every
// tier fills and the full index is rebuilt several times, and the result
// always authenticates as a full compile of the same state does.
TEST(EngineAuthenticateStoreTest, DerivedKeyIndexesMatchAFullCompile) {
  const int steps = EnvInt("ARBITER_AUTH_DERIVE_STEPS", 4000);
  const uint64_t seed = 20261221;
  std::mt19937_64 rng(seed);
  auto below = [&](uint64_t k) { return rng() % k; };
  v1::PolicySet state = IdentityTestState();
  const std::vector<std::string> holders = {
      "usr_alice", "usr_bob",   "usr_carol", "usr_judy",
      "usr_ivan",  "usr_ghost", "sa_ci"};
  std::vector<std::string> credentials;
  auto mint = [&](const std::string& id) -> v1::ApiKey {
    const std::string& p = holders[below(holders.size())];
    absl::StatusOr<MintedKey> m = MintApiKey(
        id, p,
        p == "sa_ci" ? v1::API_KEY_KIND_SERVICE_ACCOUNT
                     : static_cast<v1::ApiKeyKind>(2 + below(2)),
        "", IdentityNow() - absl::Hours(below(200)), absl::InfiniteFuture());
    EXPECT_TRUE(m.ok());
    credentials.push_back(std::string(m->credential.Reveal()));
    return m->record;
  };
  for (int i = 0; i < 300; ++i)
    *state.add_api_keys() = mint(absl::StrCat("key_base", i));
  auto created = Engine::Create(state);
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<const Engine> engine = std::move(*created);
  int rebuilds = 0, failures = 0;
  for (int step = 0; step < steps && failures < 3; ++step) {
    v1::StateDelta delta;
    delta.set_base_revision(state.revision());
    delta.set_revision(state.revision() + 1);
    const int changes = 1 + below(3);
    for (int c = 0; c < changes; ++c) {
      if (below(3) == 0) {  // revoke a random key
        v1::ApiKey* k = state.mutable_api_keys(below(state.api_keys_size()));
        if (k->has_revoked_at()) continue;
        SetTime(IdentityNow(), k->mutable_revoked_at());
        *delta.add_put_api_keys() = *k;
      } else {
        v1::ApiKey k = mint(absl::StrCat("key_", step, "_", c));
        *state.add_api_keys() = k;
        *delta.add_put_api_keys() = k;
      }
    }
    state.set_revision(delta.revision());
    absl::StatusOr<std::shared_ptr<const Engine>> next =
        internal::EngineKeys::DeriveEngine(*engine, state, delta,
                                           state.revision());
    ASSERT_TRUE(next.ok()) << next.status();
    engine = *std::move(next);
    const internal::EngineKeys* keys =
        internal::EngineKeys::Of(EngineFriendAccess::State(*engine));
    ASSERT_NE(keys, nullptr);
    rebuilds += !keys->derived();
    if (step % 40 != 0 && step != steps - 1) continue;
    auto full = Engine::Create(state);
    ASSERT_TRUE(full.ok()) << full.status();
    for (const std::string& c : credentials) {
      std::string probe = c;
      if (below(4) == 0) probe.back() = probe.back() == '0' ? '1' : '0';
      const Authentication got = engine->Authenticate(probe, IdentityNow());
      const Authentication want = (*full)->Authenticate(probe, IdentityNow());
      if (got.reason != want.reason || got.principal_id != want.principal_id ||
          got.principal_index != want.principal_index) {
        ++failures;
        ADD_FAILURE() << "MISMATCH seed " << seed << " step " << step << ": "
                      << AuthReasonName(got.reason) << " vs a full compile's "
                      << AuthReasonName(want.reason);
        break;
      }
    }
  }
  std::printf(
      "%d derived publishes, %d of them rebuilding the full index, "
      "%zu keys\n",
      steps, rebuilds, credentials.size());
  EXPECT_EQ(failures, 0) << "seed " << seed;
  EXPECT_GE(rebuilds, 2);
}

// ---- Differential: random key sets against a naive reference ----

struct RefKey {
  std::string id, principal;
  v1::ApiKeyKind kind;
  std::string salt, hash;
  bool revoked = false;
  bool has_created = true;
  absl::Time created, expires = absl::InfiniteFuture();
};

// docs/identity.md, "Authenticate", step by step, with nothing indexed.
AuthReason Reference(const v1::PolicySet& state, const IdentityOptions& o,
                     const std::string& credential, absl::Time now,
                     const AuthContext& context, std::string* principal) {
  principal->clear();
  // 1. ask_<id>_<64 lower-case hex>, id 1..64 of [A-Za-z0-9_-].
  if (credential.size() < 4 + 1 + 1 + 64 || credential.rfind("ask_", 0) != 0) {
    return AuthReason::kMalformedCredential;
  }
  const std::string hex = credential.substr(credential.size() - 64);
  if (credential[credential.size() - 65] != '_') {
    return AuthReason::kMalformedCredential;
  }
  const std::string id = credential.substr(4, credential.size() - 65 - 4);
  if (id.empty() || id.size() > 64) return AuthReason::kMalformedCredential;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return AuthReason::kMalformedCredential;
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return AuthReason::kMalformedCredential;
  }
  const std::string secret = absl::HexStringToBytes(hex);
  // 2. the record.
  const v1::ApiKey* key = nullptr;
  for (const v1::ApiKey& k : state.api_keys()) {
    if (k.id() == id) key = &k;
  }
  if (key == nullptr) return AuthReason::kUnknownKey;
  // 3. SHA-256(salt || secret).
  const std::string input = key->salt() + secret;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         digest);
  if (key->secret_hash() !=
      std::string(reinterpret_cast<char*>(digest), sizeof(digest))) {
    return AuthReason::kWrongSecret;
  }
  // 4, 5.
  if (key->has_revoked_at()) return AuthReason::kKeyRevoked;
  absl::Time expires = key->has_expires_at()
                           ? absl::FromUnixSeconds(key->expires_at().seconds())
                           : absl::InfiniteFuture();
  if (key->kind() == v1::API_KEY_KIND_CLI_LOGIN) {
    expires = std::min(
        expires, key->has_created_at()
                     ? absl::FromUnixSeconds(key->created_at().seconds()) +
                           o.cli_login_key_ttl
                     : absl::InfinitePast());
  }
  if (now >= expires) return AuthReason::kKeyExpired;
  // 6.
  const v1::Principal* p = nullptr;
  for (const v1::Principal& x : state.principals()) {
    if (x.id() == key->principal_id()) p = &x;
  }
  bool org_known = false;
  for (const v1::Organization& org : state.organizations()) {
    org_known |= p != nullptr && org.id() == p->org_id();
  }
  if (p == nullptr || !org_known) return AuthReason::kUnknownPrincipal;
  // 7.
  if (!context.org.empty()) {
    bool exists = false;
    for (const v1::Organization& org : state.organizations()) {
      exists |= org.id() == context.org;
    }
    if (!exists) return AuthReason::kUnknownOrg;
    if (context.org != p->org_id()) return AuthReason::kCrossOrg;
  }
  // 8.
  if (p->state() == v1::PRINCIPAL_STATE_DELETED) {
    return AuthReason::kPrincipalDeleted;
  }
  if (p->state() != v1::PRINCIPAL_STATE_ACTIVE &&
      p->state() != v1::PRINCIPAL_STATE_UNSPECIFIED) {
    return AuthReason::kPrincipalInvited;
  }
  // 9, 10.
  const bool sa = p->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
  if (sa != (key->kind() == v1::API_KEY_KIND_SERVICE_ACCOUNT)) {
    return AuthReason::kKeyKindMismatch;
  }
  if (sa && context.channel == Channel::kConsole) {
    return AuthReason::kServiceAccountConsole;
  }
  // 11.
  if (!sa) {
    bool sso = false;
    const std::string domain = p->email().substr(p->email().find('@') + 1);
    for (const v1::IdentitySettings& s : state.identity_settings()) {
      if (s.org_id() != p->org_id()) continue;
      const bool enforced = s.sso_mode() == v1::SSO_MODE_REQUIRED ||
                            (s.sso_mode() == v1::SSO_MODE_OPTIONAL &&
                             o.enforce_sso_in_optional_mode);
      for (const v1::SsoDomain& d : s.domains()) {
        sso |= enforced && d.verified() && d.domain() == domain;
      }
    }
    if (sso &&
        (o.user_keys_under_required_sso == SsoKeyPolicy::kNoUserKeys ||
         (o.user_keys_under_required_sso == SsoKeyPolicy::kCliLoginKeysOnly &&
          key->kind() != v1::API_KEY_KIND_CLI_LOGIN))) {
      return AuthReason::kSsoRequired;
    }
  }
  *principal = p->id();
  return AuthReason::kAuthenticated;
}

TEST(EngineAuthenticateDifferentialTest, MatchesANaiveReference) {
  const int seeds = EnvInt("ARBITER_AUTH_SEEDS", 60);
  const int queries = EnvInt("ARBITER_AUTH_QUERIES", 300);
  const uint64_t base = 20261219;
  int failures = 0;
  size_t checked = 0;
  std::map<AuthReason, int> seen;
  for (int n = 0; n < seeds && failures < 3; ++n) {
    const uint64_t seed = base + n;
    std::mt19937_64 rng(seed);
    auto below = [&](uint64_t k) { return rng() % k; };
    v1::PolicySet state;
    state.set_revision(1 + below(100));
    const int orgs = 1 + below(3);
    for (int o = 0; o < orgs; ++o) {
      state.add_organizations()->set_id(absl::StrCat("org_", o));
    }
    // Principals: users in domains d0..d2 and service accounts, any state.
    const int principals = 2 + below(12);
    for (int i = 0; i < principals; ++i) {
      v1::Principal* p = state.add_principals();
      p->set_id(absl::StrCat("p", i));
      p->set_org_id(absl::StrCat("org_", below(orgs)));
      const bool sa = below(4) == 0;
      p->set_kind(sa ? v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                     : v1::PRINCIPAL_KIND_USER);
      p->set_email(sa ? absl::StrCat("sa", i, "@", p->org_id(), ".sa.io")
                      : absl::StrCat("u", i, "@d", below(3), ".com"));
      const uint64_t st = below(8);
      p->set_state(st == 0   ? v1::PRINCIPAL_STATE_DELETED
                   : st == 1 ? v1::PRINCIPAL_STATE_INVITED
                   : st == 2 ? v1::PRINCIPAL_STATE_UNSPECIFIED
                             : v1::PRINCIPAL_STATE_ACTIVE);
    }
    // SSO settings: each org maybe, verifying a distinct domain.
    for (int o = 0; o < orgs && o < 3; ++o) {
      if (below(2) == 0) continue;
      v1::IdentitySettings* s = state.add_identity_settings();
      s->set_org_id(absl::StrCat("org_", o));
      s->set_sso_mode(static_cast<v1::SsoMode>(below(3)));
      v1::SsoDomain* d = s->add_domains();
      d->set_domain(absl::StrCat("d", o, ".com"));
      d->set_verified(below(3) != 0);
    }
    const absl::Time now = IdentityNow() + absl::Seconds(below(3 * 86400));
    IdentityOptions o;
    o.cli_login_key_ttl = absl::Hours(1 + below(72));
    o.enforce_sso_in_optional_mode = below(2) == 0;
    o.user_keys_under_required_sso = static_cast<SsoKeyPolicy>(below(3));
    std::vector<std::string> credentials;
    const int keys = 1 + below(30);
    for (int k = 0; k < keys; ++k) {
      const std::string principal =
          below(10) == 0 ? "p_missing" : absl::StrCat("p", below(principals));
      const v1::ApiKeyKind kind = static_cast<v1::ApiKeyKind>(1 + below(3));
      const absl::Time created = IdentityNow() - absl::Hours(below(100));
      const absl::Time expires = below(3) == 0
                                     ? IdentityNow() + absl::Hours(below(100))
                                     : absl::InfiniteFuture();
      absl::StatusOr<MintedKey> m =
          MintApiKey(absl::StrCat("k_", seed % 1000, "_", k), principal, kind,
                     "", created, expires);
      ASSERT_TRUE(m.ok()) << m.status();
      if (below(5) == 0) SetTime(created, m->record.mutable_revoked_at());
      if (kind == v1::API_KEY_KIND_CLI_LOGIN && below(8) == 0) {
        m->record.clear_created_at();
      }
      *state.add_api_keys() = m->record;
      credentials.push_back(std::string(m->credential.Reveal()));
    }
    EngineOptions options;
    options.identity = o;
    auto engine = Engine::Create(state, options);
    ASSERT_TRUE(engine.ok()) << "seed " << seed << ": " << engine.status();
    for (int q = 0; q < queries && failures < 3; ++q) {
      std::string c = credentials[below(credentials.size())];
      switch (below(8)) {
        case 0:  // a wrong secret
          c.back() = c.back() == '0' ? '1' : '0';
          break;
        case 1:  // an unknown id
          c.insert(4, "x");
          break;
        case 2:  // malformed
          c[below(c.size())] = below(2) ? 'Z' : ' ';
          break;
        default:
          break;
      }
      AuthContext context;
      context.channel = below(4) == 0 ? Channel::kConsole : Channel::kApi;
      const std::string org =
          below(3) == 0 ? absl::StrCat("org_", below(orgs + 1)) : "";
      context.org = org;
      std::string want_principal;
      const AuthReason want =
          Reference(state, o, c, now, context, &want_principal);
      const Authentication got = (*engine)->Authenticate(c, now, context);
      ++checked;
      ++seen[want];
      bool ok = got.reason == want;
      if (ok && want == AuthReason::kAuthenticated) {
        const absl::optional<PrincipalRef> ref =
            (*engine)->FindPrincipal(want_principal);
        ok = got.principal_id == want_principal && ref.has_value() &&
             got.principal.index() == ref->index() &&
             got.principal_index == ref->index();
      }
      if (!ok) {
        ++failures;
        ADD_FAILURE() << "MISMATCH seed " << seed << " query " << q
                      << ": reference " << AuthReasonName(want) << " "
                      << want_principal << ", engine "
                      << AuthReasonName(got.reason) << " " << got.principal_id
                      << " (org \"" << org << "\")";
      }
    }
  }
  EXPECT_EQ(failures, 0) << "base seed " << base;
  std::printf("%zu authentications compared; by reason:", checked);
  for (const auto& [reason, count] : seen) {
    std::printf(" %s=%d", std::string(AuthReasonName(reason)).c_str(), count);
  }
  std::printf("\n");
  // The random sets reach the interesting reasons.
  for (AuthReason r :
       {AuthReason::kAuthenticated, AuthReason::kWrongSecret,
        AuthReason::kKeyRevoked, AuthReason::kKeyExpired,
        AuthReason::kPrincipalDeleted, AuthReason::kPrincipalInvited,
        AuthReason::kKeyKindMismatch, AuthReason::kCrossOrg,
        AuthReason::kSsoRequired, AuthReason::kUnknownPrincipal}) {
    EXPECT_GT(seen[r], 0) << AuthReasonName(r);
  }
}

}  // namespace
}  // namespace arbiter
