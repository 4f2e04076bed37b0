#include "arbiter/legacy.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace arbiter {
namespace {

absl::Status Unknown(absl::string_view what, absl::string_view value,
                     absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown legacy ", what, " level \"", value, "\" (", expected, ")"));
}

}  // namespace

absl::StatusOr<RbacRoles> FromLegacyCloudLevel(absl::string_view level) {
  const std::string l = absl::AsciiStrToLower(level);
  if (l == "owner") return RbacRoles{"cloud_owner", {}};
  if (l == "write" || l == "collaborator") {
    return RbacRoles{"cloud_collaborator", {}};
  }
  if (l == "readonly" || l == "read-only" || l == "read_only") {
    return RbacRoles{"cloud_collaborator", {"cloud_read_only"}};
  }
  return Unknown("cloud", level, "owner, write or readonly");
}

absl::StatusOr<std::string> ToLegacyCloudLevel(const RbacRoles& roles) {
  const bool read_only =
      std::find(roles.deny_roles.begin(), roles.deny_roles.end(),
                "cloud_read_only") != roles.deny_roles.end();
  for (const std::string& deny : roles.deny_roles) {
    if (deny != "cloud_read_only") {
      return absl::InvalidArgumentError(
          absl::StrCat("deny role \"", deny, "\" has no legacy cloud level"));
    }
  }
  if (roles.base_role == "cloud_owner" && !read_only)
    return std::string("owner");
  if (roles.base_role == "cloud_readonly" ||
      (read_only && roles.base_role != "cloud_owner")) {
    return std::string("readonly");
  }
  if (roles.base_role == "cloud_collaborator") return std::string("write");
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", roles.base_role, "\"", read_only ? " with cloud_read_only" : "",
      " has no legacy cloud level"));
}

absl::StatusOr<std::string> FromLegacyProjectLevel(absl::string_view level) {
  const std::string l = absl::AsciiStrToLower(level);
  if (l == "owner") return std::string("project_owner");
  if (l == "write" || l == "collaborator") return std::string("project_write");
  if (l == "readonly" || l == "read-only" || l == "read_only") {
    return std::string("project_readonly");
  }
  return Unknown("project", level, "owner, write or readonly");
}

absl::StatusOr<std::string> ToLegacyProjectLevel(absl::string_view role) {
  if (role == "project_owner") return std::string("owner");
  if (role == "project_write") return std::string("write");
  if (role == "project_readonly") return std::string("readonly");
  return absl::InvalidArgumentError(
      absl::StrCat("\"", role, "\" has no legacy project level"));
}

absl::StatusOr<std::string> FromLegacyOrgLevel(absl::string_view level) {
  const std::string l = absl::AsciiStrToLower(level);
  if (l == "owner") return std::string("org_owner");
  if (l == "collaborator") return std::string("org_collaborator");
  return Unknown("org", level, "owner or collaborator");
}

}  // namespace arbiter
