// Google Benchmark for the durable log (issue 17's figures). Files live in
// a scratch directory under $TEST_TMPDIR (default /tmp): run it on the disk
// you care about.
//
//   build/tests/store/store_benchmark --benchmark_repetitions=5 \
//       --benchmark_report_aggregates_only=true
//
// BM_FsyncFloor*        pwrite of 300 bytes + fdatasync in the same
//                       directory: the floor under any durable commit
// BM_Append/threads:N   durable Append (SyncMode::kFull) of a 300-byte entry
//                       by N concurrent writers (group commit); counters
//                       p50_us/p99_us per Append, entries_per_commit
// BM_AppendBesideFloor  1 writer, each Append next to one floor operation,
//                       so that both see the same disk at the same time
// BM_AppendNormal       the same with SyncMode::kNormal (no fsync)
// BM_WriteCheckpoint    a 30 MB checkpoint; counters bytes_on_disk
// BM_Recover*           Open (+ LatestCheckpoint + ReadEntries) of a store
//                       holding a 30 MB checkpoint and 10,000 entries of
//                       ~300 bytes after it; with and without quick_check
// BM_Verify             DurableLog::Verify() (integrity_check + every hash)
//                       of that store
// BM_DiskBytesPerEntry  database bytes per 300-byte entry

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "src/store/durable_log.h"
#include "tests/store/store_test_util.h"

namespace arbiter {
namespace store {
namespace {

using testing::FileSize;
using testing::RandomBytes;
using testing::ScratchDir;

constexpr size_t kEntryBytes = 300;
constexpr size_t kCheckpointBytes = size_t{30} << 20;

using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1));
  return v[i];
}

void ReportLatency(benchmark::State& state, std::vector<double>& micros) {
  state.counters["p50_us"] = benchmark::Counter(
      Percentile(micros, 0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(
      Percentile(micros, 0.99), benchmark::Counter::kAvgThreads);
}

std::unique_ptr<DurableLog> OpenOrDie(const std::string& dir,
                                      const DurableLogOptions& o) {
  auto log = DurableLog::Open(dir, o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    std::abort();
  }
  return std::move(*log);
}

int64_t StoreBytes(const std::string& dir) {
  int64_t total = 0;
  for (const char* f : {"/arbiter.db", "/arbiter.db-wal"}) {
    total += std::max<int64_t>(0, FileSize(dir + f));
  }
  return total;
}

// ---- The floor ----

void FsyncFloor(benchmark::State& state, bool append) {
  ScratchDir dir("bench-fsync");
  const std::string path = dir.Sub("probe");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string data = RandomBytes(1, kEntryBytes);
  std::vector<double> micros;
  int64_t i = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    const off_t offset = append ? i * 4096 : (i % 64) * 4096;
    if (::pwrite(fd, data.data(), data.size(), offset) < 0 ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start)
            .count());
    ++i;
  }
  ::close(fd);
  ReportLatency(state, micros);
}
void BM_FsyncFloor(benchmark::State& state) { FsyncFloor(state, false); }
void BM_FsyncFloorGrowingFile(benchmark::State& state) {
  FsyncFloor(state, true);
}
BENCHMARK(BM_FsyncFloor)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FsyncFloorGrowingFile)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---- Append ----

struct SharedLog {
  std::unique_ptr<ScratchDir> dir;
  std::unique_ptr<DurableLog> log;
  std::mutex order;  // revision assignment, as PolicyStore does it
  DurableLogStats before;
};
SharedLog* shared = nullptr;

void AppendBenchmark(benchmark::State& state, SyncMode sync) {
  if (state.thread_index() == 0) {
    delete shared;  // the previous run's (all its threads are done)
    shared = new SharedLog();
    shared->dir = std::make_unique<ScratchDir>("bench-append");
    DurableLogOptions o;
    o.sync = sync;
    shared->log = OpenOrDie(shared->dir->path(), o);
    shared->before = shared->log->stats();
  }
  const std::string payload = RandomBytes(state.thread_index(), kEntryBytes);
  std::vector<double> micros;
  micros.reserve(100000);
  for (auto _ : state) {
    const auto start = Clock::now();
    std::unique_lock<std::mutex> l(shared->order);
    const uint64_t rev = shared->log->last_queued_revision() + 1;
    DurableLog::AppendHandle h = shared->log->Enqueue({rev, payload});
    l.unlock();
    absl::Status s = h.Wait();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start)
            .count());
  }
  state.SetItemsProcessed(state.iterations());
  ReportLatency(state, micros);
  if (state.thread_index() == 0) {
    // Thread 0 leaves the loop after every thread finished its iterations
    // (Google Benchmark's end barrier), so the counts are final.
    const DurableLogStats after = shared->log->stats();
    const double commits =
        static_cast<double>(after.group_commits - shared->before.group_commits);
    const double entries = static_cast<double>(
        after.entries_committed - shared->before.entries_committed);
    state.counters["entries_per_commit"] = benchmark::Counter(
        commits > 0 ? entries / commits : 0);  // thread 0 only: not averaged
  }
}
void BM_Append(benchmark::State& state) {
  AppendBenchmark(state, SyncMode::kFull);
}
void BM_AppendNormal(benchmark::State& state) {
  AppendBenchmark(state, SyncMode::kNormal);
}
BENCHMARK(BM_Append)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->Threads(8)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(2.0);
// One Append and one floor operation (pwrite + fdatasync of a probe file in
// the same directory) in turn, so that both see the same disk: this
// machine's flush latency changes over time (see docs/store.md).
void BM_AppendBesideFloor(benchmark::State& state) {
  ScratchDir dir("bench-paired");
  DurableLogOptions o;
  auto log = OpenOrDie(dir.Sub("store"), o);
  const std::string probe = dir.Sub("probe");
  int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string payload = RandomBytes(9, kEntryBytes);
  std::vector<double> floor_us, append_us, ratio;
  uint64_t rev = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    if (::pwrite(fd, payload.data(), payload.size(),
                 static_cast<off_t>(rev % 64) * 4096) < 0 ||
        ::fdatasync(fd) != 0) {
      state.SkipWithError("pwrite/fdatasync failed");
      break;
    }
    auto t1 = Clock::now();
    if (!log->Append({++rev, payload}).ok()) {
      state.SkipWithError("Append failed");
      break;
    }
    auto t2 = Clock::now();
    floor_us.push_back(
        std::chrono::duration<double, std::micro>(t1 - t0).count());
    append_us.push_back(
        std::chrono::duration<double, std::micro>(t2 - t1).count());
    ratio.push_back(append_us.back() / std::max(1.0, floor_us.back()));
  }
  ::close(fd);
  state.counters["floor_p50_us"] = Percentile(floor_us, 0.5);
  state.counters["append_p50_us"] = Percentile(append_us, 0.5);
  state.counters["append_p99_us"] = Percentile(append_us, 0.99);
  state.counters["append_over_floor_p50"] = Percentile(ratio, 0.5);
}
BENCHMARK(BM_AppendBesideFloor)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(2.0);

