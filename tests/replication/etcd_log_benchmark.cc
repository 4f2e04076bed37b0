// Measures the etcd replication layer on a 3-member etcd cluster started on
// loopback (tests/replication/etcd_cluster.h):
//
//   BM_AppendToAllFollowers   Append on one replica -> delivered by the
//                             followers of all 3 replicas (p50/p99 counters)
//   BM_EtcdPut                etcd's own Put from N client threads: the floor
//   BM_AppendIndependent      N writers, each its own replica, one entry per
//                             transaction, conflicts retried (PolicyStore on
//                             N replicas)
//   BM_AppendGroupCommit      N writer threads in one replica sharing group
//                             commits (Enqueue/Wait)
//   BM_Bootstrap              a follower's Bootstrap of a ~30 MB checkpoint
//                             image plus 10,000 entries
//
// ARBITER_ETCD_BENCH_DIR chooses where the members keep their data (default
// $TMPDIR or /tmp, i.e. the disk; /dev/shm takes fsync out). Run:
//   build/tests/replication/etcd_log_benchmark
//   --benchmark_counters_tabular=true

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "src/replication/etcd_client.h"
#include "src/replication/etcd_follower.h"
#include "src/replication/etcd_log.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/replication/log_model.h"

namespace arbiter {
namespace replication {
namespace {

using ::arbiter::testing::EtcdCluster;

EtcdCluster& Cluster() {
  static EtcdCluster* cluster = [] {
    EtcdCluster::Options options;
    options.members = 3;
    // Default raft timing, as in production.
    options.heartbeat_ms = 100;
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

std::shared_ptr<EtcdClient> Client(int first_member) {
  std::vector<std::string> endpoints = Cluster().client_endpoints();
  std::rotate(endpoints.begin(), endpoints.begin() + first_member % 3,
              endpoints.end());
  EtcdClientOptions options;
  options.endpoints = endpoints;
  return std::shared_ptr<EtcdClient>(*EtcdClient::Create(options));
}

std::string Prefix(absl::string_view name) {
  static std::atomic<int> n{0};
  return absl::StrCat("/bench/", name, "-", n++, "-",
                      absl::ToUnixMicros(absl::Now()));
}

struct Follower {
  std::unique_ptr<EtcdFollower> follower;
  std::atomic<uint64_t> revision{0};
};

std::unique_ptr<Follower> StartFollower(int member, const EtcdLogOptions& log) {
  auto f = std::make_unique<Follower>();
  f->follower = *EtcdFollower::Create(Client(member), log);
  absl::StatusOr<EtcdLogSnapshot> snapshot = f->follower->Bootstrap();
  if (!snapshot.ok()) std::abort();
  Follower* raw = f.get();
  EtcdFollowerCallbacks callbacks;
  callbacks.on_entry = [raw](const EtcdLogEntry& e) {
    raw->revision.store(e.revision);
    return absl::OkStatus();
  };
  callbacks.on_reset = [raw](const EtcdLogSnapshot& s) {
    raw->revision.store(s.revision());
    return absl::OkStatus();
  };
  if (!f->follower->Follow(callbacks).ok()) std::abort();
  return f;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

void BM_AppendToAllFollowers(benchmark::State& state) {
  EtcdLogOptions options;
  options.prefix = Prefix("latency");
  std::unique_ptr<EtcdLog> log = *EtcdLog::Open(Client(0), options);
  std::vector<std::unique_ptr<Follower>> followers;
  for (int i = 0; i < 3; ++i) followers.push_back(StartFollower(i, options));
  const std::string payload(static_cast<size_t>(state.range(0)), 'p');
  uint64_t head = 0;
  std::vector<double> all_ms, append_ms;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    absl::StatusOr<EtcdAppendResult> r = log->Append(head, payload);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    const absl::Time acked = absl::Now();
    head = r->revision;
    for (auto& f : followers) {
      if (!f->follower->WaitForRevision(head, absl::Now() + absl::Seconds(10))
               .ok()) {
        state.SkipWithError("follower did not deliver");
        break;
      }
    }
    const absl::Time delivered = absl::Now();
    state.SetIterationTime(absl::ToDoubleSeconds(delivered - start));
    all_ms.push_back(absl::ToDoubleMilliseconds(delivered - start));
    append_ms.push_back(absl::ToDoubleMilliseconds(acked - start));
  }
  state.counters["all3_p50_ms"] = Percentile(all_ms, 0.50);
  state.counters["all3_p99_ms"] = Percentile(all_ms, 0.99);
  state.counters["append_p50_ms"] = Percentile(append_ms, 0.50);
  state.counters["append_p99_ms"] = Percentile(append_ms, 0.99);
}
BENCHMARK(BM_AppendToAllFollowers)
    ->Arg(200)
    ->Arg(16 << 10)
    ->Iterations(500)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Sequential Put latency of one client: etcd's own floor for one write.
void BM_EtcdPutLatency(benchmark::State& state) {
  std::shared_ptr<EtcdClient> client = Client(0);
  const std::string key = Prefix("put-latency");
  std::vector<double> ms;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    if (!client->Put(key, "v").ok()) {
      state.SkipWithError("put failed");
      break;
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  state.counters["p50_ms"] = Percentile(ms, 0.50);
  state.counters["p99_ms"] = Percentile(ms, 0.99);
}
BENCHMARK(BM_EtcdPutLatency)->Iterations(500)->Unit(benchmark::kMillisecond);

// etcd's own Put throughput from N client threads (distinct keys).
void BM_EtcdPut(benchmark::State& state) {
  std::shared_ptr<EtcdClient> client = Client(state.thread_index());
  const std::string prefix = Prefix(absl::StrCat("put-", state.thread_index()));
  int64_t n = 0;
  for (auto _ : state) {
    if (!client->Put(absl::StrCat(prefix, "/", n++ % 1000), "v").ok()) {
      state.SkipWithError("put failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EtcdPut)->ThreadRange(1, 16)->UseRealTime()->MinTime(2.0);

// A prefix per benchmark name and thread count, the same for every thread
// and every run of it (Google Benchmark may run a function several times to
// reach MinTime; the log simply continues).
std::string SharedPrefix(absl::string_view name, int threads) {
  static const int64_t start = absl::ToUnixMicros(absl::Now());
  return absl::StrCat("/bench/", name, "-", threads, "-", start);
}

// N independent replicas appending single entries to one log: each reads
// the head from its own follower, appends, and on a conflict waits for its
// follower to catch up (what PolicyStore on N replicas does).
void BM_AppendIndependent(benchmark::State& state) {
  EtcdLogOptions options;
  options.prefix = SharedPrefix("independent", state.threads());
  std::unique_ptr<EtcdLog> log =
      *EtcdLog::Open(Client(state.thread_index()), options);
  std::unique_ptr<Follower> follower =
      StartFollower(state.thread_index(), options);
  int64_t committed = 0, conflicts = 0;
  const std::string payload(200, 'p');
  for (auto _ : state) {
    for (;;) {
      const uint64_t head = follower->follower->revision();
      absl::StatusOr<EtcdAppendResult> r = log->Append(head, payload);
      if (r.ok()) {
        ++committed;
        break;
      }
      if (!absl::IsAborted(r.status())) {
        state.SkipWithError(r.status().ToString().c_str());
        return;
      }
      ++conflicts;
      (void)follower->follower->WaitForRevision(head + 1,
                                                absl::Now() + absl::Seconds(5));
    }
  }
  state.SetItemsProcessed(committed);
  state.counters["conflicts"] = benchmark::Counter(
      static_cast<double>(conflicts), benchmark::Counter::kIsRate);
  follower->follower->Stop();
}
BENCHMARK(BM_AppendIndependent)->ThreadRange(1, 8)->UseRealTime()->MinTime(3.0);

// N writer threads of one replica: revisions assigned under a lock, waits
// shared by group commit (how PolicyStore would drive Enqueue).
struct GroupWriter {
  std::mutex mu;
  std::unique_ptr<EtcdLog> log;
  uint64_t next = 1;
};

GroupWriter& GroupFor(int threads) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<GroupWriter>>* writers =
      new std::map<int, std::unique_ptr<GroupWriter>>();
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<GroupWriter>& w = (*writers)[threads];
  if (w == nullptr) {
    w = std::make_unique<GroupWriter>();
    EtcdLogOptions options;
    options.prefix = SharedPrefix("group", threads);
    w->log = *EtcdLog::Open(Client(0), options);
  }
  return *w;
}

void BM_AppendGroupCommit(benchmark::State& state) {
  GroupWriter& writer = GroupFor(state.threads());
  const std::string payload(200, 'p');
  int64_t committed = 0;
  for (auto _ : state) {
    EtcdLog::AppendHandle handle;
    {
      std::lock_guard<std::mutex> lock(writer.mu);
      handle = writer.log->Enqueue(writer.next++, payload);
    }
    absl::StatusOr<EtcdAppendResult> r = handle.Wait();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    ++committed;
  }
  state.SetItemsProcessed(committed);
  if (state.thread_index() == 0) {
    EtcdLogStats stats = writer.log->stats();
    state.counters["entries_per_txn"] =
        stats.group_commits == 0
            ? 0
            : static_cast<double>(stats.entries_committed) /
                  stats.group_commits;
  }
}
BENCHMARK(BM_AppendGroupCommit)
    ->ThreadRange(1, 16)
    ->UseRealTime()
    ->MinTime(3.0);

// A follower's Bootstrap of a ~30 MB image plus 10,000 entries of ~200 B.
void BM_Bootstrap(benchmark::State& state) {
  EtcdLogOptions options;
  options.prefix = Prefix("bootstrap");
  options.keep_entries = 0;
  std::unique_ptr<EtcdLog> log = *EtcdLog::Open(Client(0), options);
  // The image: 30 MB of incompressible bytes (compression is not ours).
  std::string image(30 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : image) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  if (!log->Initialize(0, image).ok()) {
    state.SkipWithError("initialize failed");
    return;
  }
  const int entries = static_cast<int>(state.range(0));
  const std::string payload(200, 'e');
  for (int i = 1; i <= entries;) {
    std::vector<EtcdLog::AppendHandle> handles;
    for (int k = 0; k < 32 && i <= entries; ++k, ++i) {
      handles.push_back(log->Enqueue(i, payload));
    }
    for (auto& h : handles) {
      if (!h.Wait().ok()) {
        state.SkipWithError("append failed");
        return;
      }
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::unique_ptr<EtcdFollower> follower =
        *EtcdFollower::Create(Client(1), options);
    absl::StatusOr<EtcdLogSnapshot> snapshot = follower->Bootstrap();
    if (!snapshot.ok() ||
        snapshot->entries.size() != static_cast<size_t>(entries) ||
        snapshot->checkpoint->image.size() != image.size()) {
      state.SkipWithError("bootstrap failed");
      return;
    }
    bytes = snapshot->checkpoint->image.size() +
            snapshot->entries.size() * payload.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_Bootstrap)
    ->Arg(10000)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace replication
}  // namespace arbiter

BENCHMARK_MAIN();
