// File: arbiter/durable_store.h
//
// DurableStore: a PolicyStore (arbiter/policy_store.h) whose state lives in
// a directory on local disk, so that every acknowledged admin change
// survives kill -9 and power loss and a restart finds the state where it
// was. The embedded default way to run Arbiter: one process, one
// directory, no server.
//
// On disk (docs/store.md): a log of committed transactions -- each entry a
// v1::LogRecord (arbiter/v1/log_record.proto: the StateDelta and its audit
// records) at its revision -- plus periodic checkpoints (an image of the
// state and the audit log), in one SQLite database in WAL mode, every entry
// and checkpoint chunk carrying a SHA-256 chained to its predecessor.
//
//   Apply       a transaction, its audit records and its revision are one
//               log entry, committed and fsynced (StoreSync::kFull) before
//               Apply returns; concurrent Applies share one fsync (group
//               commit). A refused or failed transaction leaves nothing on
//               disk and nothing in memory.
//   Open        loads the latest checkpoint, replays the entries after it,
//               compiles once, and verifies the hash chains and the audit
//               chain; refuses (DataLoss / FailedPrecondition, naming the
//               file and what is wrong, modifying nothing) a flipped bit, a
//               truncated file or a foreign one -- never loads a silently
//               smaller state.
//   Checkpoint  in the background, by count or size of the log since the
//               last one (DurableStoreOptions); readers and writers go on
//               meanwhile.
//   Processes   one writer per directory (DIR/LOCK; a second writable Open
//               fails with FailedPrecondition naming the holder's pid); any
//               number of read-only opens beside it.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<arbiter::DurableStore>> store =
//       arbiter::DurableStore::Open("/var/lib/arbiter");
//   if (absl::IsNotFound(store.status())) {        // first run: import
//     store = arbiter::DurableStore::Create("/var/lib/arbiter",
//                                           *arbiter::LoadPolicySetFile(
//                                               "org.textproto"));
//   }
//   if (!store.ok()) return store.status();
//   absl::StatusOr<arbiter::AppliedTransaction> applied =
//       (*store)->Apply(txn);                      // durable when OK
//   arbiter::Decision d = (*store)->engine()->Check(request);
//
// Thread safety: every method may be called from any thread. Readers
// (engine(), holder()) never block. Lifetime: the store must outlive every
// call into it; destroying it waits for a checkpoint in progress, then
// closes the log (a clean close leaves the one file DIR/arbiter.db plus
// DIR/LOCK).

#ifndef ARBITER_DURABLE_STORE_H_
#define ARBITER_DURABLE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "arbiter/audit.h"
#include "arbiter/durable_store_options.h"
#include "arbiter/engine.h"
#include "arbiter/engine_holder.h"
#include "arbiter/policy_store.h"
#include "arbiter/v1/mutation.pb.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {
namespace store {
class DurableStoreAccess;
}  // namespace store

// Counters since Open, for operators, tests and benchmarks.
struct DurableStoreStats {
  uint64_t revision = 0;             // last committed
  uint64_t checkpoint_revision = 0;  // of the latest checkpoint
  // Log since the latest checkpoint (what the next Open replays).
  uint64_t entries_since_checkpoint = 0;
  uint64_t bytes_since_checkpoint = 0;
  // Log writes (one per group commit) and the transactions in them.
  uint64_t log_appends = 0;
  uint64_t transactions_logged = 0;
  uint64_t largest_group = 0;
  uint64_t checkpoints_written = 0;
  uint64_t checkpoint_failures = 0;
  // The last background checkpoint's error, empty when it succeeded.
  std::string last_checkpoint_error;
};

// What a store holds at its last committed revision, read without opening
// it for writing and without compiling (arbiter check --store, dump).
struct StoreContents {
  v1::PolicySet state;  // at `revision`
  // Every audit record, every organization's chain from its first record,
  // in log order.
  std::vector<v1::AuditRecord> audit;
  uint64_t revision = 0;
  uint64_t checkpoint_revision = 0;
  uint64_t entries_since_checkpoint = 0;
};

