// ReplicatedStore (include/arbiter/replicated_store.h) against real etcd
// members on loopback (etcd_cluster.h): replicas that each hold a PolicyStore
// and share one log.
//
// The reference model is a plain PolicyStore: the transactions the log
// committed, replayed in revision order on a fresh store from the same
// initial state, must each succeed at the same revision and end in the same
// state (compared by PolicyStateDigest). Which transaction each revision is
// comes from the replicas' audit chain (every transaction carries a unique
// tag that its audit records repeat; replica_workload.h), so a transaction
// lost, committed twice or applied twice on a replica shows as a revision
// with the wrong tag, a tag at two revisions, or a state that differs.
//
// Sizes (defaults sized for two cores; the seed is printed, replay it with
// ARBITER_ETCD_SEED):
//   ARBITER_REPLICA_TXNS    transactions per writer thread (default 40)
//   ARBITER_REPLICA_CYCLES  rounds of kill -9 / restart / pause (default 1)
//   ARBITER_REPLICA_ROUNDS  rounds of the token and conflict tests (30)

#include "arbiter/replicated_store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "arbiter/audit.h"
#include "arbiter/demo.h"
#include "arbiter/policy_store.h"
#include "arbiter/v1/log_record.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "src/replication/etcd_client.h"
#include "src/replication/etcd_log.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/replication/replica_workload.h"
#include "tests/testing/status_matchers.h"

#ifndef ARBITER_REPLICA_CHILD_PATH
#error "ARBITER_REPLICA_CHILD_PATH must name replicated_store_child"
#endif

namespace arbiter {
namespace {

using ::arbiter::testing::DemoQueries;
using ::arbiter::testing::EtcdCluster;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::RandomDemoTransaction;
using ::arbiter::testing::Rng;
using ::arbiter::testing::StatusIs;
using ::arbiter::testing::TagOf;
using ::arbiter::testing::TagsByRevision;
using ::testing::HasSubstr;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

uint64_t Seed() {
  const uint64_t seed =
      EnvInt("ARBITER_ETCD_SEED", 0) != 0
          ? EnvInt("ARBITER_ETCD_SEED", 0)
          : static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())) % 1000000007;
  std::cout << "seed " << seed << " (ARBITER_ETCD_SEED to replay)\n";
  return seed;
}

std::vector<std::string> Rotated(const EtcdCluster& cluster, int first) {
  std::vector<std::string> all = cluster.client_endpoints();
  std::rotate(all.begin(), all.begin() + first, all.end());
  return all;
}

// The options every replica of one test shares.
ReplicatedStoreOptions Options(std::vector<std::string> endpoints,
                               absl::string_view prefix = "/arbiter/test/") {
  ReplicatedStoreOptions o;
  o.endpoints = std::move(endpoints);
  o.prefix = std::string(prefix);
  o.store.audit.checkpoint_interval = 5;  // audit checkpoints in the log
  o.checkpoint_interval = 25;             // etcd checkpoints and truncation
  o.keep_entries = 10;
  o.token_wait = absl::Seconds(5);  // two busy cores
  o.request_timeout = absl::Seconds(1);
  o.write_timeout = absl::Seconds(5);
  return o;
}

std::unique_ptr<ReplicatedStore> MustOpen(ReplicatedStoreOptions options) {
  absl::StatusOr<std::unique_ptr<ReplicatedStore>> r =
      ReplicatedStore::Open(std::move(options));
  EXPECT_THAT(r, IsOk());
  return r.ok() ? *std::move(r) : nullptr;
}

// The chain's records, each serialized deterministically (metadata is a
// map: its default serialization order is not fixed).
std::string Serialized(const std::vector<v1::AuditRecord>& chain) {
  std::string out;
  for (const v1::AuditRecord& r : chain) {
    std::string bytes;
    google::protobuf::io::StringOutputStream stream(&bytes);
    {
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      r.SerializeToCodedStream(&coded);
    }
    absl::StrAppend(&out, bytes.size(), ":", bytes);
  }
  return out;
}

std::string DecisionText(const Decision& d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

// Every committed transaction by its tag, for the reference replay.
class TxnBook {
 public:
  void Add(const std::string& tag, v1::Transaction txn) {
    std::lock_guard<std::mutex> lock(mu_);
    txns_[tag] = std::move(txn);
  }
  // The transactions a writer process generated: same seed, same sequence.
  void AddGenerated(int writer, uint64_t seed, int count) {
    Rng rng(seed);
    for (int n = 0; n < count; ++n) {
      Add(TagOf(writer, n), RandomDemoTransaction(rng, writer, n));
    }
  }
  const v1::Transaction* Find(const std::string& tag) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = txns_.find(tag);
    return it == txns_.end() ? nullptr : &it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, v1::Transaction> txns_;
};

struct Acks {
  std::mutex mu;
  std::map<uint64_t, std::string> by_revision;  // acknowledged commits
  int failures = 0;

  void Ack(uint64_t revision, const std::string& tag) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(by_revision.emplace(revision, tag).second)
        << "revision " << revision << " acknowledged twice";
  }
};

