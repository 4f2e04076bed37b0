// The lookups of arbiter/lookup.h on generated organizations
// (tests/testing/workload.h), one thread, CPU time per call:
//
//   BM_LookupResources/workloads/typical/<size>
//       every workload a typical user (one with project grants) may
//       `project.workload.view`, cycling over 256 users; counter
//       `results` = workloads returned per lookup.
//   BM_LookupResources/workloads/typical_page1/<size>
//       the same lookups' first page of one result: the fixed cost.
//   BM_LookupResources/workloads/org_owner/<size>
//       every workload of the organization for an org owner; `ns_per_result`.
//   BM_LookupResources/projects/typical/<size>
//       the projects a typical user may `project.view`.
//   BM_LookupSubjects/private_project/<size>
//   BM_LookupSubjects/public_project/<size>
//       every principal that may `project.view` a project (org owners,
//       cloud members through a public project, project and group
//       members), cycling over 256 private or public projects; counters
//       `results` and `ns_per_result`.
//   BM_ListPermissions/workload/<size>    ListPermissions(user, workload)
//   BM_Check/workload/<size>              one Check(AccessRequest) by ids on
//                                         the same pairs (the baseline)
//   BM_EffectiveAccess/org/<size>         the whole organization's report
//   BM_EffectiveAccess/org_arena/<size>   the same into a message on an Arena
//                                         (1 MiB first block, 16 MiB blocks)
//   BM_Diff/10_grants/<size>              DiffPolicies of the state and the
//                                         state with 10 grants changed
//   BM_Diff/10_grants_gate/<size>         the same, only_new_access
//   BM_Diff/unrelated/<size>              two states of different seeds
//   BM_LookupCreate/index/<size>          Lookup::Create (counter index_MiB:
//                                         Lookup::MemoryUsage)
//   BM_CheckBatch/mixed/<size>            CheckBatch of 4,096 requests by
//                                         email and path (items/s)
//   BM_CheckLoop/mixed/<size>             Check one by one on the same
//   BM_CheckBatch/one_user/<size>         the same paths, all for one email
//   BM_CheckLoop/one_user/<size>
//
// Run: ARBITER_BENCH_SIZES=M,L ./lookup_benchmark --benchmark_repetitions=3
// (BENCHMARKS.md, docs/lookups.md).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/lookup.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "google/protobuf/arena.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

using testing::WorkloadSize;

constexpr size_t kRing = 256;  // distinct lookups cycled through
constexpr size_t kBatch = 4096;

struct Fixture {
  std::unique_ptr<const Engine> engine;
  std::unique_ptr<const Lookup> lookup;
  std::unique_ptr<const Engine> engine10;  // 10 grants changed
  std::unique_ptr<const Lookup> lookup10;
  std::unique_ptr<const Engine> other;  // another seed
  std::unique_ptr<const Lookup> lookup_other;
  std::vector<std::string> typical;   // user ids with project grants
  std::vector<std::string> owners;    // org owner ids
  std::vector<std::string> projects;  // private project ids
  std::vector<std::string> public_projects;
  std::vector<std::pair<std::string, std::string>> pairs;  // user, workload
  std::vector<testing::Query> batch_queries;
  std::vector<AccessRequest> batch;
  std::vector<AccessRequest> one_user;  // one email, many resource paths
};

std::unique_ptr<const Engine> MustCreate(const v1::PolicySet& policy) {
  auto engine = Engine::Create(policy, testing::WorkloadEngineOptions());
  if (!engine.ok()) {
    std::fprintf(stderr, "Engine::Create failed: %s\n",
                 engine.status().ToString().c_str());
    std::abort();
  }
  return std::move(engine).value();
}

