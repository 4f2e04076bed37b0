// File: src/store/durable_log.h
//
// DurableLog: the durable storage under PolicyStore (issue 17). It keeps a
// log of opaque entries, one per revision, plus periodic checkpoints (opaque
// images of the state at a revision) in one SQLite database in WAL mode, in
// a directory of its own:
//
//   DIR/arbiter.db        the SQLite database (schema: docs/store.md)
//   DIR/arbiter.db-wal    SQLite's write-ahead log, while the store is open
//   DIR/arbiter.db-shm    SQLite's WAL index (shared memory; derived data)
//   DIR/LOCK              one writer per directory (flock), holder pid and
//                         the last durably committed revision (the witness)
//
// SQLite does the durability (WAL, synchronous=FULL by default): an Append
// returns OK only once its entry is committed and fsynced. What this layer
// adds is what SQLite does not check: every entry and every checkpoint chunk
// carries a SHA-256 hash chained to its predecessor (OpenSSL libcrypto), so a
// flipped bit, a lost row, a reordered or spliced row, a truncated or
// deleted WAL, or another store's file is refused with DataLoss naming the
// file, table, revision and what is wrong -- never loaded as a silently
// different or smaller state.
//
// Recovery (what PolicyStore::Open does on top):
//
//   auto log = DurableLog::Open(dir, options);           // verifies
//   auto cp = (*log)->LatestCheckpoint();                // may be nullopt
//   uint64_t base = *cp ? (*cp)->revision : 0;           // decode cp payload
//   (*log)->ReadEntries(base, [&](const LogEntry& e) {   // replay after it
//     return ApplyEncodedTransaction(e.payload);
//   });
//
// Writing (PolicyStore::Apply), group commit with revision order kept:
//
//   std::unique_lock<std::mutex> l(apply_mu);            // caller's lock
//   uint64_t rev = log->last_queued_revision() + 1;      // or own counter
//   DurableLog::AppendHandle h = log->Enqueue({rev, encoded_txn});
//   l.unlock();                                          // others may queue
//   absl::Status s = h.Wait();                           // shares one fsync
//
// Thread safety: every method may be called from any thread concurrently.
// Appends are committed in revision order by a leader/follower queue: the
// first waiting caller commits everything queued (up to the batch limits)
// in one SQLite transaction and one fsync, then wakes the others. At most
// one WriteCheckpoint runs at a time (others wait); it writes in short
// transactions and never blocks Append or readers for its duration.
// Readers (LatestCheckpoint, ReadEntries, Verify) each use a connection of
// their own and see a consistent snapshot; they never block writers.
//
// Lifetime: every AppendHandle must be waited on or destroyed, and every
// call must have returned, before the DurableLog is destroyed. Destruction
// commits what is still queued, stops the background WAL checkpointer and
// closes SQLite (which folds the WAL into the database file).
//
// Processes: one writable DurableLog per directory (a second writable Open,
// in this or another process, fails with FailedPrecondition naming the
// holder's pid); any number of read-only opens may coexist with it. Not for
// network file systems (flock and SQLite's WAL need local POSIX locking).

#ifndef ARBITER_SRC_STORE_DURABLE_LOG_H_
#define ARBITER_SRC_STORE_DURABLE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace arbiter {
namespace store {

enum class SyncMode {
  // Default. Every commit (each group commit of Append, the completing
  // transaction of WriteCheckpoint) is fsynced before it is acknowledged:
  // an acknowledged entry survives kill -9 and power loss.
  kFull,
  // SQLite's synchronous=NORMAL in WAL mode: commits are not fsynced; the
  // WAL is fsynced only when SQLite copies it into the database. Survives
  // kill -9 (the data is in the OS page cache), but a power loss or kernel
  // crash may lose the last acknowledged commits -- never corrupts, never
  // leaves one half-applied. Only when the user asks for it.
  kNormal,
};

// How much Open reads and hashes before it returns.
enum class OpenVerification {
  // Default. The store record, the latest complete checkpoint (every chunk)
  // and every entry after it -- all that recovery loads -- plus the
  // continuity of the whole entry table (no revision missing anywhere).
  // Entries kept before the checkpoint (keep_compacted_entries) are checked
  // by Verify() only.
  kRecoveryView,
  // Also rehashes every entry kept before the latest checkpoint.
  kFull,
};

struct DurableLogOptions {
  SyncMode sync = SyncMode::kFull;

  // Opens without writing anything: no LOCK taken, Append and
  // WriteCheckpoint fail with FailedPrecondition. Several read-only opens
  // may coexist with one writer (in any process). On a read-only file
  // system, a store that was closed cleanly (no -wal file) is opened as an
  // immutable file (SQLite's immutable=1).
  bool read_only = false;

  // Creates DIR and an empty store when DIR/arbiter.db does not exist
  // (ignored when read_only; then a missing store is NotFound).
  bool create_if_missing = true;

