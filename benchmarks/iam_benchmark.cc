// Cloud IAM mapping: Engine::ResolveIam latency and compile time.
//
//   BM_ResolveIam/<rules>/<mix>   ResolveIam by name (cloud, project, user
//                                 strings) over 1,024 prepared workloads.
//                                 <rules> is 10 (equality rules) or 1000 (a
//                                 mix of equality, set and `~=` pattern
//                                 rules); <mix> is "mixed" (random
//                                 workloads: early, late and no matches) or
//                                 "miss" (no rule matches: every candidate
//                                 list and the user RE2::Set are consulted).
//   BM_ExplainIam/<rules>         ExplainIam on the mixed workloads.
//   BM_Baseline/lookups           the floor of a by-name call: the id-index
//                                 lookups of a cloud, a project and a user in
//                                 hash maps of the same sizes.
//   BM_CompileIam/<rules>         IamMappings::Compile alone (selectors,
//                                 RE2 patterns, RE2::Sets, indexes).
//   BM_EngineCreate/<rules>       the whole Engine::Create of the state.
//
// Run (see docs/iam-mapping.md for the figures):
//   ./build/benchmarks/iam_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "benchmark/benchmark.h"
#include "src/compiler/compiler.h"
#include "src/internal/diagnostics.h"
#include "src/iam/iam_mappings.h"

