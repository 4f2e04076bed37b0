// File: arbiter/replicated_store.h
//
// ReplicatedStore: one replica of a PolicyStore that many service replicas
// share through one policy log kept in an etcd v3 cluster (docs/replication.md,
// "Running many replicas"). Each process that links Arbiter opens its own
// ReplicatedStore on the same endpoints and key prefix; an admin transaction
// applied on any replica is committed once, in one order, and every replica
// publishes it within milliseconds.
//
//   arbiter::ReplicatedStoreOptions options;
//   options.endpoints = {"http://10.0.0.1:2379", "http://10.0.0.2:2379",
//                        "http://10.0.0.3:2379"};
//   options.prefix = "/arbiter/acme/";
//   // Once per deployment: import the initial state into the empty log.
//   //   arbiter::ReplicatedStore::Initialize(options, state);
//   auto replica = arbiter::ReplicatedStore::Open(options);   // each process
//   if (!replica.ok()) return replica.status();
//
//   // Write on any replica; the result's revision is a consistency token.
//   absl::StatusOr<arbiter::ReplicatedWrite> w = (*replica)->Apply(txn);
//   uint64_t token = w->revision;
//
//   // Read on any replica "at least as new as my write" (or fail closed):
//   arbiter::ReadConsistency at_least;
//   at_least.min_revision = token;
//   absl::StatusOr<arbiter::ReplicatedDecision> d =
//       (*other_replica)->Check(request, at_least);
//   if (!d.ok()) return d.status();   // UNAVAILABLE: never an older answer
//
// Revisions. The store's revision (PolicySet::revision, Decision::revision,
// AppliedTransaction::revision) IS the log revision: the import by
// Initialize is revision R0 (the state's own revision), the n-th committed
// transaction after it is R0 + n, on every replica. Each log revision r was
// committed by etcd at one etcd store revision E(r) (the mod_revision of the
// key `<prefix>log/<r>`; a group of entries shares one); E is
// non-decreasing in r. Tokens are log revisions, since those are what a
// Decision carries and what every replica counts in; the etcd revision is
// reported beside them (ReplicatedWrite::etcd_revision,
// ReplicatedDecision::etcd_revision, ReplicaStatus) for operators.
//
// Writes. Apply validates the transaction against this replica's current
// state (revision r: the guard permissions, every invariant), then appends
// it as log revision r + 1 with one etcd transaction whose compare requires
// the log's head to still be r. Two replicas applying at once therefore
// never both commit: the loser's append fails, its state is unchanged, and
//   - a transaction with expected_revision gets ABORTED (Refusal
//     kStaleRevision) naming the revision that won;
//   - one without waits until this replica has caught up with the winner,
//     validates again on the new state, and retries (conflict_retries
//     times), so it either commits on a state that includes the winner's
//     change or is refused by it (e.g. LAST_ORG_OWNER), exactly as if it
//     had arrived later at a single store. Out of retries: ABORTED.
// A refusal that depends on the state (NOT_FOUND, PERMISSION_DENIED, an
// invariant) stands only if the state it was judged on was the log's head:
// before returning one, Apply reads the head (one quorum read) and, if this
// replica was behind, catches up and judges again. Concurrent Applies on
// one replica share one etcd transaction (PolicyStore's group commit, at
// most 32 per transaction).
// The writer publishes its own transaction before Apply returns; when the
// watch delivers the same entry back, the replica recognises it (its state
// is already at that revision) and does not apply it twice. A write whose
// outcome etcd could not confirm (a leader change lasting write_timeout) is
// refused with UNAVAILABLE ("outcome unknown"): nothing is published locally
// and, if it did commit, it arrives through the watch like any other entry.
//
// Reads and tokens. Snapshot, Check, Lookups and Keys take a
// ReadConsistency. With min_revision R > 0 they answer from a snapshot whose
// revision is >= R, waiting up to token_wait for this replica to receive it,
// and otherwise fail closed with UNAVAILABLE; they also fail with
// UNAVAILABLE whenever the replica cannot prove it is current (Health()).
// Without a token they answer from the current snapshot, which may be
// behind the log by the replication delay, or, while Health() fails, by as
// long as the replica is cut off (fail_closed_when_unhealthy makes those
// fail too).
//
// Health. The replica proves it is current by a quorum read of the log's
// head every probe_interval (docs/replication.md); Health() is OK while the
// last proof is younger than max_staleness (5 s) and UNAVAILABLE otherwise
// (member down or partitioned, quorum lost, watch stalled), naming why. A
// replica that finds the log corrupt, the log going backwards, or an entry
// its state cannot apply stops following and fails every token read and
// every write with that error (DataLoss / Internal) until it is reopened.
//
// Audit. Each log entry carries the transaction's audit records, chained
// (hash chain per organization, arbiter/audit.h) by the writer on the
// chain every replica holds; the replicas adopt them unchanged, interval
// checkpoints included, so there is one chain, identical on every replica
// (checked at every entry: a replica whose chain would differ - another
// AuditLogOptions::checkpoint_interval or signing key - stops with
// DataLoss). Export audit records from one place (e.g. AuditRecords()), not
// through each replica's log.
//
// Checkpoints. Every checkpoint_interval revisions the replica that wrote
// the revision stores an image of the state and its audit chain in etcd (in
// the background) and the log before it is truncated (keeping keep_entries),
// so that a replica starting up reads one image and a bounded number of
// entries. A new replica bootstraps from that image and the entries after
// it, read at one etcd revision, then follows the watch.
//
// Cost. Apply: one etcd transaction (one raft round, ~2-5 ms on a LAN) plus
// the single-store Apply. Reads: Snapshot/Check with no token cost one
// atomic shared_ptr load more than Engine::Check; with a token, one mutex
// acquisition for the health check (and a wait only when behind). Lookups
// and Keys build their index once per revision (linear in the state).
//
// Thread safety: every method may be called concurrently from any thread.
// Writers are serialized within a replica; readers never block writers and
// never see a partly applied transaction. The engines, lookups and key
// indexes returned stay valid as long as the caller holds them.

