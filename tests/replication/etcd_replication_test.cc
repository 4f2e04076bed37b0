// Three etcd members, three replicas (each its own client, log and follower):
// random appends through random replicas while members are killed, paused and
// restarted. Every follower must deliver the same sequence as the log holds:
// no acknowledged entry lost, none twice, none invented, same order; health
// must fail closed while a follower cannot prove it is current; a token from
// one replica is honoured by another.
//
// Sizes: ARBITER_ETCD_SOAK_APPENDS (default 300 acknowledged appends) and
// ARBITER_ETCD_SOAK_CYCLES (default 1 round of faults) scale the soak.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/replication/etcd_client.h"
#include "src/replication/etcd_follower.h"
#include "src/replication/etcd_log.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/replication/log_model.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace replication {
namespace {

using ::arbiter::testing::EtcdCluster;
using ::arbiter::testing::FollowerRecorder;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StateOf;
using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

EtcdCluster::Options ThreeMembers() {
  EtcdCluster::Options options;
  options.members = 3;
  return options;
}

std::shared_ptr<EtcdClient> ClientFor(
    const std::vector<std::string>& endpoints,
    absl::Duration timeout = absl::Seconds(1)) {
  EtcdClientOptions options;
  options.endpoints = endpoints;
  options.request_timeout = timeout;
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create(options);
  EXPECT_THAT(client, IsOk());
  return client.ok() ? std::shared_ptr<EtcdClient>(*std::move(client))
                     : nullptr;
}

// Endpoints starting with member `first`, so replicas prefer different members.
std::vector<std::string> Rotated(const EtcdCluster& cluster, int first) {
  std::vector<std::string> all = cluster.client_endpoints();
  std::rotate(all.begin(), all.begin() + first, all.end());
  return all;
}

EtcdLogOptions LogOptions(absl::string_view prefix) {
  EtcdLogOptions options;
  options.prefix = std::string(prefix);
  options.max_inline_bytes = 16 << 10;  // some entries are chunked
  options.chunk_bytes = 8 << 10;
  options.write_timeout = absl::Seconds(10);
  return options;
}

// A service replica's etcd side: its own log handle and follower. The
// follower can be replaced (a replica process restarting) while the writer
// thread uses the replica.
class Replica {
 public:
  // The follower stops before the recorder its callbacks use goes.
  ~Replica() {
    if (follower_ != nullptr) follower_->Stop();
  }

  absl::Status Start(const std::vector<std::string>& endpoints,
                     const EtcdLogOptions& options,
                     EtcdFollowerOptions follower_options = {}) {
    endpoints_ = endpoints;
    options_ = options;
    follower_options_ = follower_options;
    absl::StatusOr<std::unique_ptr<EtcdLog>> l =
        EtcdLog::Open(ClientFor(endpoints), options);
    if (!l.ok()) return l.status();
    log_ = *std::move(l);
    return Restart();
  }

  // A fresh follower (own client) bootstraps and takes over; the old one
  // stops.
  absl::Status Restart() {
    absl::StatusOr<std::unique_ptr<EtcdFollower>> f = EtcdFollower::Create(
        ClientFor(endpoints_), options_, follower_options_);
    if (!f.ok()) return f.status();
    std::shared_ptr<EtcdFollower> follower = *std::move(f);
    auto recorder = std::make_shared<FollowerRecorder>();
    absl::StatusOr<EtcdLogSnapshot> snapshot = follower->Bootstrap();
    if (!snapshot.ok()) return snapshot.status();
    absl::Status reset = recorder->Reset(*snapshot);
    if (!reset.ok()) return reset;
    absl::Status follow = follower->Follow(recorder->Callbacks());
    if (!follow.ok()) return follow;
    std::shared_ptr<EtcdFollower> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      old = std::move(follower_);
      follower_ = std::move(follower);
      old_recorders_.push_back(std::move(recorder_));
      recorder_ = std::move(recorder);
    }
    if (old != nullptr) old->Stop();
    return absl::OkStatus();
  }

  EtcdLog& log() { return *log_; }
  std::shared_ptr<EtcdFollower> follower() {
    std::lock_guard<std::mutex> lock(mu_);
    return follower_;
  }
  std::shared_ptr<FollowerRecorder> recorder() {
    std::lock_guard<std::mutex> lock(mu_);
    return recorder_;
  }

