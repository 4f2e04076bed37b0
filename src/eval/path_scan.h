// The two data-parallel kernels of Check, each with an SSE2 and a portable
// version (tests/eval/path_scan_test.cc holds them to each other and to a
// scalar loop):
//
//  * ScopeMatches: which of a subject's grant scopes lie on the request's
//    path, four scopes per compare;
//  * MatchSummary: which of a principal's 16 scope tags match each level of
//    the path, sixteen tags per compare.
//
// ARBITER_PORTABLE_SCAN (CMake option of the same name) selects the portable
// loops on x86 too, so that the sanitizer builds test the path other
// architectures take.

#ifndef ARBITER_SRC_EVAL_PATH_SCAN_H_
#define ARBITER_SRC_EVAL_PATH_SCAN_H_

#include <cstddef>
#include <cstdint>

#if defined(__SSE2__) && !defined(ARBITER_PORTABLE_SCAN)
#define ARBITER_SSE2_SCAN 1
#include <emmintrin.h>
#endif

#include "src/eval/decide.h"  // ARBITER_ALWAYS_INLINE
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// Bit j set where scopes[j] is a, b or c, for j < n <= 16. Reads whole
// groups of four: scopes[n .. n rounded up to 4) must be readable (the scope
// arrays are padded, see kScopePadding); their bits are masked off.
ARBITER_ALWAYS_INLINE inline uint32_t ScopeMatches(const uint32_t* scopes,
                                                   uint32_t n, uint32_t a,
                                                   uint32_t b, uint32_t c) {
  uint32_t bits = 0;
#if defined(ARBITER_SSE2_SCAN)
  const __m128i va = _mm_set1_epi32(static_cast<int>(a));
  const __m128i vb = _mm_set1_epi32(static_cast<int>(b));
  const __m128i vc = _mm_set1_epi32(static_cast<int>(c));
  for (uint32_t j = 0; j < n; j += 4) {
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(scopes + j));
    const __m128i eq = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi32(v, va), _mm_cmpeq_epi32(v, vb)),
        _mm_cmpeq_epi32(v, vc));
    bits |= static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(eq))) << j;
  }
#else
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t v = scopes[j];
    bits |= static_cast<uint32_t>((v == a) | (v == b) | (v == c)) << j;
  }
#endif
  return bits & ((uint32_t{1} << n) - 1);  // n <= 16: no overflow
}

// For each of the three keys, bit j set where tags[j] is the key, for
// j < n <= kMaxSummaryScopes. `tags` is 16-byte aligned and holds
// kMaxSummaryScopes tags (kNoTag past n); all are compared (a branch on n
// costs more) and the tail is masked off.
ARBITER_ALWAYS_INLINE inline void MatchSummary(const uint16_t* tags, uint32_t n,
                                               const uint16_t (&key)[3],
                                               uint32_t (&bits)[3]) {
  bits[0] = bits[1] = bits[2] = 0;
#if defined(ARBITER_SSE2_SCAN)
  static_assert(kMaxSummaryScopes == 16, "two 16-byte loads of 16-bit tags");
  const __m128i* v = reinterpret_cast<const __m128i*>(tags);
  const __m128i v0 = _mm_load_si128(v), v1 = _mm_load_si128(v + 1);
  // Sixteen 16-bit compares narrowed to bytes (a saturating pack keeps 0
  // and -1), then one movemask.
  for (int l = 0; l < 3; ++l) {
    const __m128i kl = _mm_set1_epi16(static_cast<short>(key[l]));
    bits[l] = static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_packs_epi16(_mm_cmpeq_epi16(v0, kl), _mm_cmpeq_epi16(v1, kl))));
  }
#else
  for (uint32_t j = 0; j < n; ++j) {
    for (int l = 0; l < 3; ++l) {
      bits[l] |= static_cast<uint32_t>(tags[j] == key[l]) << j;
    }
  }
#endif
  // kNone keys (levels above the permission's) match the unused tags.
  const uint32_t tail = (uint32_t{1} << n) - 1;  // n <= 16: no overflow
  bits[0] &= tail;
  bits[1] &= tail;
  bits[2] &= tail;
}

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_PATH_SCAN_H_
