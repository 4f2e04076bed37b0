// Helpers for the tests of DurableStore (arbiter/durable_store.h): random
// states and random admin transactions against them (mostly applicable,
// some refused), the expected state of a run rebuilt in memory, and
// comparing an engine with a full compile of a state on random queries.

#ifndef ARBITER_TESTS_STORE_POLICY_TEST_UTIL_H_
#define ARBITER_TESTS_STORE_POLICY_TEST_UTIL_H_

#include <cstdint>
#include <string>

#include "arbiter/durable_store.h"
#include "arbiter/engine.h"
#include "arbiter/engine_options.h"
#include "arbiter/v1/mutation.pb.h"
#include "arbiter/v1/policy_set.pb.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace store {
namespace testing {

// A random multi-organization state (tests/testing/random_policy.h) at
// revision 1, with an active owner in every organization (so that most
// transactions pass their guard), and the engine options to compile it
// with (a fixed clock). Deterministic in `seed`.
::arbiter::testing::RandomPolicy RandomStoreState(uint64_t seed);

// Random admin transactions against the current state of a store: grants
// and revocations of cloud and project roles, org roles, auto-add, group
// policies, invitations, users removed, projects created, visibility,
// group syncs; a few stale (expected_revision). Each carries a fixed time
// (metadata.time), so applying the same transactions to the same state
// gives the same result. Deterministic in (seed, the states it is given).
class TxnGenerator {
 public:
  explicit TxnGenerator(uint64_t seed) : rng_(seed) {}
  // An empty transaction (no mutation) when the state offers nothing.
  v1::Transaction Next(const v1::PolicySet& state, const Engine& engine);

 private:
  ::arbiter::testing::Rng rng_;
};

// A transaction granting `principal` (an id) `role` on `cloud` (an id), as
// the organization's admin (RandomStoreState's "admin_<org>").
v1::Transaction SetCloudMember(const std::string& org, const std::string& cloud,
                               const std::string& principal,
                               const std::string& role);

// The first of `queries` random queries on which `engine` decides otherwise
// than a full compile of `state` with `options`, described; "" when none.
std::string CompareWithFullCompile(const Engine& engine,
                                   const v1::PolicySet& state,
                                   const EngineOptions& options, uint64_t seed,
                                   int queries);

// DurableStoreOptions for tests: `options` as the engine options, small
// checkpoint intervals when `checkpoint_every` > 0.
DurableStoreOptions StoreOptions(const EngineOptions& options,
                                 uint64_t checkpoint_every);

}  // namespace testing
}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_TESTS_STORE_POLICY_TEST_UTIL_H_