BENCHMARK(BM_AppendNormal)
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---- Checkpoints ----

void BM_WriteCheckpoint(benchmark::State& state) {
  ScratchDir dir("bench-checkpoint");
  DurableLogOptions o;
  auto log = OpenOrDie(dir.path(), o);
  const std::string image = RandomBytes(2, kCheckpointBytes);
  uint64_t rev = 0;
  for (auto _ : state) {
    state.PauseTiming();
    if (!log->Append({++rev, "x"}).ok()) std::abort();
    Checkpoint cp{rev, image};
    state.ResumeTiming();
    absl::Status s = log->WriteCheckpoint(std::move(cp));
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(kCheckpointBytes));
  state.counters["bytes_on_disk_open"] =
      static_cast<double>(StoreBytes(dir.path()));
  log.reset();
  state.counters["bytes_on_disk_closed"] =
      static_cast<double>(StoreBytes(dir.path()));
}
BENCHMARK(BM_WriteCheckpoint)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

// ---- Recovery ----

// A store with a 30 MB checkpoint and 10,000 entries of ~300 bytes after
// it, built once.
const std::string& RecoveryStore() {
  static ScratchDir* dir = [] {
    auto* d = new ScratchDir("bench-recover");
    DurableLogOptions o;
    o.sync = SyncMode::kNormal;  // building only
    auto log = OpenOrDie(d->path(), o);
    if (!log->Append({1, "first"}).ok() ||
        !log->WriteCheckpoint({1, RandomBytes(3, kCheckpointBytes)}).ok()) {
      std::abort();
    }
    for (uint64_t r = 2; r <= 10001; ++r) {
      if (!log->Append({r, RandomBytes(r, kEntryBytes)}).ok()) std::abort();
    }
    return d;
  }();
  return dir->path();
}

void Recover(benchmark::State& state, bool read, bool quick_check) {
  const std::string& dir = RecoveryStore();
  DurableLogOptions o;
  o.quick_check_on_open = quick_check;
  size_t entries = 0;
  for (auto _ : state) {
    auto log = OpenOrDie(dir, o);
    if (read) {
      auto cp = log->LatestCheckpoint();
      if (!cp.ok() || !cp->has_value()) std::abort();
      entries = 0;
      absl::Status s =
          log->ReadEntries((*cp)->revision, [&](const LogEntry& e) {
            benchmark::DoNotOptimize(e.payload.data());
            ++entries;
            return absl::OkStatus();
          });
      if (!s.ok()) std::abort();
    }
  }
  state.counters["db_bytes"] = static_cast<double>(StoreBytes(dir));
  if (read) state.counters["entries"] = static_cast<double>(entries);
}
void BM_RecoverOpenOnly(benchmark::State& state) {
  Recover(state, false, true);
}
void BM_RecoverOpenOnlyNoQuickCheck(benchmark::State& state) {
  Recover(state, false, false);
}
void BM_RecoverOpenAndRead(benchmark::State& state) {
  Recover(state, true, true);
}
void BM_Verify(benchmark::State& state) {
  DurableLogOptions o;
  o.read_only = true;
  auto log = OpenOrDie(RecoveryStore(), o);
  for (auto _ : state) {
    if (!log->Verify().ok()) std::abort();
  }
}
BENCHMARK(BM_Verify)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RecoverOpenOnly)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RecoverOpenOnlyNoQuickCheck)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RecoverOpenAndRead)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- Disk ----

void BM_DiskBytesPerEntry(benchmark::State& state) {
  const int64_t n = state.range(0);
  for (auto _ : state) {
    ScratchDir dir("bench-disk");
    {
      DurableLogOptions o;
      o.sync = SyncMode::kNormal;
      auto log = OpenOrDie(dir.path(), o);
      for (int64_t r = 1; r <= n; ++r) {
        if (!log->Append({static_cast<uint64_t>(r),
                          RandomBytes(static_cast<uint64_t>(r), kEntryBytes)})
                 .ok()) {
          std::abort();
        }
      }
    }
    const int64_t empty_store = 4 * 4096;  // header + the four tables' roots
    state.counters["bytes_per_entry"] =
        static_cast<double>(FileSize(dir.Sub("arbiter.db")) - empty_store) /
        static_cast<double>(n);
  }
}
BENCHMARK(BM_DiskBytesPerEntry)
    ->Arg(100000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace store
}  // namespace arbiter

BENCHMARK_MAIN();