// Waits until every replica has published `revision`; then checks that they
// agree: state digest, audit chain, and every demo query's decision.
void ExpectConverged(const std::vector<ReplicatedStore*>& replicas,
                     uint64_t revision) {
  for (size_t i = 0; i < replicas.size(); ++i) {
    ASSERT_OK(replicas[i]->WaitFor(revision, absl::Now() + absl::Seconds(30)))
        << "replica " << i;
    EXPECT_EQ(replicas[i]->revision(), revision) << "replica " << i;
  }
  const std::string digest = replicas[0]->StateDigest();
  const std::vector<v1::AuditRecord> chain = replicas[0]->AuditRecords();
  const AuditVerification verified = VerifyAuditChain(chain);
  EXPECT_TRUE(verified.ok()) << verified.Summary();
  EXPECT_GT(verified.checkpoints, 0u) << "audit checkpoints were expected";
  std::vector<std::string> answers;
  for (const auto& q : DemoQueries()) {
    answers.push_back(
        DecisionText(replicas[0]->engine()->Check(q.ToRequest())));
  }
  for (size_t i = 1; i < replicas.size(); ++i) {
    EXPECT_EQ(replicas[i]->StateDigest(), digest) << "replica " << i;
    EXPECT_EQ(Serialized(replicas[i]->AuditRecords()), Serialized(chain))
        << "replica " << i << ": audit chain differs";
    std::vector<std::string> mine;
    for (const auto& q : DemoQueries()) {
      mine.push_back(DecisionText(replicas[i]->engine()->Check(q.ToRequest())));
    }
    for (size_t q = 0; q < mine.size(); ++q) {
      ASSERT_EQ(mine[q], answers[q])
          << "replica " << i << " query " << DemoQueries()[q].principal << " "
          << DemoQueries()[q].permission << " " << DemoQueries()[q].resource;
    }
  }
}

// Replays the log's transactions (found by their tags in `chain`) on a plain
// PolicyStore from the demo state: each must commit at its revision, and the
// result must be `digest`. Checks acknowledged commits are where their ack
// said and no tag is at two revisions.
void ExpectReferenceReplay(const std::vector<v1::AuditRecord>& chain,
                           uint64_t head, const std::string& digest,
                           const TxnBook& book,
                           const std::map<uint64_t, std::string>& acked) {
  const auto tags = TagsByRevision(chain);
  std::set<std::string> seen;
  for (const auto& [revision, list] : tags) {
    ASSERT_EQ(list.size(), 1u) << "revision " << revision << " carries tags "
                               << absl::StrJoin(list, ",");
    EXPECT_TRUE(seen.insert(list[0]).second)
        << "transaction " << list[0] << " committed twice";
  }
  for (const auto& [revision, tag] : acked) {
    auto it = tags.find(revision);
    ASSERT_NE(it, tags.end()) << "acknowledged revision " << revision << " ("
                              << tag << ") is not in the log";
    EXPECT_EQ(it->second[0], tag) << "revision " << revision;
  }
  auto reference = PolicyStore::Create(DemoPolicySet());
  ASSERT_THAT(reference, IsOk());
  const uint64_t first = DemoPolicySet().revision() + 1;
  for (uint64_t r = first; r <= head; ++r) {
    auto it = tags.find(r);
    ASSERT_NE(it, tags.end()) << "revision " << r << " has no audit records";
    const v1::Transaction* txn = book.Find(it->second[0]);
    ASSERT_NE(txn, nullptr) << "unknown tag " << it->second[0];
    absl::StatusOr<AppliedTransaction> a = (*reference)->Apply(*txn);
    ASSERT_THAT(a, IsOk()) << "revision " << r << " (" << it->second[0]
                           << ") does not replay on the reference";
    ASSERT_EQ(a->revision, r);
  }
  EXPECT_EQ(PolicyStateDigest((*reference)->StateCopy()), digest)
      << "the replicas' state differs from the reference replay";
}

class ReplicatedStoreTest : public ::testing::Test {
 protected:
  void StartCluster(int members) {
    EtcdCluster::Options options;
    options.members = members;
    absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster =
        EtcdCluster::Start(options);
    ASSERT_THAT(cluster, IsOk());
    cluster_ = *std::move(cluster);
  }
  void InitializeDemo(absl::string_view prefix = "/arbiter/test/") {
    ASSERT_THAT(
        ReplicatedStore::Initialize(
            Options(cluster_->client_endpoints(), prefix), DemoPolicySet()),
        IsOk());
  }

  std::unique_ptr<EtcdCluster> cluster_;
};

// ---- Basics
// ------------------------------------------------------------------