 private:
  std::vector<std::string> endpoints_;
  EtcdLogOptions options_;
  EtcdFollowerOptions follower_options_;
  std::unique_ptr<EtcdLog> log_;
  std::mutex mu_;
  std::shared_ptr<EtcdFollower> follower_;
  std::shared_ptr<FollowerRecorder> recorder_;
  // A replaced follower's callbacks may still run until it stopped.
  std::vector<std::shared_ptr<FollowerRecorder>> old_recorders_;
};

// What the writers did.
struct Ledger {
  struct Ack {
    uint64_t revision;
    int64_t etcd_revision;
  };
  std::mutex mu;
  std::map<std::string, Ack> acknowledged;  // payload -> where
  std::set<std::string> unknown;            // outcome unknown
  int64_t aborted = 0;
};

std::string Payload(absl::BitGen& gen, int writer, int n) {
  std::string p = absl::StrCat("w", writer, "-", n, ":");
  // Mostly small; 1 in 20 above max_inline_bytes (chunked).
  const size_t extra = absl::Bernoulli(gen, 0.05)
                           ? absl::Uniform<size_t>(gen, 20 << 10, 60 << 10)
                           : absl::Uniform<size_t>(gen, 0, 300);
  p.append(extra, static_cast<char>('a' + (n % 26)));
  return p;
}

// Appends through `replica` until `target` appends are acknowledged in
// total: read the head from the replica's own follower, append, and on a
// conflict wait for the follower to catch up (what PolicyStore does).
void WriterLoop(Replica& replica, int writer, uint64_t seed,
                std::atomic<int>& acked, int target, Ledger& ledger) {
  absl::BitGen gen(std::seed_seq{seed, static_cast<uint64_t>(writer)});
  for (int n = 0; acked.load() < target; ++n) {
    const std::string payload = Payload(gen, writer, n);
    for (;;) {
      std::shared_ptr<EtcdFollower> follower = replica.follower();
      const uint64_t head = follower->revision();
      absl::StatusOr<EtcdAppendResult> r = replica.log().Append(head, payload);
      if (r.ok()) {
        std::lock_guard<std::mutex> lock(ledger.mu);
        ledger.acknowledged[payload] = {r->revision, r->etcd_revision};
        ++acked;
        break;
      }
      if (absl::IsAborted(r.status())) {
        {
          std::lock_guard<std::mutex> lock(ledger.mu);
          ++ledger.aborted;
        }
        (void)follower->WaitForRevision(head + 1,
                                        absl::Now() + absl::Seconds(5));
        continue;  // nothing was committed: the same payload again
      }
      if (IsEtcdOutcomeUnknown(r.status())) {
        std::lock_guard<std::mutex> lock(ledger.mu);
        ledger.unknown.insert(payload);
        break;  // may be in the log; never appended again
      }
      absl::SleepFor(absl::Milliseconds(50));  // refused before execution
    }
    absl::SleepFor(absl::Milliseconds(absl::Uniform(gen, 0, 3)));
  }
}

