// File: src/replication/etcd_watcher.h
//
// EtcdWatcher follows the changes of a key range through etcd's Watch
// stream and survives member failures: when the stream breaks (the member
// died, lost its leader, or the caller judged it stalled and called
// Reconnect), it opens a new stream on the next member with
// start_revision = (last revision delivered) + 1, so the caller sees every
// revision once, in order: no gap, no duplicate.
//
// What it reports instead of reconnecting:
//   - a compacted start revision (etcd answers compact_revision): Next
//     returns OutOfRange with IsEtcdCompacted() and EtcdCompactRevision();
//     the watcher is finished, the caller must re-read the state
//     (EtcdFollower re-bootstraps);
//   - Cancel(): Next returns Cancelled.
//
// Created with EtcdClient::Watch. The stream carries the `hasleader` metadata
// when the client requires a leader: a member that loses its leader closes
// it, and the watcher moves to another member.
//
// Implementation: gRPC's asynchronous API on a completion queue owned by the
// watcher, driven from Next() only, so that a watch needs no thread of its
// own and every wait has a deadline.
//
// Thread safety: Next() must be called by one thread at a time (the
// "reader"); Cancel(), Reconnect(), RequestProgress() and state() may be
// called from any thread at any time. Destroy the watcher when no Next() is
// running; the EtcdClient must outlive it.

#ifndef ARBITER_SRC_REPLICATION_ETCD_WATCHER_H_
#define ARBITER_SRC_REPLICATION_ETCD_WATCHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "src/replication/etcd_client.h"

namespace arbiter {
namespace replication {

struct EtcdWatchOptions {
  // [key, range_end); empty range_end: just `key`; PrefixRangeEnd(key) for
  // every key with that prefix.
  std::string key;
  std::string range_end;
  // First revision to report (inclusive); 0: from the revision at which the
  // first stream is created.
  int64_t start_revision = 0;
  // Ask etcd for periodic progress notifications while idle (etcd sends them
  // every --experimental-watch-progress-notify-interval, 10 min by default).
  bool progress_notify = true;
  // The member to start with (-1: the client's preferred member).
  int first_endpoint = -1;
  // A stream whose creation is not confirmed within this time is abandoned
  // and the next member tried (a member that accepts connections but does
  // not answer). 0: the client's request_timeout.
  absl::Duration create_timeout = absl::ZeroDuration();
  // Delay before reconnecting after a failure, doubling up to the maximum
  // while failures continue; reset by a successful creation.
  absl::Duration min_backoff = absl::Milliseconds(20);
  absl::Duration max_backoff = absl::Seconds(1);
};

struct EtcdWatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For a delete, the key with mod_revision = the delete's revision and no
  // value.
  EtcdKeyValue kv;
};

struct EtcdWatchBatch {
  // Events of whole revisions, in revision order (a transaction's events share
  // one revision and always arrive together). Empty for a progress
  // notification.
  std::vector<EtcdWatchEvent> events;
  bool progress = false;
  // The answering member's store revision when it sent the batch.
  int64_t header_revision = 0;
  // The member that sent it.
  int endpoint = 0;
};

struct EtcdWatchState {
  // A stream is open and etcd confirmed the watch.
  bool connected = false;
  // The member of the current (or next) stream.
  int endpoint = 0;
  // The revision the next stream starts at: last delivered + 1.
  int64_t next_revision = 0;
  // Streams opened after the first.
  int64_t reconnects = 0;
  // Why the last stream ended (OK if none ended yet).
  absl::Status last_error;
};

class EtcdWatcher {
 public:
  ~EtcdWatcher();
  EtcdWatcher(const EtcdWatcher&) = delete;
  EtcdWatcher& operator=(const EtcdWatcher&) = delete;

  // Waits until `deadline` for the next batch. Returns OK with *batch filled
  // (events, or a progress notification); DeadlineExceeded when nothing came
  // (the watch goes on; call again); OutOfRange (IsEtcdCompacted) or
  // Cancelled as above, after which every call returns the same. Transport
  // failures are not returned: they are retried on the next member (see
  // state().last_error).
  absl::Status Next(absl::Time deadline, EtcdWatchBatch* batch);

  // Ends the watch; a blocked Next returns Cancelled promptly.
  void Cancel();
  // Drops the current stream; the watcher continues on the next member from
  // the last delivered revision + 1. `reason` is kept in last_error.
  void Reconnect(absl::string_view reason);
  // Asks the member for a progress notification (WatchProgressRequest).
  // Note: etcd before 3.4.25/3.5.8 may send it ahead of events it has not
  // delivered yet (etcd issue 15220), so its header revision is not a safe
  // "everything up to here was delivered" mark; EtcdFollower does not use
  // it as one.
  void RequestProgress();

  EtcdWatchState state() const;

  struct Impl;

 private:
  friend class EtcdClient;
  explicit EtcdWatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace replication
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_ETCD_WATCHER_H_
