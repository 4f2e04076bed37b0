// File: src/replication/etcd_follower.h
//
// EtcdFollower reads an EtcdLog (etcd_log.h) the way a service replica
// needs it: a consistent starting point, then every new entry exactly once,
// in order, as soon as etcd commits it; and it can tell at any moment whether
// it is provably current.
//
//   std::unique_ptr<EtcdFollower> follower =
//       *EtcdFollower::Create(client, log_options);
//   EtcdLogSnapshot snapshot = *follower->Bootstrap();  // checkpoint+entries
//   BuildEngine(snapshot);                               // the caller's work
//   EtcdFollowerCallbacks callbacks;
//   callbacks.on_entry = [](const EtcdLogEntry& e) { return Publish(e); };
//   callbacks.on_reset = [](const EtcdLogSnapshot& s) { return Rebuild(s); };
//   follower->Follow(callbacks);
//   ...
//   // A caller holding a token (the etcd revision of its write):
//   absl::Status s = follower->WaitFor(token, absl::Now() + absl::Seconds(1));
//   if (!s.ok()) return s;   // Unavailable / DeadlineExceeded: fail closed
//
// Bootstrap reads the checkpoint and every entry after it at ONE etcd
// revision R (the first read is linearizable and fixes R; the rest are
// reads "as of R", paged). Follow then watches P log/ from R + 1.
//
// Delivery guarantee: on_entry sees revisions B+1, B+2, ... (B = the
// bootstrap's last revision) with no gap and no duplicate, whatever happens
// to the connection: the watch reconnects to another member from the last
// delivered etcd revision + 1 (etcd_watcher.h); an entry seen twice is
// skipped; an entry missing (a gap) or a compacted watch revision makes the
// follower re-bootstrap.
//
// Re-bootstrap (etcd compacted the history the watch needed, ErrCompacted):
// the follower reads a fresh snapshot at a new revision R'. If the log still
// holds every entry after the follower's position (the checkpoint is not
// past it), they are delivered through on_entry as usual. Otherwise (the
// entries were truncated by a newer checkpoint) on_reset receives the whole
// snapshot and the caller rebuilds its state from it; on_entry continues
// after it. A snapshot whose revision is below what was already delivered
// (the log went backwards: etcd restored from an old backup, or the prefix
// was deleted) is never delivered: the follower stops with DataLoss.
//
// Currency and health. Every probe_interval the follower reads P head
// linearizably (a quorum read, through the member its watch uses). The
// answer (head L at etcd revision H, read at time T) proves: once the
// follower has delivered L, it was current as of T and has applied every
// entry committed at or before H. Health() is OK while the last such proof is
// younger than max_staleness (5 s), and Unavailable otherwise (member
// stopped or partitioned, no quorum, no leader, watch stalled), naming why.
// A watch that does not deliver what a probe proved committed within
// stall_timeout, or whose member fails two probes in a row, is moved to
// another member. Watch progress notifications are not used as proofs
// (etcd < 3.4.25 may send them ahead of undelivered events).
//
// Consistency tokens. EtcdAppendResult::etcd_revision (the etcd revision of
// a write) is a token; WaitFor(token, deadline) returns OK once every entry
// committed at or before it has been delivered (applied_etcd_revision() >=
// token), and otherwise, at the deadline, Unavailable when the follower is
// not healthy or DeadlineExceeded when it is; never OK early. (A group
// commit puts several entries at one etcd revision; that revision counts as
// applied only once the last of them was delivered.)
//
// Threads: Follow starts two threads, the delivery thread (the watch, and
// every callback, one at a time) and the monitor (probes). A callback that
// returns an error stops the follower (Health() and WaitFor() then return
// that error): the caller's state can no longer be trusted to follow the
// log. Callbacks must not call WaitFor or Stop (they run on the thread those
// wait for).
//
// Thread safety: Bootstrap and Follow are called once, in that order, from
// one thread; Health, status, WaitFor, WaitForRevision and Stop may be called
// from any thread at any time.

#ifndef ARBITER_SRC_REPLICATION_ETCD_FOLLOWER_H_
#define ARBITER_SRC_REPLICATION_ETCD_FOLLOWER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/replication/etcd_client.h"
#include "src/replication/etcd_log.h"
#include "src/replication/etcd_watcher.h"

