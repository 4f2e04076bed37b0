// Authentication latency (arbiter/identity.h) on generated organizations
// (tests/testing/workload.h) with 10,000 API keys minted into the state
// (USER keys for users, SERVICE_ACCOUNT keys for service accounts, round
// robin over the principals).
//
//   BM_Authenticate/ok/<size>          a valid credential: parse, one hash
//                                      lookup of the key id, SHA-256 of
//                                      salt (16 B) || secret (32 B), a
//                                      constant-time compare, the principal.
//                                      Cycles through 4,096 distinct keys.
//   BM_Authenticate/wrong_secret/<size> the same keys with a wrong secret.
//   BM_Authenticate/unknown_key/<size> a well-formed credential of no key
//                                      (refused after the lookup, unhashed).
//   BM_Authenticate/malformed/<size>   refused while parsing.
//   BM_HashPresentedKey                 SHA-256 of one presented key alone
//                                      (the cost that dominates).
//   BM_ParseCredential                  parsing and hex-decoding alone.
//   BM_AuthenticateLogin/<size>         a password login by email.
//   BM_AuthenticateThenCheck/<size>     Authenticate, then Engine::Check by
//                                      handles on the same snapshot (the
//                                      request path end to end).
//   BM_KeyIndexCreate/<size>            compiling the index (10,000 keys).
//
// Run: ARBITER_BENCH_SIZES=M ./identity_benchmark
//        --benchmark_repetitions=9 --benchmark_report_aggregates_only=true

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/identity.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "src/identity/credential.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

using testing::WorkloadSize;

constexpr int kKeys = 10000;
constexpr size_t kQueries = 4096;  // a power of two: the loop masks

struct Fixture {
  v1::PolicySet state;
  std::unique_ptr<const KeyIndex> index;
  std::unique_ptr<const Engine> engine;
  std::vector<std::string> ok, wrong, unknown;
  std::vector<std::string> emails;
  PermissionRef permission;
  ResourceRef resource;
};

std::unique_ptr<Fixture> MakeFixture(WorkloadSize size) {
  auto f = std::make_unique<Fixture>();
  testing::Workload w = testing::GenerateWorkload(testing::SpecFor(size));
  f->state = std::move(w.policy);
  const absl::Time now = testing::WorkloadNow();
  std::vector<int> live;
  for (int i = 0; i < f->state.principals_size(); ++i) {
    const v1::PrincipalState s = f->state.principals(i).state();
    if (s == v1::PRINCIPAL_STATE_ACTIVE || s == v1::PRINCIPAL_STATE_UNSPECIFIED)
      live.push_back(i);
  }
  std::vector<std::string> all;
  for (int k = 0; k < kKeys; ++k) {
    const v1::Principal& p = f->state.principals(live[k % live.size()]);
    const bool sa = p.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
    absl::StatusOr<MintedKey> m = MintApiKey(
        absl::StrCat("key_", k), p.id(),
        sa ? v1::API_KEY_KIND_SERVICE_ACCOUNT : v1::API_KEY_KIND_USER,
        absl::StrCat("k", k), now - absl::Hours(1), absl::InfiniteFuture());
    if (!m.ok()) std::abort();
    *f->state.add_api_keys() = m->record;
    all.push_back(std::string(m->credential.Reveal()));
  }
  auto index = KeyIndex::Create(f->state);
  if (!index.ok()) {
    std::fprintf(stderr, "KeyIndex::Create: %s\n",
                 index.status().ToString().c_str());
    std::abort();
  }
  f->index = std::move(*index);
  auto engine = Engine::Create(f->state, testing::WorkloadEngineOptions());
  if (!engine.ok()) {
    std::fprintf(stderr, "Engine::Create: %s\n",
                 engine.status().ToString().c_str());
    std::abort();
  }
  f->engine = std::move(*engine);
  // 4,096 distinct keys spread over the table, in a scrambled order.
  for (size_t i = 0; i < kQueries; ++i) {
    const std::string& c = all[(i * 7919) % kKeys];
    f->ok.push_back(c);
    std::string wrong = c;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    f->wrong.push_back(wrong);
    std::string unknown = c;
    unknown.replace(4, 4, "kex_");  // key_N -> kex_N: no such id
    f->unknown.push_back(unknown);
    f->emails.push_back(
        f->state.principals(live[(i * 7919) % live.size()]).email());
  }
  f->permission = *f->engine->FindPermission("project.view");
  f->resource = *f->engine->FindResource(f->state.projects(0).id());
  return f;
}

