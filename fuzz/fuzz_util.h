// What the libFuzzer targets of fuzz/ share: an invariant check that aborts
// (so libFuzzer saves the input), a fixed clock, and a one-line decision.

#ifndef ARBITER_FUZZ_FUZZ_UTIL_H_
#define ARBITER_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/decision.h"

// Aborts with the file, line, condition and the StrCat of the rest when
// `cond` is false.
#define FUZZ_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, \
                   __LINE__, #cond, absl::StrCat(__VA_ARGS__).c_str());    \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

namespace arbiter {
namespace fuzzing {

// Decisions must not depend on the wall clock.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }

 private:
  absl::Time now_;
};

// Every field of a decision, for failure messages.
inline std::string DecisionString(const Decision& d) {
  return absl::StrCat(d.allowed() ? "ALLOW " : "DENY ", ReasonName(d.reason),
                      " grant=", d.grant_id, " index=", d.grant_index,
                      " source=", GrantSourceName(d.source),
                      " revision=", d.revision);
}

}  // namespace fuzzing
}  // namespace arbiter

#endif  // ARBITER_FUZZ_FUZZ_UTIL_H_
