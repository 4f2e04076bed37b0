// Shared by the benchmark binaries: which workload sizes to run, and a cache
// holding one generated workload at a time.
//
// Sizes come from the environment variable ARBITER_BENCH_SIZES, a comma
// separated list of S, M, L and XL (default "S,M,L"). A size that does not
// fit in the available memory (testing::WorkloadFits) is reported as skipped
// with a message instead of being run. Benchmarks are registered size by
// size, so the cache only ever holds the size being measured.

#ifndef ARBITER_BENCHMARKS_BENCH_UTIL_H_
#define ARBITER_BENCHMARKS_BENCH_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "tests/testing/workload.h"

namespace arbiter {
namespace bench {

inline std::vector<testing::WorkloadSize> BenchSizes() {
  const char* env = std::getenv("ARBITER_BENCH_SIZES");
  const std::string list = env != nullptr && *env != '\0' ? env : "S,M,L";
  std::vector<testing::WorkloadSize> sizes;
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    testing::WorkloadSize size;
    if (!testing::ParseWorkloadSize(name, &size)) {
      std::fprintf(stderr, "ARBITER_BENCH_SIZES: unknown size \"%.*s\"\n",
                   static_cast<int>(name.size()), name.data());
      std::exit(2);
    }
    sizes.push_back(size);
  }
  return sizes;
}

// Builds `T` for one size on first use and keeps it until another size is
// asked for. Thread-safe: multi-threaded benchmarks call Get from every
// thread. A size that does not fit in memory yields nullptr and `why`.
template <typename T>
class SizeCache {
 public:
  using Factory = std::function<std::unique_ptr<T>(testing::WorkloadSize)>;
  explicit SizeCache(Factory factory) : factory_(std::move(factory)) {}

  const T* Get(testing::WorkloadSize size, std::string* why) {
    absl::MutexLock lock(&mu_);
    if (value_ != nullptr && size_ == size) return value_.get();
    value_.reset();  // free the previous size first
    std::string message;
    if (!testing::WorkloadFits(testing::SpecFor(size), &message)) {
      *why = "skipped: " + message;
      return nullptr;
    }
    std::fprintf(stderr, "[arbiter] generating and compiling workload %s...\n",
                 std::string(testing::WorkloadSizeName(size)).c_str());
    value_ = factory_(size);
    size_ = size;
    return value_.get();
  }

 private:
  Factory factory_;
  absl::Mutex mu_;
  std::unique_ptr<T> value_;
  testing::WorkloadSize size_ = testing::WorkloadSize::kS;
};

// Runs the benchmarks registered so far; the usual main() with registration
// in between.
inline int RunBenchmarks(
    int argc, char** argv,
    const std::function<void(testing::WorkloadSize)>& reg) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (testing::WorkloadSize size : BenchSizes()) reg(size);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
}  // namespace arbiter

#endif  // ARBITER_BENCHMARKS_BENCH_UTIL_H_
