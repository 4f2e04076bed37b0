// EtcdClient and EtcdWatcher against real etcd members on loopback.

#include "src/replication/etcd_client.h"

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/replication/etcd_watcher.h"
#include "tests/replication/etcd_cluster.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace replication {
namespace {

using ::arbiter::testing::EtcdCluster;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::unique_ptr<EtcdClient> NewClient(
    std::vector<std::string> endpoints,
    absl::Duration timeout = absl::Seconds(2)) {
  EtcdClientOptions options;
  options.endpoints = std::move(endpoints);
  options.request_timeout = timeout;
  absl::StatusOr<std::unique_ptr<EtcdClient>> client =
      EtcdClient::Create(options);
  EXPECT_THAT(client, IsOk());
  return client.ok() ? *std::move(client) : nullptr;
}

EtcdCluster::Options ThreeMembers() {
  EtcdCluster::Options options;
  options.members = 3;
  return options;
}

// One single-member cluster for the whole suite; each test uses its own key
// prefix.
class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<EtcdCluster>> cluster =
        EtcdCluster::Start({});
    ASSERT_THAT(cluster, IsOk());
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    client_ = NewClient(cluster_->client_endpoints());
    ASSERT_NE(client_, nullptr);
    prefix_ = absl::StrCat(
        "/", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        "/");
  }
  std::string Key(absl::string_view name) {
    return absl::StrCat(prefix_, name);
  }

  static EtcdCluster* cluster_;
  std::unique_ptr<EtcdClient> client_;
  std::string prefix_;
};
EtcdCluster* EtcdClientTest::cluster_ = nullptr;

TEST(EtcdClientOptionsTest, RejectsBadEndpoints) {
  EtcdClientOptions options;
  EXPECT_THAT(
      EtcdClient::Create(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no endpoints")));
  options.endpoints = {"127.0.0.1"};
  EXPECT_THAT(EtcdClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"127.0.0.1\": expected host:port")));
  options.endpoints = {"https://127.0.0.1:9"};
  EXPECT_THAT(EtcdClient::Create(options),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("TLS")));
  options.endpoints = {"http://127.0.0.1:70000"};
  EXPECT_THAT(EtcdClient::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  // (Loopback ports nothing listens on: the client connects eagerly.)
  options.endpoints = {"http://127.0.0.1:9/", "127.0.0.1:7"};
  ASSERT_THAT(EtcdClient::Create(options), IsOk());
  EXPECT_EQ((*EtcdClient::Create(options))->endpoint(0), "127.0.0.1:9");
  EXPECT_EQ((*EtcdClient::Create(options))->endpoint(1), "127.0.0.1:7");
}

TEST(PrefixRangeEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(PrefixRangeEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixRangeEnd("ab"), "ac");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixRangeEnd(""), std::string(1, '\0'));
}

TEST_F(EtcdClientTest, PutThenRangeReturnsTheKeyWithItsRevisions) {
  ASSERT_OK_AND_ASSIGN(int64_t r1, client_->Put(Key("a"), "one"));
  ASSERT_OK_AND_ASSIGN(int64_t r2, client_->Put(Key("a"), "two"));
  EXPECT_GT(r2, r1);
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult got, client_->Range(Key("a")));
  ASSERT_THAT(got.kvs, SizeIs(1));
  EXPECT_EQ(got.kvs[0].key, Key("a"));
  EXPECT_EQ(got.kvs[0].value, "two");
  EXPECT_EQ(got.kvs[0].create_revision, r1);
  EXPECT_EQ(got.kvs[0].mod_revision, r2);
  EXPECT_EQ(got.kvs[0].version, 2);
  EXPECT_GE(got.revision, r2);

  // As of r1, the first value.
  EtcdRangeOptions at;
  at.revision = r1;
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult old, client_->Range(Key("a"), at));
  ASSERT_THAT(old.kvs, SizeIs(1));
  EXPECT_EQ(old.kvs[0].value, "one");

  ASSERT_OK_AND_ASSIGN(EtcdRangeResult missing, client_->Range(Key("absent")));
  EXPECT_THAT(missing.kvs, SizeIs(0));
}