#ifndef ARBITER_REPLICATED_STORE_H_
#define ARBITER_REPLICATED_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/identity.h"
#include "arbiter/lookup.h"
#include "arbiter/policy_store.h"
#include "arbiter/request.h"
#include "arbiter/v1/audit.pb.h"
#include "arbiter/v1/mutation.pb.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/state_delta.pb.h"

namespace arbiter {

struct ReplicatedStoreOptions {
  // ---- Where the log is -------------------------------------------------
  // Client URLs of the etcd members: "http://10.0.0.1:2379" or
  // "10.0.0.1:2379". At least one; list them all (the replica fails over).
  // https:// is refused (Unimplemented): TLS is not supported yet.
  std::vector<std::string> endpoints;
  // The key prefix of the log, e.g. "/arbiter/acme/" (every replica of one
  // deployment the same; two deployments' prefixes must not nest). Must
  // start with '/'; a '/' is appended when missing.
  std::string prefix;

  // ---- The store --------------------------------------------------------
  // Engine options, max_mutations, audit options, clock, as for PolicyStore.
  // `log` must be null (the etcd log is the store's log). Every replica must
  // use the same engine options and audit checkpoint_interval / signing key.
  PolicyStoreOptions store;
  // For Keys().
  IdentityOptions identity;

  // ---- Reads ------------------------------------------------------------
  // How long a read with a token waits for this replica to reach the
  // token's revision before it fails with UNAVAILABLE.
  absl::Duration token_wait = absl::Seconds(1);
  // True: reads without a token fail with UNAVAILABLE too while Health()
  // fails. False (default): they answer from the last state received.
  bool fail_closed_when_unhealthy = false;

