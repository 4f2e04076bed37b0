// Grant expiry instants as int64 nanoseconds since the Unix epoch, so that a
// grant stops applying at exactly its google.protobuf.Timestamp. The int64
// range covers the years 1677-2262; instants outside it saturate (an expiry
// after 2262 never arrives, one before 1677 has always passed), which keeps
// "live iff now < expires" exact for every representable decision time.

#ifndef ARBITER_SRC_INTERNAL_TIME_UTIL_H_
#define ARBITER_SRC_INTERNAL_TIME_UTIL_H_

#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace arbiter {
namespace internal {

inline constexpr int64_t kNanosMax = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kNanosMin = std::numeric_limits<int64_t>::min();

// `seconds` + `nanos` (0..999999999), saturating.
inline int64_t UnixNanosSaturated(int64_t seconds, int32_t nanos) {
  constexpr int64_t kMaxSeconds = kNanosMax / 1000000000 - 1;  // 9223372035
  if (seconds > kMaxSeconds) return kNanosMax;
  if (seconds < -kMaxSeconds - 1) return kNanosMin;
  return seconds * 1000000000 + nanos;
}

inline int64_t ToUnixNanosSaturated(absl::Time t) {
  if (t == absl::InfiniteFuture()) return kNanosMax;
  if (t == absl::InfinitePast()) return kNanosMin;
  const int64_t seconds = absl::ToUnixSeconds(t);  // floor
  const int64_t nanos =
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds));
  return UnixNanosSaturated(seconds, static_cast<int32_t>(nanos));
}

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_INTERNAL_TIME_UTIL_H_
