// ReplicatedStore (include/arbiter/replicated_store.h) on a 3-member etcd
// cluster started on loopback (tests/replication/etcd_cluster.h), default
// raft timing:
//
//   BM_ApplyVisibleOnAllReplicas  Apply on one replica -> published by all 3
//                                 replicas (visible to Check): p50/p99
//   BM_ApplyThroughput            N writer threads spread over 3 replicas,
//                                 transactions committed per second
//   BM_EtcdPut                    etcd's own Put from N client threads on
//                                 this machine: the floor to compare with
//   BM_BootstrapL                 Open of a replica on a log holding the L
//                                 state (tests/testing/workload.h) as its
//                                 checkpoint
//
// ARBITER_ETCD_BENCH_DIR chooses where the members keep their data (default
// $TMPDIR or /tmp, i.e. the disk; /dev/shm takes fsync out). Run:
//   build/benchmarks/replication_benchmark --benchmark_counters_tabular=true

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "arbiter/demo.h"
#include "arbiter/replicated_store.h"
#include "benchmark/benchmark.h"
#include "src/replication/etcd_client.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

using ::arbiter::testing::EtcdCluster;

EtcdCluster& Cluster() {
  static EtcdCluster* cluster = [] {
    EtcdCluster::Options options;
    options.members = 3;
    options.heartbeat_ms = 100;  // etcd's defaults, as in production
    options.election_ms = 1000;
    const char* dir = std::getenv("ARBITER_ETCD_BENCH_DIR");
    if (dir != nullptr) options.parent_dir = dir;
    absl::StatusOr<std::unique_ptr<EtcdCluster>> c =
        EtcdCluster::Start(options);
    if (!c.ok()) {
      std::fprintf(stderr, "cannot start etcd: %s\n",
                   c.status().ToString().c_str());
      std::abort();
    }
    return c->release();
  }();
  return *cluster;
}

std::vector<std::string> Endpoints(int first_member) {
  std::vector<std::string> endpoints = Cluster().client_endpoints();
  std::rotate(endpoints.begin(), endpoints.begin() + first_member % 3,
              endpoints.end());
  return endpoints;
}

std::string Prefix(absl::string_view name) {
  static std::atomic<int> n{0};
  return absl::StrCat("/bench/", name, "-", n++, "-",
                      absl::ToUnixMicros(absl::Now()), "/");
}

ReplicatedStoreOptions Options(const std::string& prefix, int member) {
  ReplicatedStoreOptions o;
  o.endpoints = Endpoints(member);
  o.prefix = prefix;
  o.checkpoint_interval = 0;
  if (const char* r = std::getenv("ARBITER_BENCH_CONFLICT_RETRIES")) {
    o.conflict_retries = std::atoi(r);
  }
  return o;
}

// Three replicas of a fresh log holding the demo state.
std::vector<std::unique_ptr<ReplicatedStore>> ThreeReplicas(
    const std::string& prefix) {
  if (!ReplicatedStore::Initialize(Options(prefix, 0), DemoPolicySet()).ok()) {
    std::abort();
  }
  std::vector<std::unique_ptr<ReplicatedStore>> replicas;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<ReplicatedStore>> r =
        ReplicatedStore::Open(Options(prefix, i));
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      std::abort();
    }
    replicas.push_back(*std::move(r));
  }
  return replicas;
}