  // After a checkpoint at revision R completes, entries 1..R are deleted
  // (false) or kept for history (true). Older checkpoints are always
  // deleted once a newer one is complete.
  bool keep_compacted_entries = false;

  OpenVerification verify_on_open = OpenVerification::kRecoveryView;

  // Runs SQLite's PRAGMA quick_check (b-tree structure, free list, record
  // formats; O(database size)) on a writable Open, before anything is
  // written. The hash chain already covers every payload byte; this covers
  // SQLite's own structures, so that a damaged free list is not written
  // over. Cost: 20-50 ms for a 35 MB store (docs/store.md).
  bool quick_check_on_open = true;

  // ---- Limits ----
  // An entry's payload above this is refused (InvalidArgument).
  size_t max_entry_bytes = size_t{64} << 20;
  // A checkpoint's payload above this is refused (InvalidArgument).
  size_t max_checkpoint_bytes = size_t{4} << 30;
  // Checkpoints are written in chunks of this size, each in a transaction
  // of its own, so that Append waits at most for one chunk.
  size_t checkpoint_chunk_bytes = size_t{1} << 20;
  // One group commit takes at most this many entries / payload bytes.
  size_t max_batch_entries = 1024;
  size_t max_batch_bytes = size_t{16} << 20;
  // How long a SQLite call waits for a lock held by another connection
  // (another process's reader recovering the WAL index, for example).
  int busy_timeout_ms = 5000;
  // When the WAL holds this many pages (4 KiB each), a background thread
  // copies it into the database file (SQLite PASSIVE checkpoint), outside
  // the commit path; WriteCheckpoint does it itself every 4x this many, so
  // the WAL stays near 16 MB however large the checkpoint. 0 disables both
  // (the WAL is folded in on close only, and grows until then).
  int wal_checkpoint_pages = 1000;

  // ---- Fault injection (tests only) ----
  // Name of a registered sqlite3_vfs to use instead of SQLite's default
  // (tests/store/fault_injection_vfs.h wraps the default one).
  std::string sqlite_vfs_for_test;
  // Called before each file-system operation the store does itself, outside
  // SQLite: "mkdir", "open_lock", "write_lock", "create_db", "rename",
  // "fsync_dir"; a non-zero return is an errno the operation fails with.
  std::function<int(absl::string_view operation, const std::string& path)>
      os_fault_for_test;
};

// One revision of the log. The payload is opaque (PolicyStore stores an
// encoded transaction and its audit records).
struct LogEntry {
  uint64_t revision = 0;
  std::string payload;
};

// An image of the state at `revision`. The payload is opaque (an encoded
// state, tens of MB at the L size).
struct Checkpoint {
  uint64_t revision = 0;
  std::string payload;
};

// Counters since Open, for tests and benchmarks.
struct DurableLogStats {
  uint64_t group_commits = 0;      // SQLite transactions of Append
  uint64_t entries_committed = 0;  // entries in them
  uint64_t largest_group = 0;      // most entries in one group commit
  uint64_t checkpoints_written = 0;
  uint64_t wal_checkpoints = 0;  // background WAL -> database copies
  uint64_t wal_checkpoint_errors = 0;
};

class DurableLog {
 public:
  using Options = DurableLogOptions;
  class AppendHandle;

  // Opens (or creates, per options) the store in `dir` and verifies it (see
  // OpenVerification). Errors, each naming the file and what is wrong:
  //   NotFound            no store and !create_if_missing (or read_only)
  //   FailedPrecondition  another writer holds DIR/LOCK (its pid named); a
  //                       foreign file (not SQLite, or SQLite without this
  //                       schema: application_id, format version, tables)
  //   DataLoss            a hash mismatch, a missing revision, a truncated
  //                       file, a checkpoint or store record that does not
  //                       verify, a state smaller than the LOCK witness
  //   PermissionDenied    the directory or a file cannot be written
  //                       (read-only file system, permissions)
  //   Unavailable         an I/O error
  // A refused Open modifies no file: verification runs on a read-only
  // connection before anything is written (at most an empty LOCK, -wal or
  // -shm file is created). Cleanup after a crash (removing an incomplete
  // checkpoint, finishing a compaction) happens only after the store
  // verified; on a full disk it is left for later and Open still succeeds.
  static absl::StatusOr<std::unique_ptr<DurableLog>> Open(
      const std::string& dir, const Options& options = Options());

  DurableLog(const DurableLog&) = delete;
  DurableLog& operator=(const DurableLog&) = delete;
  ~DurableLog();

  // ---- Recovery view ----

  // The latest complete checkpoint, every chunk verified against its hash
  // chain; nullopt when none was written. Reads and hashes the whole
  // payload (with ReadEntries of 10,000 entries, 100-200 ms for 30 MB:
  // docs/store.md).
  absl::StatusOr<absl::optional<Checkpoint>> LatestCheckpoint();

