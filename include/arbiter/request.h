// File: arbiter/request.h
//
// The inputs of a check. Two forms:
//
//  * AccessRequest names the principal, permission and resource as strings
//    (ids, emails, `cloud/project/workload` paths). Convenient; costs a few
//    hash lookups per call.
//  * PrincipalRef / PermissionRef / ResourceRef are handles resolved once
//    with Engine::FindPrincipal and friends, for the fastest path. A handle
//    belongs to the Engine that produced it: using it with another Engine
//    (after a policy reload, say) yields DENY kStaleReference, never a
//    decision about some other object.
//
// None of these types own memory: AccessRequest holds string views that must
// outlive the call.

#ifndef ARBITER_REQUEST_H_
#define ARBITER_REQUEST_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace arbiter {

// How the principal reached the control plane. Service accounts can never
// use the console.
enum class Channel : uint8_t {
  kApi = 0,  // CLI, SDK or HTTP API (default)
  kConsole,
};

// Per-call context shared by both request forms.
struct RequestContext {
  Channel channel = Channel::kApi;
  // Judge grant expiry at this instant instead of asking the Engine's clock.
  // Trusted input: a past instant makes grants that have expired since apply
  // again (that is its use: audits, replays, "what if"). Never fill it from
  // an untrusted request; leave it unset on the request path (SECURITY.md).
  absl::optional<absl::Time> now;
};

struct AccessRequest {
  // A principal id or an email (case-insensitive).
  absl::string_view principal;
  // A permission name, e.g. "project.workload.create".
  absl::string_view permission;
  // A resource id, or a path `cloud[/project[/workload]]` of names resolved in
  // the principal's organization.
  absl::string_view resource;
  // Optional organization id or name. When set, it binds every name of the
  // request: the principal (id or email) and the resource (id or path) must
  // belong to this organization, else the check denies UNKNOWN_PRINCIPAL or
  // UNKNOWN_RESOURCE; an organization that does not exist (or a name two
  // share) denies UNKNOWN_ORG. It also disambiguates an email that belongs to
  // principals of several organizations (so does a resource given by id).
  absl::string_view org;
  RequestContext context;
};

// Handles. Default-constructed handles are invalid (and deny).
class PrincipalRef {
 public:
  PrincipalRef() = default;
  uint32_t index() const { return index_; }

 private:
  friend class Engine;
  PrincipalRef(uint32_t index, uint32_t tag) : index_(index), tag_(tag) {}
  uint32_t index_ = 0;
  uint32_t tag_ = 0;
};

class PermissionRef {
 public:
  PermissionRef() = default;
  uint32_t index() const { return index_; }

 private:
  friend class Engine;
  PermissionRef(uint32_t index, uint32_t tag) : index_(index), tag_(tag) {}
  uint32_t index_ = 0;
  uint32_t tag_ = 0;
};

class ResourceRef {
 public:
  ResourceRef() = default;
  uint32_t index() const { return index_; }

 private:
  friend class Engine;
  ResourceRef(uint32_t index, uint32_t tag) : index_(index), tag_(tag) {}
  uint32_t index_ = 0;
  uint32_t tag_ = 0;
};

}  // namespace arbiter

#endif  // ARBITER_REQUEST_H_