// Always valid: alice (org owner) sets a user's role on ml-prod.
v1::Transaction Toggle(int64_t n, int writer) {
  static const char* const kUsers[] = {"erin@acme.com", "kim@acme.com",
                                       "frank@acme.com", "carol@acme.com"};
  static const char* const kRoles[] = {"project_write", "project_readonly"};
  v1::Transaction txn;
  txn.set_actor("alice@acme.com");
  auto* m = txn.add_mutations()->mutable_set_project_member();
  m->set_project("prod/ml-prod");
  m->set_principal(kUsers[writer % 4]);
  m->set_role(kRoles[n % 2]);
  return txn;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

void BM_ApplyVisibleOnAllReplicas(benchmark::State& state) {
  std::vector<std::unique_ptr<ReplicatedStore>> replicas =
      ThreeReplicas(Prefix("visible"));
  AccessRequest request;
  request.principal = "erin@acme.com";
  request.permission = "project.workload.create";
  request.resource = "prod/ml-prod";
  std::vector<double> all_ms, apply_ms;
  int64_t n = 0;
  for (auto _ : state) {
    ReplicatedStore& writer = *replicas[n % 3];
    const absl::Time start = absl::Now();
    absl::StatusOr<ReplicatedWrite> w = writer.Apply(Toggle(n, 0));
    if (!w.ok()) {
      state.SkipWithError(w.status().ToString().c_str());
      break;
    }
    const absl::Time applied = absl::Now();
    for (auto& r : replicas) {
      if (!r->WaitFor(w->revision, absl::Now() + absl::Seconds(10)).ok()) {
        state.SkipWithError("a replica did not publish the revision");
        break;
      }
    }
    const absl::Time visible = absl::Now();
    // Visible to Check: every replica answers from the new revision.
    for (auto& r : replicas) {
      if (r->engine()->Check(request).revision < w->revision) std::abort();
    }
    state.SetIterationTime(absl::ToDoubleSeconds(visible - start));
    all_ms.push_back(absl::ToDoubleMilliseconds(visible - start));
    apply_ms.push_back(absl::ToDoubleMilliseconds(applied - start));
    ++n;
  }
  state.counters["all3_p50_ms"] = Percentile(all_ms, 0.50);
  state.counters["all3_p99_ms"] = Percentile(all_ms, 0.99);
  state.counters["apply_p50_ms"] = Percentile(apply_ms, 0.50);
  state.counters["apply_p99_ms"] = Percentile(apply_ms, 0.99);
}
BENCHMARK(BM_ApplyVisibleOnAllReplicas)
    ->Iterations(500)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Writers spread over three replicas (thread i writes through replica i % 3);
// each replica groups its concurrent writers into one etcd transaction and
// retries lost races after catching up.
struct ThroughputFixture {
  std::mutex mu;
  int users = 0;
  std::vector<std::unique_ptr<ReplicatedStore>> replicas;
};

void BM_ApplyThroughput(benchmark::State& state) {
  static ThroughputFixture* fixture = new ThroughputFixture();
  {
    std::lock_guard<std::mutex> lock(fixture->mu);
    if (fixture->users++ == 0) {
      fixture->replicas = ThreeReplicas(Prefix("throughput"));
    }
  }
  ReplicatedStore& replica = *fixture->replicas[state.thread_index() % 3];
  int64_t committed = 0, aborted = 0, failed = 0, n = 0;
  const uint64_t conflicts_before = replica.status().conflicts;
  for (auto _ : state) {
    absl::StatusOr<ReplicatedWrite> w =
        replica.Apply(Toggle(n++, state.thread_index()));
    if (w.ok()) {
      ++committed;
    } else if (absl::IsAborted(w.status())) {
      ++aborted;  // lost conflict_retries races in a row
    } else {
      ++failed;
    }
  }
  state.SetItemsProcessed(committed);
  state.counters["aborted"] = benchmark::Counter(static_cast<double>(aborted),
                                                 benchmark::Counter::kIsRate);
  state.counters["failed"] = benchmark::Counter(static_cast<double>(failed),
                                                benchmark::Counter::kIsRate);
  if (state.thread_index() < 3) {
    state.counters["lost_races"] = benchmark::Counter(
        static_cast<double>(replica.status().conflicts - conflicts_before),
        benchmark::Counter::kIsRate);
  }
  std::lock_guard<std::mutex> lock(fixture->mu);
  if (--fixture->users == 0) fixture->replicas.clear();
}
BENCHMARK(BM_ApplyThroughput)
    ->Threads(1)
    ->Threads(3)
    ->Threads(6)
    ->Threads(12)
    ->Threads(24)
    ->UseRealTime()
    ->MinTime(3.0);

void BM_EtcdPut(benchmark::State& state) {
  replication::EtcdClientOptions options;
  options.endpoints = Endpoints(state.thread_index());
  std::unique_ptr<replication::EtcdClient> client =
      *replication::EtcdClient::Create(options);
  const std::string prefix = Prefix(absl::StrCat("put-", state.thread_index()));
  int64_t n = 0;
  for (auto _ : state) {
    if (!client->Put(absl::StrCat(prefix, n++ % 1000), "v").ok()) {
      state.SkipWithError("put failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtcdPut)
    ->Threads(1)
    ->Threads(3)
    ->Threads(6)
    ->Threads(12)
    ->Threads(24)
    ->UseRealTime()
    ->MinTime(3.0);

// Opening a replica on a log whose checkpoint holds the L state: one
// linearizable read, the image's chunks, decoding, one compile.
void BM_BootstrapL(benchmark::State& state) {
  const testing::Workload w =
      testing::GenerateWorkload(testing::SpecFor(testing::WorkloadSize::kL));
  const std::string prefix = Prefix("bootstrap-l");
  ReplicatedStoreOptions options = Options(prefix, 0);
  options.store.engine = testing::WorkloadEngineOptions();
  absl::Status init = ReplicatedStore::Initialize(options, w.policy).status();
  if (!init.ok()) {
    state.SkipWithError(init.ToString().c_str());
    return;
  }
  size_t grants = static_cast<size_t>(w.policy.grants_size());
  options.endpoints = Endpoints(1);
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<ReplicatedStore>> r =
        ReplicatedStore::Open(options);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    if ((*r)->engine()->num_grants() == 0) {
      state.SkipWithError("the replica holds no grants");
      return;
    }
  }
  state.counters["grants"] = static_cast<double>(grants);
  state.counters["image_mb"] =
      static_cast<double>(w.policy.ByteSizeLong()) / (1 << 20);
}
BENCHMARK(BM_BootstrapL)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace arbiter

BENCHMARK_MAIN();
