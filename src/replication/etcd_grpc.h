// File: src/replication/etcd_grpc.h
//
// The gRPC side of EtcdClient, shared by etcd_client.cc and etcd_watcher.cc
// only: the per-member channels and stubs, and the mapping of gRPC statuses
// to absl::Status. Nothing outside src/replication/*.cc includes it, so gRPC
// and the generated etcd messages stay out of the library's headers.

#ifndef ARBITER_SRC_REPLICATION_ETCD_GRPC_H_
#define ARBITER_SRC_REPLICATION_ETCD_GRPC_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "etcdserverpb/rpc.grpc.pb.h"
#include "etcdserverpb/rpc.pb.h"
#include "src/replication/etcd_client.h"

namespace arbiter {
namespace replication {

struct EtcdClient::Channels {
  struct Member {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Maintenance::Stub> maintenance;
    std::unique_ptr<etcdserverpb::Cluster::Stub> cluster;
  };

  // Starts the connection keeper (below).
  explicit Channels(std::vector<Member> members);
  // Stops the keeper (waits up to kKeeperTick).
  ~Channels();

  std::vector<Member> members;

  // The connection keeper: one thread that keeps asking every channel to
  // connect and polls its connection attempts. Needed with the synchronous
  // API: a call on a channel in TRANSIENT_FAILURE fails at once without
  // polling, so after a member was down nothing would drive the reconnection
  // within gRPC's connect deadline (only gRPC's 5 s backup poller, which
  // loses the race against a short reconnect backoff), and the member would
  // stay unreachable after it came back.
  static constexpr absl::Duration kKeeperTick = absl::Milliseconds(100);
  grpc::CompletionQueue keeper_cq;
  std::atomic<bool> stopping{false};
  std::thread keeper;
};

// Whether a failed call certainly never executed on the server: no
// connection could be made, or etcd refused it before proposing it (no
// leader). Such a write may be sent to another member.
bool EtcdNotExecuted(const grpc::Status& status);

// Whether the failure is the member's or the transport's (another member may
// answer): Unavailable, DeadlineExceeded, or etcd's "leader changed".
bool EtcdTransient(const grpc::Status& status);

// `what` names the call ("Range \"/p/head\"", "Watch"); `target` is the
// member's host:port. A write failure after sending is marked outcome
// unknown (IsEtcdOutcomeUnknown).
absl::Status EtcdStatus(const grpc::Status& status, absl::string_view what,
                        absl::string_view target, bool write);

// The compacted-revision error of a watch whose start revision is gone.
absl::Status EtcdCompactedStatus(absl::string_view what,
                                 absl::string_view target,
                                 int64_t compact_revision);

// Prepares a context for a call on a member: the deadline and, when
// required, etcd's `hasleader` metadata (a member without a leader then
// refuses the call, or closes the watch stream when it loses its leader).
void EtcdPrepareContext(grpc::ClientContext* context, bool require_leader,
                        absl::optional<absl::Time> deadline);

void ToEtcdKeyValue(const mvccpb::KeyValue& from, EtcdKeyValue* to);

}  // namespace replication
}  // namespace arbiter

#endif  // ARBITER_SRC_REPLICATION_ETCD_GRPC_H_
