// The kernels of src/eval/path_scan.h against plain scalar loops, on random
// inputs and at the edges (n of 0, 1, 4, 15, 16; keys that are kNone or
// kNoTag; matches in the masked-off tail). The sanitizer build
// (ARBITER_PORTABLE_SCAN) runs the portable versions through the same test.

#include "src/eval/path_scan.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace internal {
namespace {

uint32_t ScalarScopeMatches(const uint32_t* scopes, uint32_t n, uint32_t a,
                            uint32_t b, uint32_t c) {
  uint32_t bits = 0;
  for (uint32_t j = 0; j < n; ++j) {
    if (scopes[j] == a || scopes[j] == b || scopes[j] == c) bits |= 1u << j;
  }
  return bits;
}

TEST(PathScanTest, ScopeMatchesEqualsTheScalarLoop) {
  testing::Rng rng(20261206);
  for (int round = 0; round < 20000; ++round) {
    const uint32_t n = static_cast<uint32_t>(rng.Below(17));  // 0..16
    // Padded like the grant columns: the tail holds anything.
    std::vector<uint32_t> scopes(n + kScopePadding);
    const uint32_t universe = 1 + static_cast<uint32_t>(rng.Below(8));
    for (uint32_t& s : scopes) {
      s = rng.Chance(0.1) ? kNone : static_cast<uint32_t>(rng.Below(universe));
    }
    const uint32_t a = static_cast<uint32_t>(rng.Below(universe));
    const uint32_t b = rng.Chance(0.3) ? kNone : rng.Below(universe);
    const uint32_t c = rng.Chance(0.3) ? kNone : rng.Below(universe);
    ASSERT_EQ(ScopeMatches(scopes.data(), n, a, b, c),
              ScalarScopeMatches(scopes.data(), n, a, b, c))
        << "round " << round << " n " << n;
  }
}

TEST(PathScanTest, ScopeMatchesIgnoresTheTail) {
  alignas(16) uint32_t scopes[8] = {1, 2, 3, 7, 7, 7, 7, 7};
  EXPECT_EQ(ScopeMatches(scopes, 3, 7, 7, 7), 0u);
  EXPECT_EQ(ScopeMatches(scopes, 4, 7, 7, 7), 0b1000u);
  EXPECT_EQ(ScopeMatches(scopes, 0, 1, 2, 3), 0u);
}

TEST(PathScanTest, MatchSummaryEqualsTheScalarLoop) {
  testing::Rng rng(7);
  for (int round = 0; round < 20000; ++round) {
    alignas(16) uint16_t tags[kMaxSummaryScopes];
    const uint32_t n = static_cast<uint32_t>(rng.Below(kMaxSummaryScopes + 1));
    const uint16_t universe = 1 + static_cast<uint16_t>(rng.Below(20));
    for (uint32_t j = 0; j < kMaxSummaryScopes; ++j) {
      tags[j] = j < n ? static_cast<uint16_t>(rng.Below(universe)) : kNoTag;
    }
    const uint16_t key[3] = {
        static_cast<uint16_t>(rng.Below(universe)),
        rng.Chance(0.3) ? kNoTag : static_cast<uint16_t>(rng.Below(universe)),
        rng.Chance(0.3) ? kNoTag : static_cast<uint16_t>(rng.Below(universe))};
    uint32_t bits[3];
    MatchSummary(tags, n, key, bits);
    for (int l = 0; l < 3; ++l) {
      uint32_t want = 0;
      for (uint32_t j = 0; j < n; ++j) {
        if (tags[j] == key[l]) want |= 1u << j;
      }
      ASSERT_EQ(bits[l], want) << "round " << round << " level " << l;
    }
  }
}

TEST(PathScanTest, MatchSummaryNeverMatchesUnusedTags) {
  alignas(16) uint16_t tags[kMaxSummaryScopes];
  for (uint16_t& t : tags) t = kNoTag;
  tags[0] = 5;
  const uint16_t key[3] = {5, kNoTag, kNoTag};
  uint32_t bits[3];
  MatchSummary(tags, 1, key, bits);
  EXPECT_EQ(bits[0], 1u);
  EXPECT_EQ(bits[1], 0u);  // kNoTag keys match nothing used
  EXPECT_EQ(bits[2], 0u);
}

}  // namespace
}  // namespace internal
}  // namespace arbiter