namespace arbiter {
namespace {

constexpr int kProjects = 50;
constexpr int kUsers = 200;
constexpr int kTeams = 20;
constexpr size_t kWorkloads = 1024;  // a power of two: the loops mask

const char* const kTypes[] = {"job", "service", "workspace"};

std::string UserEmail(int u) {
  return absl::StrCat("user", u, "@team", u % kTeams, ".example.com");
}

// One organization, one cloud "prod" with 50 projects and a default project,
// 200 users in 20 email domains.
v1::PolicySet BaseState() {
  v1::PolicySet state;
  state.set_revision(1);
  v1::Organization* org = state.add_organizations();
  org->set_id("org_1");
  org->set_name("acme");
  v1::Cloud* cloud = state.add_clouds();
  cloud->set_id("cld_prod");
  cloud->set_org_id("org_1");
  cloud->set_name("prod");
  cloud->mutable_iam_mapping()->set_default_identity("cld_prod-node-role");
  v1::Project* def = state.add_projects();
  def->set_id("prj_default");
  def->set_cloud_id("cld_prod");
  def->set_name("default");
  def->set_is_default(true);
  for (int p = 0; p < kProjects; ++p) {
    v1::Project* project = state.add_projects();
    project->set_id(absl::StrCat("prj_", p));
    project->set_cloud_id("cld_prod");
    project->set_name(absl::StrCat("proj-", p));
  }
  for (int u = 0; u < kUsers; ++u) {
    v1::Principal* principal = state.add_principals();
    principal->set_id(absl::StrCat("usr_", u));
    principal->set_org_id("org_1");
    principal->set_kind(v1::PRINCIPAL_KIND_USER);
    principal->set_email(UserEmail(u));
  }
  return state;
}

void AddRule(v1::PolicySet* state, const std::string& selector,
             const std::string& identity) {
  v1::IamMappingRule* r =
      state->mutable_clouds(0)->mutable_iam_mapping()->add_rules();
  r->set_selector(selector);
  r->set_identity(identity);
}

// Ten equality rules, the shape of the §6.6 example.
void AddTenRules(v1::PolicySet* state) {
  AddRule(state, "workload-type=job,project=proj-1", "etl-role");
  AddRule(state, "project=proj-2", "ml-role");
  AddRule(state, "user=user7@team7.example.com", "ci-role");
  AddRule(state, "project in (proj-3,proj-4),workload-type!=service",
          "data-role");
  AddRule(state, "workload-type=service,project=proj-5", "web-role");
  AddRule(state, "user in (user8@team8.example.com,user9@team9.example.com)",
          "ops-role");
  AddRule(state, "project=proj-6,user notin (user1@team1.example.com)",
          "six-role");
  AddRule(state, "workload-type=workspace,project=proj-7", "nb-role");
  AddRule(state, "project=proj-8", "eight-role");
  AddRule(state, "workload-type=job,user=user10@team10.example.com",
          "ten-role");
}

// 1,000 rules: 60% equality and set rules, 40% with a `~=` pattern (about
// 170 distinct patterns over user and project).
void AddThousandRules(v1::PolicySet* state) {
  for (int i = 0; i < 1000; ++i) {
    const int p = i % kProjects;
    const int u = (i * 7) % kUsers;
    std::string selector;
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
        selector =
            absl::StrCat("project=proj-", p, ",workload-type=", kTypes[i % 3],
                         ",user!=", UserEmail(u));
        break;
      case 3:
      case 4:
        selector = absl::StrCat("user=", UserEmail(u), ",project!=proj-", p);
        break;
      case 5:
        selector = absl::StrCat("user in (", UserEmail(u), ",",
                                UserEmail((u + 1) % kUsers),
                                "),workload-type notin (job)");
        break;
      case 6:
        selector = absl::StrCat("user~=.*@team", i % kTeams,
                                "\\.example\\.com,project=proj-", p,
                                ",workload-type=service");
        break;
      case 7:
        selector = absl::StrCat("project~=proj-", p, "[0-9]?,user notin (",
                                UserEmail(u), ")");
        break;
      case 8:
        selector = absl::StrCat("workload-type=workspace,user~=user", u,
                                "@.*,project!=proj-", p);
        break;
      case 9:
        selector = absl::StrCat("user~=(user", u, "|user", (u + 3) % kUsers,
                                ")@team[0-9]+\\.example\\.com,workload-type="
                                "job");
        break;
    }
    AddRule(state, selector, absl::StrCat("role-", i));
  }
}

v1::PolicySet StateWith(int rules) {
  v1::PolicySet state = BaseState();
  if (rules == 10) {
    AddTenRules(&state);
  } else {
    AddThousandRules(&state);
  }
  return state;
}

struct Prepared {
  std::unique_ptr<const Engine> engine;
  std::vector<std::string> strings;  // storage for the views below
  std::vector<WorkloadAttributes> workloads;
};

// `miss`: workloads no rule matches (unknown users, the default project).
// Unknown users reach the rules (iam_match_unknown_users), so that `miss`
// measures a scan of every candidate list, not the early FAIL.
std::unique_ptr<Prepared> Prepare(int rules, bool miss) {
  auto out = std::make_unique<Prepared>();
  EngineOptions options;
  options.iam_match_unknown_users = true;
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(StateWith(rules), options);
  if (!engine.ok()) {
    std::fprintf(stderr, "compile failed: %s\n",
                 engine.status().ToString().c_str());
    std::abort();
  }
  out->engine = std::move(engine).value();
  std::mt19937 rng(42);
  out->strings.reserve(2 * kWorkloads);
  for (size_t i = 0; i < kWorkloads; ++i) {
    WorkloadAttributes w;
    w.cloud = "prod";
    const int type = rng() % 3;
    w.type = type == 0   ? v1::WORKLOAD_TYPE_JOB
             : type == 1 ? v1::WORKLOAD_TYPE_SERVICE
                         : v1::WORKLOAD_TYPE_WORKSPACE;
    if (miss) {
      out->strings.push_back("default");
      out->strings.push_back(absl::StrCat("someone", i, "@elsewhere.org"));
    } else {
      const int p = rng() % (kProjects + 1);
      out->strings.push_back(p == kProjects ? "" : absl::StrCat("proj-", p));
      const int u = rng() % (kUsers + 20);
      out->strings.push_back(u >= kUsers ? absl::StrCat("x", u, "@other.org")
                                         : UserEmail(u));
    }
    out->workloads.push_back(w);
  }
  for (size_t i = 0; i < kWorkloads; ++i) {
    out->workloads[i].project = out->strings[2 * i];
    out->workloads[i].user = out->strings[2 * i + 1];
  }
  return out;
}

const Prepared& Get(int rules, bool miss) {
  static const Prepared* cache[2][2] = {};
  const Prepared*& p = cache[rules == 10 ? 0 : 1][miss ? 1 : 0];
  if (p == nullptr) p = Prepare(rules, miss).release();
  return *p;
}

void BM_ResolveIam(benchmark::State& state, int rules, bool miss) {
  const Prepared& p = Get(rules, miss);
  size_t i = state.thread_index() * 97;
  int64_t mapped = 0;
  for (auto _ : state) {
    IamDecision d = p.engine->ResolveIam(p.workloads[i++ & (kWorkloads - 1)]);
    benchmark::DoNotOptimize(d);
    mapped += d.outcome == IamOutcome::kMapped;
  }
  state.counters["mapped%"] = benchmark::Counter(
      100.0 * mapped / std::max<int64_t>(state.iterations(), 1),
      benchmark::Counter::kAvgThreads);
}

void BM_ExplainIam(benchmark::State& state, int rules) {
  const Prepared& p = Get(rules, false);
  size_t i = 0;
  for (auto _ : state) {
    IamExplanation e =
        p.engine->ExplainIam(p.workloads[i++ & (kWorkloads - 1)]);
    benchmark::DoNotOptimize(e);
  }
}

// The lookups a by-name resolution cannot avoid: cloud, project and user in
// hash maps as large as the snapshot's.
void BM_Baseline(benchmark::State& state) {
  const Prepared& p = Get(1000, false);
  absl::flat_hash_map<std::string, int> ids;
  for (int i = 0; i < kProjects; ++i) ids[absl::StrCat("proj-", i)] = i;
  for (int u = 0; u < kUsers; ++u) ids[UserEmail(u)] = u;
  ids["prod"] = 0;
  size_t i = 0;
  for (auto _ : state) {
    const WorkloadAttributes& w = p.workloads[i++ & (kWorkloads - 1)];
    int sum = 0;
    for (absl::string_view key : {w.cloud, w.project, w.user}) {
      auto it = ids.find(key);
      sum += it == ids.end() ? -1 : it->second;
    }
    benchmark::DoNotOptimize(sum);
  }
}

void BM_CompileIam(benchmark::State& state, int rules) {
  const v1::PolicySet policy = StateWith(rules);
  internal::Diagnostics diag(10);
  std::unique_ptr<internal::Snapshot> compiled =
      internal::Compile(BaseState(), EngineOptions(), diag);
  for (auto _ : state) {
    internal::Diagnostics iam_diag(10);
    auto iam = internal::IamMappings::Compile(policy, *compiled, iam_diag);
    if (iam == nullptr) state.SkipWithError("IAM compile failed");
    benchmark::DoNotOptimize(iam);
  }
}

void BM_EngineCreate(benchmark::State& state, int rules) {
  const v1::PolicySet policy = StateWith(rules);
  for (auto _ : state) {
    auto engine = Engine::Create(policy);
    if (!engine.ok()) state.SkipWithError("compile failed");
    benchmark::DoNotOptimize(engine);
  }
}

void Register() {
  using benchmark::RegisterBenchmark;
  for (int rules : {10, 1000}) {
    for (bool miss : {false, true}) {
      auto* b = RegisterBenchmark(
          absl::StrCat("BM_ResolveIam/", rules, miss ? "/miss" : "/mixed")
              .c_str(),
          BM_ResolveIam, rules, miss);
      if (rules == 1000 && !miss) b->ThreadRange(1, 2);
    }
  }
  for (int rules : {10, 1000}) {
    RegisterBenchmark(absl::StrCat("BM_ExplainIam/", rules).c_str(),
                      BM_ExplainIam, rules);
  }
  RegisterBenchmark("BM_Baseline/lookups", BM_Baseline);
  for (int rules : {10, 1000}) {
    RegisterBenchmark(absl::StrCat("BM_CompileIam/", rules).c_str(),
                      BM_CompileIam, rules)
        ->Unit(benchmark::kMicrosecond);
  }
  RegisterBenchmark("BM_EngineCreate/1000", BM_EngineCreate, 1000)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  arbiter::Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
