// File: src/replication/replica_audit.h
//
// How a replica adopts the audit records of a committed log entry so that
// its AuditLog holds the same chain as the writer's (replicated_store.h,
// "Audit").
//
// PolicyStore::ApplyCommitted chains the records it is given with the
// store's AuditLog (AuditLog::Prepare), which assigns sequence numbers and
// hashes itself and adds interval checkpoints. The entry's records were
// chained the same way by the writer, from the same chain head (every
// replica at revision r holds the chain as of r), so re-chaining reproduces
// them exactly provided that
//   - the records go in with their timestamps and without their chain
//     fields (sequence, prev_hash, hash) and without the writer's
//     checkpoint records, which the replica's log re-creates at the same
//     points (same checkpoint_interval); and
//   - those checkpoints get the writer's timestamps: ReplayClock, the
//     store's audit clock, returns them in order on the replaying thread
//     (Ed25519 signatures are deterministic, so the same key signs them
//     identically).
// Group commit adds one wrinkle: a writer chains the records of a group of
// transactions (consecutive log entries) in one batch, so its interval
// checkpoints come after the group's last record, in the last entry. A
// replica replaying the entries one by one would put a checkpoint after an
// earlier entry of the group, where its own count first reaches the
// interval. So ChainTracker counts, per organization, the records since the
// last checkpoint (exactly, in chain order: it is the AuditLog's sink), and
// an entry without checkpoint records whose records would bring a count to
// the interval is not the end of its group: its records wait (the entry's
// delta is applied without them) and go in with the next entry's.
// CheckAdoptedHeads then confirms the result: each organization's chain head
// must equal the last record of the entry for it; a difference (another
// checkpoint interval or signing key on this replica) is DataLoss and the
// replica stops rather than fork the chain.

#ifndef ARBITER_SRC_REPLICATION_REPLICA_AUDIT_H_
#define ARBITER_SRC_REPLICATION_REPLICA_AUDIT_H_

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "arbiter/audit.h"
#include "arbiter/clock.h"
#include "arbiter/v1/audit.pb.h"

namespace arbiter {
namespace internal {

// The audit clock of a replica's store: the base clock (nullptr: the system
// clock), except on a thread inside a Pin scope, where Now() returns the
// pinned instants in order (then the base clock again). Thread-safe.
class ReplayClock final : public Clock {
 public:
  explicit ReplayClock(const Clock* base) : base_(base) {}
  absl::Time Now() const override;

  // Pins `times` for the calling thread while it lives. Not nestable.
  class Pin {
   public:
    Pin(const ReplayClock& clock, std::deque<absl::Time> times);
    ~Pin();
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
  };

 private:
  const Clock* base_;
};

// The AuditLog's sink on a replica: forwards each committed batch to the
// application's sink (if any) and counts, per organization, the records
// since its last checkpoint. Thread-safe.
class ChainTracker final : public AuditSink {
 public:
  explicit ChainTracker(AuditSink* next) : next_(next) {}
  absl::Status Write(absl::Span<const v1::AuditRecord> batch) override;
  // Starts over from a whole chain (a bootstrap).
  void Reset(absl::Span<const v1::AuditRecord> chain);
  // Whether chaining `records` (without checkpoints) now would bring some
  // organization to `interval` records since its last checkpoint.
  bool WouldCheckpoint(absl::Span<const v1::AuditRecord> records,
                       uint64_t interval) const;

 private:
  void CountLocked(const v1::AuditRecord& r);
  AuditSink* const next_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> since_;
};

// What ApplyCommitted must be given for `records` (an entry's audit, as
// the writer committed it), and the checkpoint timestamps to pin.
struct ReplayableAudit {
  std::vector<v1::AuditRecord> records;
  std::deque<absl::Time> checkpoint_times;
};
absl::StatusOr<ReplayableAudit> PrepareReplay(
    const std::vector<v1::AuditRecord>& records);

// OK when `log` ends, for every organization of `records`, with that
// organization's last record of `records`; DataLoss naming the first that
// differs otherwise. `where` prefixes the message ("revision 12").
absl::Status CheckAdoptedHeads(const AuditLog& log,
                               const std::vector<v1::AuditRecord>& records,
                               absl::string_view where);

// The chain of every organization of `log`, organization by organization,
// in sequence order (what a checkpoint image stores). DataLoss when the log
// no longer holds a chain from its first record (released records).
absl::StatusOr<std::vector<v1::AuditRecord>> WholeChain(const AuditLog& log);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_REPLICA_AUDIT_H_
