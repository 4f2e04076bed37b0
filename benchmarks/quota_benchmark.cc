// Quotas and admission (arbiter/quota.h, docs/quotas.md).
//
//   BM_CheckNode/<quotas>          CheckNode: the decision without a
//                                  reservation.
//   BM_AdmitNode/<quotas>          AdmitNode followed by Commit (which frees
//                                  the reservation slot and keeps the usage):
//                                  an upper bound of AdmitNode alone.
//   BM_AdmitNodeBlocked/<quotas>   AdmitNode refused by a hard quota.
//   BM_NodeStarted/<quotas>        one usage update (NodeStarted).
//   BM_NodeStartedStopped/<quotas> NodeStarted then NodeStopped: two usage
//                                  updates per iteration (items/s counts
//                                  both).
//   BM_AdmitNodeThreads/1000/...   AdmitNode + Commit on 1 and 2 threads,
//                                  wall-clock time, over the same nodes.
//   BM_BookCreate/<quotas>         QuotaBook::Create of the state.
//   BM_AdmitLaunch/M/{decide,reserve}
//                                  Admit(launch) on the M workload
//                                  (tests/testing/workload.h) with 1,000
//                                  quotas and budgets: RBAC Check by email
//                                  and path, ResolveIam, the head node
//                                  (CheckNode, or AdmitNode + Release) and
//                                  the budget standing.
//   AdmitPart/M_<part>             each part alone on the same launches:
//                                  resolve_names (QuotaBook::Resolve),
//                                  rbac_check_by_ids, iam, quota_check_node,
//                                  budget_most_consumed.
//
// <quotas> is 10, 100, 1,000 or 10,000 live quotas in the organization.
// Every node the BM_*Node benchmarks use has exactly four applicable quotas
// (cloud, project, user, project+user); the state grows with the quotas and
// the nodes cycle through (quotas - clouds) / 3 distinct (cloud, project,
// user) scopes, so the working set grows too.
//   BM_CheckNodeFixedState/<quotas>, BM_AdmitNodeFixedState/<quotas>
//                                  one state (10 clouds, 3,330 projects and
//                                  users) and the same 1,024 nodes for every
//                                  <quotas>: only the book differs (the
//                                  `applicable` counter: quotas per node).
//
// Run: ./build/benchmarks/quota_benchmark --benchmark_repetitions=5
//          --benchmark_report_aggregates_only=true

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "arbiter/engine.h"
#include "arbiter/quota.h"
#include "benchmark/benchmark.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

constexpr size_t kNodes = 4096;  // a power of two: the loops mask

// A state of `clouds` clouds with `groups` projects and users, and the
// quotas: one per cloud, and for each group g a per-project, a per-user and
// a per-project+user quota, all in cloud g % clouds. Limits are large: the
// benchmarks admit.
struct NodeFixture {
  v1::PolicySet state;
  std::unique_ptr<const QuotaBook> book;
  std::vector<std::string> ids;  // owns the strings the nodes view
  std::vector<Node> nodes;       // kNodes, cycling over the groups
  std::vector<Node> big_nodes;   // the same with an H100, limited to 0
};

