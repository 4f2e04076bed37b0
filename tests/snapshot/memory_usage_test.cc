// Snapshot::MemoryUsage counts every table: it is within 10% of the heap a
// compiled snapshot really holds (glibc's count of allocated bytes, measured
// around Engine::Create with the input state alive throughout), so a table
// of any size that is added without being counted fails this test. And the
// snapshot's own size is pinned on the platform CI runs: adding a member
// fails the second test until MemoryUsage counts it and the figure here is
// updated.

#include <malloc.h>

#include <memory>

#include "arbiter/engine.h"
#include "gtest/gtest.h"
#include "src/snapshot/snapshot.h"
#include "tests/testing/workload.h"

// glibc's counters see nothing under AddressSanitizer, whose allocator
// replaces malloc: the measurement runs in the other builds.
#if defined(__SANITIZE_ADDRESS__)
#define ARBITER_GLIBC_HEAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARBITER_GLIBC_HEAP 0
#endif
#endif
#ifndef ARBITER_GLIBC_HEAP
#define ARBITER_GLIBC_HEAP 1
#endif

namespace arbiter {
namespace {

#if ARBITER_GLIBC_HEAP
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // small blocks plus mmapped ones
}

TEST(MemoryUsageTest, CountsWhatTheSnapshotHolds) {
  const testing::Workload w =
      testing::GenerateWorkload(testing::SpecFor(testing::WorkloadSize::kM));
  malloc_trim(0);
  const size_t before = HeapInUse();
  auto engine = Engine::Create(w.policy);
  ASSERT_TRUE(engine.ok()) << engine.status();
  malloc_trim(0);
  const size_t held = HeapInUse() - before;
  const size_t counted = (*engine)->MemoryUsage();
  std::printf("heap held %zu bytes, MemoryUsage %zu (%.3f)\n", held, counted,
              static_cast<double>(counted) / static_cast<double>(held));
  EXPECT_GT(static_cast<double>(counted), 0.9 * static_cast<double>(held));
  EXPECT_LT(static_cast<double>(counted), 1.1 * static_cast<double>(held));
}
#endif  // ARBITER_GLIBC_HEAP

#if defined(__x86_64__) && defined(__GLIBCXX__)
TEST(MemoryUsageTest, EveryMemberIsCounted) {
  // If this fails, a member was added to (or removed from) Snapshot: count
  // it in Snapshot::MemoryUsage (src/snapshot/snapshot.cc), then update the
  // size here.
  EXPECT_EQ(sizeof(internal::Snapshot), 1944u);
}
#endif

}  // namespace
}  // namespace arbiter
