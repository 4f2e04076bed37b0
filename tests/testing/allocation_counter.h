// Counts heap allocations by replacing the global operator new and delete.
//
// Include this header in exactly one source file of a test binary (it
// defines the replacement functions, which may not be inline), and never in
// a binary built with a sanitizer, whose runtime replaces them too.

#ifndef ARBITER_TESTS_TESTING_ALLOCATION_COUNTER_H_
#define ARBITER_TESTS_TESTING_ALLOCATION_COUNTER_H_

#include <atomic>
#include <cstdlib>
#include <new>

namespace arbiter {
namespace testing {

// Allocations made by operator new since the program started.
inline std::atomic<long> g_allocations{0};

inline long AllocationCount() {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace testing
}  // namespace arbiter

void* operator new(std::size_t size) {
  arbiter::testing::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

#endif  // ARBITER_TESTS_TESTING_ALLOCATION_COUNTER_H_
