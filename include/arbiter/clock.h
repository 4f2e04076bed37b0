// File: arbiter/clock.h
//
// A Clock tells the engine what time it is, so that time-bounded grants stop
// applying at their expiry instant. Inject a fake clock in tests; production
// code uses the system clock (the default).

#ifndef ARBITER_CLOCK_H_
#define ARBITER_CLOCK_H_

#include "absl/time/time.h"

namespace arbiter {

// Implementations must be safe to call from many threads at once.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // The process-wide real-time clock (absl::Now()). Never destroyed.
  static const Clock& System();
};

}  // namespace arbiter

#endif  // ARBITER_CLOCK_H_
