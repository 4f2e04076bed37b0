// File: src/replication/etcd_client.h
//
// EtcdClient is a small synchronous client of the etcd v3 API over gRPC: the
// KV calls (Range, Put, DeleteRange, Txn, Compact), Maintenance.Status,
// Cluster.MemberList, and watches (etcd_watcher.h). It is the transport under
// EtcdLog (etcd_log.h); nothing here knows about Arbiter's data.
//
// Endpoints and failover. The client keeps one gRPC channel per member. A
// call without an explicit member starts at the member that last answered and
// moves on to the next when an attempt fails in transport (the member is
// down, partitioned or has no leader):
//   - reads (Range, Status, MemberList, read-only Txn) try every member once;
//   - writes (Put, DeleteRange, a Txn with writes, Compact) move on only when
//     the error proves the request was never executed (no connection could be
//     made, or the member refused it for want of a leader). Any other failure
//     after sending — a deadline, a dropped connection, "request timed out" —
//     leaves the outcome unknown: the call returns Unavailable or
//     DeadlineExceeded marked IsEtcdOutcomeUnknown(), and the caller decides
//     (EtcdLog resolves it with the writer id it stored; see etcd_log.h).
//
// Deadlines. Every attempt carries a deadline (Options::request_timeout, or
// EtcdCallOptions::timeout); a member that accepts connections but never
// answers (SIGSTOP) costs one deadline, then the next member is tried.
//
// Leader requirement. With Options::require_leader (default) every call and
// watch carries etcd's `hasleader` metadata, so a member that has lost its
// leader refuses (Unavailable, "etcdserver: no leader") instead of answering
// from a possibly stale view, and closes watch streams when it loses it.
// Status and MemberList never require one (they are how one finds out).
//
// Errors are absl::Status values whose message names the operation, the key
// when there is one, and the member: `etcd Range "/p/head" on 127.0.0.1:2379:
// UNAVAILABLE: ...`. Codes:
//   Unavailable        member down, no leader, connection lost, etcd timeout;
//   DeadlineExceeded   the attempt's deadline passed;
//   OutOfRange         the revision asked for was compacted (IsEtcdCompacted);
//   InvalidArgument    rejected request (too large, too many txn operations,
//                      a future revision, a malformed endpoint);
//   ResourceExhausted  etcd's space quota is exhausted (NOSPACE alarm);
//   FailedPrecondition a compare of PutIf failed (Txn itself reports a failed
//                      compare as EtcdTxnResult::succeeded == false).
//
// Limits: etcd refuses requests above --max-request-bytes (default 1.5 MiB)
// and transactions with more than --max-txn-ops (default 128) operations in
// any of compare, success or failure.
//
// Thread safety: every method may be called concurrently from any thread.
// The client must outlive the watchers it creates.

#ifndef ARBITER_SRC_REPLICATION_ETCD_CLIENT_H_
#define ARBITER_SRC_REPLICATION_ETCD_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace arbiter {
namespace replication {

class EtcdWatcher;
struct EtcdWatchOptions;

struct EtcdClientOptions {
  // Client URLs of the members: "http://127.0.0.1:2379" or "127.0.0.1:2379".
  // At least one. https:// is refused (Unimplemented): TLS is not supported
  // yet.
  std::vector<std::string> endpoints;
  // Deadline of one attempt of a call on one member.
  absl::Duration request_timeout = absl::Seconds(2);
  // HTTP/2 keepalive pings while a call is open, so that a connection to a
  // vanished member is closed within keepalive_time + keepalive_timeout.
  // etcd refuses pings more frequent than --grpc-keepalive-min-time (5 s).
  absl::Duration keepalive_time = absl::Seconds(10);
  absl::Duration keepalive_timeout = absl::Seconds(5);
  // Delay between reconnection attempts of one channel (gRPC doubles it from
  // the minimum up to the maximum).
  absl::Duration min_reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(1);
  // How long one connection attempt (TCP and HTTP/2 handshake) may take.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Largest response accepted.
  int max_receive_message_bytes = 1 << 30;
  // Send etcd's `hasleader` metadata on every call and watch.
  bool require_leader = true;
};

// One key as etcd returns it. Revisions are etcd store revisions.
struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
};

// One predicate of a transaction guard. An absent key has version,
// create_revision and mod_revision 0.
struct EtcdCompare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };

  static EtcdCompare Version(absl::string_view key, Op op, int64_t version);
  static EtcdCompare CreateRevision(absl::string_view key, Op op,
                                    int64_t revision);
  static EtcdCompare ModRevision(absl::string_view key, Op op,
                                 int64_t revision);
  static EtcdCompare Value(absl::string_view key, Op op,
                           absl::string_view value);

  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  int64_t number = 0;  // version or revision
  std::string value;   // for kValue
};

// One operation of a transaction.
struct EtcdOp {
  enum class Type { kRange, kPut, kDeleteRange };

  static EtcdOp Get(absl::string_view key);
  // [key, range_end); an empty range_end means just `key`.
  static EtcdOp Range(absl::string_view key, absl::string_view range_end,
                      int64_t limit = 0);
  static EtcdOp Put(absl::string_view key, absl::string_view value);
  static EtcdOp Delete(absl::string_view key, absl::string_view range_end = {});

  Type type = Type::kRange;
  std::string key;
  std::string range_end;
  std::string value;
  int64_t limit = 0;
};

struct EtcdTxn {
  std::vector<EtcdCompare> compares;
  std::vector<EtcdOp> success;
  std::vector<EtcdOp> failure;
};