TEST_F(EtcdClientTest, PrefixRangePagesAndReadsAtOneRevision) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_THAT(client_->Put(Key(absl::StrFormat("k%03d", i)), absl::StrCat(i)),
                IsOk());
  }
  EtcdRangeOptions page;
  page.range_end = PrefixRangeEnd(prefix_);
  page.limit = 10;
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult first, client_->Range(prefix_, page));
  EXPECT_THAT(first.kvs, SizeIs(10));
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.count, 25);

  // RangeAll: a write after the first page is not seen (one revision).
  ASSERT_OK_AND_ASSIGN(int64_t before, client_->Put(Key("k000"), "0"));
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult all,
                       client_->RangeAll(prefix_, PrefixRangeEnd(prefix_),
                                         before, /*page_size=*/7));
  ASSERT_THAT(all.kvs, SizeIs(25));
  for (int i = 0; i < 25; ++i) {
    EXPECT_EQ(all.kvs[i].key, Key(absl::StrFormat("k%03d", i)));
  }
  ASSERT_THAT(client_->Put(Key("k999"), "late"), IsOk());
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult again,
                       client_->RangeAll(prefix_, PrefixRangeEnd(prefix_),
                                         before, /*page_size=*/4));
  EXPECT_THAT(again.kvs, SizeIs(25));
  EXPECT_EQ(again.revision, before);
}

TEST_F(EtcdClientTest, TxnComparesEveryTarget) {
  // Absent: create_revision == 0 and version == 0.
  EtcdTxn create;
  create.compares.push_back(
      EtcdCompare::CreateRevision(Key("x"), EtcdCompare::Op::kEqual, 0));
  create.success.push_back(EtcdOp::Put(Key("x"), "v1"));
  create.failure.push_back(EtcdOp::Get(Key("x")));
  ASSERT_OK_AND_ASSIGN(EtcdTxnResult created, client_->Txn(create));
  EXPECT_TRUE(created.succeeded);
  const int64_t rev = created.revision;

  // The same txn again fails and runs the failure branch (a Get).
  ASSERT_OK_AND_ASSIGN(EtcdTxnResult again, client_->Txn(create));
  EXPECT_FALSE(again.succeeded);
  ASSERT_THAT(again.results, SizeIs(1));
  ASSERT_THAT(again.results[0].range.kvs, SizeIs(1));
  EXPECT_EQ(again.results[0].range.kvs[0].value, "v1");
  EXPECT_EQ(again.revision, rev);  // nothing written

  using Op = EtcdCompare::Op;
  struct Case {
    EtcdCompare compare;
    bool holds;
  };
  const std::vector<Case> cases = {
      {EtcdCompare::ModRevision(Key("x"), Op::kEqual, rev), true},
      {EtcdCompare::ModRevision(Key("x"), Op::kEqual, rev - 1), false},
      {EtcdCompare::ModRevision(Key("x"), Op::kLess, rev + 1), true},
      {EtcdCompare::ModRevision(Key("x"), Op::kGreater, rev), false},
      {EtcdCompare::CreateRevision(Key("x"), Op::kEqual, rev), true},
      {EtcdCompare::CreateRevision(Key("x"), Op::kNotEqual, rev), false},
      {EtcdCompare::Version(Key("x"), Op::kEqual, 1), true},
      {EtcdCompare::Version(Key("x"), Op::kGreater, 1), false},
      {EtcdCompare::Value(Key("x"), Op::kEqual, "v1"), true},
      {EtcdCompare::Value(Key("x"), Op::kEqual, "v2"), false},
      {EtcdCompare::Value(Key("x"), Op::kNotEqual, "v2"), true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EtcdTxn probe;
    probe.compares.push_back(cases[i].compare);
    probe.success.push_back(EtcdOp::Get(Key("x")));
    ASSERT_OK_AND_ASSIGN(EtcdTxnResult r, client_->Txn(probe));
    EXPECT_EQ(r.succeeded, cases[i].holds) << "case " << i;
  }

  // PutIf maps a failed compare to FailedPrecondition and writes nothing.
  EXPECT_THAT(client_->PutIf(Key("x"), "v3",
                             {EtcdCompare::Value(Key("x"), Op::kEqual, "zz")}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("a compare failed")));
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult x, client_->Range(Key("x")));
  EXPECT_EQ(x.kvs[0].value, "v1");
  ASSERT_OK_AND_ASSIGN(
      int64_t put_rev,
      client_->PutIf(Key("x"), "v3",
                     {EtcdCompare::Value(Key("x"), Op::kEqual, "v1")}));
  EXPECT_GT(put_rev, rev);
}

