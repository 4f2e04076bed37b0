// File: tests/replication/etcd_cluster.h
//
// EtcdCluster starts 1 or 3 (any n) etcd members for a test: child processes
// of /usr/bin/etcd (or $ARBITER_ETCD_BINARY) listening on 127.0.0.1 only, on
// free ports picked by the kernel (never a default etcd port), with their data
// in a fresh temporary directory and short raft timeouts so elections take a
// fraction of a second. It can stop (SIGTERM), kill -9, pause (SIGSTOP: a
// member that keeps its sockets but answers nothing, as in a partition),
// resume and restart members.
//
// Cleanup: the destructor kills every member and removes the directory. If
// the test process dies instead (a crash, an abort, kill -9), each member
// receives SIGKILL from the kernel (PR_SET_PDEATHSIG), so no etcd outlives
// the test. PR_SET_PDEATHSIG follows the *thread* that started the member:
// start and restart members from the test's main thread.
//
// Example:
//
//   ASSERT_OK_AND_ASSIGN(auto cluster, EtcdCluster::Start({.members = 3}));
//   client_options.endpoints = cluster->client_endpoints();
//   ASSERT_OK(cluster->Kill(cluster->Leader().value()));
//
// Thread safety: not thread-safe; use from the test's main thread.

#ifndef ARBITER_TESTS_REPLICATION_ETCD_CLUSTER_H_
#define ARBITER_TESTS_REPLICATION_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace arbiter {
namespace testing {

struct EtcdClusterOptions {
  int members = 1;
  // Raft timing (etcd defaults: 100 ms and 1000 ms).
  int heartbeat_ms = 25;
  int election_ms = 250;
  // Extra etcd flags for every member, e.g. "--max-txn-ops=16".
  std::vector<std::string> extra_args;
  // Parent of the temporary directory; empty: $TMPDIR or /tmp. /dev/shm
  // takes the disk's fsync out of the measurement (benchmarks say which).
  std::string parent_dir;
  // Start() waits this long for a leader and a linearizable read on every
  // member.
  absl::Duration start_timeout = absl::Seconds(30);
};

class EtcdCluster {
 public:
  using Options = EtcdClusterOptions;

  // Starts the members and waits until the cluster is healthy. Retries with
  // other ports (up to 3 times) when a member exits at start (a port taken
  // between choosing and binding it). The error includes the tail of the
  // failing member's log.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(Options options);

  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of member i's client listener.
  std::string client_endpoint(int i) const;
  std::vector<std::string> client_endpoints() const;
  const std::string& directory() const { return dir_; }

  // SIGKILL and reap (kill -9: no clean shutdown).
  absl::Status Kill(int i);
  // SIGTERM and reap (etcd shuts down cleanly).
  absl::Status Stop(int i);
  // SIGSTOP / SIGCONT: the member freezes with its sockets open.
  absl::Status Pause(int i);
  absl::Status Resume(int i);
  // Starts a stopped or killed member again, same ports and data directory.
  absl::Status Restart(int i);

  bool running(int i) const { return members_[i].pid > 0; }
  bool paused(int i) const { return members_[i].paused; }

  // Waits until every running, unpaused member reports a leader and serves
  // a linearizable read.
  absl::Status WaitHealthy(absl::Duration timeout);
  // The index of the member the running members agree leads.
  absl::StatusOr<int> Leader(absl::Duration timeout = absl::Seconds(10));

  // The last `lines` lines of member i's log (stdout and stderr).
  std::string LogTail(int i, int lines = 20) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;
    bool paused = false;
    uint64_t member_id = 0;  // learnt from Status once healthy
  };

  EtcdCluster(Options options, std::string dir, std::string binary);
  absl::Status Launch(int i, bool first_start);
  absl::Status StartAll();
  void KillAll();
  absl::Status Signal(int i, int signal, bool reap);

  Options options_;
  std::string dir_;
  std::string binary_;
  std::string cluster_token_;
  std::vector<Member> members_;
};

}  // namespace testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_REPLICATION_ETCD_CLUSTER_H_