  // Calls `visit` with every entry whose revision is > after_revision, in
  // revision order, each verified (hash and chain link) before it is passed.
  // Stops at the first non-OK status from `visit` and returns it. Reads one
  // consistent snapshot: entries appended meanwhile are not visited.
  // OutOfRange when entries after `after_revision` were compacted into a
  // checkpoint (read from the checkpoint's revision instead).
  absl::Status ReadEntries(
      uint64_t after_revision,
      const std::function<absl::Status(const LogEntry&)>& visit);

  // ---- Writing ----

  // Appends one entry durably: returns OK only once it is committed and
  // synced per SyncMode. The revision must be last_queued_revision() + 1,
  // else FailedPrecondition naming both. Equivalent to Enqueue(entry).Wait().
  //
  // Concurrent callers share one SQLite transaction and one fsync (group
  // commit), each getting its own status. Entries are committed in the order
  // they are queued, so callers that assign revisions must queue in that
  // order: assign and Enqueue under one lock, then Wait outside it (Append
  // called after releasing such a lock may arrive out of order and fail).
  //
  // A failed group commit fails every entry in it, and every entry queued
  // behind it (their revisions no longer follow; FailedPrecondition). After
  // a clean failure (disk full: ResourceExhausted; a read error) the log
  // stays usable at last_revision(). After an ambiguous one (an fsync or
  // write error during COMMIT: Unavailable) the entries may or may not be
  // on disk, so the log refuses every further write until it is reopened;
  // reopening shows them either completely or not at all.
  absl::Status Append(LogEntry entry);

  // Queues `entry` for the next group commit and returns without waiting
  // for I/O (never blocks on another commit). An entry that cannot be queued
  // (wrong revision, too large, read-only, failed log) gets a handle whose
  // Wait returns that error at once.
  AppendHandle Enqueue(LogEntry entry);

  // Writes `checkpoint` without blocking Append or readers for its duration:
  // chunks of checkpoint_chunk_bytes, each in its own short transaction,
  // then one final (synced) transaction that makes it complete. It becomes
  // visible to LatestCheckpoint only then; an incomplete one (a crash) is
  // removed by the next writable Open. Then deletes older checkpoints and,
  // unless keep_compacted_entries, entries up to its revision.
  //
  // The revision must be <= last_revision() (a committed revision) and >=
  // the latest checkpoint's; its chain head (the hash of entry `revision`)
  // must still be known (not compacted). On an empty log (no entry, no
  // checkpoint) a checkpoint at any revision R is allowed: it becomes the
  // log's base, and the next entry is R + 1 (import of an existing state).
  // FailedPrecondition otherwise, naming the revisions.
  //
  // If the checkpoint completed but deleting older data failed, returns that
  // error with a message saying so; the leftovers are deleted at the next
  // checkpoint or writable Open.
  absl::Status WriteCheckpoint(Checkpoint checkpoint);

  // ---- State ----

  // The last committed revision (0 for an empty log). For a read-only log,
  // the last revision when it was opened or last read (see
  // ReadLastRevision).
  uint64_t last_revision() const;
  // The revision of the last queued entry (== last_revision() when nothing
  // is queued). The next Enqueue must carry this + 1.
  uint64_t last_queued_revision() const;
  // Reads the last committed revision from the database (it moves for a
  // read-only log whose writer is another process) and returns it.
  absl::StatusOr<uint64_t> ReadLastRevision();

  // Full verification, reading everything: SQLite's integrity_check, the
  // store record, every kept entry's hash and chain link, the continuity of
  // revisions, every complete checkpoint's chunks. Returns the first problem
  // found (DataLoss naming the table, the row or revision and what is
  // wrong). Runs on a snapshot; does not block writers.
  absl::Status Verify();

  const std::string& directory() const;
  bool read_only() const;
  DurableLogStats stats() const;

  // The file names inside the directory (for tools and tests).
  static constexpr const char* kDatabaseFile = "arbiter.db";
  static constexpr const char* kLockFile = "LOCK";

  struct Impl;

 private:
  explicit DurableLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The result of DurableLog::Enqueue. Move-only. Wait() blocks until the
// entry's group commit finished (or commits it, leading a group, when no
// commit is under way) and returns its status; later calls return the same
// status. Destroying a handle without Wait() does not cancel the append.
// Must not outlive its DurableLog.
class DurableLog::AppendHandle {
 public:
  AppendHandle() = default;
  AppendHandle(AppendHandle&&) noexcept = default;
  AppendHandle& operator=(AppendHandle&&) noexcept = default;
  ~AppendHandle() = default;

  absl::Status Wait();
  uint64_t revision() const;

  struct Pending;

 private:
  friend class DurableLog;
  AppendHandle(Impl* log, std::shared_ptr<Pending> pending)
      : log_(log), pending_(std::move(pending)) {}
  Impl* log_ = nullptr;
  std::shared_ptr<Pending> pending_;
};

}  // namespace store
}  // namespace arbiter

#endif  // ARBITER_SRC_STORE_DURABLE_LOG_H_