TEST_F(EtcdClientTest, CompareAndSwapFromTwoClientsExactlyOneWins) {
  const uint64_t seed = absl::Uniform<uint64_t>(absl::BitGen());
  std::cout << "seed " << seed << "\n";
  std::unique_ptr<EtcdClient> other = NewClient(cluster_->client_endpoints());
  ASSERT_THAT(client_->Put(Key("counter"), "0"), IsOk());
  int wins[2] = {0, 0};
  const int rounds = 200;
  for (int round = 0; round < rounds; ++round) {
    ASSERT_OK_AND_ASSIGN(EtcdRangeResult cur, client_->Range(Key("counter")));
    const int64_t seen = cur.kvs[0].mod_revision;
    const std::string next = absl::StrCat(round + 1);
    absl::StatusOr<int64_t> results[2];
    // Both race with the same expectation.
    std::thread t0([&] {
      results[0] =
          client_->PutIf(Key("counter"), next,
                         {EtcdCompare::ModRevision(
                             Key("counter"), EtcdCompare::Op::kEqual, seen)});
    });
    std::thread t1([&] {
      results[1] =
          other->PutIf(Key("counter"), next,
                       {EtcdCompare::ModRevision(
                           Key("counter"), EtcdCompare::Op::kEqual, seen)});
    });
    t0.join();
    t1.join();
    const int ok = results[0].ok() + results[1].ok();
    ASSERT_EQ(ok, 1) << "round " << round << ": " << results[0].status()
                     << " / " << results[1].status() << " (seed " << seed
                     << ")";
    for (int c = 0; c < 2; ++c) {
      if (results[c].ok()) {
        ++wins[c];
      } else {
        EXPECT_THAT(results[c], StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr("counter")));
      }
    }
  }
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult end, client_->Range(Key("counter")));
  EXPECT_EQ(end.kvs[0].value, absl::StrCat(rounds));
  EXPECT_EQ(end.kvs[0].version, rounds + 1);  // one write per round, no more
  EXPECT_EQ(wins[0] + wins[1], rounds);
}

TEST_F(EtcdClientTest, DeleteRangeCountsAndCompactionIsReported) {
  ASSERT_OK_AND_ASSIGN(int64_t r1, client_->Put(Key("d1"), "1"));
  ASSERT_THAT(client_->Put(Key("d2"), "2"), IsOk());
  ASSERT_OK_AND_ASSIGN(EtcdDeleteResult del,
                       client_->DeleteRange(prefix_, PrefixRangeEnd(prefix_)));
  EXPECT_EQ(del.deleted, 2);
  ASSERT_OK_AND_ASSIGN(EtcdDeleteResult none,
                       client_->DeleteRange(prefix_, PrefixRangeEnd(prefix_)));
  EXPECT_EQ(none.deleted, 0);

  ASSERT_THAT(client_->Compact(del.revision, /*physical=*/true), IsOk());
  EtcdRangeOptions at;
  at.revision = r1;
  absl::StatusOr<EtcdRangeResult> old = client_->Range(Key("d1"), at);
  EXPECT_THAT(old,
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("compacted")));
  EXPECT_TRUE(IsEtcdCompacted(old.status()));
  EXPECT_THAT(old.status().message(), HasSubstr(cluster_->client_endpoint(0)));
  EXPECT_THAT(old.status().message(), HasSubstr("Range"));

  at.revision = del.revision + 1000000;
  absl::StatusOr<EtcdRangeResult> future = client_->Range(Key("d1"), at);
  EXPECT_THAT(future, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("future revision")));
  EXPECT_FALSE(IsEtcdCompacted(future.status()));
}

TEST_F(EtcdClientTest, StatusAndMemberList) {
  ASSERT_OK_AND_ASSIGN(EtcdMemberStatus status, client_->Status(0));
  EXPECT_NE(status.member_id, 0u);
  EXPECT_EQ(status.leader_id, status.member_id);  // a single member leads
  EXPECT_GT(status.raft_index, 0u);
  EXPECT_THAT(status.version, HasSubstr("3."));
  ASSERT_OK_AND_ASSIGN(std::vector<EtcdMember> members, client_->MemberList());
  ASSERT_THAT(members, SizeIs(1));
  EXPECT_EQ(members[0].id, status.member_id);
  EXPECT_THAT(
      members[0].client_urls,
      ElementsAre(absl::StrCat("http://", cluster_->client_endpoint(0))));
}