// Ten grant changes: five project grants removed, five copied (new ids) to
// another project of the same cloud.
v1::PolicySet TenGrantsChanged(const v1::PolicySet& policy) {
  v1::PolicySet out = policy;
  std::vector<int> project_grants;
  for (int i = 0; i < out.grants_size(); ++i) {
    if (!out.grants(i).project_id().empty()) project_grants.push_back(i);
  }
  uint64_t x = 0x243f6a8885a308d3ull;
  auto next = [&](size_t n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>((x >> 33) % n);
  };
  // The projects of each cloud (not its default one), by the cloud's id.
  absl::flat_hash_map<std::string, std::vector<std::string>> cloud_projects;
  absl::flat_hash_map<std::string, std::string> cloud_of;
  for (const v1::Project& p : out.projects()) {
    cloud_of[p.id()] = p.cloud_id();
    if (!p.is_default()) cloud_projects[p.cloud_id()].push_back(p.id());
  }
  std::vector<v1::Grant> added;
  for (int i = 0; i < 5; ++i) {
    v1::Grant g = out.grants(project_grants[next(project_grants.size())]);
    // Another project of the same cloud (at every size).
    const std::vector<std::string>& siblings =
        cloud_projects[cloud_of[g.project_id()]];
    if (siblings.size() > 1) {
      std::string other = g.project_id();
      while (other == g.project_id()) other = siblings[next(siblings.size())];
      g.set_project_id(other);
    }
    g.set_id(absl::StrCat("g_bench_added_", i));
    added.push_back(g);
  }
  std::vector<int> removed;
  while (removed.size() < 5) {
    const int i = project_grants[next(project_grants.size())];
    if (std::find(removed.begin(), removed.end(), i) == removed.end()) {
      removed.push_back(i);
    }
  }
  std::sort(removed.rbegin(), removed.rend());
  for (int i : removed) out.mutable_grants()->DeleteSubrange(i, 1);
  for (const v1::Grant& g : added) *out.add_grants() = g;
  return out;
}

