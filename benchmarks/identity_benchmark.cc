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
//   BM_EngineAuthenticate/{ok,wrong_secret}/<size>
//                                       Engine::Authenticate on the engine
//                                       compiled from the state (its own key
//                                       index; the handle for Check).
//   BM_EngineAuthenticateThenCheck/<size>
//                                       Engine::Authenticate, then Check on
//                                       the handle it returns.
//   BM_ApplyKey/<size>                  PolicyStore::Apply of a create_api_key
//                                       (a user's own key) and of the
//                                       revoke_api_key of it, in turn, with
//                                       the 10,000 keys in the state:
//                                       p50/p99 of each (create_*, revoke_*)
//                                       in microseconds, wall and thread CPU
//                                       (*_cpu_*).
//
// Run: ARBITER_BENCH_SIZES=M ./identity_benchmark
//        --benchmark_repetitions=9 --benchmark_report_aggregates_only=true

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/identity.h"
#include "arbiter/policy_store.h"
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

void EngineAuthenticate(benchmark::State& state, WorkloadSize size,
                        Input input) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const std::vector<std::string>& q = input == kOk ? f->ok : f->wrong;
  const Engine& engine = *f->engine;
  const absl::Time now = testing::WorkloadNow();
  if (engine.Authenticate(q[0], now).reason !=
      (input == kOk ? AuthReason::kAuthenticated : AuthReason::kWrongSecret)) {
    state.SkipWithError("unexpected authentication result");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    Authentication r = engine.Authenticate(q[i], now);
    benchmark::DoNotOptimize(r);
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void EngineAuthenticateThenCheck(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const Engine& engine = *f->engine;
  const absl::Time now = testing::WorkloadNow();
  size_t i = 0;
  for (auto _ : state) {
    const Authentication a = engine.Authenticate(f->ok[i], now);
    benchmark::DoNotOptimize(
        engine.Check(a.principal, f->permission, f->resource));
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void ApplyKey(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  PolicyStoreOptions options;
  options.engine = testing::WorkloadEngineOptions();
  options.audit.retain_records = false;
  // The fixture's users already hold many keys (the Authenticate
  // benchmarks' 10,000 at M; at S they crowd onto few users): the limit is
  // not what this measures.
  options.engine.identity.max_live_keys_per_principal = 1 << 20;
  auto store = PolicyStore::Create(f->state, options);
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  std::vector<std::string> users;
  for (const v1::Principal& p : f->state.principals()) {
    if (p.kind() == v1::PRINCIPAL_KIND_USER &&
        (p.state() == v1::PRINCIPAL_STATE_ACTIVE ||
         p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED)) {
      users.push_back(p.id());
    }
  }
  // Wall time, and this thread's CPU time: on a shared machine the wall
  // time's tail is mostly other processes' turns.
  std::vector<double> create_us, revoke_us, create_cpu, revoke_cpu;
  size_t n = 0;
  auto cpu_now = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
  };
  auto timed =
      [&](const v1::Transaction& txn, std::vector<double>* us,
          std::vector<double>* cpu) -> absl::StatusOr<AppliedTransaction> {
    const double c0 = cpu_now();
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<AppliedTransaction> a = (*store)->Apply(txn);
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu_now();
    if (us != nullptr) {
      us->push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      cpu->push_back(c1 - c0);
    }
    return a;
  };
  auto one = [&](bool record) -> bool {
    const std::string& user = users[(n * 7919) % users.size()];
    v1::Transaction create;
    create.set_actor(user);
    auto* m = create.add_mutations()->mutable_create_api_key();
    m->set_name(absl::StrCat("bench", n++));
    absl::StatusOr<AppliedTransaction> a =
        timed(create, record ? &create_us : nullptr, &create_cpu);
    if (!a.ok() || a->identity.keys.empty()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return false;
    }
    v1::Transaction revoke;
    revoke.set_actor(user);
    revoke.add_mutations()->mutable_revoke_api_key()->set_key_id(
        a->identity.keys[0].key_id);
    a = timed(revoke, record ? &revoke_us : nullptr, &revoke_cpu);
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return false;
    }
    return true;
  };
  for (int i = 0; i < 20; ++i) {
    if (!one(false)) return;
  }
  for (auto _ : state) {
    if (!one(true)) return;
  }
  auto report = [&](std::vector<double>& us, const std::string& name) {
    std::sort(us.begin(), us.end());
    state.counters[name + "_p50_us"] = us[us.size() / 2];
    state.counters[name + "_p99_us"] =
        us[std::min(us.size() - 1, us.size() * 99 / 100)];
  };
  report(create_us, "create");
  report(revoke_us, "revoke");
  report(create_cpu, "create_cpu");
  report(revoke_cpu, "revoke_cpu");
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
  for (const auto& in : {inputs[0], inputs[1]}) {
    benchmark::RegisterBenchmark(
        absl::StrCat("BM_EngineAuthenticate/", in.name, "/", s).c_str(),
        EngineAuthenticate, size, in.input);
  }
  benchmark::RegisterBenchmark(
      absl::StrCat("BM_EngineAuthenticateThenCheck/", s).c_str(),
      EngineAuthenticateThenCheck, size);
  benchmark::RegisterBenchmark(absl::StrCat("BM_ApplyKey/", s).c_str(),
                               ApplyKey, size)
      ->Unit(benchmark::kMicrosecond)
      ->MinTime(2.0);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_HashPresentedKey",
                               arbiter::HashPresentedKey);
  benchmark::RegisterBenchmark("BM_ParseCredential", arbiter::ParseCredential);
  return arbiter::bench::RunBenchmarks(argc, argv, arbiter::Register);
}
