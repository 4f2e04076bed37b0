// Engine::Authenticate allocates nothing, through operator new
// (tests/testing/allocation_counter.h) or OpenSSL's allocator, for every
// outcome, on both overloads (the explicit instant and the Engine's clock),
// on a compiled engine and on one a PolicyStore published incrementally;
// and Check on the handle it returns allocates nothing either.
//
// This binary replaces operator new, so it is left out of sanitizer builds.

#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "arbiter/engine.h"
#include "arbiter/policy_store.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/identity/identity_fixtures.h"
#include "tests/testing/allocation_counter.h"

namespace arbiter {
namespace {

std::atomic<long> g_openssl_allocations{0};

void* CountingMalloc(size_t n, const char*, int) {
  g_openssl_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n);
}
void* CountingRealloc(void* p, size_t n, const char*, int) {
  g_openssl_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::realloc(p, n);
}
void CountingFree(void* p, const char*, int) { std::free(p); }

// Before main, hence before OpenSSL's first allocation.
const bool g_hooked = CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc,
                                               CountingFree) == 1;

using testing::IdentityNow;

volatile int g_sink = 0;

// Authenticates every input in every context twice and returns the
// allocations of the second round (the first warms lazy initializations),
// and the set of reasons seen.
void Count(const Engine& engine, const std::vector<std::string>& inputs,
           long* allocations, long* ssl_allocations, uint32_t* reasons) {
  const std::vector<AuthContext> contexts = {{},
                                             {Channel::kConsole, {}},
                                             {Channel::kApi, "org_a"},
                                             {Channel::kApi, "org_b"},
                                             {Channel::kApi, "org_nope"}};
  const PermissionRef perm = *engine.FindPermission("cloud.view");
  const ResourceRef cloud = *engine.FindResource("cld_a1");
  for (int round = 0; round < 2; ++round) {
    const long before = testing::AllocationCount();
    const long ssl_before = g_openssl_allocations.load();
    uint32_t seen = 0;
    for (const std::string& in : inputs) {
      for (const AuthContext& ctx : contexts) {
        const Authentication a = engine.Authenticate(in, IdentityNow(), ctx);
        seen |= 1u << static_cast<int>(a.reason);
        const Authentication b = engine.Authenticate(in, ctx);
        seen |= 1u << static_cast<int>(b.reason);
        if (a.authenticated()) {
          g_sink = g_sink + engine.Check(a.principal, perm, cloud).allowed();
        }
      }
    }
    *allocations = testing::AllocationCount() - before;
    *ssl_allocations = g_openssl_allocations.load() - ssl_before;
    *reasons = seen;
  }
}

TEST(AuthenticateAllocationTest, AuthenticateAndCheckAllocateNothing) {
  ASSERT_TRUE(g_hooked) << "OpenSSL allocated before the hook was installed";
  v1::PolicySet state = testing::IdentityTestState();
  v1::IdentitySettings* sso = state.add_identity_settings();
  sso->set_org_id("org_a");
  sso->set_sso_mode(v1::SSO_MODE_REQUIRED);
  v1::SsoDomain* d = sso->add_domains();
  d->set_domain("acme.com");
  d->set_verified(true);
  std::vector<std::string> inputs;
  auto add = [&](const std::string& label, const std::string& principal,
                 v1::ApiKeyKind kind, absl::Time expires) {
    absl::StatusOr<MintedKey> k =
        MintApiKey("key_" + label, principal, kind, label,
                   IdentityNow() - absl::Hours(1), expires);
    ASSERT_TRUE(k.ok());
    *state.add_api_keys() = k->record;
    const std::string c(k->credential.Reveal());
    inputs.push_back(c);
    std::string wrong = c;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    inputs.push_back(wrong);
  };
  const absl::Time never = absl::InfiniteFuture();
  add("alice", "usr_alice", v1::API_KEY_KIND_USER, never);
  add("carol", "usr_carol", v1::API_KEY_KIND_USER, never);
  add("cli", "usr_bob", v1::API_KEY_KIND_CLI_LOGIN, never);
  add("ci", "sa_ci", v1::API_KEY_KIND_SERVICE_ACCOUNT, never);
  add("expired", "usr_bob", v1::API_KEY_KIND_USER, IdentityNow());
  add("judy", "usr_judy", v1::API_KEY_KIND_USER, never);
  add("ivan", "usr_ivan", v1::API_KEY_KIND_USER, never);
  add("ghost", "usr_ghost", v1::API_KEY_KIND_USER, never);
  add("zed", "usr_zed", v1::API_KEY_KIND_USER, never);
  add("mismatch", "usr_bob", v1::API_KEY_KIND_SERVICE_ACCOUNT, never);
  add("revoked", "usr_bob", v1::API_KEY_KIND_USER, never);
  state.mutable_api_keys(state.api_keys_size() - 1)
      ->mutable_revoked_at()
      ->set_seconds(1);
  inputs.push_back("ask_key_nobody_" + std::string(64, 'a'));
  inputs.push_back("not a credential");
  inputs.push_back("");

  EngineOptions options;
  options.identity.user_keys_under_required_sso =
      SsoKeyPolicy::kCliLoginKeysOnly;
  auto engine = Engine::Create(state, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  long allocations = -1, ssl = -1;
  uint32_t reasons = 0;
  Count(**engine, inputs, &allocations, &ssl, &reasons);
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(ssl, 0);
  // Every reason but kInternalError, kSsoNotConfigured and
  // kSsoDomainNotVerified (logins only).
  EXPECT_EQ(__builtin_popcount(reasons),
            static_cast<int>(AuthReason::kInternalError) + 1 - 3);

  // An engine a store published incrementally (a grant change).
  PolicyStoreOptions store_options;
  store_options.engine = options;
  auto store = PolicyStore::Create(state, store_options);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::Transaction txn;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(actor: "usr_alice"
         mutations { set_cloud_member { cloud: "cld_a2" principal: "usr_bob"
                                        role: "cloud_collaborator" } })",
      &txn));
  absl::StatusOr<AppliedTransaction> applied = (*store)->Apply(txn);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_TRUE(applied->incremental);
  const std::shared_ptr<const Engine> published = (*store)->engine();
  Count(*published, inputs, &allocations, &ssl, &reasons);
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(ssl, 0);
}

}  // namespace
}  // namespace arbiter