TEST_F(EtcdClientTest, EtcdLimitsAreInvalidArgument) {
  EtcdTxn big;
  for (int i = 0; i < 129; ++i) {
    big.success.push_back(EtcdOp::Put(Key(absl::StrCat("op", i)), "v"));
  }
  EXPECT_THAT(client_->Txn(big), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("too many operations")));
  const std::string value(1600 * 1024, 'x');  // > 1.5 MiB
  EXPECT_THAT(client_->Put(Key("huge"), value),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("request is too large")));
}

TEST_F(EtcdClientTest, DeadMemberIsUnavailableNamingTheMemberAndCall) {
  // A port nothing listens on (bound, then closed... by the kernel's choice).
  std::unique_ptr<EtcdClient> dead =
      NewClient({"127.0.0.1:9"}, absl::Milliseconds(500));
  absl::StatusOr<EtcdRangeResult> r = dead->Range("/k");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable,
                          HasSubstr("etcd Range \"/k\" on 127.0.0.1:9")));
  absl::StatusOr<int64_t> w = dead->Put("/k", "v");
  EXPECT_THAT(w, StatusIs(absl::StatusCode::kUnavailable,
                          HasSubstr("etcd Put \"/k\" on 127.0.0.1:9")));
  // Never sent: not "outcome unknown".
  EXPECT_FALSE(IsEtcdOutcomeUnknown(w.status()));

  // With a live member second, reads and writes fail over to it.
  std::unique_ptr<EtcdClient> mixed = NewClient(
      {"127.0.0.1:9", cluster_->client_endpoint(0)}, absl::Milliseconds(500));
  EXPECT_THAT(mixed->Put(Key("f"), "v"), IsOk());
  EXPECT_THAT(mixed->Range(Key("f")), IsOk());
  EXPECT_EQ(mixed->preferred_endpoint(), 1);
}

TEST_F(EtcdClientTest, WatchDeliversEveryRevisionInOrderFromAStartRevision) {
  ASSERT_OK_AND_ASSIGN(int64_t first, client_->Put(Key("w"), "0"));
  for (int i = 1; i < 10; ++i) {
    ASSERT_THAT(client_->Put(Key("w"), absl::StrCat(i)), IsOk());
  }
  ASSERT_THAT(client_->Put("/not-watched", "x"), IsOk());
  EtcdWatchOptions options;
  options.key = prefix_;
  options.range_end = PrefixRangeEnd(prefix_);
  options.start_revision = first;
  std::unique_ptr<EtcdWatcher> watcher = client_->Watch(options);
  std::vector<std::string> values;
  int64_t last = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (values.size() < 15 && absl::Now() < give_up) {
    if (values.size() == 10) {
      // Then live events.
      for (int i = 10; i < 15; ++i) {
        ASSERT_THAT(client_->Put(Key("w"), absl::StrCat(i)), IsOk());
      }
    }
    EtcdWatchBatch batch;
    absl::Status s = watcher->Next(absl::Now() + absl::Seconds(1), &batch);
    if (absl::IsDeadlineExceeded(s)) continue;
    ASSERT_THAT(s, IsOk());
    for (const EtcdWatchEvent& e : batch.events) {
      EXPECT_GT(e.kv.mod_revision, last);
      last = e.kv.mod_revision;
      EXPECT_EQ(e.type, EtcdWatchEvent::Type::kPut);
      values.push_back(e.kv.value);
    }
  }
  ASSERT_THAT(values, SizeIs(15));
  for (int i = 0; i < 15; ++i) EXPECT_EQ(values[i], absl::StrCat(i));
  EXPECT_TRUE(watcher->state().connected);
  EXPECT_EQ(watcher->state().next_revision, last + 1);

  // A delete is reported with the delete's revision.
  ASSERT_OK_AND_ASSIGN(EtcdDeleteResult del, client_->DeleteRange(Key("w")));
  EtcdWatchBatch batch;
  ASSERT_THAT(watcher->Next(absl::Now() + absl::Seconds(5), &batch), IsOk());
  ASSERT_THAT(batch.events, SizeIs(1));
  EXPECT_EQ(batch.events[0].type, EtcdWatchEvent::Type::kDelete);
  EXPECT_EQ(batch.events[0].kv.mod_revision, del.revision);

  // Progress on request; Cancel ends Next promptly from another thread.
  watcher->RequestProgress();
  ASSERT_THAT(watcher->Next(absl::Now() + absl::Seconds(5), &batch), IsOk());
  EXPECT_TRUE(batch.progress);
  EXPECT_GE(batch.header_revision, del.revision);
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(100));
    watcher->Cancel();
  });
  const absl::Time start = absl::Now();
  EXPECT_THAT(watcher->Next(absl::Now() + absl::Seconds(30), &batch),
              StatusIs(absl::StatusCode::kCancelled, ::testing::_));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  canceller.join();
  EXPECT_THAT(watcher->Next(absl::Now() + absl::Seconds(1), &batch),
              StatusIs(absl::StatusCode::kCancelled, ::testing::_));
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionReportsTheCompactRevision) {
  ASSERT_OK_AND_ASSIGN(int64_t r1, client_->Put(Key("c"), "1"));
  ASSERT_OK_AND_ASSIGN(int64_t r2, client_->Put(Key("c"), "2"));
  ASSERT_OK_AND_ASSIGN(int64_t r3, client_->Put(Key("c"), "3"));
  ASSERT_THAT(client_->Compact(r3, /*physical=*/true), IsOk());
  EtcdWatchOptions options;
  options.key = Key("c");
  options.start_revision = r1;
  std::unique_ptr<EtcdWatcher> watcher = client_->Watch(options);
  EtcdWatchBatch batch;
  absl::Status s = watcher->Next(absl::Now() + absl::Seconds(10), &batch);
  EXPECT_THAT(s,
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("compacted")));
  EXPECT_TRUE(IsEtcdCompacted(s));
  EXPECT_EQ(EtcdCompactRevision(s), r3);
  EXPECT_GT(r3, r2);
  // Finished: the same answer again, no reconnection.
  EXPECT_TRUE(
      IsEtcdCompacted(watcher->Next(absl::Now() + absl::Seconds(1), &batch)));
}