std::unique_ptr<Fixture> MakeFixture(WorkloadSize size) {
  auto f = std::make_unique<Fixture>();
  testing::WorkloadSpec spec = testing::SpecFor(size);
  testing::Workload w = testing::GenerateWorkload(spec);
  f->engine = MustCreate(w.policy);
  f->lookup = Lookup::Create(*f->engine);
  f->engine10 = MustCreate(TenGrantsChanged(w.policy));
  f->lookup10 = Lookup::Create(*f->engine10);
  for (const v1::Grant& g : w.policy.grants()) {
    if (g.role() == "org_owner" && !g.principal_id().empty()) {
      f->owners.push_back(g.principal_id());
    }
  }
  for (const testing::Query& q :
       testing::MakeQueries(w, testing::QueryKind::kDirect, kRing, 1)) {
    f->typical.push_back(q.principal_id);
  }
  for (size_t i = 0;
       f->public_projects.size() + f->projects.size() < 2 * kRing &&
       i < static_cast<size_t>(w.policy.projects_size());
       ++i) {
    const v1::Project& p =
        w.policy.projects((i * 7919) % w.policy.projects_size());
    if (p.visibility() == v1::VISIBILITY_PUBLIC) {
      if (f->public_projects.size() < kRing)
        f->public_projects.push_back(p.id());
    } else if (f->projects.size() < kRing) {
      f->projects.push_back(p.id());
    }
  }
  for (const testing::Query& q : testing::MakeMixedQueries(w, kBatch, 3)) {
    if (q.resource_id.rfind("wl_", 0) == 0 && f->pairs.size() < kRing) {
      f->pairs.emplace_back(q.principal_id, q.resource_id);
    }
    f->batch_queries.push_back(q);
  }
  // Pairs on workloads: fill from the workloads directly if the queries
  // had too few.
  for (size_t i = 0; f->pairs.size() < kRing; ++i) {
    f->pairs.emplace_back(f->typical[i % f->typical.size()],
                          absl::StrCat("wl_", (i * 104729) % spec.workloads));
  }
  for (const testing::Query& q : f->batch_queries) {
    AccessRequest r;
    r.principal = q.principal_email;
    r.permission = q.permission;
    r.resource = q.resource_path;
    f->batch.push_back(r);
    r.principal = f->batch_queries[0].principal_email;
    f->one_user.push_back(r);
  }
  w.policy.Clear();
  testing::WorkloadSpec other_spec = spec;
  other_spec.seed = spec.seed + 1;
  testing::Workload w2 = testing::GenerateWorkload(other_spec);
  f->other = MustCreate(w2.policy);
  f->lookup_other = Lookup::Create(*f->other);
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

void Resources(benchmark::State& state, WorkloadSize size, bool owners,
               ResourceKind kind, const char* permission, uint32_t page_size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const std::vector<std::string>& who = owners ? f->owners : f->typical;
  size_t i = 0;
  int64_t results = 0;
  for (auto _ : state) {
    LookupResourcesRequest req;
    req.principal = who[i % who.size()];
    req.permission = permission;
    req.kind = kind;
    req.page_size = page_size;
    absl::StatusOr<ResourcePage> page = f->lookup->LookupResources(req);
    if (!page.ok()) {
      state.SkipWithError(page.status().ToString().c_str());
      return;
    }
    results += static_cast<int64_t>(page->resources.size());
    benchmark::DoNotOptimize(page->resources.data());
    ++i;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["results"] = static_cast<double>(results) / n;
  state.counters["ns_per_result"] = benchmark::Counter(
      static_cast<double>(results),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void Subjects(benchmark::State& state, WorkloadSize size, bool pub) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const std::vector<std::string>& projects =
      pub ? f->public_projects : f->projects;
  size_t i = 0;
  int64_t results = 0;
  for (auto _ : state) {
    LookupSubjectsRequest req;
    req.permission = "project.view";
    req.resource = projects[i % projects.size()];
    absl::StatusOr<SubjectPage> page = f->lookup->LookupSubjects(req);
    if (!page.ok()) {
      state.SkipWithError(page.status().ToString().c_str());
      return;
    }
    results += static_cast<int64_t>(page->subjects.size());
    benchmark::DoNotOptimize(page->subjects.data());
    ++i;
  }
  state.counters["results"] =
      static_cast<double>(results) / static_cast<double>(state.iterations());
  state.counters["ns_per_result"] = benchmark::Counter(
      static_cast<double>(results),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void ListPermissionsBench(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  size_t i = 0;
  for (auto _ : state) {
    const auto& [p, r] = f->pairs[i % f->pairs.size()];
    absl::StatusOr<PermissionSet> set = f->lookup->ListPermissions(p, r);
    benchmark::DoNotOptimize(set.ok());
    ++i;
  }
}

void CheckBench(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  size_t i = 0;
  for (auto _ : state) {
    const auto& [p, r] = f->pairs[i % f->pairs.size()];
    AccessRequest req;
    req.principal = p;
    req.permission = "project.workload.terminate";
    req.resource = r;
    benchmark::DoNotOptimize(f->engine->Check(req));
    ++i;
  }
}

void Report(benchmark::State& state, WorkloadSize size, bool arena) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  int users = 0, projects = 0;
  for (auto _ : state) {
    AccessReportRequest req;
    if (arena) {
      google::protobuf::ArenaOptions arena_options;
      arena_options.start_block_size = 1 << 20;
      arena_options.max_block_size = 16 << 20;
      google::protobuf::Arena a(arena_options);
      auto* report =
          google::protobuf::Arena::CreateMessage<v1::AccessReport>(&a);
      absl::Status st = f->lookup->EffectiveAccess(req, report);
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
      users = report->users_size() + report->org_owners_size();
      continue;
    }
    absl::StatusOr<v1::AccessReport> report = f->lookup->EffectiveAccess(req);
    if (!report.ok()) {
      state.SkipWithError(report.status().ToString().c_str());
      return;
    }
    users = report->users_size() + report->org_owners_size();
    projects = 0;
    for (const auto& u : report->users()) {
      for (const auto& c : u.clouds()) projects += c.projects_size();
    }
  }
  state.counters["principals"] = users;
  if (!arena) state.counters["project_entries"] = projects;
}

void Diff(benchmark::State& state, WorkloadSize size, bool unrelated,
          bool gate) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const Lookup& after = unrelated ? *f->lookup_other : *f->lookup10;
  DiffOptions options;
  options.only_new_access = gate;
  size_t changes = 0, compared = 0;
  for (auto _ : state) {
    absl::StatusOr<v1::PolicyDiff> d = DiffPolicies(*f->lookup, after, options);
    if (!d.ok()) {
      state.SkipWithError(d.status().ToString().c_str());
      return;
    }
    changes = d->changes_size();
    compared = d->principals_compared();
  }
  state.counters["changes"] = static_cast<double>(changes);
  state.counters["principals_compared"] = static_cast<double>(compared);
}

void Create(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Lookup::Create(*f->engine));
  }
  state.counters["index_MiB"] =
      static_cast<double>(f->lookup->MemoryUsage()) / (1 << 20);
}

void Batch(benchmark::State& state, WorkloadSize size, bool batched,
           bool one_user) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const std::vector<AccessRequest>& batch = one_user ? f->one_user : f->batch;
  std::vector<Decision> out;
  for (auto _ : state) {
    if (batched) {
      CheckBatch(*f->engine, batch, &out);
    } else {
      out.resize(batch.size());
      for (size_t i = 0; i < batch.size(); ++i) {
        out[i] = f->engine->Check(batch[i]);
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(batch.size()));
}

void Register(WorkloadSize size) {
  const std::string s(testing::WorkloadSizeName(size));
  auto name = [&](absl::string_view bm, absl::string_view what) {
    return absl::StrCat(bm, "/", what, "/", s);
  };
  using benchmark::RegisterBenchmark;
  RegisterBenchmark(name("BM_LookupResources", "workloads/typical").c_str(),
                    Resources, size, false, ResourceKind::kWorkload,
                    "project.workload.view", 0u)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark(
      name("BM_LookupResources", "workloads/typical_page1").c_str(), Resources,
      size, false, ResourceKind::kWorkload, "project.workload.view", 1u)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark(name("BM_LookupResources", "workloads/org_owner").c_str(),
                    Resources, size, true, ResourceKind::kWorkload,
                    "project.workload.view", kMaxPageSize)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark(name("BM_LookupResources", "projects/typical").c_str(),
                    Resources, size, false, ResourceKind::kProject,
                    "project.view", 0u)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark(name("BM_LookupSubjects", "private_project").c_str(),
                    Subjects, size, false)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark(name("BM_LookupSubjects", "public_project").c_str(),
                    Subjects, size, true)
      ->Unit(benchmark::kMicrosecond);
  RegisterBenchmark(name("BM_ListPermissions", "workload").c_str(),
                    ListPermissionsBench, size);
  RegisterBenchmark(name("BM_Check", "workload").c_str(), CheckBench, size);
  RegisterBenchmark(name("BM_EffectiveAccess", "org").c_str(), Report, size,
                    false)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark(name("BM_EffectiveAccess", "org_arena").c_str(), Report,
                    size, true)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark(name("BM_Diff", "10_grants").c_str(), Diff, size, false,
                    false)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark(name("BM_Diff", "10_grants_gate").c_str(), Diff, size,
                    false, true)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark(name("BM_Diff", "unrelated").c_str(), Diff, size, true,
                    false)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark(name("BM_LookupCreate", "index").c_str(), Create, size)
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark(name("BM_CheckBatch", "mixed").c_str(), Batch, size, true,
                    false);
  RegisterBenchmark(name("BM_CheckLoop", "mixed").c_str(), Batch, size, false,
                    false);
  RegisterBenchmark(name("BM_CheckBatch", "one_user").c_str(), Batch, size,
                    true, true);
  RegisterBenchmark(name("BM_CheckLoop", "one_user").c_str(), Batch, size,
                    false, true);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  return arbiter::bench::RunBenchmarks(argc, argv, arbiter::Register);
}
