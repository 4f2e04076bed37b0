// Name resolution for the by-name API: ids, emails (case-insensitive) and
// `cloud/project/workload` paths, without allocating.

#ifndef ARBITER_SRC_EVAL_RESOLVE_H_
#define ARBITER_SRC_EVAL_RESOLVE_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "src/eval/compiled_state.h"

namespace arbiter {
namespace internal {

// An organization by id or name; kNone if unknown or ambiguous.
uint32_t ResolveOrg(const CompiledState& s, absl::string_view org);

// A principal by id or email. Returns true and sets *index, or returns false
// and sets *failure to kUnknownPrincipal or kAmbiguousPrincipal.
bool ResolvePrincipal(const CompiledState& s, absl::string_view principal,
                      absl::string_view org, uint32_t* index, Reason* failure);

// A resource by id, or by `cloud[/project[/workload]]` within `org_node`
// (kNone: ids only). Returns the node index or kNone.
uint32_t ResolveResource(const CompiledState& s, absl::string_view resource,
                         uint32_t org_node);

struct Resolved {
  bool ok = false;
  // The denial reason when !ok.
  Reason failure = Reason::kInternalError;
  uint32_t principal = kNone;
  uint32_t permission = kNone;
  uint32_t resource = kNone;
};

// Resolves principal, then permission, then resource (paths in the
// principal's organization).
Resolved ResolveRequest(const CompiledState& s, const AccessRequest& request);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_EVAL_RESOLVE_H_