// With `fixed_state`, the state is the 10,000-quota one (10 clouds, 3,330
// projects and users) for every `quotas`: the first groups get the quotas,
// and the nodes cycle over the same 1,024 groups whatever `quotas` is.
std::unique_ptr<NodeFixture> MakeNodeFixture(int quotas, bool fixed_state) {
  auto f = std::make_unique<NodeFixture>();
  const int clouds = fixed_state || quotas >= 1000 ? 10 : 1;
  const int quota_groups = (quotas - clouds) / 3;
  const int groups = fixed_state ? (10000 - 10) / 3 : quota_groups;
  v1::PolicySet& s = f->state;
  s.set_revision(1);
  v1::Organization* org = s.add_organizations();
  org->set_id("org_1");
  org->set_name("bench");
  for (int c = 0; c < clouds; ++c) {
    v1::Cloud* cloud = s.add_clouds();
    cloud->set_id(absl::StrCat("cld_", c));
    cloud->set_org_id("org_1");
    cloud->set_name(absl::StrCat("cloud-", c));
    v1::Project* def = s.add_projects();
    def->set_id(absl::StrCat("prj_default_", c));
    def->set_cloud_id(cloud->id());
    def->set_name("default");
    def->set_is_default(true);
    v1::ResourceQuota* q = s.add_quotas();
    q->set_id(absl::StrCat("rsq_cloud_", c));
    q->set_cloud_id(cloud->id());
    q->set_enabled(true);
    q->set_hard(true);
    q->mutable_limits()->set_num_cpus(int64_t{1} << 50);
    q->mutable_limits()->set_num_instances(int64_t{1} << 50);
  }
  for (int g = 0; g < groups; ++g) {
    const std::string cloud = absl::StrCat("cld_", g % clouds);
    v1::Project* p = s.add_projects();
    p->set_id(absl::StrCat("prj_", g));
    p->set_cloud_id(cloud);
    p->set_name(absl::StrCat("project-", g));
    v1::Principal* u = s.add_principals();
    u->set_id(absl::StrCat("usr_", g));
    u->set_org_id("org_1");
    u->set_kind(v1::PRINCIPAL_KIND_USER);
    u->set_email(absl::StrCat("user", g, "@bench.example.com"));
    for (int shape = 1; shape <= 3 && g < quota_groups; ++shape) {
      v1::ResourceQuota* q = s.add_quotas();
      q->set_id(absl::StrCat("rsq_", shape, "_", g));
      q->set_cloud_id(cloud);
      if (shape & 1) q->set_project_id(p->id());
      if (shape & 2) q->set_user_id(u->id());
      q->set_enabled(true);
      q->set_hard(shape != 2);
      v1::QuotaLimits* l = q->mutable_limits();
      l->set_num_gpus(int64_t{1} << 50);
      (*l->mutable_num_accelerators())["A100-80G"] = int64_t{1} << 50;
      (*l->mutable_num_accelerators())["T4"] = int64_t{1} << 50;
      if (shape == 1) (*l->mutable_num_accelerators())["H100"] = 0;
    }
  }
  auto book = QuotaBook::Create(s);
  if (!book.ok()) {
    std::fprintf(stderr, "QuotaBook::Create: %s\n",
                 book.status().ToString().c_str());
    std::abort();
  }
  f->book = std::move(*book);
  f->ids.reserve(3 * static_cast<size_t>(groups));
  for (int g = 0; g < groups; ++g) {
    f->ids.push_back(absl::StrCat("cld_", g % clouds));
    f->ids.push_back(absl::StrCat("prj_", g));
    f->ids.push_back(absl::StrCat("usr_", g));
  }
  const size_t node_groups = fixed_state ? 1024 : static_cast<size_t>(groups);
  for (size_t i = 0; i < kNodes; ++i) {
    const size_t g = (i * 2654435761u) % node_groups;
    Node n;
    n.cloud_id = f->ids[3 * g];
    n.project_id = f->ids[3 * g + 1];
    n.creator_id = f->ids[3 * g + 2];
    n.cpus = 8;
    n.gpus = 1;
    n.accelerator_type = "A100-80G";
    n.accelerators = 1;
    f->nodes.push_back(n);
    n.accelerator_type = "H100";  // passes the hard project quota's 0
    f->big_nodes.push_back(n);
  }
  return f;
}

const NodeFixture& Nodes(int quotas, bool fixed_state = false) {
  static auto* fixtures = new std::vector<std::unique_ptr<NodeFixture>>(8);
  const int slot = (quotas == 10     ? 0
                    : quotas == 100  ? 1
                    : quotas == 1000 ? 2
                                     : 3) +
                   (fixed_state ? 4 : 0);
  if ((*fixtures)[slot] == nullptr) {
    (*fixtures)[slot] = MakeNodeFixture(quotas, fixed_state);
  }
  return *(*fixtures)[slot];
}

