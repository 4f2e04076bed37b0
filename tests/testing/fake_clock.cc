#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace testing {

FakeClock::FakeClock(absl::Time now) : micros_(absl::ToUnixMicros(now)) {}

absl::Time FakeClock::Now() const {
  return absl::FromUnixMicros(micros_.load(std::memory_order_relaxed));
}

void FakeClock::Set(absl::Time now) {
  micros_.store(absl::ToUnixMicros(now), std::memory_order_relaxed);
}

void FakeClock::Advance(absl::Duration d) {
  micros_.fetch_add(absl::ToInt64Microseconds(d), std::memory_order_relaxed);
}

}  // namespace testing
}  // namespace arbiter
