// File: arbiter/policy_store.h
//
// PolicyStore: the write path. It owns an organization's current access
// state and the Engine compiled from it, and applies admin transactions
// (arbiter/v1/mutation.proto) to them, one at a time, all or nothing:
//
//   1. the precondition (Transaction.expected_revision) holds, else ABORTED
//      naming both revisions;
//   2. the actor holds each mutation's guarding permission (docs/admin.md),
//      decided by Check on the current snapshot, else PERMISSION_DENIED
//      naming the permission and Check's reason;
//   3. the mutations become one StateDelta (with their side effects:
//      auto-add grants, cascades, creators' ownership);
//   4. every invariant of access-model §4.3 and §10 holds on the result,
//      judged on effective access (through groups too), else a refusal with
//      its own code (Refusal) and a message naming the object;
//   5. the change is logged (PolicyStoreOptions::log, e.g. the durable
//      store: durable before Apply returns; concurrent Applies share one
//      log write, see PolicyLog) and audited (AuditLog, a hash chain);
//   6. the new snapshot is published through EngineHolder: the next Check
//      of any thread answers from it, with the new revision.
//
// A refused transaction changes nothing: the state, the revision and the
// audit log stay byte for byte as they were. An applied one leaves exactly
// the state before with its delta (AppliedTransaction::delta) applied,
// object order included, so that replaying the logged deltas onto a
// checkpoint (Recover) rebuilds the state byte for byte.
//
// Publishing is incremental where it can be (a change of grants: the
// SnapshotBuilder relocates what changed; the cost grows with the change,
// not the state) and a compile of the new state otherwise (docs/admin.md
// lists which mutations take which path).
//
// Thread safety: Apply may be called from any number of threads; writers
// are serialized. Readers (engine(), holder()) never block and never see a
// partly applied transaction.
//
// Example:
//
//   auto store = arbiter::PolicyStore::Create(arbiter::DemoPolicySet());
//   arbiter::v1::Transaction txn;
//   txn.set_actor("alice@acme.com");
//   auto* m = txn.add_mutations()->mutable_set_project_member();
//   m->set_project("prod/ml-prod");
//   m->set_principal("dave@acme.com");
//   m->set_role("project_readonly");
//   absl::StatusOr<arbiter::AppliedTransaction> applied = (*store)->Apply(txn);
//   if (!applied.ok()) {
//     // e.g. FAILED_PRECONDITION [NO_CLOUD_GRANT] set_project_member ...
//     std::cerr << arbiter::RefusalName(arbiter::RefusalOf(applied.status()));
//   }

#ifndef ARBITER_POLICY_STORE_H_
#define ARBITER_POLICY_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "arbiter/audit.h"
#include "arbiter/clock.h"
#include "arbiter/engine.h"
#include "arbiter/engine_holder.h"
#include "arbiter/engine_options.h"
#include "arbiter/identity_outcome.h"
#include "arbiter/v1/mutation.pb.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/state_delta.pb.h"