namespace arbiter {
namespace replication {

struct EtcdFollowerOptions {
  // Health() fails when currency was not proven for longer than this.
  absl::Duration max_staleness = absl::Seconds(5);
  // How often the monitor proves currency (one linearizable read each).
  absl::Duration probe_interval = absl::Milliseconds(500);
  // Deadline of one probe.
  absl::Duration probe_timeout = absl::Seconds(1);
  // A watch that has not delivered what a probe proved committed this long
  // ago is reconnected to another member.
  absl::Duration stall_timeout = absl::Seconds(2);
  // Delay between re-bootstrap attempts while they fail.
  absl::Duration retry_backoff = absl::Milliseconds(200);
};

struct EtcdFollowerCallbacks {
  // Each entry, once, in revision order.
  std::function<absl::Status(const EtcdLogEntry&)> on_entry;
  // The state was replaced by a snapshot (see the header comment).
  std::function<absl::Status(const EtcdLogSnapshot&)> on_reset;
};

struct EtcdFollowerStatus {
  bool following = false;
  // The last revision delivered (or bootstrapped).
  uint64_t revision = 0;
  // Every entry committed at or before this etcd revision was delivered.
  int64_t applied_etcd_revision = 0;
  // When currency was last proven (InfinitePast: never).
  absl::Time confirmed_at = absl::InfinitePast();
  // The member the watch uses and whether its stream is up.
  int endpoint = 0;
  bool watch_connected = false;
  int64_t watch_reconnects = 0;  // summed over watches
  int64_t rebootstraps = 0;      // re-bootstraps after compaction or a gap
  int64_t resets = 0;            // ... of which delivered through on_reset
  int64_t duplicates_skipped = 0;
  int64_t probes = 0;
  int64_t probe_failures = 0;
  absl::Status last_error;   // last transient problem (informative)
  absl::Status fatal_error;  // set when the follower stopped on error
};

class EtcdFollower {
 public:
  using Options = EtcdFollowerOptions;
  using Callbacks = EtcdFollowerCallbacks;

  static absl::StatusOr<std::unique_ptr<EtcdFollower>> Create(
      std::shared_ptr<EtcdClient> client, EtcdLogOptions log_options,
      Options options = Options());

  // Stops (see Stop).
  ~EtcdFollower();
  EtcdFollower(const EtcdFollower&) = delete;
  EtcdFollower& operator=(const EtcdFollower&) = delete;

  // Reads the latest checkpoint and every entry after it at one etcd
  // revision; Follow continues from there. Errors: Unavailable /
  // DeadlineExceeded (cluster), DataLoss (a malformed key, a missing entry
  // or chunk), FailedPrecondition (already following).
  absl::StatusOr<EtcdLogSnapshot> Bootstrap();

  // Starts delivering entries after the bootstrap's revision.
  // FailedPrecondition without a successful Bootstrap, or when called twice;
  // InvalidArgument without on_entry or on_reset.
  absl::Status Follow(Callbacks callbacks);

  // Stops the threads (a callback in progress completes first). Afterwards
  // Health and WaitFor return Cancelled. Idempotent.
  void Stop();

  // OK if currency was proven within max_staleness; else Unavailable naming
  // the age of the last proof and the last error; the fatal error if the
  // follower stopped on one.
  absl::Status Health() const;

  // Blocks until every entry committed at or before `etcd_revision` was
  // delivered (OK), or until `deadline`: then Unavailable if not healthy,
  // DeadlineExceeded otherwise. A follower stopped on an error returns that
  // error for every token, even one reached before (fail closed); a stopped
  // one Cancelled for a token it has not reached. Asks the monitor for an
  // immediate probe when it must wait.
  absl::Status WaitFor(int64_t etcd_revision, absl::Time deadline);
  // The same for a log revision.
  absl::Status WaitForRevision(uint64_t revision, absl::Time deadline);

  EtcdFollowerStatus status() const;
  uint64_t revision() const;
  int64_t applied_etcd_revision() const;

 private:
  struct Probe {
    uint64_t head = 0;          // L
    int64_t etcd_revision = 0;  // H
    absl::Time started;         // T
  };

  EtcdFollower(std::shared_ptr<EtcdClient> client, EtcdLogOptions log_options,
               Options options);

  absl::StatusOr<EtcdLogSnapshot> ReadSnapshot();
  void DeliveryLoop();
  void MonitorLoop();
  // Handles one watch batch; returns non-OK when the follower must
  // re-bootstrap (gap, compaction) or stop (fatal).
  absl::Status HandleBatch(const EtcdWatchBatch& batch);
  // Re-reads the snapshot and continues or resets; retries until it works or
  // the follower stops. Returns false when the follower must stop.
  bool Rebootstrap(absl::string_view why);
  void StartWatch(int64_t from_etcd_revision);
  // Records a delivery (mu_ held).
  void Advance(uint64_t revision, int64_t etcd_revision);
  void Confirm(const Probe& probe);  // mu_ held
  void Fail(absl::Status status);
  absl::Status StoppedStatus() const;                  // mu_ held
  absl::Status UnhealthyStatus(absl::Time now) const;  // mu_ held

  const std::shared_ptr<EtcdClient> client_;
  const EtcdLogOptions log_options_;
  const Options options_;
  Callbacks callbacks_;

  // Position and proofs.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool bootstrapped_ = false;
  bool following_ = false;
  bool stopping_ = false;
  bool probe_requested_ = false;
  uint64_t revision_ = 0;
  int64_t applied_etcd_revision_ = 0;
  int64_t watch_from_ = 0;  // etcd revision the first watch starts at
  absl::Time confirmed_at_ = absl::InfinitePast();
  std::deque<Probe> pending_probes_;
  EtcdFollowerStatus stats_;

  // The current watch; replaced by the delivery thread on re-bootstrap.
  mutable std::mutex watcher_mu_;
  std::unique_ptr<EtcdWatcher> watcher_;
  int64_t reconnects_of_old_watchers_ = 0;

  std::thread delivery_;
  std::thread monitor_;
};

}  // namespace replication
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_ETCD_FOLLOWER_H_
