// The durable store (arbiter/durable_store.h, issue 17): Google Benchmark.
// Files live in a scratch directory under $TEST_TMPDIR (default /tmp): run
// it on the disk you care about. Built only with the store
// (benchmarks/CMakeLists.txt).
//
//   build/benchmarks/store_benchmark --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
//
// BM_FsyncFloor            pwrite of 300 bytes + fdatasync in the store's
//                          directory: the floor under any durable commit
// BM_DurableApply/threads:N  durable Apply (StoreSync::kFull) of a
//                          single-grant transaction (set_project_member,
//                          alternating project_write and project_readonly)
//                          on the M state by N concurrent writers; counters
//                          p50_us/p99_us per Apply, transactions per log
//                          append (group commit); items_per_second is the
//                          throughput of all N
// BM_DurableApplyBesideFloor  1 writer, each Apply next to one floor
//                          operation, so that both see the same disk
// BM_Open/<size>           Open of a store holding the state of <size>
//                          (ARBITER_BENCH_SIZES, default S,M,L) right after
//                          its checkpoint: read, verify, decode, compile
// BM_OpenWith10kEntries/<size>  the same with 10,000 single-grant
//                          transactions logged after the checkpoint
// BM_OpenThenFirstApply/<size>  Open and a first Apply, which waits for the
//                          writer's index (built behind Open)
// BM_Checkpoint/<size>     a checkpoint as the background thread writes it
//                          (read, replay, encode, write, compact)
// BM_DiskBytes/<size>      bytes per grant in a checkpoint (payload and
//                          database file) and per logged single-grant
//                          transaction (log record and database growth)

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "arbiter/durable_store.h"
#include "arbiter/policy_store.h"
#include "arbiter/v1/log_record.pb.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "src/store/durable_log.h"
#include "src/store/durable_store_internal.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

using store::testing::FileSize;
using store::testing::ScratchDir;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

[[noreturn]] void Die(const absl::Status& s) {
  std::fprintf(stderr, "store_benchmark: %s\n", s.ToString().c_str());
  std::abort();
}

// Single-grant transactions on a workload: an org owner moves a direct
// project member between project_write and project_readonly.
struct Toggles {
  std::string actor;
  std::vector<std::pair<std::string, std::string>> members;  // (who, project)
  std::vector<uint8_t> write;  // per member: holds project_write now

  explicit Toggles(const v1::PolicySet& policy) {
    absl::flat_hash_set<std::string> read_only, active;
    for (const v1::Principal& p : policy.principals()) {
      if (p.state() == v1::PRINCIPAL_STATE_ACTIVE ||
          p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED) {
        active.insert(p.id());
      }
    }
    for (const v1::Grant& g : policy.grants()) {
      if (g.role() == "cloud_read_only") read_only.insert(g.principal_id());
    }
    for (const v1::Grant& g : policy.grants()) {
      if (g.principal_id().empty() || read_only.contains(g.principal_id()) ||
          !active.contains(g.principal_id())) {
        continue;
      }
      if (actor.empty() && g.role() == "org_owner") actor = g.principal_id();
      if (!g.project_id().empty() && g.role() != "project_owner") {
        members.emplace_back(g.principal_id(), g.project_id());
      }
    }
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    write.assign(members.size(), 0);
  }

  // The transaction for member `i` (flips its role).
  v1::Transaction Txn(size_t i) {
    i %= members.size();
    write[i] = !write[i];
    v1::Transaction txn;
    txn.set_actor(actor);
    auto* m = txn.add_mutations()->mutable_set_project_member();
    m->set_project(members[i].second);
    m->set_principal(members[i].first);
    m->set_role(write[i] ? "project_write" : "project_readonly");
    return txn;
  }
};

DurableStoreOptions BenchOptions(StoreSync sync) {
  DurableStoreOptions o;
  o.policy.engine = testing::WorkloadEngineOptions();
  o.policy.audit.retain_records = true;
  o.sync = sync;
  // The Apply benchmarks measure Apply alone: no checkpoint in between.
  o.checkpoint_after_entries = 0;
  o.checkpoint_after_bytes = 0;
  return o;
}

// ---- The floor ----