TEST_F(ReplicatedStoreTest, OpenNeedsAnInitializedLogAndInitializeOnlyOnce) {
  StartCluster(1);
  EXPECT_THAT(ReplicatedStore::Open(Options(cluster_->client_endpoints())),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("the log is empty")));
  InitializeDemo();
  EXPECT_THAT(
      ReplicatedStore::Initialize(Options(cluster_->client_endpoints()),
                                  DemoPolicySet()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not empty")));
  class NoLog : public PolicyLog {
    absl::Status Append(uint64_t, std::vector<std::string>) override {
      return absl::OkStatus();
    }
  } no_log;
  ReplicatedStoreOptions with_log = Options(cluster_->client_endpoints());
  with_log.store.log = &no_log;
  EXPECT_THAT(
      ReplicatedStore::Open(with_log),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("store.log")));

  std::unique_ptr<ReplicatedStore> a =
      MustOpen(Options(cluster_->client_endpoints()));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->revision(), DemoPolicySet().revision());
  EXPECT_EQ(a->StateDigest(), PolicyStateDigest(DemoPolicySet()));
  EXPECT_OK(a->Health());

  // A write's token, the decision's revision and its etcd revision agree.
  v1::Transaction txn;
  txn.set_actor("alice@acme.com");
  auto* m = txn.add_mutations()->mutable_set_project_member();
  m->set_project("prod/ml-prod");
  m->set_principal("frank@acme.com");
  m->set_role("project_write");
  ASSERT_OK_AND_ASSIGN(ReplicatedWrite w, a->Apply(txn));
  EXPECT_EQ(w.revision, DemoPolicySet().revision() + 1);
  EXPECT_GT(w.etcd_revision, 0);
  EXPECT_EQ(w.attempts, 1);
  AccessRequest frank;
  frank.principal = "frank@acme.com";
  frank.permission = "project.workload.create";
  frank.resource = "prod/ml-prod";
  ReadConsistency at_least;
  at_least.min_revision = w.revision;
  ASSERT_OK_AND_ASSIGN(ReplicatedDecision d, a->Check(frank, at_least));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.decision.revision, w.revision);
  EXPECT_EQ(d.etcd_revision, w.etcd_revision);
  // A token from the future: the bounded wait, then UNAVAILABLE.
  ReadConsistency future;
  future.min_revision = w.revision + 5;
  future.max_wait = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  EXPECT_THAT(a->Check(frank, future), StatusIs(absl::StatusCode::kUnavailable,
                                                HasSubstr("not received")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  // Lookups and keys at the token.
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Lookup> lookup,
                       a->Lookups(at_least));
  EXPECT_GE(lookup->revision(), w.revision);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const KeyIndex> keys, a->Keys(at_least));
  EXPECT_GE(keys->revision(), w.revision);
  EXPECT_THAT(a->Keys(future),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));

  // A refused transaction changes nothing, here or in etcd.
  const std::string before = a->StateDigest();
  v1::Transaction bad;
  bad.set_actor("mallory@acme.com");  // not allowed to manage members
  *bad.add_mutations() = txn.mutations(0);
  EXPECT_THAT(a->Apply(bad),
              StatusIs(absl::StatusCode::kPermissionDenied, ::testing::_));
  EXPECT_EQ(a->StateDigest(), before);
  EXPECT_EQ(a->revision(), w.revision);

  // A second replica opened now starts at the same state and chain.
  std::unique_ptr<ReplicatedStore> b =
      MustOpen(Options(cluster_->client_endpoints()));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->revision(), w.revision);
  EXPECT_EQ(b->StateDigest(), a->StateDigest());
  EXPECT_EQ(Serialized(b->AuditRecords()), Serialized(a->AuditRecords()));
}

// ---- Convergence
// -------------------------------------------------------------