bench::SizeCache<Fixture>& Cache() {
  static auto* cache = new bench::SizeCache<Fixture>(MakeFixture);
  return *cache;
}

const Fixture* Setup(benchmark::State& state, WorkloadSize size) {
  std::string why;
  const Fixture* f = Cache().Get(size, &why);
  if (f == nullptr) state.SkipWithError(why.c_str());
  return f;
}

enum Input { kOk, kWrong, kUnknown, kMalformed };

void Authenticate(benchmark::State& state, WorkloadSize size, Input input) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const std::vector<std::string> malformed(kQueries, "Bearer not-a-key");
  const std::vector<std::string>& q = input == kOk        ? f->ok
                                      : input == kWrong   ? f->wrong
                                      : input == kUnknown ? f->unknown
                                                          : malformed;
  const KeyIndex& index = *f->index;
  const absl::Time now = testing::WorkloadNow();
  const AuthReason expected = input == kOk      ? AuthReason::kAuthenticated
                              : input == kWrong ? AuthReason::kWrongSecret
                              : input == kUnknown
                                  ? AuthReason::kUnknownKey
                                  : AuthReason::kMalformedCredential;
  if (index.Authenticate(q[0], now).reason != expected) {
    state.SkipWithError("unexpected authentication result");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    AuthResult r = index.Authenticate(q[i], now);
    benchmark::DoNotOptimize(r);
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void HashPresentedKey(benchmark::State& state) {
  uint8_t salt[16] = {1, 2, 3}, secret[32] = {4, 5, 6}, out[32];
  for (auto _ : state) {
    secret[0]++;
    benchmark::DoNotOptimize(internal::HashSecret(salt, 16, secret, out));
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

void ParseCredential(benchmark::State& state) {
  absl::StatusOr<MintedKey> m =
      MintApiKey("key_1234", "p", v1::API_KEY_KIND_USER, "", absl::Now(),
                 absl::InfiniteFuture());
  const std::string c(m->credential.Reveal());
  for (auto _ : state) {
    absl::string_view id;
    uint8_t secret[32];
    benchmark::DoNotOptimize(internal::ParseCredential(c, &id, secret));
    benchmark::DoNotOptimize(secret);
  }
  state.SetItemsProcessed(state.iterations());
}

void AuthenticateLogin(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const KeyIndex& index = *f->index;
  const std::string org = f->state.organizations(0).id();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        index.AuthenticateLogin(org, f->emails[i], LoginMethod::kPassword));
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

// What an embedding service does per request: the key's principal, then a
// Check by handles on the same snapshot (PrincipalRef from the index's
// principal_index; today through FindPrincipal by id, until the Engine
// embeds the index).
void AuthenticateThenCheck(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const KeyIndex& index = *f->index;
  const Engine& engine = *f->engine;
  const absl::Time now = testing::WorkloadNow();
  size_t i = 0;
  for (auto _ : state) {
    AuthResult r = index.Authenticate(f->ok[i], now);
    absl::optional<PrincipalRef> p = engine.FindPrincipal(r.principal_id);
    benchmark::DoNotOptimize(
        engine.Check(p.value_or(PrincipalRef()), f->permission, f->resource));
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void KeyIndexCreate(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  for (auto _ : state) {
    auto index = KeyIndex::Create(f->state);
    benchmark::DoNotOptimize(index);
  }
}

void Register(WorkloadSize size) {
  const std::string s(testing::WorkloadSizeName(size));
  struct {
    const char* name;
    Input input;
  } const inputs[] = {{"ok", kOk},
                      {"wrong_secret", kWrong},
                      {"unknown_key", kUnknown},
                      {"malformed", kMalformed}};
  for (const auto& in : inputs) {
    benchmark::RegisterBenchmark(
        absl::StrCat("BM_Authenticate/", in.name, "/", s).c_str(), Authenticate,
        size, in.input);
  }
  benchmark::RegisterBenchmark(absl::StrCat("BM_AuthenticateLogin/", s).c_str(),
                               AuthenticateLogin, size);
  benchmark::RegisterBenchmark(
      absl::StrCat("BM_AuthenticateThenCheck/", s).c_str(),
      AuthenticateThenCheck, size);
  benchmark::RegisterBenchmark(absl::StrCat("BM_KeyIndexCreate/", s).c_str(),
                               KeyIndexCreate, size)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_HashPresentedKey",
                               arbiter::HashPresentedKey);
  benchmark::RegisterBenchmark("BM_ParseCredential", arbiter::ParseCredential);
  return arbiter::bench::RunBenchmarks(argc, argv, arbiter::Register);
}