struct EtcdRangeOptions {
  // [key, range_end); empty: just the key. PrefixRangeEnd(key) for a prefix.
  std::string range_end;
  // At most this many keys (0: all); EtcdRangeResult::more tells the rest.
  int64_t limit = 0;
  // Read as of this store revision (0: the newest). OutOfRange if compacted.
  int64_t revision = 0;
  // Member-local read, possibly stale (default: linearizable).
  bool serializable = false;
  bool keys_only = false;
  bool count_only = false;
};

struct EtcdRangeResult {
  // The store revision the range was read at (the header revision; for a
  // read at an explicit revision, the store's newest revision then).
  int64_t revision = 0;
  std::vector<EtcdKeyValue> kvs;
  bool more = false;
  // Keys in the whole range, regardless of limit.
  int64_t count = 0;
};

// The result of one operation of a transaction: `range` for kRange,
// `deleted` for kDeleteRange; nothing for kPut.
struct EtcdOpResult {
  EtcdRangeResult range;
  int64_t deleted = 0;
};

struct EtcdTxnResult {
  bool succeeded = false;
  // The store revision after the transaction (the revision it created when
  // it wrote something).
  int64_t revision = 0;
  // One per operation of the branch that ran (success or failure).
  std::vector<EtcdOpResult> results;
  // The member that answered.
  int endpoint = 0;
};

struct EtcdDeleteResult {
  int64_t deleted = 0;
  int64_t revision = 0;
};

struct EtcdCallOptions {
  // -1: any member, failing over as described above; i >= 0: only member i.
  int endpoint = -1;
  // Replaces Options::request_timeout for each attempt of this call.
  absl::optional<absl::Duration> timeout;
};

// Maintenance.Status of one member.
struct EtcdMemberStatus {
  int endpoint = 0;
  uint64_t member_id = 0;
  // The member it believes leads; 0 when it has none.
  uint64_t leader_id = 0;
  uint64_t raft_index = 0;
  uint64_t raft_applied_index = 0;
  uint64_t raft_term = 0;
  int64_t revision = 0;
  int64_t db_size = 0;
  std::string version;
  std::vector<std::string> errors;
  bool is_learner = false;
};

struct EtcdMember {
  uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool is_learner = false;
};

// The smallest key greater than every key starting with `prefix` (etcd's
// prefix range end); "\0" (every key) for an empty or all-0xff prefix.
std::string PrefixRangeEnd(absl::string_view prefix);

// Whether `status` reports a revision compacted by etcd; the oldest revision
// still available, when etcd said (a watch does, a range does not), or 0.
bool IsEtcdCompacted(const absl::Status& status);
int64_t EtcdCompactRevision(const absl::Status& status);
// Whether `status` is a write failure after which the write may or may not
// have been applied.
bool IsEtcdOutcomeUnknown(const absl::Status& status);

class EtcdClient {
 public:
  using Options = EtcdClientOptions;

  // Checks the endpoints and creates one channel per member. Connects
  // lazily: a member that is down fails the first call, not Create.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(Options options);

  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  const Options& options() const { return options_; }
  int endpoint_count() const {
    return static_cast<int>(options_.endpoints.size());
  }
  // The "host:port" of member i.
  const std::string& endpoint(int i) const { return targets_[i]; }

  absl::StatusOr<EtcdRangeResult> Range(absl::string_view key,
                                        const EtcdRangeOptions& range = {},
                                        const EtcdCallOptions& call = {});

  // Every key of [key, range_end) as of one store revision (`revision`, or
  // the newest when 0), fetched page_size keys per request so that no
  // response is unbounded. The result's revision is the one read at.
  absl::StatusOr<EtcdRangeResult> RangeAll(absl::string_view key,
                                           absl::string_view range_end,
                                           int64_t revision = 0,
                                           int64_t page_size = 1000,
                                           const EtcdCallOptions& call = {});

  // Returns the revision the put created.
  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                              const EtcdCallOptions& call = {});

  // Put guarded by `compares`: returns the revision created, or
  // FailedPrecondition naming the key when a compare failed (nothing
  // written).
  absl::StatusOr<int64_t> PutIf(absl::string_view key, absl::string_view value,
                                std::vector<EtcdCompare> compares,
                                const EtcdCallOptions& call = {});

  absl::StatusOr<EtcdDeleteResult> DeleteRange(
      absl::string_view key, absl::string_view range_end = {},
      const EtcdCallOptions& call = {});

  // A failed compare is a result (succeeded == false), not an error. A
  // transaction with only kRange operations is a read (failover as reads).
  absl::StatusOr<EtcdTxnResult> Txn(const EtcdTxn& txn,
                                    const EtcdCallOptions& call = {});

  // Compacts etcd's history before `revision`; with `physical`, waits until
  // the member has removed it. Returns the header revision.
  absl::StatusOr<int64_t> Compact(int64_t revision, bool physical = false,
                                  const EtcdCallOptions& call = {});

  // Status of member `endpoint` (no failover).
  absl::StatusOr<EtcdMemberStatus> Status(int endpoint,
                                          const EtcdCallOptions& call = {});

  absl::StatusOr<std::vector<EtcdMember>> MemberList(
      const EtcdCallOptions& call = {});

  // A watch of [options.key, options.range_end); see etcd_watcher.h.
  std::unique_ptr<EtcdWatcher> Watch(const EtcdWatchOptions& options);

  // The member calls start at (the last that answered).
  int preferred_endpoint() const { return preferred_.load(); }

  // Private to this file's implementation and EtcdWatcher.
  struct Channels;
  Channels& channels() { return *channels_; }

 private:
  EtcdClient(Options options, std::vector<std::string> targets,
             std::unique_ptr<Channels> channels);

  Options options_;
  std::vector<std::string> targets_;
  std::unique_ptr<Channels> channels_;
  std::atomic<int> preferred_{0};
};

}  // namespace replication
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_ETCD_CLIENT_H_
