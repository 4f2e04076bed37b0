// KeyIndex::Authenticate and AuthenticateLogin allocate nothing: neither
// through operator new (tests/testing/allocation_counter.h) nor through
// OpenSSL's allocator (CRYPTO_set_mem_functions, installed before OpenSSL's
// first allocation), for every outcome.
//
// This binary replaces operator new, so it is left out of sanitizer builds.

#include <openssl/crypto.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "arbiter/identity.h"
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

volatile int benchmark_sink_ = 0;

TEST(IdentityAllocationTest, AuthenticateAndLoginAllocateNothing) {
  ASSERT_TRUE(g_hooked) << "OpenSSL allocated before the hook was installed";
  v1::PolicySet state = testing::IdentityTestState();
  v1::IdentitySettings* sso = state.add_identity_settings();
  sso->set_org_id("org_a");
  sso->set_sso_mode(v1::SSO_MODE_REQUIRED);
  v1::SsoDomain* d = sso->add_domains();
  d->set_domain("acme.com");
  d->set_verified(true);

  std::map<std::string, std::string> credentials;
  auto add = [&](const std::string& label, const std::string& principal,
                 v1::ApiKeyKind kind, absl::Time expires) {
    absl::StatusOr<MintedKey> k =
        MintApiKey("key_" + label, principal, kind, label,
                   IdentityNow() - absl::Hours(1), expires);
    ASSERT_TRUE(k.ok());
    *state.add_api_keys() = k->record;
    credentials[label] = std::string(k->credential.Reveal());
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

  IdentityOptions options;
  options.user_keys_under_required_sso = SsoKeyPolicy::kCliLoginKeysOnly;
  auto index = KeyIndex::Create(state, options);
  ASSERT_TRUE(index.ok()) << index.status();

  std::vector<std::string> inputs;
  for (const auto& [label, c] : credentials) {
    inputs.push_back(c);
    std::string wrong = c;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    inputs.push_back(wrong);
  }
  std::string unknown = credentials["alice"];
  unknown.replace(4, 9, "key_zzzzz");
  inputs.push_back(unknown);
  inputs.push_back("not a credential");
  inputs.push_back("");
  const std::vector<AuthContext> contexts = {{},
                                             {Channel::kConsole, {}},
                                             {Channel::kApi, "org_a"},
                                             {Channel::kApi, "org_b"},
                                             {Channel::kApi, "org_nope"}};
  const std::vector<std::string> emails = {
      "alice@acme.com",      "ALICE@ACME.COM",
      "carol@contractor.io", "ci@org-a.serviceaccount.com",
      "ivan@acme.com",       "judy@acme.com",
      "nobody@acme.com",     std::string(400, 'x')};

  // Warm up (first use of anything lazily initialized), then count.
  long reasons_seen = 0;
  for (int round = 0; round < 2; ++round) {
    const long before = testing::AllocationCount();
    const long ssl_before = g_openssl_allocations.load();
    uint32_t seen = 0;
    for (const std::string& in : inputs) {
      for (const AuthContext& ctx : contexts) {
        seen |= 1u << static_cast<int>(
                    (*index)->Authenticate(in, IdentityNow(), ctx).reason);
      }
    }
    for (const std::string& email : emails) {
      for (LoginMethod m : {LoginMethod::kPassword, LoginMethod::kSso}) {
        seen |= 1u << static_cast<int>(
                    (*index)->AuthenticateLogin("org_a", email, m).reason);
      }
      benchmark_sink_ += (*index)->SsoRequiredFor("org_a", email);
    }
    if (round == 1) {
      EXPECT_EQ(testing::AllocationCount() - before, 0);
      EXPECT_EQ(g_openssl_allocations.load() - ssl_before, 0);
      reasons_seen = __builtin_popcount(seen);
    }
  }
  // Every reason but kInternalError and kSsoNotConfigured was exercised.
  EXPECT_EQ(reasons_seen, static_cast<int>(AuthReason::kInternalError) + 1 - 2);
}

}  // namespace
}  // namespace arbiter
