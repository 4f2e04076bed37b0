// Stable names the arbiter command prints: the implicit rule behind a
// decision's reason; parsing IAM outcome names.

#ifndef ARBITER_TOOLS_NAMES_H_
#define ARBITER_TOOLS_NAMES_H_

#include "absl/strings/string_view.h"
#include "arbiter/decision.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {
namespace cli {

// The profile's implicit rule that produced `reason` ("public_project" for
// PUBLIC_PROJECT, "cloud_prerequisite" for NO_CLOUD_GRANT, ...), or empty
// when a grant or role alone decided (GRANT, CLOUD_ROLE_INHERITANCE, ...),
// or when `profile` has no such rule.
absl::string_view RuleForReason(Reason reason, const v1::Profile& profile);

// The implicit rule's description in `profile`, or empty.
absl::string_view RuleDescription(absl::string_view rule,
                                  const v1::Profile& profile);

// Parses IamOutcomeName's names ("MAPPED", "CLOUD_DEFAULT", "FAIL"). Returns
// false if unknown.
bool ParseIamOutcome(absl::string_view name, IamOutcome* outcome);

}  // namespace cli
}  // namespace arbiter

#endif  // ARBITER_TOOLS_NAMES_H_