void BM_FsyncFloor(benchmark::State& state) {
  ScratchDir dir("bench-store-fsync");
  const std::string path = dir.Sub("probe");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string data(300, 'x');
  std::vector<double> micros;
  int64_t i = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    if (::pwrite(fd, data.data(), data.size(), (i++ % 64) * 4096) < 0 ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
    micros.push_back(Micros(Clock::now() - start));
  }
  ::close(fd);
  state.counters["p50_us"] = Percentile(micros, 0.5);
  state.counters["p99_us"] = Percentile(micros, 0.99);
}
BENCHMARK(BM_FsyncFloor)->UseRealTime()->Unit(benchmark::kMicrosecond);

// ---- Durable Apply ----

// One store on the M state for every Apply benchmark of the process.
struct ApplyFixture {
  std::unique_ptr<ScratchDir> dir;
  std::unique_ptr<DurableStore> store;
  std::unique_ptr<Toggles> toggles;
};

ApplyFixture& SharedApplyFixture() {
  static ApplyFixture* const f = [] {
    auto* f = new ApplyFixture();
    testing::Workload w =
        testing::GenerateWorkload(testing::SpecFor(testing::WorkloadSize::kM));
    f->toggles = std::make_unique<Toggles>(w.policy);
    f->dir = std::make_unique<ScratchDir>("bench-store-apply");
    auto s = DurableStore::Create(f->dir->Sub("store"), std::move(w.policy),
                                  BenchOptions(StoreSync::kFull));
    if (!s.ok()) Die(s.status());
    f->store = std::move(*s);
    return f;
  }();
  return *f;
}

DurableStoreStats apply_stats_before;

