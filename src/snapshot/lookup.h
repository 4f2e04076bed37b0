// Name resolution for the by-name API: ids, emails (case-insensitive) and
// `cloud/project/workload` paths, without allocating.
//
// Organization binding. When a request names an organization, every name in
// it resolves within that organization only: a principal id or email, a
// resource id or path of another tenant is unknown (UNKNOWN_PRINCIPAL,
// UNKNOWN_RESOURCE), never a decision about that tenant; an organization
// that does not exist (or whose name two organizations share) is
// UNKNOWN_ORG. Without one, ids resolve across organizations (Check then
// denies CROSS_ORG when principal and resource belong to different ones) and
// paths resolve in the principal's organization. docs/semantics.md,
// "Resolving names", is the user-facing statement of these rules.

#ifndef ARBITER_SRC_SNAPSHOT_LOOKUP_H_
#define ARBITER_SRC_SNAPSHOT_LOOKUP_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "arbiter/decision.h"
#include "arbiter/request.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// An organization by id or name; kNone if unknown or ambiguous.
uint32_t ResolveOrg(const Snapshot& s, absl::string_view org);

// A principal by id or email within `org_node` (kNone: any organization).
// `hint_org` (kNone: none) settles an email that live principals of several
// organizations share when no organization is given: the one of that
// organization, if any. Returns true and sets *index, or returns false and
// sets *failure to kUnknownPrincipal or kAmbiguousPrincipal.
//
// Emails: within an organization, its live principal with the email, else a
// deleted one (which Check denies). Across organizations, the only live
// principal with the email, else the only deleted one; several are
// ambiguous. Constant time however many principals share an email.
bool ResolvePrincipal(const Snapshot& s, absl::string_view principal,
                      uint32_t org_node, uint32_t hint_org, uint32_t* index,
                      Reason* failure);

// A resource by id, or by `cloud[/project[/workload]]` within `path_org`
// (kNone: ids only). With `bound_org` (kNone: none), a resource of another
// organization is not found. Returns the node index or kNone.
uint32_t ResolveResource(const Snapshot& s, absl::string_view resource,
                         uint32_t path_org, uint32_t bound_org);

struct Resolved {
  bool ok = false;
  // The denial reason when !ok.
  Reason failure = Reason::kInternalError;
  uint32_t principal = kNone;
  uint32_t permission = kNone;
  uint32_t resource = kNone;
};

// Resolves the organization (if named), then principal, permission and
// resource, and reports the first that fails.
Resolved ResolveRequest(const Snapshot& s, const AccessRequest& request);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_LOOKUP_H_
