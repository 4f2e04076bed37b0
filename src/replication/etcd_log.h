// File: src/replication/etcd_log.h
//
// EtcdLog: a replicated log on etcd, the etcd counterpart of
// src/store/durable_log.h. Ordered entries with consecutive revisions
// (1, 2, 3, ...) carrying opaque payloads, plus checkpoints (opaque images of
// the state after a revision), kept under one key prefix P in an etcd v3
// cluster. Many processes (service replicas) append to the same log; each
// reads it through an EtcdFollower (etcd_follower.h).
//
// Key layout (P ends with '/'; numbers are zero-padded to 20 digits so that
// key order is revision order):
//
//   P head                          last revision, decimal ("42"); absent = 0
//   P log/<revision>                LogRecord (log_record.proto): the entry
//   P checkpoint                    CheckpointRecord: the latest checkpoint
//   P chunks/log/<rev>-<id>/<n>     chunks of an entry > max_inline_bytes
//   P chunks/checkpoint/<rev>-<id>/<n>   chunks of a checkpoint image
//
// Appending entries h+1 .. h+n (n = 1, or a group commit of up to
// max_batch_entries queued entries) is one etcd transaction:
//   compare  value(P head) == h                (version == 0 when h == 0)
//            [per chunked entry: its first and last chunk keys exist]
//   success  put P head = h + n
//            put P log/<h+1> ... P log/<h+n> = LogRecord{revision, writer
//                                              id, payload or blob ref}
//   failure  get P head, get P log/<h+1>
// so two writers appending at the same revision never both succeed: the
// loser gets Aborted naming the revision it lost, the etcd revision the
// winner committed at and the new head. A transaction costs one etcd
// revision and one raft round whatever n is; there is no lock and no lease.
//
// etcd's limits and how the log stays inside them (defaults of etcd 3.4):
//   --max-request-bytes 1.5 MiB: a payload up to max_inline_bytes (1 MiB) is
//     stored in the entry's key; a larger one (up to max_entry_bytes, 64 MiB)
//     is first written as chunk keys of chunk_bytes (1 MiB), one Put each,
//     and the commit transaction references them. A checkpoint image (up to
//     max_checkpoint_bytes, 256 MiB; a 30 MB state is 30 chunks) the same.
//   --max-txn-ops 128: an append of n entries has n + 1 puts and at most
//     1 + 2n compares (a chunked payload is guarded by its first and last
//     chunk only, which suffices because chunks are only ever deleted a whole
//     blob at a time, by one DeleteRange), so max_batch_entries <= 63 keeps
//     it within 128; a checkpoint has at most 4 operations per branch and 3
//     compares, whatever its size.
//   --quota-backend-bytes (2 GiB default, 8 GiB suggested maximum): etcd
//     keeps every revision until it is compacted; see docs/replication.md.
//
// Unknown outcomes. A transaction that timed out after it was sent (leader
// change, partition) may have been applied. Append retries it until
// write_timeout: the compare makes a retry a no-op if the first attempt
// committed, and the failure branch returns the entry at the revision, which
// Append recognises as its own by the random writer id it stored. So an
// acknowledged Append committed exactly once, an Aborted one did not commit,
// and only when write_timeout passes with the cluster unreachable does it
// return Unavailable with "outcome unknown" (IsEtcdOutcomeUnknown): the entry
// may then appear later, and followers will deliver it if it does.
//
// Checkpoints and log truncation. WriteCheckpoint(revision, image) commits
// the checkpoint record and, in the same transaction, deletes the entries
// (and their chunks) up to revision - keep_entries and the chunks of older
// checkpoints. Readers at older etcd revisions (a follower bootstrapping, a
// watch catching up) still see the deleted keys until etcd compacts its
// history; a follower whose position was compacted away re-bootstraps (see
// etcd_follower.h).
//
// Thread safety: every method may be called concurrently from any thread.
// Lifetime: the client is shared (std::shared_ptr) and outlives the log.

#ifndef ARBITER_SRC_REPLICATION_ETCD_LOG_H_
#define ARBITER_SRC_REPLICATION_ETCD_LOG_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "src/replication/etcd_client.h"

namespace arbiter {
namespace replication {

struct EtcdLogOptions {
  // The key prefix of this log, e.g. "/arbiter/prod/". Must start with '/';
  // a '/' is appended when missing. Two logs must not nest.
  std::string prefix;