  // ---- Writes -----------------------------------------------------------
  // Lost races retried (after catching up) for a transaction without
  // expected_revision (and refusals judged again on a newer head). Under
  // sustained writes from several replicas a replica may lose many races in
  // a row (measured: ~3% of transactions lose 9 in a row with 3 replicas
  // writing flat out, none 33); apply_timeout bounds the time either way.
  int conflict_retries = 32;
  // The most time Apply spends: appending (etcd retries), catching up with
  // the revision a transaction expects and after a lost race.
  absl::Duration apply_timeout = absl::Seconds(15);
  // Revisions between checkpoints (written in the background by the replica
  // that wrote the revision). 0: only WriteCheckpoint.
  uint64_t checkpoint_interval = 1000;
  // Entries kept in etcd before the newest checkpoint.
  uint64_t keep_entries = 1000;

  // ---- etcd -------------------------------------------------------------
  // Deadline of one request to one member.
  absl::Duration request_timeout = absl::Seconds(2);
  // How long an append keeps retrying transport failures (leader change)
  // before Apply fails with UNAVAILABLE.
  absl::Duration write_timeout = absl::Seconds(10);
  // Health() fails when currency was not proven for longer than this.
  absl::Duration max_staleness = absl::Seconds(5);
  // How often currency is proven (one quorum read each), and the deadline
  // of one proof.
  absl::Duration probe_interval = absl::Milliseconds(500);
  absl::Duration probe_timeout = absl::Seconds(1);
  // A watch that has not delivered what a proof showed committed this long
  // ago moves to another member.
  absl::Duration stall_timeout = absl::Seconds(2);
};

// What a read requires of the replica's state.
struct ReadConsistency {
  // Answer from a snapshot at this revision or a newer one: a token
  // (ReplicatedWrite::revision, or Decision::revision of an earlier read).
  // 0: the replica's current snapshot, whatever its revision.
  uint64_t min_revision = 0;
  // How long to wait for it; unset: ReplicatedStoreOptions::token_wait.
  absl::optional<absl::Duration> max_wait;
};

// A committed transaction.
struct ReplicatedWrite {
  // The log revision it committed as: the consistency token.
  uint64_t revision = 0;
  // The etcd store revision of the commit.
  int64_t etcd_revision = 0;
  // As in AppliedTransaction.
  std::vector<v1::AuditRecord> audit;
  v1::StateDelta delta;
  bool incremental = false;
  // 1 + the lost races retried.
  int attempts = 1;
};

// A decision and what it was answered from.
struct ReplicatedDecision {
  // decision.revision: the log revision of the snapshot that answered.
  Decision decision;
  // The etcd revision at which that log revision was committed.
  int64_t etcd_revision = 0;
  // Keeps decision.grant_id valid.
  std::shared_ptr<const Engine> engine;

  bool allowed() const { return decision.allowed(); }
};

// A replica's position and counters (for health endpoints and tests).
struct ReplicaStatus {
  // The published snapshot: log revision and its etcd commit revision.
  uint64_t revision = 0;
  int64_t etcd_revision = 0;
  // OK, or why the replica cannot prove it is current.
  absl::Status health;
  // When currency was last proven (InfinitePast: never).
  absl::Time confirmed_at = absl::InfinitePast();
  // Entries of other replicas applied (the incremental path) and of this
  // replica recognised and skipped; states replaced from a checkpoint.
  uint64_t entries_applied = 0;
  uint64_t own_entries_skipped = 0;
  uint64_t resets = 0;
  // Transactions committed by this replica, the etcd transactions that
  // carried them (fewer when concurrent Applies were grouped), and races it
  // lost.
  uint64_t writes = 0;
  uint64_t append_transactions = 0;
  uint64_t conflicts = 0;
  // Refusals judged on a state behind the log's head, judged again after
  // catching up.
  uint64_t stale_refusals = 0;
  uint64_t checkpoints_written = 0;
  uint64_t checkpoint_revision = 0;  // newest known checkpoint
  // From the follower.
  int64_t watch_reconnects = 0;
  int64_t rebootstraps = 0;
  int endpoint = 0;  // the member the watch uses
};

class ReplicatedStore {
 public:
  using Options = ReplicatedStoreOptions;

