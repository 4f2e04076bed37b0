// TransactionApplier: turns one admin Transaction into changes of the
// writer's IndexedState, mutation by mutation (so that a later mutation
// sees what an earlier one made), with its audit records, after
// authorizing each on the current snapshot; then, on the result, checks
// the invariants that span the whole transaction (effective access,
// the last org owner, quotas and budgets). PolicyStore drives it and, on
// any error, reverts the state from the applier's undo logs.
//
// docs/admin.md lists every mutation with its guard, its side effects and
// the invariants it is held to.

#ifndef ARBITER_SRC_ADMIN_TRANSACTION_H_
#define ARBITER_SRC_ADMIN_TRANSACTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "arbiter/engine.h"
#include "arbiter/identity_outcome.h"
#include "arbiter/identity_rules.h"
#include "arbiter/policy_store.h"
#include "arbiter/v1/mutation.pb.h"
#include "src/admin/indexed_state.h"

namespace arbiter {
namespace internal {

class TransactionApplier {
 public:
  // `engine` answers for the state before the transaction; `revision` is
  // the revision the transaction makes.
  TransactionApplier(IndexedState& state, const Engine& engine,
                     const v1::Transaction& transaction,
                     const PolicyStoreOptions& options, absl::Time now,
                     uint64_t revision);

  // Resolves the actor and organization and applies every mutation. On an
  // error the state holds the changes made so far: revert them (logs()).
  absl::Status ApplyMutations();

  // The invariants of the result, judged with `result` (the engine of the
  // changed state): the deferred checks of the mutations, the org's owners,
  // quotas and budgets.
  absl::Status CheckResult(const Engine& result);

  std::vector<IndexedState::UndoLog>& logs() { return logs_; }
  std::vector<v1::AuditRecord>& audit() { return audit_; }
  // Whether the transaction only simulates (scim_enforce_groups dry run):
  // its changes are reverted and its audit records returned, not kept.
  bool dry_run() const { return dry_run_; }
  // The keys made and the invitations answered (identity_mutations.cc).
  IdentityOutcome& identity() { return identity_; }

 private:
  // ---- Names, in the transaction's organization ----
  absl::Status ResolveActor();
  absl::StatusOr<const v1::Principal*> FindPrincipal(absl::string_view name,
                                                     const char* field) const;
  absl::StatusOr<const v1::Cloud*> FindCloud(absl::string_view name,
                                             const char* field) const;
  absl::StatusOr<const v1::Project*> FindProject(absl::string_view name,
                                                 const char* field) const;
  absl::StatusOr<const v1::Group*> FindGroup(absl::string_view name,
                                             const char* field) const;
  std::string NewId(absl::string_view prefix) const;

  // ---- Authorization ----
  // The actor holds `permission` on `resource_id` (Check on the snapshot
  // before the transaction; a resource the actor created in this
  // transaction is its own).
  absl::Status Authorize(absl::string_view permission,
                         absl::string_view resource_id);

  // ---- Changes ----
  absl::Status Apply(const StateDelta& delta);
  absl::Status PutPrincipal(const v1::Principal& p);
  absl::Status AddGrant(v1::Grant grant);
  absl::Status RemoveGrant(const v1::Grant& grant);
  // Removes the principal's (or group's) direct grants on `scope_ids`.
  absl::Status RemoveGrantsOf(absl::string_view subject,
                              const absl::flat_hash_set<std::string>& scopes,
                              bool allow_roles, bool deny_roles);
  // The subject's grants on `scope` with role `role`.
  std::vector<const v1::Grant*> GrantsOfOn(absl::string_view subject,
                                           absl::string_view scope) const;
  void Audit(
      absl::string_view action, absl::string_view entity,
      absl::string_view resource_id,
      std::initializer_list<std::pair<absl::string_view, absl::string_view>>
          metadata = {});

  // ---- Facts ----
  const v1::Role* ProfileRole(absl::string_view name) const;
  bool IsOrgOwnerRole(absl::string_view role) const;
  // Whether the subject holds `role` (directly or through its groups) on
  // `scope`, live now.
  bool Holds(absl::string_view principal, absl::string_view role,
             absl::string_view scope) const;
  bool IsOrgOwner(absl::string_view principal) const;
  // Active principals holding an owner role on the organization, directly
  // or through groups: from the owner grants on it, not every principal.
  size_t CountOrgOwners() const;
  // §4.3's caps on cloud_read_only judged on effective access (direct and
  // through groups) for every principal a grant or a membership this
  // transaction added reaches: see transaction.cc.
  absl::Status CheckReadOnlyCaps() const;
  // SCIM is on and the org has a group binding (§4.3).
  bool ScimWithBinding() const;

