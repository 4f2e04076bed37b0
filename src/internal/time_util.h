// Grant expiry instants as int64 nanoseconds since the Unix epoch, so that a
// grant stops applying at exactly its google.protobuf.Timestamp. The int64
// range covers the years 1677-2262. Outside it, values saturate so that every
// error is on the side of denial: "live iff now < expires" is exact while the
// decision time is within range; an expiry before 1677 has always passed; and
// a decision time after 2262 finds every expiring grant expired (an expiry
// after 2262 saturates one below the largest decision time). INT64_MAX is
// reserved for "never expires".

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

// An expiry instant: like UnixNanosSaturated, but never INT64_MAX, which
// means "no expiry".
inline int64_t ExpiryNanos(int64_t seconds, int32_t nanos) {
  const int64_t n = UnixNanosSaturated(seconds, nanos);
  return n == kNanosMax ? kNanosMax - 1 : n;
}

// A decision time.
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