class DurableStore {
 public:
  // Opens the store in `dir` (recovery: see the file comment). Errors, each
  // naming the file and what is wrong, nothing modified:
  //   NotFound            no store in `dir` (Create makes one)
  //   FailedPrecondition  another process (or store) holds DIR/LOCK; a
  //                       foreign file; a store whose creation never
  //                       finished (no state in it: Create again);
  //                       options.policy.log set
  //   DataLoss            a hash, the audit chain or a record does not
  //                       verify; a revision is missing; the log ends
  //                       before the revision DIR/LOCK witnessed
  //   InvalidArgument     the recovered state does not compile with
  //                       options.policy.engine
  //   PermissionDenied    the directory cannot be written (read-only file
  //                       system: open it with options.read_only)
  //   Unavailable         an I/O error
  static absl::StatusOr<std::unique_ptr<DurableStore>> Open(
      const std::string& dir, DurableStoreOptions options = {});

  // Creates a store in `dir` (made with its parents if missing) holding
  // `state` at its revision (import), and opens it. The state must compile
  // (InvalidArgument). AlreadyExists when `dir` holds a store with a state
  // already; a store left empty by an interrupted Create is completed.
  static absl::StatusOr<std::unique_ptr<DurableStore>> Create(
      const std::string& dir, v1::PolicySet state,
      DurableStoreOptions options = {});

  // Reads the last committed state of the store in `dir` and its audit
  // log, verifying them as Open does, read-only (beside a writer is fine),
  // without compiling. Errors as Open.
  static absl::StatusOr<StoreContents> Read(
      const std::string& dir,
      const DurableStoreOptions& options = DurableStoreOptions());

  DurableStore(const DurableStore&) = delete;
  DurableStore& operator=(const DurableStore&) = delete;
  ~DurableStore();

  // PolicyStore::Apply, durable: OK only once the transaction is committed
  // and synced (StoreSync). A log failure refuses it with UNAVAILABLE
  // (Refusal::kUnavailable) naming the cause, and nothing is applied: disk
  // full (the store stays usable), an I/O or fsync error (the store then
  // refuses every write until reopened, since the disk's state is unknown
  // until recovery; a reopen shows that transaction completely or not at
  // all), a read-only store.
  absl::StatusOr<AppliedTransaction> Apply(const v1::Transaction& transaction);

  // ---- Reads (PolicyStore's) ----
  std::shared_ptr<const Engine> engine() const;
  const EngineHolder& holder() const;
  uint64_t revision() const;
  // A copy of the current state (linear in its size; blocks writers for
  // the copy).
  v1::PolicySet StateCopy() const;
  const AuditLog& audit_log() const;
  // The in-memory store under this one; Apply through it is the same
  // durable Apply. Valid as long as this store.
  PolicyStore& policy_store();

  // ---- Maintenance ----
  // Writes a checkpoint at the last committed revision now (waiting for a
  // background one in progress) without blocking Apply or readers, then
  // compacts the log (unless keep_log_entries). FailedPrecondition on a
  // read-only store; the log's error otherwise (ResourceExhausted on a
  // full disk: the previous checkpoint stays).
  absl::Status Checkpoint();

  // Verifies everything on disk: SQLite's integrity_check, every hash of
  // every entry and checkpoint chunk, the continuity of revisions, that the
  // latest checkpoint and the log after it decode and replay, the audit
  // chain, and that the replayed state equals this store's state when both
  // are at the same revision. DataLoss naming the first problem. Reads the
  // whole store; does not block writers.
  absl::Status Verify();

  DurableStoreStats stats() const;
  const std::string& directory() const;
  bool read_only() const;

  struct Impl;

 private:
  friend class store::DurableStoreAccess;
  explicit DurableStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arbiter

#endif  // ARBITER_DURABLE_STORE_H_
