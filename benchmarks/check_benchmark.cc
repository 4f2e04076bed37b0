// Check latency on generated organizations (tests/testing/workload.h), and
// the hash-lookup baseline it is compared with on the same run.
//
//   BM_CheckByIds/<kind>/<size>       Check(PrincipalRef, PermissionRef,
//                                     ResourceRef): handles resolved once.
//   BM_CheckByNames/<kind>/<size>     Check(AccessRequest) with an email and a
//                                     cloud/project[/workload] path.
//   BM_CheckByIdStrings/<kind>/<size> Check(AccessRequest) with id strings.
//   BM_Baseline/ids/<size>            one flat_hash_map lookup of a
//                                     (principal, permission, resource) handle
//                                     triple in a table with as many entries as
//                                     the snapshot has grants: the physical
//                                     floor of a precomputed-answer design.
//   BM_Baseline/names/<size>          the same with the three strings of a
//                                     by-name request as the key, in a table
//                                     as large as the snapshot's id index.
//
// <kind> is one of the query kinds of workload.h (direct, group, org_owner,
// public_project, denied, unknown), "mixed" (all allowed and denied kinds
// shuffled), or "hot" (one direct-grant query repeated: everything stays in
// L1). Every other kind cycles through 4,096 distinct requests over many
// principals and resources. Times are CPU time per Check.
//
//   BM_CheckByIdsThreads/mixed/<size>/real_time/threads:{1,2}
//   BM_CheckByNamesThreads/mixed/<size>/real_time/threads:{1,2}
//                                     the mixed queries on 1 and 2 threads,
//                                     wall-clock time; compare items_per_second
//                                     for the throughput ratio.
//
// Run: ARBITER_BENCH_SIZES=S,M,L,XL ./check_benchmark (see BENCHMARKS.md).

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

using testing::Query;
using testing::QueryKind;
using testing::WorkloadSize;

constexpr size_t kQueries = 4096;  // a power of two: the loop masks
constexpr int kNumKinds = 6;

struct Handles {
  PrincipalRef principal;
  PermissionRef permission;
  ResourceRef resource;
};

struct HandleKey {
  uint32_t principal, permission, resource;
  template <typename H>
  friend H AbslHashValue(H h, const HandleKey& k) {
    return H::combine(std::move(h), k.principal, k.permission, k.resource);
  }
  friend bool operator==(const HandleKey& a, const HandleKey& b) {
    return a.principal == b.principal && a.permission == b.permission &&
           a.resource == b.resource;
  }
};

struct NameKey {
  std::string principal, permission, resource;
};
struct NameKeyView {
  absl::string_view principal, permission, resource;
};
struct NameKeyHash {
  using is_transparent = void;
  size_t operator()(const NameKeyView& k) const {
    return absl::Hash<
        std::tuple<absl::string_view, absl::string_view, absl::string_view>>()(
        std::make_tuple(k.principal, k.permission, k.resource));
  }
  size_t operator()(const NameKey& k) const {
    return (*this)(NameKeyView{k.principal, k.permission, k.resource});
  }
};
struct NameKeyEq {
  using is_transparent = void;
  static NameKeyView View(const NameKey& k) {
    return {k.principal, k.permission, k.resource};
  }
  static NameKeyView View(const NameKeyView& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    const NameKeyView x = View(a), y = View(b);
    return x.principal == y.principal && x.permission == y.permission &&
           x.resource == y.resource;
  }
};

// One query set in the three request forms. `names` and `id_strings` view
// the strings of `queries`.
struct QuerySet {
  std::vector<Query> queries;
  std::vector<Handles> handles;
  std::vector<AccessRequest> names;
  std::vector<AccessRequest> id_strings;
};

struct Fixture {
  std::unique_ptr<const Engine> engine;
  QuerySet kinds[kNumKinds];
  QuerySet mixed;
  absl::flat_hash_map<HandleKey, Decision> baseline_ids;
  absl::flat_hash_map<NameKey, Decision, NameKeyHash, NameKeyEq> baseline_names;
};