  // ---- One function per mutation ----
  absl::Status Mutate(int index, const v1::Mutation& m);
  absl::Status InviteUsers(const v1::InviteUsers& m);
  absl::Status AcceptInvitation(const v1::AcceptInvitation& m);
  absl::Status RemoveUser(const v1::RemoveUser& m);
  absl::Status SetOrgRole(const v1::SetOrgRole& m);
  absl::Status CreateCloud(const v1::CreateCloud& m);
  absl::Status DeleteCloud(const v1::DeleteCloud& m);
  absl::Status CreateProject(const v1::CreateProject& m);
  absl::Status DeleteProject(const v1::DeleteProject& m);
  absl::Status SetProjectVisibility(const v1::SetProjectVisibility& m);
  absl::Status SetCloudMember(const v1::SetCloudMember& m);
  absl::Status RemoveCloudMember(const v1::RemoveCloudMember& m);
  absl::Status SetProjectMember(const v1::SetProjectMember& m);
  absl::Status RemoveProjectMember(const v1::RemoveProjectMember& m);
  absl::Status SetAutoAdd(const v1::SetAutoAdd& m);
  absl::Status SetGroupPolicy(const v1::SetGroupPolicy& m);
  absl::Status DeleteGroup(const v1::DeleteGroup& m);
  absl::Status SyncGroup(const v1::SyncGroup& m);
  absl::Status ScimEnforceGroups(const v1::ScimEnforceGroups& m);
  absl::Status CreateServiceAccount(const v1::CreateServiceAccount& m);
  absl::Status DeleteServiceAccount(const v1::DeleteServiceAccount& m);
  absl::Status SetCustomRole(const v1::SetCustomRole& m);
  absl::Status DeleteCustomRole(const v1::DeleteCustomRole& m);
  absl::Status SetIamMapping(const v1::SetIamMapping& m);
  // ---- Quotas and budgets (quota_mutations.cc) ----
  // create, enable or disable, modify and delete, dispatched by op
  // (QuotaMutation takes both and hands budgets to BudgetMutation).
  absl::Status QuotaMutation(const v1::Mutation& m);
  absl::Status BudgetMutation(const v1::Mutation& m);
  // Validates `quota` (or `budget`) as the new version of its object and
  // puts it, with an audit record of `action`.
  absl::Status PutQuota(v1::ResourceQuota quota, absl::string_view action);
  // `*project`, a project id or a project's name in the cloud `cloud_id`,
  // made an id (empty stays empty: all projects).
  absl::Status ResolveProject(absl::string_view cloud_id, std::string* project,
                              const char* field) const;
  absl::Status PutBudget(v1::Budget budget, absl::string_view action);
  // ---- Identity (identity_mutations.cc) ----
  // The mutations added for access-model §10 (invitations, API keys, SSO
  // and SCIM settings), dispatched by op.
  absl::Status IdentityMutation(const v1::Mutation& m);
  absl::Status DeleteInvitation(const v1::DeleteInvitation& m);
  absl::Status ExpireInvitations();
  absl::Status IssueApiKey(const v1::Mutation& m);  // create or rotate
  absl::Status RevokeApiKey(const v1::RevokeApiKey& m);
  absl::Status RevokeApiKeys(const v1::RevokeApiKeys& m);
  absl::Status SetIdentitySettings(const v1::SetIdentitySettings& m);
  // The principal a key mutation names (an id, an email, a service
  // account's name; empty: the actor), and whether the actor may manage
  // its keys (revoke_only: revoking, which more may do than making).
  absl::StatusOr<const v1::Principal*> FindKeyHolder(
      const std::string& name) const;
  absl::Status AuthorizeKeys(const v1::Principal& holder, bool revoke_only);
  // The identity rules' options: the store's, with the engine's profile
  // and the transaction's deterministic ids.
  IdentityOptions IdentityRules() const;
  // Applies an identity plan (arbiter/identity_rules.h) to the state.
  absl::Status ApplyPlan(const v1::IdentityPlan& plan);
  // A status of the identity rules as a refusal of the current mutation
  // (its field path, a Refusal, the IdentityRule kept).
  absl::Status FromRule(const absl::Status& status,
                        absl::string_view where = {}) const;
  // What removing a principal from the org does to its identity: its keys
  // revoked and, for an invited one, its pending invitations deleted.
  absl::Status RetireIdentity(const v1::Principal& principal);
  // Auto-add grants of `cloud` for `principal` (if it has none).
  absl::Status AutoAdd(const v1::Cloud& cloud, const v1::Principal& principal);
  // Removes the principal from the org: DELETED, no grants.
  absl::Status Evict(const v1::Principal& principal);

  IndexedState& state_;
  const Engine& engine_;
  const v1::Transaction& txn_;
  const PolicyStoreOptions& options_;
  const absl::Time now_;
  const uint64_t revision_;

  std::string org_;    // the organization's id
  std::string actor_;  // the actor's principal id
  std::string actor_email_;
  std::string actor_name_;
  std::string field_;  // "mutations[3].set_cloud_member", for messages
  // Resources the actor created in this transaction (its own to manage).
  absl::flat_hash_set<std::string> created_;
  std::vector<IndexedState::UndoLog> logs_;
  std::vector<v1::AuditRecord> audit_;
  // Checks of the result, with the field of the mutation that asked.
  std::vector<std::function<absl::Status(const Engine&)>> deferred_;
  bool owners_changed_ = false;
  // What this transaction added, for CheckReadOnlyCaps: grant ids, the
  // subjects (principals, groups) that received grants or members, and the
  // groups whose members grew.
  absl::flat_hash_set<std::string> added_grants_;
  absl::flat_hash_set<std::string> touched_subjects_;
  absl::flat_hash_set<std::string> grown_groups_;
  // The org owners before the transaction, counted (a walk of the org's
  // grants) only when some mutation may change them: see
  // MayChangeOrgOwners in transaction.cc.
  bool owners_counted_ = false;
  size_t owners_before_ = 0;
  bool quotas_changed_ = false;
  bool dry_run_ = false;
  mutable uint64_t next_id_ = 0;
  int index_ = -1;  // the current mutation's index
  IdentityOutcome identity_;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_ADMIN_TRANSACTION_H_