void BM_DurableApply(benchmark::State& state) {
  ApplyFixture& f = SharedApplyFixture();
  if (state.thread_index() == 0) apply_stats_before = f.store->stats();
  const size_t threads = static_cast<size_t>(state.threads());
  const size_t t = static_cast<size_t>(state.thread_index());
  // Thread t flips members t, t + threads, t + 2 threads, ...: no two
  // threads touch one grant.
  size_t next = t;
  std::vector<double> micros;
  micros.reserve(1 << 14);
  for (auto _ : state) {
    const v1::Transaction txn = f.toggles->Txn(next);
    next += threads;
    const auto start = Clock::now();
    absl::StatusOr<AppliedTransaction> a = f.store->Apply(txn);
    micros.push_back(Micros(Clock::now() - start));
    if (!a.ok()) {
      state.SkipWithError(a.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["p50_us"] = benchmark::Counter(
      Percentile(micros, 0.5), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(
      Percentile(micros, 0.99), benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    const DurableStoreStats after = f.store->stats();
    const double appends =
        static_cast<double>(after.log_appends - apply_stats_before.log_appends);
    const double txns = static_cast<double>(
        after.transactions_logged - apply_stats_before.transactions_logged);
    state.counters["txns_per_append"] = appends > 0 ? txns / appends : 0;
  }
}
BENCHMARK(BM_DurableApply)
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(3.0);

void BM_DurableApplyBesideFloor(benchmark::State& state) {
  ApplyFixture& f = SharedApplyFixture();
  const std::string probe = f.dir->Sub("probe");
  int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string data(300, 'y');
  std::vector<double> floor_us, apply_us;
  size_t i = 0;
  for (auto _ : state) {
    const v1::Transaction txn = f.toggles->Txn(i++);
    const auto t0 = Clock::now();
    if (::pwrite(fd, data.data(), data.size(), (i % 64) * 4096) < 0 ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
    const auto t1 = Clock::now();
    absl::StatusOr<AppliedTransaction> a = f.store->Apply(txn);
    const auto t2 = Clock::now();
    if (!a.ok()) {
      state.SkipWithError(a.status().ToString().c_str());
      break;
    }
    floor_us.push_back(Micros(t1 - t0));
    apply_us.push_back(Micros(t2 - t1));
  }
  ::close(fd);
  state.counters["floor_p50_us"] = Percentile(floor_us, 0.5);
  state.counters["apply_p50_us"] = Percentile(apply_us, 0.5);
  state.counters["apply_p99_us"] = Percentile(apply_us, 0.99);
}
BENCHMARK(BM_DurableApplyBesideFloor)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(3.0);

// ---- Open and disk use, per workload size ----

struct SizedStore {
  std::unique_ptr<ScratchDir> dir;
  std::string checkpointed;  // a store right after its checkpoint
  std::string with_entries;  // the same plus 10,000 logged transactions
  uint64_t grants = 0;
  uint64_t checkpoint_payload = 0;
  int64_t checkpoint_db_bytes = 0;
  double log_record_bytes = 0;
  double db_bytes_per_txn = 0;
};

constexpr int kEntries = 10000;

std::unique_ptr<SizedStore> MakeSizedStore(testing::WorkloadSize size) {
  auto s = std::make_unique<SizedStore>();
  testing::Workload w = testing::GenerateWorkload(testing::SpecFor(size));
  Toggles toggles(w.policy);
  s->grants = static_cast<uint64_t>(w.policy.grants_size());
  s->dir = std::make_unique<ScratchDir>("bench-store-open");
  s->checkpointed = s->dir->Sub("checkpointed");
  s->with_entries = s->dir->Sub("entries");
  {
    auto created = DurableStore::Create(s->checkpointed, std::move(w.policy),
                                        BenchOptions(StoreSync::kFull));
    if (!created.ok()) Die(created.status());
    absl::StatusOr<absl::optional<store::Checkpoint>> cp =
        store::DurableStoreAccess::Log(**created).LatestCheckpoint();
    if (!cp.ok()) Die(cp.status());
    s->checkpoint_payload = (*cp)->payload.size();
  }
  s->checkpoint_db_bytes = FileSize(s->checkpointed + "/arbiter.db");
  if (!store::testing::CopyTree(s->checkpointed, s->with_entries).ok()) {
    Die(absl::InternalError("copy"));
  }
  {
    // The 10,000 transactions are logged without fsync (the bytes are the
    // same; only their writing is faster) and kept by no checkpoint.
    DurableStoreOptions o = BenchOptions(StoreSync::kNormal);
    auto opened = DurableStore::Open(s->with_entries, o);
    if (!opened.ok()) Die(opened.status());
    uint64_t record_bytes = 0;
    for (int i = 0; i < kEntries; ++i) {
      absl::StatusOr<AppliedTransaction> a = (*opened)->Apply(toggles.Txn(i));
      if (!a.ok()) Die(a.status());
      v1::LogRecord record;
      record.set_revision(a->revision);
      *record.mutable_delta() = a->delta;
      for (const v1::AuditRecord& r : a->audit) *record.add_audit() = r;
      record_bytes += record.ByteSizeLong();
    }
    s->log_record_bytes = static_cast<double>(record_bytes) / kEntries;
  }
  s->db_bytes_per_txn =
      static_cast<double>(FileSize(s->with_entries + "/arbiter.db") -
                          s->checkpoint_db_bytes) /
      kEntries;
  return s;
}

bench::SizeCache<SizedStore> sized_stores(MakeSizedStore);

void OpenBenchmark(benchmark::State& state, testing::WorkloadSize size,
                   bool entries) {
  std::string why;
  const SizedStore* s = sized_stores.Get(size, &why);
  if (s == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  const std::string& dir = entries ? s->with_entries : s->checkpointed;
  DurableStoreOptions o = BenchOptions(StoreSync::kFull);
  o.checkpoint_after_entries = 0;  // measure Open, not a checkpoint after it
  uint64_t revision = 0;
  for (auto _ : state) {
    auto opened = DurableStore::Open(dir, o);
    if (!opened.ok()) {
      state.SkipWithError(opened.status().ToString().c_str());
      break;
    }
    revision = (*opened)->revision();
    state.PauseTiming();
    opened = absl::CancelledError("closed");  // close outside the timing
    state.ResumeTiming();
  }
  state.counters["grants"] = static_cast<double>(s->grants);
  state.counters["revision"] = static_cast<double>(revision);
}

// Open, then the first Apply, which waits for the writer's index of the
// state (built behind Open): the time until the store takes writes. Each
// iteration opens a fresh copy of the checkpointed store.
void BM_OpenThenFirstApply(benchmark::State& state,
                           testing::WorkloadSize size) {
  std::string why;
  const SizedStore* s = sized_stores.Get(size, &why);
  if (s == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  testing::Workload w = testing::GenerateWorkload(testing::SpecFor(size));
  Toggles toggles(w.policy);
  w = testing::Workload();
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::make_unique<ScratchDir>("bench-store-first-apply");
    if (!store::testing::CopyTree(s->checkpointed, dir->path()).ok()) {
      state.SkipWithError("copy failed");
      break;
    }
    state.ResumeTiming();
    auto opened =
        DurableStore::Open(dir->path(), BenchOptions(StoreSync::kFull));
    if (!opened.ok()) {
      state.SkipWithError(opened.status().ToString().c_str());
      break;
    }
    absl::StatusOr<AppliedTransaction> a = (*opened)->Apply(toggles.Txn(0));
    if (!a.ok()) {
      state.SkipWithError(a.status().ToString().c_str());
      break;
    }
    state.PauseTiming();
    opened = absl::CancelledError("closed");
    dir.reset();
    state.ResumeTiming();
  }
}

// A checkpoint as the background thread writes it: read the latest
// checkpoint and the log after it (one transaction here), replay, encode,
// write in chunks, compact.
void BM_Checkpoint(benchmark::State& state, testing::WorkloadSize size) {
  std::string why;
  const SizedStore* s = sized_stores.Get(size, &why);
  if (s == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  ScratchDir dir("bench-store-checkpoint");
  if (!store::testing::CopyTree(s->checkpointed, dir.path()).ok()) {
    state.SkipWithError("copy failed");
    return;
  }
  auto opened = DurableStore::Open(dir.path(), BenchOptions(StoreSync::kFull));
  if (!opened.ok()) {
    state.SkipWithError(opened.status().ToString().c_str());
    return;
  }
  testing::Workload w = testing::GenerateWorkload(testing::SpecFor(size));
  Toggles toggles(w.policy);
  size_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<AppliedTransaction> a = (*opened)->Apply(toggles.Txn(i++));
    state.ResumeTiming();
    if (!a.ok()) {
      state.SkipWithError(a.status().ToString().c_str());
      break;
    }
    if (absl::Status c = (*opened)->Checkpoint(); !c.ok()) {
      state.SkipWithError(c.ToString().c_str());
      break;
    }
  }
}

void BM_DiskBytes(benchmark::State& state, testing::WorkloadSize size) {
  std::string why;
  const SizedStore* s = sized_stores.Get(size, &why);
  if (s == nullptr) {
    state.SkipWithError(why.c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(s->grants);
  }
  const double grants = static_cast<double>(std::max<uint64_t>(1, s->grants));
  state.counters["grants"] = static_cast<double>(s->grants);
  state.counters["checkpoint_bytes_per_grant"] =
      static_cast<double>(s->checkpoint_payload) / grants;
  state.counters["db_bytes_per_grant"] =
      static_cast<double>(s->checkpoint_db_bytes) / grants;
  state.counters["log_record_bytes_per_txn"] = s->log_record_bytes;
  state.counters["db_bytes_per_txn"] = s->db_bytes_per_txn;
}

void Register(testing::WorkloadSize size) {
  const std::string name(testing::WorkloadSizeName(size));
  benchmark::RegisterBenchmark(
      ("BM_Open/" + name).c_str(),
      [size](benchmark::State& st) { OpenBenchmark(st, size, false); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::RegisterBenchmark(
      ("BM_OpenWith10kEntries/" + name).c_str(),
      [size](benchmark::State& st) { OpenBenchmark(st, size, true); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::RegisterBenchmark(
      ("BM_OpenThenFirstApply/" + name).c_str(),
      [size](benchmark::State& st) { BM_OpenThenFirstApply(st, size); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::RegisterBenchmark(
      ("BM_Checkpoint/" + name).c_str(),
      [size](benchmark::State& st) { BM_Checkpoint(st, size); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->MinTime(2.0);
  benchmark::RegisterBenchmark(
      ("BM_DiskBytes/" + name).c_str(),
      [size](benchmark::State& st) { BM_DiskBytes(st, size); })
      ->Iterations(1);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  return arbiter::bench::RunBenchmarks(argc, argv, arbiter::Register);
}