void Fill(const Engine& engine, std::vector<Query> queries, QuerySet* set) {
  // Small workloads have fewer distinct requests: repeat them to kQueries.
  const size_t n = queries.size();
  for (size_t i = n; i < kQueries && n > 0; ++i)
    queries.push_back(queries[i % n]);
  queries.resize(std::min(queries.size(), kQueries));
  set->queries = std::move(queries);
  for (const Query& q : set->queries) {
    Handles h;
    if (auto p = engine.FindPrincipal(q.principal_id)) h.principal = *p;
    if (auto k = engine.FindPermission(q.permission)) h.permission = *k;
    if (auto r = engine.FindResource(q.resource_id)) h.resource = *r;
    set->handles.push_back(h);
    AccessRequest by_name;
    by_name.principal = q.principal_email;
    by_name.permission = q.permission;
    by_name.resource = q.resource_path;
    set->names.push_back(by_name);
    AccessRequest by_id;
    by_id.principal = q.principal_id;
    by_id.permission = q.permission;
    by_id.resource = q.resource_id;
    set->id_strings.push_back(by_id);
  }
}

std::unique_ptr<Fixture> MakeFixture(WorkloadSize size) {
  auto f = std::make_unique<Fixture>();
  testing::Workload w = testing::GenerateWorkload(testing::SpecFor(size));
  auto engine = Engine::Create(w.policy, testing::WorkloadEngineOptions());
  if (!engine.ok()) {
    std::fprintf(stderr, "Engine::Create failed: %s\n",
                 engine.status().ToString().c_str());
    std::abort();
  }
  f->engine = std::move(engine).value();
  w.policy.Clear();  // queries need only the model
  for (int k = 0; k < kNumKinds; ++k) {
    Fill(*f->engine,
         testing::MakeQueries(w, testing::kAllQueryKinds[k], kQueries, 1),
         &f->kinds[k]);
  }
  Fill(*f->engine, testing::MakeMixedQueries(w, kQueries, 2), &f->mixed);

  // Baselines: the mixed queries' keys plus filler up to the table size.
  const Engine& e = *f->engine;
  const size_t id_entries = e.num_grants();
  f->baseline_ids.reserve(id_entries);
  for (size_t i = 0; i < f->mixed.handles.size(); ++i) {
    const Handles& h = f->mixed.handles[i];
    f->baseline_ids.emplace(HandleKey{h.principal.index(), h.permission.index(),
                                      h.resource.index()},
                            e.Check(h.principal, h.permission, h.resource));
  }
  uint64_t x = 0x9e3779b97f4a7c15ull;
  while (f->baseline_ids.size() < id_entries) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    f->baseline_ids.emplace(
        HandleKey{static_cast<uint32_t>((x >> 40) % e.num_principals()),
                  static_cast<uint32_t>((x >> 20) % 64),
                  static_cast<uint32_t>(x % e.num_resources())},
        Decision());
  }
  const size_t name_entries = e.num_principals() + e.num_resources();
  f->baseline_names.reserve(name_entries);
  for (const Query& q : f->mixed.queries) {
    f->baseline_names.emplace(
        NameKey{q.principal_email, q.permission, q.resource_path}, Decision());
  }
  for (size_t i = 0; f->baseline_names.size() < name_entries; ++i) {
    f->baseline_names.emplace(
        NameKey{absl::StrCat("user", i, "@filler.example.com"), "project.view",
                absl::StrCat("cloud-", i % 100, "/proj-", i)},
        Decision());
  }
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

const QuerySet& SetOf(const Fixture& f, int kind) {
  return kind < 0 ? f.mixed : f.kinds[kind];
}

// Threads start at different offsets so they do not walk in lock step.
size_t StartIndex(const benchmark::State& state) {
  return (static_cast<size_t>(state.thread_index()) * 1031) & (kQueries - 1);
}

