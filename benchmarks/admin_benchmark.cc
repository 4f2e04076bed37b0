// The admin write path (arbiter/policy_store.h) on the org-scale workloads:
//
//   BM_ApplyGrant/<size>         Apply of a single-grant transaction (a
//                                project member's role changed): authorize,
//                                validate, publish, audit in memory. Reports
//                                p50_us and p99_us over the run, and the heap
//                                one publish adds (bytes_per_publish).
//   BM_CheckAfterPublishes/<size>/{fresh,published}
//                                Check by handles, mixed queries, on the state
//                                10,000 single-grant transactions reach: as the
//                                store published it, and compiled afresh.
//
// Sizes: ARBITER_BENCH_SIZES (default S,M,L).

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "arbiter/policy_store.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

struct Fixture {
  testing::Workload workload;
  std::unique_ptr<PolicyStore> store;
  std::string actor;
  // (principal, project) pairs that hold a direct project grant.
  std::vector<std::pair<std::string, std::string>> members;
  size_t next = 0;
  bool write = true;

  v1::Transaction NextTxn() {
    const auto& [principal, project] = members[next++ % members.size()];
    v1::Transaction txn;
    txn.set_actor(actor);
    auto* m = txn.add_mutations()->mutable_set_project_member();
    m->set_project(project);
    m->set_principal(principal);
    m->set_role(write ? "project_write" : "project_readonly");
    if (next % members.size() == 0) write = !write;
    return txn;
  }
};

std::unique_ptr<Fixture> MakeFixture(testing::WorkloadSize size) {
  auto f = std::make_unique<Fixture>();
  f->workload = testing::GenerateWorkload(testing::SpecFor(size));
  // Members holding cloud_read_only may hold only project_readonly: leave
  // them out, the benchmark alternates write and readonly.
  absl::flat_hash_set<std::string> read_only, active;
  for (const v1::Principal& p : f->workload.policy.principals()) {
    if (p.state() == v1::PRINCIPAL_STATE_ACTIVE ||
        p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED) {
      active.insert(p.id());
    }
  }
  for (const v1::Grant& g : f->workload.policy.grants()) {
    if (g.role() == "cloud_read_only") read_only.insert(g.principal_id());
  }
  for (const v1::Grant& g : f->workload.policy.grants()) {
    if (read_only.contains(g.principal_id())) continue;
    if (!g.principal_id().empty() && !active.contains(g.principal_id())) continue;
    if (f->actor.empty() && g.role() == "org_owner" && !g.principal_id().empty()) {
      f->actor = g.principal_id();
    }
    if (!g.principal_id().empty() && !g.project_id().empty() &&
        g.role() != "project_owner") {
      f->members.emplace_back(g.principal_id(), g.project_id());
    }
  }
  std::sort(f->members.begin(), f->members.end());
  f->members.erase(std::unique(f->members.begin(), f->members.end()),
                   f->members.end());
  PolicyStoreOptions options;
  options.engine = testing::WorkloadEngineOptions();
  options.audit.retain_records = false;
  auto store = PolicyStore::Create(f->workload.policy, options);
  if (!store.ok()) return nullptr;
  f->store = std::move(*store);
  return f;
}

size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

void BM_ApplyGrant(benchmark::State& state, testing::WorkloadSize size) {
  std::unique_ptr<Fixture> f = MakeFixture(size);
  if (f == nullptr || f->members.empty() || f->actor.empty()) {
    state.SkipWithError("no fixture");
    return;
  }
  // Warm up, then one publish's heap.
  for (int i = 0; i < 50; ++i) (void)f->store->Apply(f->NextTxn());
  malloc_trim(0);
  const size_t before = HeapInUse();
  (void)f->store->Apply(f->NextTxn());
  const size_t one_publish = HeapInUse() - before;
  std::vector<double> us;
  us.reserve(1 << 16);
  for (auto _ : state) {
    const v1::Transaction txn = f->NextTxn();
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<AppliedTransaction> a = f->store->Apply(txn);
    const auto t1 = std::chrono::steady_clock::now();
    if (!a.ok()) {
      state.SkipWithError(std::string(a.status().message()).c_str());
      return;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["bytes_per_publish"] = static_cast<double>(one_publish);
}

void BM_CheckAfterPublishes(benchmark::State& state,
                            testing::WorkloadSize size, bool published) {
  std::unique_ptr<Fixture> f = MakeFixture(size);
  if (f == nullptr || f->members.empty() || f->actor.empty()) {
    state.SkipWithError("no fixture");
    return;
  }
  // Both engines answer for the same state, the one 10,000 single-grant
  // transactions reach: `published` is the store's (derived by deltas),
  // `fresh` a full compile of its state, so the decisions are the same and
  // only the layout differs.
  for (int i = 0; i < 10000; ++i) (void)f->store->Apply(f->NextTxn());
  std::shared_ptr<const Engine> engine = f->store->engine();
  if (!published) {
    auto fresh = Engine::Create(f->store->StateCopy(),
                                testing::WorkloadEngineOptions());
    if (!fresh.ok()) {
      state.SkipWithError(std::string(fresh.status().message()).c_str());
      return;
    }
    engine = std::move(*fresh);
  }
  const std::vector<testing::Query> queries =
      testing::MakeMixedQueries(f->workload, 4096, 7);
  struct Refs {
    PrincipalRef p;
    PermissionRef k;
    ResourceRef r;
  };
  std::vector<Refs> refs;
  for (const testing::Query& q : queries) {
    auto p = engine->FindPrincipal(q.principal_id);
    auto k = engine->FindPermission(q.permission);
    auto r = engine->FindResource(q.resource_id);
    if (p && k && r) refs.push_back({*p, *k, *r});
  }
  size_t i = 0;
  for (auto _ : state) {
    const Refs& x = refs[i];
    benchmark::DoNotOptimize(engine->Check(x.p, x.k, x.r));
    if (++i == refs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void Register() {
  for (testing::WorkloadSize size : bench::BenchSizes()) {
    const std::string name(testing::WorkloadSizeName(size));
    benchmark::RegisterBenchmark(("BM_ApplyGrant/" + name).c_str(),
                                 BM_ApplyGrant, size)
        ->Unit(benchmark::kMicrosecond)
        ->MinTime(2.0);
    for (bool published : {false, true}) {
      benchmark::RegisterBenchmark(
          ("BM_CheckAfterPublishes/" + name +
           (published ? "/published" : "/fresh"))
              .c_str(),
          BM_CheckAfterPublishes, size, published);
    }
  }
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  arbiter::Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