// Checks every replica against the log and the ledger.
void ExpectConverged(std::vector<std::unique_ptr<Replica>>& replicas,
                     const std::vector<std::string>& endpoints,
                     const EtcdLogOptions& options, Ledger& ledger,
                     uint64_t seed) {
  std::shared_ptr<EtcdClient> client = ClientFor(endpoints);
  absl::StatusOr<std::unique_ptr<EtcdFollower>> reader =
      EtcdFollower::Create(client, options);
  ASSERT_THAT(reader, IsOk());
  absl::StatusOr<EtcdLogSnapshot> truth = (*reader)->Bootstrap();
  ASSERT_THAT(truth, IsOk()) << "seed " << seed;
  absl::StatusOr<std::vector<std::string>> log = StateOf(*truth);
  ASSERT_THAT(log, IsOk());
  for (size_t i = 0; i < replicas.size(); ++i) {
    ASSERT_THAT(replicas[i]->follower()->WaitForRevision(
                    truth->revision(), absl::Now() + absl::Seconds(30)),
                IsOk())
        << "replica " << i << " seed " << seed;
    EXPECT_THAT(replicas[i]->recorder()->violation(), IsOk())
        << "replica " << i;
    EXPECT_EQ(replicas[i]->recorder()->state(), *log)
        << "replica " << i << " diverged (seed " << seed << ")";
    EXPECT_EQ(replicas[i]->follower()->status().duplicates_skipped, 0)
        << "a member resent an entry (the watcher's guard caught it)";
  }
  std::lock_guard<std::mutex> lock(ledger.mu);
  std::set<std::string> seen;
  for (size_t r = 0; r < log->size(); ++r) {
    const std::string& payload = (*log)[r];
    EXPECT_TRUE(seen.insert(payload).second)
        << "payload committed twice: " << payload.substr(0, 20) << " (seed "
        << seed << ")";
    auto ack = ledger.acknowledged.find(payload);
    if (ack != ledger.acknowledged.end()) {
      EXPECT_EQ(ack->second.revision, r + 1) << payload.substr(0, 20);
    } else {
      EXPECT_EQ(ledger.unknown.count(payload), 1u)
          << "payload in the log that no writer had: " << payload.substr(0, 20)
          << " (seed " << seed << ")";
    }
  }
  for (const auto& [payload, ack] : ledger.acknowledged) {
    EXPECT_EQ(seen.count(payload), 1u)
        << "acknowledged append lost: " << payload.substr(0, 20)
        << " at revision " << ack.revision << " (seed " << seed << ")";
  }
  // Every acknowledged token is the etcd revision the followers delivered.
  const std::vector<int64_t> tokens = replicas[0]->recorder()->etcd_revisions();
  for (const auto& [payload, ack] : ledger.acknowledged) {
    if (ack.revision <= tokens.size() && tokens[ack.revision - 1] != 0) {
      EXPECT_EQ(tokens[ack.revision - 1], ack.etcd_revision);
    }
  }
}

TEST(EtcdReplicationTest, ReplicasConvergeThroughMemberKillsAndRestarts) {
  const uint64_t seed = EnvInt("ARBITER_ETCD_SEED", 0) != 0
                            ? EnvInt("ARBITER_ETCD_SEED", 0)
                            : absl::Uniform<uint32_t>(absl::BitGen());
  std::cout << "seed " << seed << " (ARBITER_ETCD_SEED to replay)\n";
  const int target = EnvInt("ARBITER_ETCD_SOAK_APPENDS", 300);
  const int cycles = EnvInt("ARBITER_ETCD_SOAK_CYCLES", 1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                       EtcdCluster::Start(ThreeMembers()));
  const EtcdLogOptions options = LogOptions("/replication/converge");
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(std::make_unique<Replica>());
    ASSERT_THAT(replicas.back()->Start(Rotated(*cluster, i), options), IsOk());
  }
  Ledger ledger;
  std::atomic<int> acked{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 3; ++i) {
    writers.emplace_back(WriterLoop, std::ref(*replicas[i]), i, seed,
                         std::ref(acked), target, std::ref(ledger));
  }
  absl::BitGen gen(std::seed_seq{seed});
  auto wait_acked = [&](int count) {
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    while (acked.load() < count && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  };
  const int step = std::max(1, target / (5 * cycles + 1));
  int next = step;
  for (int c = 0; c < cycles; ++c) {
    // kill -9 the member a follower's watch uses, then restart it. (Replica
    // k's endpoints are rotated by k.)
    wait_acked(next);
    next += step;
    const int k = absl::Uniform(gen, 0, 3);
    const int member = (replicas[k]->follower()->status().endpoint + k) % 3;
    std::cout << "kill -9 member " << member << " (replica " << k
              << "'s watch)\n";
    ASSERT_THAT(cluster->Kill(member), IsOk());
    wait_acked(next);
    next += step;
    ASSERT_THAT(cluster->Restart(member), IsOk());
    // kill -9 the leader, then restart it.
    wait_acked(next);
    next += step;
    ASSERT_OK_AND_ASSIGN(int leader, cluster->Leader(absl::Seconds(20)));
    std::cout << "kill -9 leader " << leader << "\n";
    ASSERT_THAT(cluster->Kill(leader), IsOk());
    wait_acked(next);
    next += step;
    ASSERT_THAT(cluster->Restart(leader), IsOk());
    // A replica process restarts: a fresh follower bootstraps and takes
    // over while its writer keeps writing.
    wait_acked(next);
    next += step;
    const int restarted = absl::Uniform(gen, 0, 3);
    std::cout << "restart replica " << restarted << "'s follower\n";
    ASSERT_THAT(replicas[restarted]->Restart(), IsOk());
  }
  for (std::thread& t : writers) t.join();
  ASSERT_THAT(cluster->WaitHealthy(absl::Seconds(30)), IsOk());
  ExpectConverged(replicas, cluster->client_endpoints(), options, ledger, seed);
  std::lock_guard<std::mutex> lock(ledger.mu);
  std::cout << "acknowledged " << ledger.acknowledged.size() << ", aborted "
            << ledger.aborted << ", outcome unknown " << ledger.unknown.size()
            << "\n";
  for (auto& r : replicas) {
    EtcdFollowerStatus s = r->follower()->status();
    std::cout << "follower: revision " << s.revision << ", watch reconnects "
              << s.watch_reconnects << ", rebootstraps " << s.rebootstraps
              << ", probes " << s.probes << " (" << s.probe_failures
              << " failed)\n";
  }
}

