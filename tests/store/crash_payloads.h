// The payloads of the kill -9 test, shared by the child that writes them
// and the parent that checks them: pure functions of (seed, revision).

#ifndef ARBITER_TESTS_STORE_CRASH_PAYLOADS_H_
#define ARBITER_TESTS_STORE_CRASH_PAYLOADS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/store/store_test_util.h"

namespace arbiter {
namespace store {
namespace testing {

// Small chunks, so that a checkpoint spans many transactions and a kill
// often lands inside one.
constexpr size_t kCrashChunkBytes = 4096;

inline std::string CrashEntryPayload(uint64_t seed, uint64_t revision) {
  return PayloadFor(seed, revision, 16, 600);
}

inline std::string CrashCheckpointPayload(uint64_t seed, uint64_t revision) {
  const uint64_t mixed = (seed ^ 0xc0ffee) * 0x9e3779b97f4a7c15ull + revision;
  return RandomBytes(mixed, static_cast<size_t>(mixed % 200000));
}

}  // namespace testing
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_TESTS_STORE_CRASH_PAYLOADS_H_
