#include "tools/names.h"

namespace arbiter {
namespace cli {
namespace {

absl::string_view RuleName(Reason reason) {
  switch (reason) {
    case Reason::kOrgOwner:
      return "org_owner";
    case Reason::kPublicProject:
      return "public_project";
    // CLOUD_ROLE_INHERITANCE has none: a cloud role's private_project_role
    // (cloud_owner_private_project_access) allowed, and the deciding grant
    // says which. It is the exception to no_private_inheritance, not an
    // instance of it.
    case Reason::kNoProjectGrant:
      return "no_private_inheritance";
    case Reason::kOrgMember:
      return "org_membership";
    case Reason::kCrossOrg:
      return "org_boundary";
    case Reason::kPrincipalDeleted:
    case Reason::kPrincipalInvited:
      return "liveness";
    case Reason::kServiceAccountConsole:
      return "service_account_console";
    case Reason::kProtectedResource:
      return "default_project_protected";
    case Reason::kNoCloudGrant:
      return "cloud_prerequisite";
    case Reason::kDenyRole:
      return "deny_roles_subtract";
    default:
      return {};
  }
}

}  // namespace

absl::string_view RuleForReason(Reason reason, const v1::Profile& profile) {
  const absl::string_view name = RuleName(reason);
  if (name.empty()) return {};
  for (const v1::ImplicitRule& rule : profile.implicit_rules()) {
    if (rule.name() == name) return rule.name();
  }
  return {};
}

absl::string_view RuleDescription(absl::string_view rule,
                                  const v1::Profile& profile) {
  for (const v1::ImplicitRule& r : profile.implicit_rules()) {
    if (r.name() == rule) return r.description();
  }
  return {};
}

bool ParseIamOutcome(absl::string_view name, IamOutcome* outcome) {
  for (IamOutcome o :
       {IamOutcome::kMapped, IamOutcome::kCloudDefault, IamOutcome::kFail}) {
    if (IamOutcomeName(o) == name) {
      *outcome = o;
      return true;
    }
  }
  return false;
}

}  // namespace cli
}  // namespace arbiter