void BM_CheckNode(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  QuotaAccountant accountant;
  size_t i = 0;
  int applicable = 0;
  for (auto _ : state) {
    const NodeAdmission a = accountant.CheckNode(*f.book, f.nodes[i]);
    applicable = a.num_applicable;
    benchmark::DoNotOptimize(a);
    i = (i + 1) & (kNodes - 1);
  }
  state.counters["applicable"] = applicable;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckNode)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

// The same state and the same 1,024 nodes for every number of quotas: only
// the book changes (its size, and how many quotas apply to the nodes).
void BM_CheckNodeFixedState(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)), true);
  QuotaAccountant accountant;
  size_t i = 0;
  int64_t applicable = 0;
  for (auto _ : state) {
    const NodeAdmission a = accountant.CheckNode(*f.book, f.nodes[i]);
    applicable += a.num_applicable;
    benchmark::DoNotOptimize(a);
    i = (i + 1) & (kNodes - 1);
  }
  state.counters["applicable"] =
      static_cast<double>(applicable) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CheckNodeFixedState)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_AdmitNodeFixedState(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)), true);
  QuotaAccountant accountant;
  size_t i = 0;
  for (auto _ : state) {
    const NodeAdmission a = accountant.AdmitNode(*f.book, f.nodes[i]);
    benchmark::DoNotOptimize(accountant.Commit(a.reservation));
    i = (i + 1) & (kNodes - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmitNodeFixedState)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_AdmitNode(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  QuotaAccountant accountant;
  size_t i = 0;
  for (auto _ : state) {
    const NodeAdmission a = accountant.AdmitNode(*f.book, f.nodes[i]);
    benchmark::DoNotOptimize(accountant.Commit(a.reservation));
    i = (i + 1) & (kNodes - 1);
  }
  if (accountant.num_reservations() != 0) state.SkipWithError("leaked");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmitNode)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_AdmitNodeBlocked(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  QuotaAccountant accountant;
  size_t i = 0;
  for (auto _ : state) {
    const NodeAdmission a = accountant.AdmitNode(*f.book, f.big_nodes[i]);
    if (a.outcome != QuotaOutcome::kBlock) state.SkipWithError("admitted");
    benchmark::DoNotOptimize(a);
    i = (i + 1) & (kNodes - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmitNodeBlocked)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_NodeStarted(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  QuotaAccountant accountant;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(accountant.NodeStarted(f.nodes[i]));
    i = (i + 1) & (kNodes - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeStarted)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_NodeStartedStopped(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  QuotaAccountant accountant;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(accountant.NodeStarted(f.nodes[i]));
    benchmark::DoNotOptimize(accountant.NodeStopped(f.nodes[i]));
    i = (i + 1) & (kNodes - 1);
  }
  state.SetItemsProcessed(2 * state.iterations());
}
BENCHMARK(BM_NodeStartedStopped)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

QuotaAccountant& SharedAccountant() {
  static auto* accountant = new QuotaAccountant();
  return *accountant;
}

void BM_AdmitNodeThreads(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  QuotaAccountant& accountant = SharedAccountant();
  size_t i = (static_cast<size_t>(state.thread_index()) * 1031) & (kNodes - 1);
  for (auto _ : state) {
    const NodeAdmission a = accountant.AdmitNode(*f.book, f.nodes[i]);
    benchmark::DoNotOptimize(accountant.Commit(a.reservation));
    i = (i + 1) & (kNodes - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmitNodeThreads)
    ->Arg(1000)
    ->UseRealTime()
    ->Threads(1)
    ->Threads(2);

void BM_BookCreate(benchmark::State& state) {
  const NodeFixture& f = Nodes(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto book = QuotaBook::Create(f.state);
    benchmark::DoNotOptimize(book);
  }
}
BENCHMARK(BM_BookCreate)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

// ---- Admit(launch) at M ----

struct LaunchFixture {
  std::unique_ptr<const Engine> engine;
  std::unique_ptr<const QuotaBook> book;
  std::unique_ptr<BudgetTracker> budgets;
  std::vector<std::string> strings;  // owns the launches' views
  std::vector<LaunchRequest> launches;
  int allowed = 0;
};

std::unique_ptr<LaunchFixture> MakeLaunchFixture() {
  auto f = std::make_unique<LaunchFixture>();
  testing::Workload w =
      testing::GenerateWorkload(testing::SpecFor(testing::WorkloadSize::kM));
  v1::PolicySet& s = w.policy;
  // 1,000 quotas: every cloud, then projects and (cloud, user) pairs.
  int n = 0;
  for (const v1::Cloud& c : s.clouds()) {
    v1::ResourceQuota* q = s.add_quotas();
    q->set_id(absl::StrCat("rsq_c", n++));
    q->set_cloud_id(c.id());
    q->set_enabled(true);
    q->set_hard(true);
    q->mutable_limits()->set_num_gpus(int64_t{1} << 50);
  }
  for (int i = 0; n < 500 && i < s.projects_size(); ++i) {
    v1::ResourceQuota* q = s.add_quotas();
    q->set_id(absl::StrCat("rsq_p", n++));
    q->set_cloud_id(s.projects(i).cloud_id());
    q->set_project_id(s.projects(i).id());
    q->set_enabled(true);
    q->set_hard(true);
    q->mutable_limits()->set_num_cpus(int64_t{1} << 50);
  }
  for (int i = 0; n < 1000 && i < s.principals_size(); ++i) {
    const v1::Principal& p = s.principals(i);
    v1::ResourceQuota* q = s.add_quotas();
    q->set_id(absl::StrCat("rsq_u", n++));
    q->set_cloud_id(s.clouds(i % s.clouds_size()).id());
    q->set_user_id(p.id());
    q->set_enabled(true);
    q->mutable_limits()->set_num_instances(int64_t{1} << 50);
  }
  v1::Budget* b = s.add_budgets();
  b->set_id("bud_org");
  b->set_org_id(s.organizations(0).id());
  b->set_period(v1::BUDGET_PERIOD_MONTHLY);
  b->set_amount_credits(1e6);
  b->set_enabled(true);
  for (const v1::Cloud& c : s.clouds()) {
    v1::Budget* cb = s.add_budgets();
    cb->set_id(absl::StrCat("bud_", c.id()));
    cb->set_cloud_id(c.id());
    cb->set_period(v1::BUDGET_PERIOD_DAILY);
    cb->set_amount_credits(1e4);
    cb->set_enabled(true);
  }
  auto engine = Engine::Create(s, testing::WorkloadEngineOptions());
  auto book = QuotaBook::Create(s);
  if (!engine.ok() || !book.ok()) {
    std::fprintf(stderr, "fixture: %s %s\n", engine.status().ToString().c_str(),
                 book.status().ToString().c_str());
    std::abort();
  }
  f->engine = std::move(*engine);
  f->book = std::move(*book);
  f->budgets = std::make_unique<BudgetTracker>(nullptr);
  const std::vector<testing::Query> queries =
      testing::MakeMixedQueries(w, kNodes, 3);
  f->strings.reserve(3 * queries.size());
  for (const testing::Query& q : queries) {
    std::vector<std::string> path = absl::StrSplit(q.resource_path, '/');
    if (path.size() < 2) continue;
    f->strings.push_back(q.principal_email);
    const std::string& principal = f->strings.back();
    f->strings.push_back(path[0]);
    const std::string& cloud = f->strings.back();
    f->strings.push_back(path[1]);
    const std::string& project = f->strings.back();
    LaunchRequest r;
    r.principal = principal;
    r.cloud = cloud;
    r.project = project;
    r.type = v1::WORKLOAD_TYPE_JOB;
    r.head_cpus = 8;
    r.head_gpus = 1;
    r.head_accelerator_type = "A10G";
    r.head_accelerators = 1;
    f->launches.push_back(r);
  }
  while (f->launches.size() < kNodes) {
    f->launches.push_back(f->launches[f->launches.size() % queries.size()]);
  }
  f->launches.resize(kNodes);
  return f;
}

const LaunchFixture& Launches() {
  static const LaunchFixture* f = MakeLaunchFixture().release();
  return *f;
}

void AdmitLaunch(benchmark::State& state, bool reserve) {
  const LaunchFixture& f = Launches();
  QuotaAccountant accountant;
  AdmissionContext c;
  c.engine = f.engine.get();
  c.book = f.book.get();
  c.accountant = &accountant;
  c.budgets = f.budgets.get();
  size_t i = 0;
  int64_t allowed = 0;
  for (auto _ : state) {
    LaunchRequest r = f.launches[i];
    r.reserve = reserve;
    const LaunchDecision d = Admit(c, r);
    if (d.quota.reservation != 0) {
      benchmark::DoNotOptimize(accountant.Release(d.quota.reservation));
    }
    allowed += d.admitted();
    i = (i + 1) & (kNodes - 1);
  }
  state.counters["admitted_fraction"] =
      static_cast<double>(allowed) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}

// Each part of Admit alone, on the same launches: where the time goes.
void AdmitPart(benchmark::State& state, int part) {
  const LaunchFixture& f = Launches();
  QuotaAccountant accountant;
  // Resolve every launch once (ids for the parts that take ids).
  std::vector<ScopeIds> ids;
  for (const LaunchRequest& r : f.launches) {
    auto s = f.book->Resolve(r.cloud, r.project, r.principal, r.org);
    ids.push_back(s.ok() ? *s : ScopeIds());
  }
  size_t i = 0;
  for (auto _ : state) {
    const LaunchRequest& r = f.launches[i];
    const ScopeIds& id = ids[i];
    switch (part) {
      case 0:
        benchmark::DoNotOptimize(
            f.book->Resolve(r.cloud, r.project, r.principal, r.org));
        break;
      case 1: {
        AccessRequest a;
        a.principal = id.user_id;
        a.permission = kWorkloadCreatePermission;
        a.resource = id.project_id;
        a.org = id.org_id;
        benchmark::DoNotOptimize(f.engine->Check(a));
        break;
      }
      case 2: {
        WorkloadAttributes w;
        w.cloud = id.cloud_id;
        w.org = id.org_id;
        w.type = r.type;
        w.project = id.project_id;
        w.user = id.user_id;
        benchmark::DoNotOptimize(f.engine->ResolveIam(w));
        break;
      }
      case 3: {
        Node n;
        n.cloud_id = id.cloud_id;
        n.project_id = id.project_id;
        n.creator_id = id.user_id;
        n.cpus = r.head_cpus;
        n.gpus = r.head_gpus;
        n.accelerator_type = r.head_accelerator_type;
        n.accelerators = r.head_accelerators;
        benchmark::DoNotOptimize(accountant.CheckNode(*f.book, n));
        break;
      }
      case 4: {
        BudgetStanding b;
        benchmark::DoNotOptimize(
            f.budgets->MostConsumed(*f.book, id.cloud_id, id.project_id, &b));
        break;
      }
    }
    i = (i + 1) & (kNodes - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(AdmitPart, M_resolve_names, 0);
BENCHMARK_CAPTURE(AdmitPart, M_rbac_check_by_ids, 1);
BENCHMARK_CAPTURE(AdmitPart, M_iam, 2);
BENCHMARK_CAPTURE(AdmitPart, M_quota_check_node, 3);
BENCHMARK_CAPTURE(AdmitPart, M_budget_most_consumed, 4);

void BM_AdmitLaunch_M_decide(benchmark::State& state) {
  AdmitLaunch(state, false);
}
void BM_AdmitLaunch_M_reserve(benchmark::State& state) {
  AdmitLaunch(state, true);
}
BENCHMARK(BM_AdmitLaunch_M_decide);
BENCHMARK(BM_AdmitLaunch_M_reserve);

}  // namespace
}  // namespace arbiter

BENCHMARK_MAIN();