TEST_F(EtcdClientTest, WatchFromNowStartsAfterTheCreationRevision) {
  ASSERT_THAT(client_->Put(Key("n"), "before"), IsOk());
  EtcdWatchOptions options;
  options.key = Key("n");
  std::unique_ptr<EtcdWatcher> watcher = client_->Watch(options);
  EtcdWatchBatch batch;
  // Let the stream be created before writing.
  EXPECT_THAT(watcher->Next(absl::Now() + absl::Milliseconds(300), &batch),
              StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  ASSERT_TRUE(watcher->state().connected);
  ASSERT_THAT(client_->Put(Key("n"), "after"), IsOk());
  ASSERT_THAT(watcher->Next(absl::Now() + absl::Seconds(5), &batch), IsOk());
  ASSERT_THAT(batch.events, SizeIs(1));
  EXPECT_EQ(batch.events[0].kv.value, "after");
}

// ---- Three members
// ------------------------------------------------------------

TEST(EtcdClientClusterTest,
     WatchSurvivesKillingItsMemberWithoutGapOrDuplicate) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                       EtcdCluster::Start(ThreeMembers()));
  std::unique_ptr<EtcdClient> writer = NewClient(cluster->client_endpoints());
  std::unique_ptr<EtcdClient> reader =
      NewClient(cluster->client_endpoints(), absl::Milliseconds(1000));
  EtcdWatchOptions options;
  options.key = "/ws/";
  options.range_end = PrefixRangeEnd("/ws/");
  options.first_endpoint = 0;
  // From the current revision + 1, not "from now": the stream is created by
  // the first Next(), after the producer may have written.
  ASSERT_OK_AND_ASSIGN(EtcdRangeResult now, writer->Range("/ws/"));
  options.start_revision = now.revision + 1;
  std::unique_ptr<EtcdWatcher> watcher = reader->Watch(options);

  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread producer([&] {
    for (int i = 0; !stop.load() && i < 100000; ++i) {
      // Retry a write whose outcome is unknown only if it was not applied:
      // each value is written once, guarded by "key absent".
      std::string key = absl::StrFormat("/ws/%08d", i);
      for (;;) {
        absl::StatusOr<int64_t> r = writer->PutIf(
            key, absl::StrCat(i),
            {EtcdCompare::Version(key, EtcdCompare::Op::kEqual, 0)});
        if (r.ok() || absl::IsFailedPrecondition(r.status())) break;
        if (stop.load()) return;
        absl::SleepFor(absl::Milliseconds(20));
      }
      written.store(i + 1);
      absl::SleepFor(absl::Milliseconds(2));
    }
  });
  std::vector<int> seen;
  int64_t last_revision = 0;
  auto drain_until = [&](int count, absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    while (static_cast<int>(seen.size()) < count && absl::Now() < give_up) {
      EtcdWatchBatch batch;
      absl::Status s =
          watcher->Next(absl::Now() + absl::Milliseconds(200), &batch);
      if (absl::IsDeadlineExceeded(s)) continue;
      ASSERT_THAT(s, IsOk());
      for (const EtcdWatchEvent& e : batch.events) {
        ASSERT_GT(e.kv.mod_revision, last_revision);
        last_revision = e.kv.mod_revision;
        seen.push_back(std::stoi(e.kv.value));
      }
    }
  };
  drain_until(50, absl::Seconds(20));
  const int connected_to = watcher->state().endpoint;
  EXPECT_EQ(connected_to, 0);
  ASSERT_THAT(cluster->Kill(connected_to), IsOk());
  drain_until(150, absl::Seconds(30));
  EXPECT_GE(watcher->state().reconnects, 1);
  EXPECT_NE(watcher->state().endpoint, connected_to);
  ASSERT_THAT(cluster->Restart(connected_to), IsOk());
  drain_until(250, absl::Seconds(30));
  stop.store(true);
  producer.join();
  drain_until(written.load(), absl::Seconds(30));
  const EtcdWatchState state = watcher->state();
  ASSERT_EQ(static_cast<int>(seen.size()), written.load())
      << "watch on member " << state.endpoint << ", connected "
      << state.connected << ", next revision " << state.next_revision
      << ", reconnects " << state.reconnects << ", last error "
      << state.last_error;
  for (int i = 0; i < static_cast<int>(seen.size()); ++i) {
    ASSERT_EQ(seen[i], i) << "gap or duplicate at " << i;
  }
}