namespace arbiter {

// Why a transaction was refused, beyond its absl::StatusCode (carried in
// the status's payload: RefusalOf). Names are stable (RefusalName).
enum class Refusal : uint8_t {
  kNone = 0,
  kInvalid,           // INVALID_ARGUMENT: a malformed mutation
  kNotFound,          // NOT_FOUND: a name the state does not hold
  kAlreadyExists,     // ALREADY_EXISTS: an id or name taken
  kPermissionDenied,  // PERMISSION_DENIED: the actor lacks the guard
  kStaleRevision,     // ABORTED: expected_revision is not current
  kTooLarge,          // RESOURCE_EXHAUSTED: over max_mutations
  kInvalidState,      // INVALID_ARGUMENT: the result does not compile
  // ---- access-model §4.3 ----
  kNoCloudGrant,         // a project grant to someone without cloud access
  kReadOnlyCap,          // above project_readonly while holding cloud_read_only
  kOwnerWithReadOnly,    // cloud_owner together with cloud_read_only
  kSelfModification,     // an actor changing or removing its own cloud grant
  kOrgOwnerCloudRole,    // changing an org owner's cloud role
  kAutoAddEnabled,       // removing a collaborator while auto-add is on
  kScimRevoke,           // revoking a human member under SCIM with a binding
  kInvitationRefused,    // inviting under SSO required, or SCIM + binding
  kLastOrgOwner,         // demoting or removing the last org owner
  kDuplicateQuota,       // a second quota for one (cloud, project, user)
  kDuplicateBudget,      // a second daily/monthly budget for one scope
  kRoleOutOfScope,       // a role outside its scope's vocabulary
  kUnknownGroup,         // a policy naming a deleted or unknown group
  kProtectedResource,    // deleting or hiding a cloud's default project
  kAlreadyMember,        // inviting a member
  kServiceAccountOwner,  // a service account as org owner
  kNotInvited,           // accepting without a pending invitation
  // ---- access-model §10 (the IdentityRule payload says which rule) ----
  kLimitExceeded,  // RESOURCE_EXHAUSTED: invitations pending or sent per
                   // day, live keys per principal (IdentityOptions)
  // ---- the store ----
  kUnavailable,  // UNAVAILABLE: the log could not make it durable
};

// "LAST_ORG_OWNER", ...
absl::string_view RefusalName(Refusal refusal);
// The refusal a status of Apply carries (kNone for OK or other statuses).
Refusal RefusalOf(const absl::Status& status);

struct AppliedTransaction {
  uint64_t revision = 0;
  // The audit records committed for it, in order (checkpoints included).
  std::vector<v1::AuditRecord> audit;
  // The state change, as logged and replicated.
  v1::StateDelta delta;
  // Published by SnapshotBuilder (true) or by compiling the new state.
  bool incremental = false;
  // The credentials of the keys it created (shown only here) and the answer
  // for every email it invited (arbiter/identity_outcome.h).
  IdentityOutcome identity;
};

// Where committed transactions go before they are published: the durable
// store (arbiter/durable_store.h), a replicated log.
//
// PolicyStore calls Append from one thread at a time, under its writer lock,
// with the records of one or more transactions of consecutive revisions:
// the group of Apply calls that were waiting for the writer lock
// (PolicyStoreOptions::max_group), so that the log can make them all durable
// with one write (one fsync, one consensus round). Group commit happens in
// PolicyStore; the log need not queue anything itself.
//
//   OK     every record is durable. PolicyStore then commits their audit
//          records, publishes the new engine and acknowledges each Apply.
//   error  no record counts as committed: PolicyStore reverts the whole
//          group, publishes nothing and refuses each of its transactions
//          with UNAVAILABLE (Refusal::kUnavailable) and the log's message.
//          The next Append starts at `first_revision` again. A log that
//          cannot tell whether some of the records reached storage (an
//          fsync error, a timeout) must return an error now and refuse
//          every later Append until it is reopened, since it may hold
//          revisions that the store does not.
//
// Records are never empty and revisions never repeat or skip between
// successful calls. Thread safety: Append is never called concurrently by
// one PolicyStore; a log shared by several stores must lock for itself.
class PolicyLog {
 public:
  virtual ~PolicyLog() = default;
  // `records[i]` is the encoded v1::LogRecord (arbiter/v1/log_record.proto:
  // the delta and its audit records) of revision first_revision + i.
  virtual absl::Status Append(uint64_t first_revision,
                              std::vector<std::string> records) = 0;
};

struct PolicyStoreOptions {
  EngineOptions engine;
  // Transactions of more mutations are refused (RESOURCE_EXHAUSTED,
  // kTooLarge). Default 10,000.
  size_t max_mutations = 10000;
  // The audit log's options (checkpoint interval, signing key, sink).
  AuditLogOptions audit;
  // The time of transactions without RequestMetadata.time. Default: the
  // system clock.
  std::shared_ptr<const Clock> clock;
  // Not owned; must outlive the store. Default: none (in memory only).
  PolicyLog* log = nullptr;
  // Group commit, with a log: Apply calls that arrive while another is
  // being logged wait, then one of them applies them all, one after the
  // other exactly as if called in turn, and logs them with one
  // PolicyLog::Append (so they share one fsync). At most this many
  // transactions (and, beyond the first, max_mutations mutations) per group;
  // 1 turns grouping off. Without a log every transaction is its own group.
  // An audit checkpoint that falls due inside a group is written after the
  // group's last record. Default 64.
  size_t max_group = 64;
};

class PolicyStore {
 public:
  // A store over `state`, which must compile (InvalidArgument otherwise),
  // at its revision.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Create(
      v1::PolicySet state, PolicyStoreOptions options = {});
  // The same, continuing an audit log of a previous run (records in order,
  // e.g. read back from a store), whose chains are verified.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Create(
      v1::PolicySet state, PolicyStoreOptions options,
      absl::Span<const v1::AuditRecord> audit);

  // Recovery (a durable store's Open, a replica's bootstrap): a store at
  // `state` (a checkpoint) with `deltas` -- committed StateDeltas, the first
  // based on the state's revision, each on the previous one's -- applied in
  // order and compiled once at the end, continuing `audit` (the whole audit
  // history, every organization's chain from its first record, verified as
  // by Create). FailedPrecondition naming the delta when one does not follow
  // or does not apply; InvalidArgument when the result does not compile;
  // DataLoss when the audit chain is broken. Cost: the state's size once
  // plus the deltas' sizes, one compile. Without deltas it returns once the
  // engine is compiled and published: the writer's index of the state is
  // built on a thread of its own meanwhile, and the first Apply,
  // ApplyCommitted or StateCopy waits for it.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Recover(
      v1::PolicySet state, std::vector<v1::StateDelta> deltas,
      PolicyStoreOptions options, absl::Span<const v1::AuditRecord> audit);

  // The state Recover would rebuild from `state` and `deltas` (object order
  // included), without compiling it or building a store: for writing a
  // checkpoint from a log, or reading one. Errors as Recover's.
  static absl::StatusOr<v1::PolicySet> ReplayDeltas(
      v1::PolicySet state, std::vector<v1::StateDelta> deltas);

  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;
  ~PolicyStore();

  // Applies `transaction`; see the file comment. On success the new
  // snapshot is what engine() returns.
  absl::StatusOr<AppliedTransaction> Apply(const v1::Transaction& transaction);

  // Applies a StateDelta that another writer already committed (a replica
  // following a log): no authorization or invariant checks, the delta's
  // base must be this store's revision (FAILED_PRECONDITION otherwise).
  absl::Status ApplyCommitted(const v1::StateDelta& delta,
                              std::vector<v1::AuditRecord> audit);

  // The current engine; never blocks.
  std::shared_ptr<const Engine> engine() const;
  const EngineHolder& holder() const;
  uint64_t revision() const;
  // A copy of the current state (for export; linear in its size).
  v1::PolicySet StateCopy() const;
  const AuditLog& audit_log() const;

 private:
  struct Impl;
  explicit PolicyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arbiter

#endif  // ARBITER_POLICY_STORE_H_
