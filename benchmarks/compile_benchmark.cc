// Build cost and memory of compiled snapshots of generated organizations
// (tests/testing/workload.h).
//
//   BM_Compile/<size>      Engine::Create on an in-memory PolicySet (the proto
//                          is generated outside the timed loop). Counter
//                          per_grant: time per grant.
//   BM_ParsePolicy/<size>  parsing the PolicySet from its binary encoding,
//                          for comparison (a policy store hands bytes).
//   BM_Memory/<size>       one compile, measured: snapshot_bytes
//                          (Engine::MemoryUsage), bytes_per_grant, heap_bytes
//                          (glibc heap in use after minus before Create, the
//                          engine alive and the compiler's temporaries freed),
//                          heap_per_grant, and policy_bytes (the PolicySet's
//                          binary size).
//
// Run: ARBITER_BENCH_SIZES=S,M,L,XL ./compile_benchmark (see BENCHMARKS.md).

#include <cstddef>  // defines __GLIBC__ on glibc systems
#include <memory>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "benchmark/benchmark.h"
#include "benchmarks/bench_util.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace {

using testing::WorkloadSize;

struct Fixture {
  testing::Workload workload;
  std::string bytes;  // the PolicySet's binary encoding
  EngineOptions options;
};

std::unique_ptr<Fixture> MakeFixture(WorkloadSize size) {
  auto f = std::make_unique<Fixture>();
  f->workload = testing::GenerateWorkload(testing::SpecFor(size));
  f->workload.model.reset();  // only the proto is needed
  f->bytes = f->workload.policy.SerializeAsString();
  f->options = testing::WorkloadEngineOptions();
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

void Compile(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  size_t grants = 0;
  for (auto _ : state) {
    auto engine = Engine::Create(f->workload.policy, f->options);
    if (!engine.ok()) {
      state.SkipWithError(engine.status().ToString().c_str());
      break;
    }
    grants = (*engine)->num_grants();
    benchmark::DoNotOptimize(engine);
    state.PauseTiming();  // destruction is not compilation
    engine = absl::StatusOr<std::unique_ptr<const Engine>>();
    state.ResumeTiming();
  }
  state.counters["grants"] = static_cast<double>(grants);
  state.counters["per_grant"] =
      benchmark::Counter(static_cast<double>(grants),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

void ParsePolicy(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  const int grants = f->workload.policy.grants_size();
  for (auto _ : state) {
    v1::PolicySet policy;
    if (!policy.ParseFromString(f->bytes)) {
      state.SkipWithError("ParseFromString failed");
      break;
    }
    benchmark::DoNotOptimize(policy);
    state.PauseTiming();
    policy.Clear();
    state.ResumeTiming();
  }
  state.counters["per_grant"] =
      benchmark::Counter(grants, benchmark::Counter::kIsIterationInvariantRate |
                                     benchmark::Counter::kInvert);
}

size_t HeapInUse() {
#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
#else
  return 0;
#endif
}

void Memory(benchmark::State& state, WorkloadSize size) {
  const Fixture* f = Setup(state, size);
  if (f == nullptr) return;
  size_t snapshot = 0, heap = 0, grants = 0;
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto engine = Engine::Create(f->workload.policy, f->options);
    if (!engine.ok()) {
      state.SkipWithError(engine.status().ToString().c_str());
      break;
    }
    const size_t after = HeapInUse();
    heap = after > before ? after - before : 0;
    snapshot = (*engine)->MemoryUsage();
    grants = (*engine)->num_grants();
  }
  if (grants == 0) return;
  state.counters["grants"] = static_cast<double>(grants);
  state.counters["snapshot_bytes"] = static_cast<double>(snapshot);
  state.counters["bytes_per_grant"] = static_cast<double>(snapshot) / grants;
  if (heap > 0) {
    state.counters["heap_bytes"] = static_cast<double>(heap);
    state.counters["heap_per_grant"] = static_cast<double>(heap) / grants;
  }
  state.counters["policy_bytes"] = static_cast<double>(f->bytes.size());
}

void Register(WorkloadSize size) {
  const std::string s(testing::WorkloadSizeName(size));
  benchmark::RegisterBenchmark(absl::StrCat("BM_Compile/", s).c_str(), Compile,
                               size)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(absl::StrCat("BM_ParsePolicy/", s).c_str(),
                               ParsePolicy, size)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(absl::StrCat("BM_Memory/", s).c_str(), Memory,
                               size)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace arbiter

int main(int argc, char** argv) {
  return arbiter::bench::RunBenchmarks(argc, argv, arbiter::Register);
}