TEST(EtcdClientClusterTest, MemberWithoutLeaderRefusesAndPausedMemberTimesOut) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                       EtcdCluster::Start(ThreeMembers()));
  std::unique_ptr<EtcdClient> client =
      NewClient(cluster->client_endpoints(), absl::Milliseconds(800));
  ASSERT_THAT(client->Put("/p", "v"), IsOk());

  // SIGSTOP member 2: a pinned read times out (naming the member), a
  // failover read is served by another member.
  ASSERT_THAT(cluster->Pause(2), IsOk());
  EtcdCallOptions pinned;
  pinned.endpoint = 2;
  const absl::Time start = absl::Now();
  absl::StatusOr<EtcdRangeResult> r = client->Range("/p", {}, pinned);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded,
                          HasSubstr(cluster->client_endpoint(2))));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  absl::StatusOr<int64_t> w = client->Put("/p", "w", pinned);
  EXPECT_THAT(w, StatusIs(absl::StatusCode::kDeadlineExceeded, ::testing::_));
  EXPECT_TRUE(IsEtcdOutcomeUnknown(w.status()));
  ASSERT_THAT(cluster->Resume(2), IsOk());

  // Kill two members: the survivor loses its leader and refuses.
  ASSERT_THAT(cluster->Kill(0), IsOk());
  ASSERT_THAT(cluster->Kill(1), IsOk());
  pinned.endpoint = 2;
  absl::Status last;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    last = client->Range("/p", {}, pinned).status();
    if (absl::StrContains(last.message(), "no leader")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(last, StatusIs(absl::StatusCode::kUnavailable,
                             HasSubstr("etcdserver: no leader")));
  // Status still answers (it carries no leader requirement) and says so.
  ASSERT_OK_AND_ASSIGN(EtcdMemberStatus status, client->Status(2));
  EXPECT_EQ(status.leader_id, 0u);
  // Refused before execution: a write would be safe to retry elsewhere.
  absl::StatusOr<int64_t> refused = client->Put("/p", "x", pinned);
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(IsEtcdOutcomeUnknown(refused.status())) << refused.status();
}

}  // namespace
}  // namespace replication
}  // namespace arbiter