  // The payload bytes one transaction carries inline (in the entries' keys):
  // a payload is stored inline while its group's inline total stays within
  // this, as chunks written before the transaction otherwise. With etcd's
  // default --max-request-bytes (1.5 MiB) keep it <= 1.4 MiB.
  size_t max_inline_bytes = size_t{1} << 20;
  // Size of a chunk (each one Put request; same bound).
  size_t chunk_bytes = size_t{1} << 20;
  // An entry payload above this is refused (InvalidArgument).
  size_t max_entry_bytes = size_t{64} << 20;
  // A checkpoint image above this is refused (InvalidArgument).
  size_t max_checkpoint_bytes = size_t{256} << 20;

  // How long Append and WriteCheckpoint keep retrying transport failures and
  // unknown outcomes before they give up (Unavailable).
  absl::Duration write_timeout = absl::Seconds(10);

  // WriteCheckpoint(R) deletes entries 1 .. R - keep_entries (and their
  // chunks) in its transaction; keeping some lets a follower slightly behind
  // continue entry by entry after a re-bootstrap instead of resetting.
  uint64_t keep_entries = 1000;

  // Group commit: one transaction commits at most this many queued entries
  // (one put each; etcd allows --max-txn-ops = 128 per branch). 1..63.
  size_t max_batch_entries = 32;

  // Entries per request when reading the log (bootstrap), chunks per request
  // when reading a blob; bounds each response (~ entries x their size).
  int64_t read_page_entries = 500;
  int64_t read_page_chunks = 8;

  // Tests only: supplies the writer id of each Append/WriteCheckpoint
  // instead of 16 random bytes (to replay an attempt whose outcome was
  // unknown).
  std::function<std::string()> writer_id_for_test;
};

// One revision of the log, as a follower delivers it.
struct EtcdLogEntry {
  uint64_t revision = 0;
  // The etcd store revision the entry was committed at: a consistency token.
  int64_t etcd_revision = 0;
  std::string payload;
};

// The state image after `revision`.
struct EtcdCheckpoint {
  uint64_t revision = 0;
  int64_t etcd_revision = 0;  // when the checkpoint record was committed
  std::string image;
};

// What a consistent read of the whole log returns (EtcdFollower::Bootstrap):
// the latest checkpoint and every entry after it, all as of etcd_revision.
struct EtcdLogSnapshot {
  absl::optional<EtcdCheckpoint> checkpoint;
  // Consecutive: checkpoint->revision + 1 (or 1), ..., the head.
  std::vector<EtcdLogEntry> entries;
  // The etcd revision everything was read at.
  int64_t etcd_revision = 0;

  // The last revision covered (the head when read).
  uint64_t revision() const {
    if (!entries.empty()) return entries.back().revision;
    return checkpoint.has_value() ? checkpoint->revision : 0;
  }
};

struct EtcdAppendResult {
  uint64_t revision = 0;      // the log revision appended
  int64_t etcd_revision = 0;  // the etcd revision it was committed at
};

struct EtcdLogHead {
  uint64_t revision = 0;             // last log revision (0: empty)
  uint64_t checkpoint_revision = 0;  // 0: no checkpoint
  int64_t etcd_revision = 0;         // the etcd revision read at
};

// Counters since Open, for tests and benchmarks.
struct EtcdLogStats {
  uint64_t group_commits = 0;      // transactions that appended entries
  uint64_t entries_committed = 0;  // entries in them
  uint64_t largest_group = 0;
  uint64_t conflicts = 0;  // groups refused: the head had moved
  uint64_t retries = 0;    // attempts repeated after a transport error
};

class EtcdLog {
 public:
  using Options = EtcdLogOptions;
  class AppendHandle;

  // Checks the options and reads the head once (linearizable), so that an
  // unreachable cluster or a prefix holding something else fails here:
  // Unavailable / DeadlineExceeded, or DataLoss naming the key.
  static absl::StatusOr<std::unique_ptr<EtcdLog>> Open(
      std::shared_ptr<EtcdClient> client, Options options);

  // Every AppendHandle must have been waited on or destroyed.
  ~EtcdLog();
  EtcdLog(const EtcdLog&) = delete;
  EtcdLog& operator=(const EtcdLog&) = delete;