TEST_F(ReplicatedStoreTest, RandomTransactionsThroughRandomReplicasConverge) {
  const uint64_t seed = Seed();
  const int per_writer = EnvInt("ARBITER_REPLICA_TXNS", 40);
  StartCluster(3);
  InitializeDemo();
  std::vector<std::unique_ptr<ReplicatedStore>> owned;
  std::vector<ReplicatedStore*> replicas;
  for (int i = 0; i < 3; ++i) {
    owned.push_back(MustOpen(Options(Rotated(*cluster_, i))));
    ASSERT_NE(owned.back(), nullptr);
    replicas.push_back(owned.back().get());
  }
  TxnBook book;
  Acks acks;
  std::atomic<int> token_reads{0}, stale_answers{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      Rng rng(seed * 31 + w);
      for (int n = 0; n < per_writer; ++n) {
        v1::Transaction txn = RandomDemoTransaction(rng, w, n);
        book.Add(TagOf(w, n), txn);
        ReplicatedStore& via = *replicas[rng.Below(3)];
        absl::StatusOr<ReplicatedWrite> r = via.Apply(txn);
        if (!r.ok()) {
          // Refusals of the transaction itself; never a lost race (retried)
          // nor an etcd failure on a healthy cluster.
          EXPECT_NE(r.status().code(), absl::StatusCode::kAborted)
              << r.status();
          EXPECT_NE(r.status().code(), absl::StatusCode::kUnavailable)
              << r.status();
          std::lock_guard<std::mutex> lock(acks.mu);
          ++acks.failures;
          continue;
        }
        acks.Ack(r->revision, TagOf(w, n));
        // Read it back through another replica with the token.
        ReplicatedStore& other = *replicas[rng.Below(3)];
        ReadConsistency at_least;
        at_least.min_revision = r->revision;
        absl::StatusOr<std::shared_ptr<const Engine>> e =
            other.Snapshot(at_least);
        EXPECT_THAT(e, IsOk());
        if (e.ok()) {
          ++token_reads;
          if ((*e)->revision() < r->revision) ++stale_answers;
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(stale_answers.load(), 0);
  ASSERT_FALSE(acks.by_revision.empty());
  const uint64_t head = acks.by_revision.rbegin()->first;
  // Every commit was acknowledged (no fault): revisions are consecutive.
  EXPECT_EQ(acks.by_revision.size(), head - DemoPolicySet().revision());
  std::cout << acks.by_revision.size() << " committed, " << acks.failures
            << " refused, " << token_reads.load() << " token reads\n";
  ExpectConverged(replicas, head);
  ExpectReferenceReplay(replicas[0]->AuditRecords(), head,
                        replicas[0]->StateDigest(), book, acks.by_revision);

  // Each replica applied the others' entries and skipped its own.
  uint64_t writes = 0;
  for (ReplicatedStore* r : replicas) writes += r->status().writes;
  EXPECT_EQ(writes, acks.by_revision.size());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (size_t i = 0; i < replicas.size(); ++i) {
    ReplicaStatus s = replicas[i]->status();
    while (s.own_entries_skipped < s.writes && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      s = replicas[i]->status();
    }
    EXPECT_EQ(s.own_entries_skipped, s.writes) << "replica " << i;
    EXPECT_EQ(s.entries_applied + s.writes, acks.by_revision.size())
        << "replica " << i << ": an entry applied twice or missed";
  }
  // Checkpoints were written, and a replica starting now bootstraps from
  // the newest one and the entries after it.
  uint64_t checkpoints = 0;
  for (ReplicatedStore* r : replicas)
    checkpoints += r->status().checkpoints_written;
  EXPECT_GT(checkpoints, 0u);
  std::unique_ptr<ReplicatedStore> late =
      MustOpen(Options(Rotated(*cluster_, 1)));
  ASSERT_NE(late, nullptr);
  EXPECT_GT(late->status().checkpoint_revision, DemoPolicySet().revision());
  replicas.push_back(late.get());
  ExpectConverged(replicas, head);
}

// Concurrent Applies on one replica share etcd transactions (PolicyStore's
// group commit); the writer chains their audit records as one batch, and a
// replica replaying the entries one by one must end with the same chain.
TEST_F(ReplicatedStoreTest, GroupCommitsReplayWithTheSameAuditChain) {
  const uint64_t seed = Seed();
  StartCluster(1);
  InitializeDemo();
  std::unique_ptr<ReplicatedStore> a =
      MustOpen(Options(cluster_->client_endpoints()));
  std::unique_ptr<ReplicatedStore> b =
      MustOpen(Options(cluster_->client_endpoints()));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  TxnBook book;
  Acks acks;
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      Rng rng(seed * 7 + w);
      for (int n = 0; n < 15; ++n) {
        v1::Transaction txn = RandomDemoTransaction(rng, w, n);
        book.Add(TagOf(w, n), txn);
        absl::StatusOr<ReplicatedWrite> r = a->Apply(txn);
        if (r.ok()) acks.Ack(r->revision, TagOf(w, n));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(acks.by_revision.empty());
  const uint64_t head = acks.by_revision.rbegin()->first;
  const ReplicaStatus s = a->status();
  std::cout << s.writes << " transactions in " << s.append_transactions
            << " etcd transactions\n";
  EXPECT_LT(s.append_transactions, s.writes) << "no group commit happened";
  ExpectConverged({a.get(), b.get()}, head);
  ExpectReferenceReplay(b->AuditRecords(), head, b->StateDigest(), book,
                        acks.by_revision);
  EXPECT_OK(b->Health());
}

// ---- Conflicts
// -----------------------------------------------------------------

TEST_F(ReplicatedStoreTest, ConcurrentAppliesAtOneRevisionExactlyOneWins) {
  const int rounds = EnvInt("ARBITER_REPLICA_ROUNDS", 30);
  StartCluster(3);
  InitializeDemo();
  std::unique_ptr<ReplicatedStore> a = MustOpen(Options(Rotated(*cluster_, 0)));
  std::unique_ptr<ReplicatedStore> b = MustOpen(Options(Rotated(*cluster_, 1)));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ReplicatedStore* replica[2] = {a.get(), b.get()};
  const char* const kRole[2] = {"project_write", "project_readonly"};
  int retried = 0;
  for (int round = 0; round < rounds; ++round) {
    const uint64_t base = a->revision();
    ASSERT_OK(b->WaitFor(base, absl::Now() + absl::Seconds(10)));
    // Both replicas change frank's role on ml-prod, each expecting `base`.
    absl::StatusOr<ReplicatedWrite> result[2] = {absl::UnknownError(""),
                                                 absl::UnknownError("")};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        v1::Transaction txn;
        txn.set_actor("alice@acme.com");
        txn.set_expected_revision(base);
        auto* m = txn.add_mutations()->mutable_set_project_member();
        m->set_project("prod/ml-prod");
        m->set_principal("frank@acme.com");
        m->set_role(kRole[i]);
        ++ready;
        while (ready.load() < 2) {
        }
        result[i] = replica[i]->Apply(txn);
      });
    }
    for (std::thread& t : threads) t.join();
    const int wins = result[0].ok() + result[1].ok();
    ASSERT_EQ(wins, 1) << "round " << round << ": " << result[0].status()
                       << " / " << result[1].status();
    const int winner = result[0].ok() ? 0 : 1;
    const absl::Status& lost = result[1 - winner].status();
    EXPECT_THAT(lost, StatusIs(absl::StatusCode::kAborted, ::testing::_));
    EXPECT_EQ(RefusalOf(lost), Refusal::kStaleRevision) << lost;
    EXPECT_EQ(result[winner]->revision, base + 1);
    // Both end with the winner's role, at base + 1 exactly.
    for (ReplicatedStore* r : replica) {
      ASSERT_OK(r->WaitFor(base + 1, absl::Now() + absl::Seconds(10)));
      EXPECT_EQ(r->revision(), base + 1);
      const v1::PolicySet state = r->StateCopy();
      int found = 0;
      for (const v1::Grant& g : state.grants()) {
        if (g.principal_id() == "usr_frank" &&
            g.project_id() == "prj_ml_prod") {
          EXPECT_EQ(g.role(), kRole[winner]);
          ++found;
        }
      }
      EXPECT_EQ(found, 1);
    }
  }

  // Without expected_revision a lost race is judged again on the new state:
  // compatible changes both commit; incompatible ones (each demoting the
  // other org owner) never both do.
  v1::Transaction promote;
  promote.set_actor("alice@acme.com");
  auto* p = promote.add_mutations()->mutable_set_org_role();
  p->set_principal("bob@acme.com");
  p->set_role("org_owner");
  for (int round = 0; round < rounds / 3 + 1; ++round) {
    ASSERT_THAT(a->Apply(promote), IsOk());
    const uint64_t base = a->revision();
    ASSERT_OK(b->WaitFor(base, absl::Now() + absl::Seconds(10)));
    absl::StatusOr<ReplicatedWrite> result[2] = {absl::UnknownError(""),
                                                 absl::UnknownError("")};
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        v1::Transaction txn;
        txn.set_actor(i == 0 ? "alice@acme.com" : "bob@acme.com");
        auto* m = txn.add_mutations()->mutable_set_org_role();
        m->set_principal(i == 0 ? "bob@acme.com" : "alice@acme.com");
        m->set_role("org_collaborator");
        ++ready;
        while (ready.load() < 2) {
        }
        result[i] = replica[i]->Apply(txn);
      });
    }
    for (std::thread& t : threads) t.join();
    ASSERT_EQ(result[0].ok() + result[1].ok(), 1)
        << result[0].status() << " / " << result[1].status();
    const int winner = result[0].ok() ? 0 : 1;
    if (result[winner]->attempts > 1) ++retried;
    const absl::Status& lost = result[1 - winner].status();
    EXPECT_TRUE(RefusalOf(lost) == Refusal::kPermissionDenied ||
                RefusalOf(lost) == Refusal::kLastOrgOwner)
        << lost;
    // Put alice back as the only owner if bob won.
    if (winner == 1) {
      v1::Transaction restore;
      restore.set_actor("bob@acme.com");
      auto* r1 = restore.add_mutations()->mutable_set_org_role();
      r1->set_principal("alice@acme.com");
      r1->set_role("org_owner");
      auto* r2 = restore.add_mutations()->mutable_set_org_role();
      r2->set_principal("bob@acme.com");
      r2->set_role("org_collaborator");
      ASSERT_THAT(b->Apply(restore), IsOk());
    }
    ASSERT_OK(a->WaitFor(b->revision(), absl::Now() + absl::Seconds(10)));
  }
  std::cout << "lost races: " << a->status().conflicts + b->status().conflicts
            << "; won after a lost race: " << retried << "\n";
  ASSERT_OK(b->WaitFor(a->revision(), absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(a->StateDigest(), b->StateDigest());
  EXPECT_GT(a->status().conflicts + b->status().conflicts, 0u);
}

// ---- Tokens
// ----------------------------------------------------------------------

TEST_F(ReplicatedStoreTest, TokenFromAWriteIsHonouredByEveryOtherReplica) {
  const int rounds = EnvInt("ARBITER_REPLICA_ROUNDS", 30) * 3;
  StartCluster(3);
  InitializeDemo();
  std::vector<std::unique_ptr<ReplicatedStore>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(MustOpen(Options(Rotated(*cluster_, i))));
    ASSERT_NE(replicas.back(), nullptr);
  }
  AccessRequest mallory;
  mallory.principal = "mallory@acme.com";
  mallory.permission = "project.view";
  mallory.resource = "research/ml-research";
  int behind_without_token = 0;
  for (int round = 0; round < rounds; ++round) {
    ReplicatedStore& writer = *replicas[round % 3];
    ReplicatedStore& reader = *replicas[(round + 1 + round / 3 % 2) % 3];
    // Toggle mallory's access to the private research/ml-research: grant
    // the cloud and the project, or revoke the cloud (and so the project).
    const bool grant = round % 2 == 0;
    v1::Transaction txn;
    txn.set_actor("alice@acme.com");
    if (grant) {
      auto* c = txn.add_mutations()->mutable_set_cloud_member();
      c->set_cloud("research");
      c->set_principal("mallory@acme.com");
      c->set_role("cloud_collaborator");
      auto* m = txn.add_mutations()->mutable_set_project_member();
      m->set_project("research/ml-research");
      m->set_principal("mallory@acme.com");
      m->set_role("project_readonly");
    } else {
      auto* m = txn.add_mutations()->mutable_remove_cloud_member();
      m->set_cloud("research");
      m->set_principal("mallory@acme.com");
    }
    ASSERT_OK_AND_ASSIGN(ReplicatedWrite w, writer.Apply(txn));
    if (reader.revision() < w.revision) ++behind_without_token;
    ReadConsistency at_least;
    at_least.min_revision = w.revision;
    ASSERT_OK_AND_ASSIGN(ReplicatedDecision d, reader.Check(mallory, at_least));
    ASSERT_GE(d.decision.revision, w.revision) << "round " << round;
    ASSERT_GE(d.etcd_revision, w.etcd_revision) << "round " << round;
    ASSERT_EQ(d.allowed(), grant) << "round " << round << ": " << d.decision;
  }
  std::cout << behind_without_token << " of " << rounds
            << " reads would have been stale without the token\n";
}