void CheckByIds(benchmark::State& state, WorkloadSize size, int kind) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const Engine& engine = *f->engine;
  const std::vector<Handles>& q = SetOf(*f, kind).handles;
  size_t i = StartIndex(state);
  for (auto _ : state) {
    const Handles& h = q[i];
    benchmark::DoNotOptimize(
        engine.Check(h.principal, h.permission, h.resource));
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void CheckHot(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const Engine& engine = *f->engine;
  const Handles h = f->kinds[0].handles[0];
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        engine.Check(h.principal, h.permission, h.resource));
  }
  state.SetItemsProcessed(state.iterations());
}

void CheckByRequest(benchmark::State& state, WorkloadSize size, int kind,
                    bool names) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const Engine& engine = *f->engine;
  const QuerySet& set = SetOf(*f, kind);
  const std::vector<AccessRequest>& q = names ? set.names : set.id_strings;
  size_t i = StartIndex(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine.Check(q[i]));
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BaselineIds(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const auto& map = f->baseline_ids;
  std::vector<HandleKey> keys;
  for (const Handles& h : f->mixed.handles) {
    keys.push_back(HandleKey{h.principal.index(), h.permission.index(),
                             h.resource.index()});
  }
  size_t i = StartIndex(state);
  for (auto _ : state) {
    auto it = map.find(keys[i]);
    benchmark::DoNotOptimize(it->second);
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BaselineNames(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const auto& map = f->baseline_names;
  const std::vector<AccessRequest>& q = f->mixed.names;
  size_t i = StartIndex(state);
  for (auto _ : state) {
    auto it =
        map.find(NameKeyView{q[i].principal, q[i].permission, q[i].resource});
    benchmark::DoNotOptimize(it->second);
    i = (i + 1) & (kQueries - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void Register(WorkloadSize size) {
  const std::string s(testing::WorkloadSizeName(size));
  auto name = [&](const char* bm, absl::string_view kind) {
    return absl::StrCat(bm, "/", kind, "/", s);
  };
  benchmark::RegisterBenchmark(name("BM_Baseline", "ids").c_str(), BaselineIds,
                               size);
  benchmark::RegisterBenchmark(name("BM_Baseline", "names").c_str(),
                               BaselineNames, size);
  benchmark::RegisterBenchmark(name("BM_CheckByIds", "hot").c_str(), CheckHot,
                               size);
  for (int k = 0; k < kNumKinds; ++k) {
    const absl::string_view kind =
        testing::QueryKindName(testing::kAllQueryKinds[k]);
    benchmark::RegisterBenchmark(name("BM_CheckByIds", kind).c_str(),
                                 CheckByIds, size, k);
  }
  benchmark::RegisterBenchmark(name("BM_CheckByIds", "mixed").c_str(),
                               CheckByIds, size, -1);
  // Throughput on 1 and 2 threads: wall-clock time, items/s over all threads.
  benchmark::RegisterBenchmark(name("BM_CheckByIdsThreads", "mixed").c_str(),
                               CheckByIds, size, -1)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  for (int k = 0; k < kNumKinds; ++k) {
    const absl::string_view kind =
        testing::QueryKindName(testing::kAllQueryKinds[k]);
    benchmark::RegisterBenchmark(name("BM_CheckByNames", kind).c_str(),
                                 CheckByRequest, size, k, true);
  }
  benchmark::RegisterBenchmark(name("BM_CheckByNames", "mixed").c_str(),
                               CheckByRequest, size, -1, true);
  benchmark::RegisterBenchmark(name("BM_CheckByNamesThreads", "mixed").c_str(),
                               CheckByRequest, size, -1, true)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark(name("BM_CheckByIdStrings", "mixed").c_str(),
                               CheckByRequest, size, -1, false);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  return arbiter::bench::RunBenchmarks(argc, argv, arbiter::Register);
}