TEST(EtcdReplicationTest,
     PausedMemberMakesItsOnlyFollowerFailClosedUntilResumed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                       EtcdCluster::Start(ThreeMembers()));
  const EtcdLogOptions options = LogOptions("/replication/partition");
  // The writer uses members 0 and 1; the follower only member 2.
  absl::StatusOr<std::unique_ptr<EtcdLog>> log = EtcdLog::Open(
      ClientFor({cluster->client_endpoint(0), cluster->client_endpoint(1)}),
      options);
  ASSERT_THAT(log, IsOk());
  Replica only2_replica;
  ASSERT_THAT(only2_replica.Start({cluster->client_endpoint(2)}, options),
              IsOk());
  std::shared_ptr<EtcdFollower> follower2 = only2_replica.follower();
  std::shared_ptr<FollowerRecorder> recorder2 = only2_replica.recorder();
  uint64_t head = 0;
  int64_t token = 0;
  auto append = [&](absl::string_view payload) {
    absl::StatusOr<EtcdAppendResult> r = (*log)->Append(head, payload);
    ASSERT_THAT(r, IsOk());
    head = r->revision;
    token = r->etcd_revision;
  };
  for (int i = 0; i < 5; ++i) append(absl::StrCat("before", i));
  ASSERT_THAT(follower2->WaitFor(token, absl::Now() + absl::Seconds(5)),
              IsOk());
  ASSERT_THAT(follower2->Health(), IsOk());

  ASSERT_THAT(cluster->Pause(2), IsOk());
  const absl::Time paused = absl::Now();
  for (int i = 0; i < 5; ++i) append(absl::StrCat("during", i));
  // Not current within max_staleness (5 s) + one probe (0.5 s) + its
  // timeout (1 s); allow scheduling slack on two shared cores.
  absl::Status health;
  absl::Time unhealthy_at = absl::InfiniteFuture();
  while (absl::Now() - paused < absl::Seconds(12)) {
    health = follower2->Health();
    if (!health.ok()) {
      unhealthy_at = absl::Now();
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(health, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("cannot prove it is current")));
  EXPECT_LE(unhealthy_at - paused, absl::Seconds(8));
  // It cannot have delivered what was written while it was paused.
  EXPECT_EQ(recorder2->revision(), 5u);
  // A token it has not reached fails closed: Unavailable, not OK.
  EXPECT_THAT(follower2->WaitFor(token, absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot prove it is current")));
  // And it stays so while paused.
  absl::SleepFor(absl::Seconds(2));
  EXPECT_FALSE(follower2->Health().ok());

  ASSERT_THAT(cluster->Resume(2), IsOk());
  const absl::Time resumed = absl::Now();
  EXPECT_THAT(follower2->WaitFor(token, absl::Now() + absl::Seconds(20)),
              IsOk());
  absl::Status recovered = follower2->Health();
  while (!recovered.ok() && absl::Now() - resumed < absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(50));
    recovered = follower2->Health();
  }
  EXPECT_THAT(recovered, IsOk());
  std::cout << "unhealthy after " << absl::FormatDuration(unhealthy_at - paused)
            << ", current again " << absl::FormatDuration(absl::Now() - resumed)
            << " after SIGCONT\n";
  std::vector<std::string> state = recorder2->state();
  ASSERT_EQ(state.size(), 10u);
  EXPECT_EQ(state[9], "during4");
  EXPECT_THAT(recorder2->violation(), IsOk());
}

TEST(EtcdReplicationTest, QuorumLossIsReportedAndWritesFailClearly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                       EtcdCluster::Start(ThreeMembers()));
  EtcdLogOptions options = LogOptions("/replication/quorum");
  options.write_timeout = absl::Seconds(3);
  Replica replica;
  ASSERT_THAT(replica.Start(cluster->client_endpoints(), options), IsOk());
  std::shared_ptr<EtcdFollower> follower = replica.follower();
  std::shared_ptr<FollowerRecorder> recorder = replica.recorder();
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult first, replica.log().Append(0, "one"));
  ASSERT_THAT(
      follower->WaitFor(first.etcd_revision, absl::Now() + absl::Seconds(5)),
      IsOk());
  // Two of three members die: no quorum, the survivor has no leader.
  ASSERT_THAT(cluster->Kill(0), IsOk());
  ASSERT_THAT(cluster->Kill(1), IsOk());
  const absl::Time lost = absl::Now();
  absl::StatusOr<EtcdAppendResult> w = replica.log().Append(1, "two");
  EXPECT_FALSE(w.ok());
  EXPECT_TRUE(absl::IsUnavailable(w.status()) ||
              absl::IsDeadlineExceeded(w.status()))
      << w.status();
  EXPECT_THAT(w.status().message(), HasSubstr("append of revision 2"));
  absl::Status health = follower->Health();
  while (health.ok() && absl::Now() - lost < absl::Seconds(12)) {
    absl::SleepFor(absl::Milliseconds(50));
    health = follower->Health();
  }
  EXPECT_THAT(health, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("cannot prove it is current")));
  // Quorum back: the follower recovers; the unknown append either committed
  // once or not at all.
  ASSERT_THAT(cluster->Restart(0), IsOk());
  ASSERT_THAT(cluster->Restart(1), IsOk());
  ASSERT_THAT(cluster->WaitHealthy(absl::Seconds(30)), IsOk());
  ASSERT_OK_AND_ASSIGN(EtcdLogHead head, replica.log().ReadHead());
  ASSERT_THAT(
      follower->WaitForRevision(head.revision, absl::Now() + absl::Seconds(20)),
      IsOk());
  std::vector<std::string> state = recorder->state();
  ASSERT_GE(state.size(), 1u);
  ASSERT_LE(state.size(), 2u);
  if (state.size() == 2) {
    EXPECT_EQ(state[1], "two");
    EXPECT_TRUE(IsEtcdOutcomeUnknown(w.status())) << w.status();
  }
  absl::Status recovered = follower->Health();
  const absl::Time back = absl::Now();
  while (!recovered.ok() && absl::Now() - back < absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(50));
    recovered = follower->Health();
  }
  EXPECT_THAT(recovered, IsOk());
}

