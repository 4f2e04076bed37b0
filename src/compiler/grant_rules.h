// The checks one grant must pass on its own once its subject, scope and role
// are resolved: where and to whom its role may be granted, its source and
// its expiry. The full compile (compile_grants.cc) and a delta
// (snapshot_builder.cc) call the same functions, so a grant a file may not
// hold cannot arrive by a change either.

#ifndef ARBITER_SRC_COMPILER_GRANT_RULES_H_
#define ARBITER_SRC_COMPILER_GRANT_RULES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "arbiter/v1/grant.pb.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {
namespace internal {

// A problem with one field of a grant: "role", "subject", "source" or
// "expires_at", and what is wrong.
struct GrantProblem {
  const char* field;
  std::string message;
};

// Whether `role` may be granted at `level` (kOrgLevel, ...) to a subject of
// `subject_kind`, described for messages as `subject` (`user "usr_1"`).
absl::optional<GrantProblem> CheckRolePlacement(const v1::Role& role,
                                                uint8_t level,
                                                v1::SubjectKind subject_kind,
                                                absl::string_view subject);

// The grant's source as stored (arbiter::GrantSource), or a problem: a group
// subject takes GROUP, a principal DIRECT or, for the profile's auto-add
// role on a cloud, AUTO_ADD; UNSPECIFIED picks GROUP or DIRECT.
absl::optional<GrantProblem> CheckSource(v1::GrantSource source,
                                         bool group_subject, uint8_t level,
                                         bool is_auto_add_role,
                                         absl::string_view auto_add_role,
                                         uint8_t* stored);

// The expiry in Unix nanoseconds (kNever without one), or a problem when the
// timestamp is outside google.protobuf.Timestamp's range.
absl::optional<GrantProblem> CheckExpiry(const v1::Grant& grant,
                                         int64_t* nanos);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_GRANT_RULES_H_