  // Appends `payload` as revision expected_head + 1 if the head is still
  // expected_head. Returns the revision and the etcd revision it committed
  // at. Equivalent to Enqueue(expected_head + 1, payload).Wait(). Errors:
  //   Aborted             the head moved: another writer committed
  //                       expected_head + 1 (message: the etcd revision it
  //                       committed at and the new head). Nothing of this
  //                       call is committed.
  //   InvalidArgument     payload above max_entry_bytes, or etcd refused the
  //                       request (too large for --max-request-bytes).
  //   FailedPrecondition  entries are queued and this revision does not
  //                       follow them.
  //   Unavailable /       the cluster did not answer within write_timeout;
  //   DeadlineExceeded    IsEtcdOutcomeUnknown() when an attempt was sent and
  //                       may have been applied.
  absl::StatusOr<EtcdAppendResult> Append(uint64_t expected_head,
                                          absl::string_view payload);

  // Queues `payload` as revision `revision` for the next group commit and
  // returns without waiting (the shape of DurableLog::Enqueue). The first
  // entry of an empty queue may carry any revision r (its commit requires the
  // head to be r - 1); each later one must carry the previous + 1, else its
  // handle fails at once with FailedPrecondition.
  //
  // Group commit: the first caller to Wait commits up to max_batch_entries
  // queued entries in ONE transaction (one raft round), the others wait for
  // it; all entries of a group commit at the same etcd revision, or none
  // does. A refused group (Aborted: another writer appended first) fails
  // every entry queued behind it too (their revisions no longer follow), with
  // Aborted; the caller re-reads the head and tries again.
  AppendHandle Enqueue(uint64_t revision, std::string payload);

  // The head, read linearizably.
  absl::StatusOr<EtcdLogHead> ReadHead();

  // Makes `image` the checkpoint at `revision` (the state after entries
  // 1..revision) and truncates the log before it (keep_entries). The
  // revision must be <= the head and > the current checkpoint's
  // (FailedPrecondition otherwise, naming both); Aborted if another
  // checkpoint was committed meanwhile. Returns the etcd revision.
  absl::StatusOr<int64_t> WriteCheckpoint(uint64_t revision,
                                          absl::string_view image);

  // On an empty log (no head, no checkpoint) makes `image` the checkpoint at
  // `revision` and sets the head to it, atomically: importing an existing
  // state whose next entry is revision + 1. FailedPrecondition when the log
  // is not empty. Returns the etcd revision.
  absl::StatusOr<int64_t> Initialize(uint64_t revision,
                                     absl::string_view image);

  EtcdLogStats stats() const;
  const Options& options() const { return options_; }
  const std::shared_ptr<EtcdClient>& client() const { return client_; }

  struct Pending;

 private:
  EtcdLog(std::shared_ptr<EtcdClient> client, Options options);

  // Commits `group` (consecutive revisions) in one transaction; sets each
  // entry's result.
  void CommitGroup(const std::vector<std::shared_ptr<Pending>>& group);
  absl::StatusOr<int64_t> CommitCheckpoint(uint64_t revision,
                                           absl::string_view image,
                                           bool initialize);
  absl::StatusOr<EtcdAppendResult> WaitFor(Pending& pending);

  std::shared_ptr<EtcdClient> client_;
  Options options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool committing_ = false;
  EtcdLogStats stats_;
};

// The result of EtcdLog::Enqueue. Move-only. Wait() blocks until the entry's
// group commit finished (committing the queue itself, as the group's leader,
// when no commit is under way) and returns its result; later calls return
// the same. Destroying a handle without Wait() does not cancel the append.
// Must not outlive its EtcdLog.
class EtcdLog::AppendHandle {
 public:
  AppendHandle() = default;
  AppendHandle(AppendHandle&&) noexcept = default;
  AppendHandle& operator=(AppendHandle&&) noexcept = default;

  absl::StatusOr<EtcdAppendResult> Wait();
  uint64_t revision() const;

 private:
  friend class EtcdLog;
  AppendHandle(EtcdLog* log, std::shared_ptr<Pending> pending)
      : log_(log), pending_(std::move(pending)) {}
  EtcdLog* log_ = nullptr;
  std::shared_ptr<Pending> pending_;
};

}  // namespace replication
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_ETCD_LOG_H_
