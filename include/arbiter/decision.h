// File: arbiter/decision.h
//
// A Decision is the answer to one access check: ALLOW or DENY, the reason,
// the grant that decided (if any) and the revision of the snapshot that
// answered. Decisions are small, trivially copyable values; Check never
// allocates one on the heap.
//
// Example:
//
//   arbiter::Decision d = engine->Check(request);
//   if (!d.allowed()) {
//     LOG(INFO) << "denied: " << arbiter::ReasonName(d.reason)
//               << " (revision " << d.revision << ")";
//   }

#ifndef ARBITER_DECISION_H_
#define ARBITER_DECISION_H_

#include <cstdint>
#include <limits>
#include <ostream>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace arbiter {

enum class Effect : uint8_t {
  kDeny = 0,
  kAllow = 1,
};

// Why a decision came out the way it did. Each reason implies the effect:
// the first group allows, every other reason denies. The evaluation order
// that picks one reason is documented in docs/semantics.md.
enum class Reason : uint8_t {
  // ---- ALLOW ----
  // The principal is an organization owner (directly or through a group):
  // implicit owner of every cloud and project.
  kOrgOwner,
  // An explicit grant (direct, group or auto-add) holds the permission.
  kGrant,
  // Implicit access to a public project through a cloud role.
  kPublicProject,
  // Implicit access to a private project through a cloud role (off in the
  // Anyscale profile; see EngineOptions::cloud_owner_private_project_access).
  kCloudRoleInheritance,
  // Every active member of the organization holds this permission.
  kOrgMember,
  // The permission is granted on workloads the principal created.
  kOwnWorkload,

  // ---- DENY: the request could not be resolved ----
  kUnknownPrincipal,
  // An email matched principals in several organizations; pass an org.
  kAmbiguousPrincipal,
  kUnknownPermission,
  kUnknownResource,
  // AccessRequest::org (or the org of FindPrincipal / FindResource) names no
  // organization of the snapshot, or names one ambiguously.
  kUnknownOrg,
  // A PrincipalRef/PermissionRef/ResourceRef from another snapshot.
  kStaleReference,

  // ---- DENY: identity ----
  kCrossOrg,
  kPrincipalDeleted,
  kPrincipalInvited,
  kServiceAccountConsole,

  // ---- DENY: request shape and invariants ----
  // The permission's level is below the resource (a project permission
  // checked on a cloud).
  kPermissionNotApplicable,
  // The permission is never allowed on this resource (deleting a default
  // project).
  kProtectedResource,

  // ---- DENY: RBAC ----
  kNeedsOrgOwner,
  kNoCloudGrant,
  kNoProjectGrant,
  // A role holds the permission only on workloads the principal created.
  kNotWorkloadCreator,
  kInsufficientRole,
  // A deny role subtracted the permission (or capped implicit access).
  kDenyRole,

  // Fail-closed catch-all: the engine could not evaluate the request.
  kInternalError,
};

// Returns the stable upper-snake name of a reason ("NO_CLOUD_GRANT").
absl::string_view ReasonName(Reason reason);

// Parses a name produced by ReasonName. Returns false if unknown.
bool ParseReason(absl::string_view name, Reason* reason);

inline constexpr Effect EffectOf(Reason reason) {
  return reason <= Reason::kOwnWorkload ? Effect::kAllow : Effect::kDeny;
}

// Where the deciding grant came from.
enum class GrantSource : uint8_t {
  kNone = 0,  // no grant decided (implicit membership, unknowns...)
  kDirect,
  kGroup,
  kAutoAdd,
};

absl::string_view GrantSourceName(GrantSource source);

struct Decision {
  static constexpr uint32_t kNoGrant = std::numeric_limits<uint32_t>::max();

  Effect effect = Effect::kDeny;
  Reason reason = Reason::kInternalError;
  GrantSource source = GrantSource::kNone;
  // Index of the deciding grant in the snapshot (Engine::grant), or kNoGrant.
  uint32_t grant_index = kNoGrant;
  // The deciding grant's id. Points into the Engine that made the decision:
  // valid as long as that Engine is alive. Empty when no grant decided.
  absl::string_view grant_id;
  // PolicySet::revision of the snapshot that decided.
  uint64_t revision = 0;
  // The earliest instant at which the same request on the same snapshot
  // could decide differently: the first expiry, after the decision time, of
  // a grant of the principal (or of one of its groups) on the request's
  // path. absl::InfiniteFuture() when none can expire, and for requests that
  // do not resolve. A caller may cache the decision until then (and until
  // it moves to another snapshot).
  absl::Time valid_until = absl::InfiniteFuture();

  bool allowed() const { return effect == Effect::kAllow; }
};

// Decisions compare equal when every field but the grant_id view's address
// matches (grant_id is compared by value).
bool operator==(const Decision& a, const Decision& b);
inline bool operator!=(const Decision& a, const Decision& b) {
  return !(a == b);
}

// "ALLOW GRANT grant=g_12 source=DIRECT revision=7".
std::ostream& operator<<(std::ostream& os, const Decision& decision);

}  // namespace arbiter

#endif  // ARBITER_DECISION_H_
