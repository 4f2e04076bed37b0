// File: arbiter/legacy.h
//
// Converters between Anyscale's legacy permission levels and the RBAC roles
// Arbiter stores (access-model §3.1 and §12 row 13). The console, CLI and SDK
// still speak legacy levels ("owner", "write", "readonly" on clouds; group
// policies say "collaborator"), while the roles API speaks RBAC base roles
// plus deny roles. Store the RBAC form; convert at the edges with these.
//
// Example:
//
//   absl::StatusOr<arbiter::RbacRoles> r =
//       arbiter::FromLegacyCloudLevel("readonly");
//   // r->base_role == "cloud_collaborator", r->deny_roles ==
//   {"cloud_read_only"}

#ifndef ARBITER_LEGACY_H_
#define ARBITER_LEGACY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace arbiter {

// An RBAC base role plus the deny roles that go with it on one scope.
struct RbacRoles {
  std::string base_role;
  std::vector<std::string> deny_roles;
};

// Cloud levels: "owner" -> cloud_owner; "write" or "collaborator" ->
// cloud_collaborator; "readonly", "read-only" or "read_only" ->
// cloud_collaborator + cloud_read_only (the backend's mapping; the built-in
// cloud_readonly role grants the same). Case-insensitive. InvalidArgument
// for anything else.
absl::StatusOr<RbacRoles> FromLegacyCloudLevel(absl::string_view level);

// The legacy level of a cloud's RBAC roles: "owner", "write" or "readonly".
// cloud_readonly and any base role with cloud_read_only are "readonly".
// InvalidArgument for roles with no legacy equivalent (cloud_writer,
// cloud_project_viewer, ...).
absl::StatusOr<std::string> ToLegacyCloudLevel(const RbacRoles& roles);

// Project levels: "owner", "write" (group policies: "collaborator") and
// "readonly" <-> project_owner, project_write, project_readonly. "writer" is
// rejected, as the backend does (HTTP 422).
absl::StatusOr<std::string> FromLegacyProjectLevel(absl::string_view level);
absl::StatusOr<std::string> ToLegacyProjectLevel(absl::string_view role);

// Org levels: "owner" and "collaborator" <-> org_owner, org_collaborator.
absl::StatusOr<std::string> FromLegacyOrgLevel(absl::string_view level);

}  // namespace arbiter

#endif  // ARBITER_LEGACY_H_
