// The scope-summary pass is an optimisation only: with
// EngineOptions::scope_summaries off, every random state decides every
// random query exactly as with it on (and the pass did summarize most
// principals when on, so the comparison means something).

#include <memory>

#include "arbiter/engine.h"
#include "gtest/gtest.h"
#include "src/engine/engine_friend_access.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

TEST(ScopeSummaryPassTest, TurningItOffChangesNoDecision) {
  size_t summarized = 0, principals = 0, checks = 0;
  for (int n = 0; n < 80; ++n) {
    const uint64_t seed = testing::MixSeed(20261207, n);
    testing::RandomPolicy policy = testing::GenerateRandomPolicy(seed);
    EngineOptions off = policy.options;
    off.scope_summaries = false;
    auto with = Engine::Create(policy.state, policy.options);
    auto without = Engine::Create(policy.state, off);
    ASSERT_TRUE(with.ok() && without.ok()) << "seed " << seed;
    const auto& s = EngineFriendAccess::State(**with);
    const auto& t = EngineFriendAccess::State(**without);
    for (uint32_t p = 0; p < s.principals.size(); ++p) {
      ++principals;
      summarized += s.Principal(p).summary_size != internal::kNoSummary;
      ASSERT_EQ(t.Principal(p).summary_size, internal::kNoSummary);
    }
    testing::RandomQueryGenerator queries(policy, (*with)->profile(), seed);
    for (int q = 0; q < 500; ++q) {
      const testing::RandomQuery query = queries.Next();
      const AccessRequest request = query.ToRequest();
      ASSERT_EQ((*with)->Check(request), (*without)->Check(request))
          << "seed " << seed << " query " << q;
      ++checks;
    }
  }
  std::printf("%zu of %zu principals summarized, %zu checks\n", summarized,
              principals, checks);
  EXPECT_GT(summarized, principals / 2);
}

}  // namespace
}  // namespace arbiter
