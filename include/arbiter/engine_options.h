// File: arbiter/engine_options.h
//
// EngineOptions holds the knobs of Engine::Create: the settings the Anyscale
// model leaves open (access-model §12; each defaults to the recommended
// choice), the profile, the clock, and the limits that keep hostile policy
// files from costing unbounded time or memory. Every field states its default.

#ifndef ARBITER_ENGINE_OPTIONS_H_
#define ARBITER_ENGINE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "arbiter/clock.h"
#include "arbiter/identity.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {

// §12 row 7: may a project `write` member delete or archive workloads?
enum class WorkloadDeletePolicy {
  kNever,         // only project owners (and org owners) delete workloads
  kOwnWorkloads,  // writers delete the workloads they created (default)
  kAllWorkloads,  // writers delete any workload of the project
};

// §12 row 3: a compute config's IAM identity vs. cloud IAM mapping.
enum class IamOverridePrecedence {
  kMappingWins,        // the admin's mapping cannot be bypassed (default)
  kComputeConfigWins,  // a compute config's identity replaces the mapping
};

struct EngineOptions {
  // ---- Time ----
  // Judges grant expiry. nullptr (default) means Clock::System(). Read at
  // most once per Check, and only when a grant with an expiry is consulted.
  std::shared_ptr<const Clock> clock;

  // ---- The vocabulary ----
  // The profile of permissions and roles. nullptr (default) means the
  // built-in Anyscale profile (arbiter::BuiltinProfile()). The options below
  // edit the profile before compiling; Engine::profile() shows the result.
  std::shared_ptr<const v1::Profile> profile;

  // ---- Open choices of the Anyscale model (access-model §12) ----
  // Row 1: cloud owners implicitly own every private project of their cloud.
  // Default false: a cloud grant reaches only public projects.
  bool cloud_owner_private_project_access = false;
  // Row 2: cloud owners may configure their cloud's IAM mapping. Default
  // false: org owners only.
  bool cloud_owner_configures_iam_mapping = false;
  // Row 4: a service account may hold the org owner role. Default false: such
  // a grant (direct or through a group) is rejected at compile time.
  bool allow_service_account_org_owner = false;
  // Row 7. Default kOwnWorkloads.
  WorkloadDeletePolicy project_write_workload_delete =
      WorkloadDeletePolicy::kOwnWorkloads;
  // Row 14: cloud owners may delete their cloud. Default true.
  bool cloud_owner_deletes_cloud = true;
  // Row 3. Default kMappingWins.
  IamOverridePrecedence iam_override_precedence =
      IamOverridePrecedence::kMappingWins;
  // Cloud IAM mapping (Engine::ResolveIam): match the rules against an email
  // that no principal of the snapshot holds, as a plain string, for
  // launchers that may start workloads before the user reaches the
  // snapshot. Default false: such a user is FAIL UNKNOWN_PRINCIPAL. Deleted
  // and invited principals, and principals of another organization, fail
  // either way (docs/iam-mapping.md, "The user").
  bool iam_match_unknown_users = false;

  // ---- Grant-time rules (access-model §4.3) ----
  // Treat breaches of the grant-time rules as errors. Default false: a state
  // that breaks them (a project grant whose subject holds no cloud grant, a
  // project role above a deny role's project_role_limit, two roles that
  // cannot be held together) still loads, and Engine::Validate and
  // Engine::warnings() list each breach. A revocation produces such states
  // (removing a user from the group that carries their cloud grant), and
  // refusing them would keep the older, more permissive state serving.
  // Check denies on them as on any state: NO_CLOUD_GRANT without a live
  // cloud grant. The admin API enforces the rules on each change.
  bool strict_grant_rules = false;

  // Scope summaries: a principal with few grants gets a one-line summary
  // of them that Check decides from, reading no grant (src/compiler/
  // scope_summary.h). An optimisation only: off, Check scans the grants and
  // answers the same. Default true.
  bool scope_summaries = true;

  // ---- Limits (exceeding one is an InvalidArgument naming the object) ----
  // Longest id, in bytes. Default 256.
  size_t max_id_length = 256;
  // Longest name or email, in bytes. Default 1024.
  size_t max_name_length = 1024;
  // Deepest chain of groups inside groups. Default 64.
  size_t max_group_depth = 64;
  // Most groups one principal may belong to, directly or transitively.
  // Check's cost grows with this number. Default 4096.
  size_t max_groups_per_principal = 4096;
  // Most transitive group memberships the compiler gathers: for every
  // principal and group, the groups containing it directly plus those
  // groups' own containing groups, counted before duplicates are removed.
  // Compile time and memory grow linearly with this count (SECURITY.md,
  // "Cost model"); deep, wide group lattices exceed it. Default 16,000,000.
  size_t max_membership_closure = 16'000'000;
  // Most roles of the effective profile (the base profile's plus
  // custom_roles). Check decides on role bitsets: up to 64 roles in one
  // machine word, more in 4, 16 or 64 words (a little slower; BENCHMARKS.md).
  // At most 4096. Default 4096.
  size_t max_roles = 4096;
  // Most problems Validate reports before stopping. Default 100.
  size_t max_errors = 100;

  // ---- Identity (arbiter/identity.h, docs/identity.md) ----
  // The rules of Engine::Authenticate (CLI login key lifetime, SSO and API
  // keys) and, in a PolicyStore, of the identity mutations (invitation
  // limits and lifetime, key limits). Each field states its default.
  IdentityOptions identity;

  // ---- IAM mapping limits ----
  // Most rules per cloud. Default 10000.
  size_t max_iam_rules_per_cloud = 10000;
  // Longest selector, in bytes. Default 4096.
  size_t max_selector_length = 4096;
  // Largest RE2 program of one `~=` pattern. Default 1000.
  int max_regex_program_size = 1000;
  // RE2 memory budget of one pattern, in bytes. Default 1 MiB.
  int64_t max_regex_memory = 1 << 20;
};

}  // namespace arbiter

#endif  // ARBITER_ENGINE_OPTIONS_H_
