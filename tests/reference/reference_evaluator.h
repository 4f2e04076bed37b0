// A reference implementation of Engine::Check, written from docs/semantics.md
// (and access-model.md §4.2) alone, for the differential test.
//
// It works on the v1::PolicySet proto and the effective v1::Profile directly:
// every lookup is a linear scan, group membership is a fixed-point iteration,
// and every step of the semantics is one small function. No indexes, no
// caches, no interning: it is meant to be obviously correct, not fast.
//
// Example:
//
//   ReferenceEvaluator reference(state, engine->profile(), now);
//   ReferenceDecision expected = reference.Check(request);
//   Decision actual = engine->Check(request);

#ifndef ARBITER_TESTS_REFERENCE_REFERENCE_EVALUATOR_H_
#define ARBITER_TESTS_REFERENCE_REFERENCE_EVALUATOR_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {
namespace testing {

// What a Decision says, by value.
struct ReferenceDecision {
  Effect effect = Effect::kDeny;
  Reason reason = Reason::kInternalError;
  std::string grant_id;  // empty when no grant decided
  GrantSource source = GrantSource::kNone;
  uint64_t revision = 0;
};

// "ALLOW GRANT grant=g_1 source=DIRECT revision=7".
std::string DebugString(const ReferenceDecision& decision);

// True when `actual` carries the same effect, reason, deciding grant id,
// source and revision as `expected` (grant_index is not compared: the
// reference knows no snapshot indexes).
bool SameDecision(const ReferenceDecision& expected, const Decision& actual);

class ReferenceEvaluator {
 public:
  // `state` and `profile` must outlive the evaluator. `profile` is the
  // effective profile (Engine::profile()): the base profile edited by the
  // options, plus the state's custom permissions and roles. `clock_now` is
  // the time used when a request does not set RequestContext::now.
  ReferenceEvaluator(const v1::PolicySet& state, const v1::Profile& profile,
                     absl::Time clock_now);

  // The by-name form (Engine::Check(const AccessRequest&)).
  ReferenceDecision Check(const AccessRequest& request) const;

  // The resolved form (Engine::Check(PrincipalRef, ...)): the principal and
  // resource are given by id, the permission by name. Unknown ones deny with
  // the matching UNKNOWN_* reason.
  ReferenceDecision CheckResolved(absl::string_view principal_id,
                                  absl::string_view permission,
                                  absl::string_view resource_id,
                                  const RequestContext& context) const;

 private:
  const v1::PolicySet& state_;
  const v1::Profile& profile_;
  absl::Time clock_now_;
};

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_REFERENCE_REFERENCE_EVALUATOR_H_