  // Imports `state` (which must compile) into an empty log at
  // options.prefix as revision state.revision(), with `audit` as the audit
  // chain so far (verified; empty for a new deployment). Returns the etcd
  // revision of the import. FailedPrecondition when the log is not empty
  // (naming its head); Unavailable when etcd cannot be reached.
  static absl::StatusOr<int64_t> Initialize(
      const Options& options, const v1::PolicySet& state,
      absl::Span<const v1::AuditRecord> audit = {});

  // Opens a replica: reads the log's checkpoint and the entries after it at
  // one etcd revision, builds the store from them (entries applied through
  // the incremental path) and starts following. FailedPrecondition for an
  // empty log (Initialize it first); DataLoss for a log that does not
  // decode or apply; Unavailable when etcd cannot be reached; the options'
  // InvalidArgument.
  static absl::StatusOr<std::unique_ptr<ReplicatedStore>> Open(Options options);

  // Stops following (waits for a checkpoint being written).
  ~ReplicatedStore();
  ReplicatedStore(const ReplicatedStore&) = delete;
  ReplicatedStore& operator=(const ReplicatedStore&) = delete;

  // Applies `transaction` as described in the file comment. Refusals are
  // PolicyStore's (RefusalOf tells which), plus ABORTED kStaleRevision for a
  // lost race, UNAVAILABLE kUnavailable when etcd did not commit it (or
  // could not say: the message says "outcome unknown"), and the replica's
  // fatal error once it has stopped. A transaction with expected_revision R
  // first waits (within apply_timeout) until this replica has reached R.
  absl::StatusOr<ReplicatedWrite> Apply(const v1::Transaction& transaction);

  // The snapshot to answer from (see "Reads and tokens").
  absl::StatusOr<std::shared_ptr<const Engine>> Snapshot(
      const ReadConsistency& consistency = {}) const;
  // Check on Snapshot(consistency).
  absl::StatusOr<ReplicatedDecision> Check(
      const AccessRequest& request,
      const ReadConsistency& consistency = {}) const;
  // The lookups (arbiter/lookup.h) of Snapshot(consistency), built once per
  // revision and shared.
  absl::StatusOr<std::shared_ptr<const Lookup>> Lookups(
      const ReadConsistency& consistency = {}) const;
  // The API keys and SSO settings of a state at least as new (for
  // KeyIndex::Authenticate), built once per revision and shared.
  absl::StatusOr<std::shared_ptr<const KeyIndex>> Keys(
      const ReadConsistency& consistency = {}) const;

  // OK once this replica has published `revision` (immediately if it has);
  // at `deadline` UNAVAILABLE (not current, or merely behind); the fatal
  // error once stopped.
  absl::Status WaitFor(uint64_t revision, absl::Time deadline) const;

  // OK while the replica can prove it is current (see "Health").
  absl::Status Health() const;
  ReplicaStatus status() const;

  // The current snapshot without any consistency check; never blocks.
  std::shared_ptr<const Engine> engine() const;
  uint64_t revision() const;

  // A copy of the current state (linear in its size).
  v1::PolicySet StateCopy() const;
  // Lower-case hex SHA-256 of the state in a canonical form (independent of
  // the order in which objects were added): equal on replicas at the same
  // revision. Linear in the state.
  std::string StateDigest() const;
  // Every audit record of the chain, organization by organization, in
  // sequence order (what a checkpoint stores).
  std::vector<v1::AuditRecord> AuditRecords() const;

  // Writes a checkpoint of the current state now; returns its revision.
  // FailedPrecondition when a checkpoint at or after it exists already.
  absl::StatusOr<uint64_t> WriteCheckpoint();

 private:
  struct Impl;
  explicit ReplicatedStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The canonical digest of StateDigest(), for a state held elsewhere (a
// reference model in a test, a file).
std::string PolicyStateDigest(const v1::PolicySet& state);

}  // namespace arbiter

#endif  // ARBITER_REPLICATED_STORE_H_
