// Builds the effective profile (base profile + EngineOptions edits + the
// PolicySet's custom permissions and roles), validates it, and fills the
// permission and role tables of a Snapshot.

#ifndef ARBITER_SRC_COMPILER_PROFILE_COMPILER_H_
#define ARBITER_SRC_COMPILER_PROFILE_COMPILER_H_

#include "arbiter/engine_options.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/role.pb.h"
#include "src/internal/diagnostics.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// The base profile edited by the §12 options. Exposed for `arbiter profile`.
v1::Profile EffectiveBaseProfile(const EngineOptions& options);

// Fills out->profile, permissions, permission_names, permission_index, roles,
// role_names, role_perms, role_own, member_role. Problems go to `diag`.
void CompileProfile(const v1::PolicySet& state, const EngineOptions& options,
                    Diagnostics& diag, SnapshotTables* out);

// Role lookup after CompileProfile; kNoRole if unknown.
uint16_t FindRole(const SnapshotTables& s, absl::string_view name);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_PROFILE_COMPILER_H_
