// A settable Clock for tests of grant expiry.

#ifndef ARBITER_TESTS_TESTING_FAKE_CLOCK_H_
#define ARBITER_TESTS_TESTING_FAKE_CLOCK_H_

#include <atomic>

#include "absl/time/time.h"
#include "arbiter/clock.h"

namespace arbiter {
namespace testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time now = absl::UnixEpoch());
  absl::Time Now() const override;
  void Set(absl::Time now);
  void Advance(absl::Duration d);

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_TESTING_FAKE_CLOCK_H_