TEST(EtcdReplicationTest, TokenFromOneReplicaIsNeverAnsweredOlderByAnother) {
  const uint64_t seed = absl::Uniform<uint32_t>(absl::BitGen());
  std::cout << "seed " << seed << "\n";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                       EtcdCluster::Start(ThreeMembers()));
  const EtcdLogOptions options = LogOptions("/replication/tokens");
  Replica a, b;
  ASSERT_THAT(a.Start(Rotated(*cluster, 0), options), IsOk());
  ASSERT_THAT(b.Start(Rotated(*cluster, 2), options), IsOk());
  std::shared_ptr<EtcdFollower> b_follower = b.follower();
  std::shared_ptr<FollowerRecorder> b_recorder = b.recorder();
  absl::BitGen gen(std::seed_seq{seed});
  uint64_t head = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string payload = absl::StrCat("v", i);
    ASSERT_OK_AND_ASSIGN(EtcdAppendResult r, a.log().Append(head, payload));
    head = r.revision;
    // Sometimes B is asked at once, sometimes after a pause.
    if (absl::Bernoulli(gen, 0.2)) {
      absl::SleepFor(absl::Microseconds(absl::Uniform(gen, 0, 2000)));
    }
    ASSERT_THAT(
        b_follower->WaitFor(r.etcd_revision, absl::Now() + absl::Seconds(5)),
        IsOk())
        << "i " << i << " seed " << seed;
    // Read B's state: it must include the write.
    const std::vector<std::string> state = b_recorder->state();
    ASSERT_GE(state.size(), r.revision)
        << "older state answered (seed " << seed << ")";
    ASSERT_EQ(state[r.revision - 1], payload);
  }
}

}  // namespace
}  // namespace replication
}  // namespace arbiter