// ---- Faults
// ----------------------------------------------------------------------

// A replica process (replicated_store_child) and its output lines.
class ChildReplica {
 public:
  explicit ChildReplica(const std::vector<std::string>& args) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      std::string path = ARBITER_REPLICA_CHILD_PATH;
      argv.push_back(path.data());
      std::vector<std::string> copy = args;
      for (std::string& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    fd_ = out[0];
    reader_ = std::thread([this] {
      std::string buffer;
      char chunk[4096];
      while (true) {
        const ssize_t n = read(fd_, chunk, sizeof(chunk));
        if (n <= 0) break;
        buffer.append(chunk, n);
        size_t nl;
        while ((nl = buffer.find('\n')) != std::string::npos) {
          std::lock_guard<std::mutex> lock(mu_);
          lines_.push_back(buffer.substr(0, nl));
          buffer.erase(0, nl + 1);
        }
      }
    });
  }
  ~ChildReplica() {
    Kill();
    if (reader_.joinable()) reader_.join();
    close(fd_);
  }
  // After Kill or Wait: every line printed is in lines().
  void Drain() {
    if (reader_.joinable()) reader_.join();
  }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
  }
  // Waits for exit; true if it exited with 0.
  bool Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (pid_ > 0 && absl::Now() < deadline) {
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (pid_ > 0) return false;
    if (reader_.joinable()) reader_.join();
    return WIFEXITED(status_) && WEXITSTATUS(status_) == 0;
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

std::string Joined(const std::vector<std::string>& endpoints) {
  return absl::StrJoin(endpoints, ",");
}

// The acks of a writer child.
void CollectChildAcks(ChildReplica& child, Acks& acks) {
  for (const std::string& line : child.lines()) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    uint64_t revision = 0;
    if (f.size() == 3 && f[0] == "ack" && absl::SimpleAtoi(f[1], &revision)) {
      acks.Ack(revision, f[2]);
    }
  }
}

TEST_F(ReplicatedStoreTest, KillMemberLeaderAndReplicaProcessThenConverge) {
  const uint64_t seed = Seed();
  const int cycles = EnvInt("ARBITER_REPLICA_CYCLES", 1);
  StartCluster(3);
  InitializeDemo();
  std::unique_ptr<ReplicatedStore> a = MustOpen(Options(Rotated(*cluster_, 0)));
  std::unique_ptr<ReplicatedStore> b = MustOpen(Options(Rotated(*cluster_, 1)));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  TxnBook book;
  Acks acks;
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::thread writer([&] {
    Rng rng(seed);
    ReplicatedStore* via[2] = {a.get(), b.get()};
    for (int n = 0; !stop.load(); ++n) {
      v1::Transaction txn = RandomDemoTransaction(rng, 0, n);
      book.Add(TagOf(0, n), txn);
      absl::StatusOr<ReplicatedWrite> r = via[rng.Below(2)]->Apply(txn);
      if (r.ok()) {
        acks.Ack(r->revision, TagOf(0, n));
      } else {
        ++failed;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  Rng rng(seed + 1);
  int child_writer = 1;
  auto start_child = [&](uint64_t child_seed) {
    book.AddGenerated(child_writer, child_seed, 400);
    return std::make_unique<ChildReplica>(std::vector<std::string>{
        Joined(Rotated(*cluster_, 2)), "/arbiter/test/", "write",
        absl::StrCat(child_writer), absl::StrCat(child_seed), "400"});
  };
  std::unique_ptr<ChildReplica> child = start_child(seed + 100);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    absl::SleepFor(absl::Milliseconds(700 + rng.Below(600)));
    // kill -9 a member that does not lead, then restart it.
    ASSERT_OK_AND_ASSIGN(int leader, cluster_->Leader());
    const int follower_member = (leader + 1 + rng.Below(2)) % 3;
    std::cout << "cycle " << cycle << ": kill -9 member " << follower_member
              << "\n";
    ASSERT_OK(cluster_->Kill(follower_member));
    absl::SleepFor(absl::Milliseconds(800 + rng.Below(400)));
    ASSERT_OK(cluster_->Restart(follower_member));
    ASSERT_OK(cluster_->WaitHealthy(absl::Seconds(30)));
    // kill -9 the leader.
    ASSERT_OK_AND_ASSIGN(leader, cluster_->Leader());
    std::cout << "cycle " << cycle << ": kill -9 leader " << leader << "\n";
    ASSERT_OK(cluster_->Kill(leader));
    absl::SleepFor(absl::Milliseconds(800 + rng.Below(400)));
    ASSERT_OK(cluster_->Restart(leader));
    ASSERT_OK(cluster_->WaitHealthy(absl::Seconds(30)));
    // kill -9 the replica process at a random moment, start another.
    absl::SleepFor(absl::Milliseconds(rng.Below(800)));
    std::cout << "cycle " << cycle << ": kill -9 replica process\n";
    child->Kill();
    child->Drain();
    CollectChildAcks(*child, acks);
    child.reset();
    ++child_writer;
    child = start_child(seed + 100 + child_writer);
    // Freeze a member (a partition) for 2 s.
    const int paused = rng.Below(3);
    std::cout << "cycle " << cycle << ": SIGSTOP member " << paused << "\n";
    ASSERT_OK(cluster_->Pause(paused));
    absl::SleepFor(absl::Seconds(2));
    ASSERT_OK(cluster_->Resume(paused));
    ASSERT_OK(cluster_->WaitHealthy(absl::Seconds(30)));
  }
  absl::SleepFor(absl::Milliseconds(500));
  stop = true;
  writer.join();
  child->Kill();
  child->Drain();
  CollectChildAcks(*child, acks);
  child.reset();

  // A write whose outcome etcd could not confirm may still commit a little
  // later (a proposal held by a member during an election): wait until the
  // log is quiet.
  for (uint64_t last = 0, quiet = 0; quiet < 3;) {
    absl::SleepFor(absl::Seconds(1));
    const uint64_t now = a->revision();
    quiet = now == last ? quiet + 1 : 0;
    last = now;
  }
  // The head: what a fresh replica reads. Every acknowledged write, of any
  // replica, must be in the log exactly once, at its revision.
  std::unique_ptr<ReplicatedStore> fresh =
      MustOpen(Options(Rotated(*cluster_, 1)));
  ASSERT_NE(fresh, nullptr);
  const uint64_t head = fresh->revision();
  std::cout << acks.by_revision.size() << " acknowledged of "
            << head - DemoPolicySet().revision() << " committed; "
            << failed.load() << " in-process writes failed\n";
  ExpectConverged({a.get(), b.get(), fresh.get()}, head);
  ExpectReferenceReplay(fresh->AuditRecords(), head, fresh->StateDigest(), book,
                        acks.by_revision);
  // A replica process started now converges too.
  ChildReplica reader({Joined(Rotated(*cluster_, 2)), "/arbiter/test/",
                       "digest", absl::StrCat(head)});
  ASSERT_TRUE(reader.Wait(absl::Seconds(60)));
  const std::vector<std::string> lines = reader.lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], absl::StrCat("digest ", head, " ", fresh->StateDigest()));
}

// A replica whose only member is frozen cannot prove it is current: token
// reads and health fail closed within the bound, and recover after.
TEST_F(ReplicatedStoreTest, PartitionedReplicaFailsClosedForTokensUntilHealed) {
  StartCluster(3);
  InitializeDemo();
  std::unique_ptr<ReplicatedStore> a = MustOpen(Options(Rotated(*cluster_, 0)));
  ReplicatedStoreOptions only2 = Options({cluster_->client_endpoint(2)});
  only2.write_timeout = absl::Seconds(2);
  std::unique_ptr<ReplicatedStore> c = MustOpen(only2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_OK(cluster_->Pause(2));
  const absl::Time paused = absl::Now();
  // Writes keep committing through the other members.
  v1::Transaction txn;
  txn.set_actor("alice@acme.com");
  auto* m = txn.add_mutations()->mutable_set_project_member();
  m->set_project("prod/web");
  m->set_principal("frank@acme.com");
  m->set_role("project_owner");
  ASSERT_OK_AND_ASSIGN(ReplicatedWrite w, a->Apply(txn));
  AccessRequest frank;
  frank.principal = "frank@acme.com";
  frank.permission = "project.members.manage";
  frank.resource = "prod/web";
  // Until the bound, c may still say it is healthy but never answers the
  // token with an older state.
  ReadConsistency at_least;
  at_least.min_revision = w.revision;
  at_least.max_wait = absl::Milliseconds(300);
  while (c->Health().ok()) {
    ASSERT_LT(absl::Now() - paused, absl::Seconds(8))
        << "still healthy though cut off";
    absl::StatusOr<ReplicatedDecision> d = c->Check(frank, at_least);
    if (d.ok()) ASSERT_GE(d->decision.revision, w.revision);
    absl::SleepFor(absl::Milliseconds(100));
  }
  const absl::Duration detected = absl::Now() - paused;
  std::cout << "unhealthy after " << detected << "\n";
  EXPECT_GE(detected,
            absl::Seconds(4));  // max_staleness 5 s after the last proof
  EXPECT_THAT(c->Health(),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_THAT(c->Check(frank, at_least),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  // Without a token it answers from what it has (bounded-stale by default)...
  ASSERT_OK_AND_ASSIGN(ReplicatedDecision stale, c->Check(frank));
  EXPECT_LT(stale.decision.revision, w.revision);
  // A write through it fails clearly.
  v1::Transaction txn2 = txn;
  txn2.mutable_mutations(0)->mutable_set_project_member()->set_role(
      "project_write");
  EXPECT_THAT(c->Apply(txn2),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));

  ASSERT_OK(cluster_->Resume(2));
  const absl::Time resumed = absl::Now();
  at_least.max_wait = absl::Seconds(10);
  while (!c->Health().ok()) {
    ASSERT_LT(absl::Now() - resumed, absl::Seconds(15));
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::cout << "healthy again after " << absl::Now() - resumed << "\n";
  ASSERT_OK_AND_ASSIGN(ReplicatedDecision d, c->Check(frank, at_least));
  EXPECT_TRUE(d.allowed());
  EXPECT_GE(d.decision.revision, w.revision);
}

TEST_F(ReplicatedStoreTest, FailClosedWhenUnhealthyAppliesToReadsWithoutToken) {
  StartCluster(3);
  InitializeDemo();
  ReplicatedStoreOptions only1 = Options({cluster_->client_endpoint(1)});
  only1.fail_closed_when_unhealthy = true;
  std::unique_ptr<ReplicatedStore> c = MustOpen(only1);
  ASSERT_NE(c, nullptr);
  AccessRequest alice;
  alice.principal = "alice@acme.com";
  alice.permission = "project.view";
  alice.resource = "prod/web";
  ASSERT_OK_AND_ASSIGN(ReplicatedDecision d, c->Check(alice));
  EXPECT_TRUE(d.allowed());
  ASSERT_OK(cluster_->Pause(1));
  const absl::Time paused = absl::Now();
  while (c->Health().ok()) {
    ASSERT_LT(absl::Now() - paused, absl::Seconds(8));
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(c->Check(alice),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_THAT(c->Snapshot(),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  ASSERT_OK(cluster_->Resume(1));
  const absl::Time resumed = absl::Now();
  while (!c->Health().ok()) {
    ASSERT_LT(absl::Now() - resumed, absl::Seconds(15));
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_THAT(c->Check(alice), IsOk());
}

// A replica that fell behind a compaction and a checkpoint that truncated
// the entries it needed reloads the whole state from the checkpoint.
TEST_F(ReplicatedStoreTest, CompactedReplicaReloadsFromTheCheckpoint) {
  StartCluster(3);
  InitializeDemo();
  ReplicatedStoreOptions options = Options(Rotated(*cluster_, 0));
  options.keep_entries = 1;
  options.checkpoint_interval = 0;
  std::unique_ptr<ReplicatedStore> a = MustOpen(options);
  ReplicatedStoreOptions only2 = options;
  only2.endpoints = {cluster_->client_endpoint(2)};
  std::unique_ptr<ReplicatedStore> c = MustOpen(only2);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(c, nullptr);
  // c's only member goes away; its watch will have to start again.
  ASSERT_OK(cluster_->Kill(2));
  Rng rng(7);
  int committed = 0;
  for (int n = 0; committed < 12 && n < 200; ++n) {
    committed += a->Apply(RandomDemoTransaction(rng, 0, n)).ok();
  }
  ASSERT_OK_AND_ASSIGN(uint64_t checkpoint, a->WriteCheckpoint());
  EXPECT_EQ(checkpoint, a->revision());
  // Compact etcd's history up to now.
  replication::EtcdClientOptions client_options;
  client_options.endpoints = Rotated(*cluster_, 0);
  client_options.endpoints.pop_back();  // not the dead member
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<replication::EtcdClient> client,
                       replication::EtcdClient::Create(client_options));
  ASSERT_OK_AND_ASSIGN(replication::EtcdRangeResult now,
                       client->Range("/arbiter/test/head"));
  ASSERT_THAT(client->Compact(now.revision, /*physical=*/true), IsOk());
  ASSERT_OK(cluster_->Restart(2));
  ASSERT_OK(c->WaitFor(a->revision(), absl::Now() + absl::Seconds(30)));
  const ReplicaStatus s = c->status();
  EXPECT_GE(s.rebootstraps, 1);
  EXPECT_EQ(s.resets, 1u);
  EXPECT_EQ(c->StateDigest(), a->StateDigest());
  EXPECT_EQ(Serialized(c->AuditRecords()), Serialized(a->AuditRecords()));
  // And it keeps following.
  for (int n = 200; n < 260; ++n) {
    if (a->Apply(RandomDemoTransaction(rng, 0, n)).ok()) break;
  }
  ASSERT_OK(c->WaitFor(a->revision(), absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(c->StateDigest(), a->StateDigest());
}

// Replicas must chain audit records alike (replica_audit.h): one
// configured otherwise is refused when it opens.
TEST_F(ReplicatedStoreTest, ReplicaWithOtherAuditSettingsIsRefused) {
  StartCluster(1);
  InitializeDemo();
  ReplicatedStoreOptions other = Options(cluster_->client_endpoints());
  other.store.audit.checkpoint_interval = 2;  // the log's is 5
  EXPECT_THAT(ReplicatedStore::Open(other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("checkpoint_interval 5")));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const AuditSigningKey> key,
                       AuditSigningKey::Generate());
  other = Options(cluster_->client_endpoints());
  other.store.audit.signing_key = key;
  EXPECT_THAT(ReplicatedStore::Open(other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(key->key_id())));
  EXPECT_THAT(ReplicatedStore::Open(Options(cluster_->client_endpoints())),
              IsOk());
}

// An entry whose audit records do not continue the chain (another writer,
// a bug, tampering) stops every replica closed: no read with a token, no
// write, and the reason in Health().
TEST_F(ReplicatedStoreTest, EntryBreakingTheAuditChainStopsReplicasClosed) {
  StartCluster(1);
  InitializeDemo();
  std::unique_ptr<ReplicatedStore> a =
      MustOpen(Options(cluster_->client_endpoints()));
  ASSERT_NE(a, nullptr);
  // The next entry as a plain store would log it, with one hash altered.
  ReplicatedStoreOptions o = Options(cluster_->client_endpoints());
  PolicyStoreOptions store_options;
  store_options.audit.checkpoint_interval = o.store.audit.checkpoint_interval;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<PolicyStore> plain,
                       PolicyStore::Create(DemoPolicySet(), store_options));
  Rng rng(11);
  absl::StatusOr<AppliedTransaction> applied = absl::UnknownError("");
  for (int n = 0; n < 50 && !applied.ok(); ++n) {
    applied = plain->Apply(RandomDemoTransaction(rng, 0, n));
  }
  ASSERT_THAT(applied, IsOk());
  v1::LogRecord record;
  record.set_revision(applied->revision);
  *record.mutable_delta() = applied->delta;
  for (const v1::AuditRecord& r : applied->audit) *record.add_audit() = r;
  std::string* hash = record.mutable_audit(0)->mutable_hash();
  (*hash)[0] = static_cast<char>((*hash)[0] ^ 1);
  replication::EtcdClientOptions client_options;
  client_options.endpoints = cluster_->client_endpoints();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<replication::EtcdClient> client,
                       replication::EtcdClient::Create(client_options));
  replication::EtcdLogOptions log_options;
  log_options.prefix = "/arbiter/test/";
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<replication::EtcdLog> log,
      replication::EtcdLog::Open(std::move(client), log_options));
  ASSERT_THAT(log->Append(applied->revision - 1, record.SerializeAsString()),
              IsOk());

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (a->Health().ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(a->Health(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("audit chain")));
  EXPECT_EQ(a->revision(), DemoPolicySet().revision());
  ReadConsistency at_least;
  at_least.min_revision = applied->revision;
  EXPECT_THAT(a->Snapshot(at_least),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("DATA_LOSS")));
  EXPECT_THAT(a->Check(AccessRequest{}),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_THAT(a->Apply(RandomDemoTransaction(rng, 0, 99)),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  // A replica opening now refuses the log as well.
  EXPECT_THAT(ReplicatedStore::Open(Options(cluster_->client_endpoints())),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

}  // namespace
}  // namespace arbiter
