// EtcdLog and EtcdFollower against one etcd member: appends and conflicts,
// chunked payloads, checkpoints and truncation, bootstrap, following,
// consistency tokens, compaction and re-bootstrap, corrupted keys.

#include "src/replication/etcd_log.h"

#include <atomic>
#include <iostream>
#include <memory>
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
#include "tests/replication/etcd_cluster.h"
#include "tests/replication/log_model.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace replication {
namespace {

using ::arbiter::testing::EncodeState;
using ::arbiter::testing::EtcdCluster;
using ::arbiter::testing::FollowerRecorder;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StateOf;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class EtcdLogTest : public ::testing::Test {
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
    client_ = NewClient();
    options_.prefix = absl::StrCat(
        "/log-test/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  std::shared_ptr<EtcdClient> NewClient() {
    EtcdClientOptions options;
    options.endpoints = cluster_->client_endpoints();
    absl::StatusOr<std::unique_ptr<EtcdClient>> client =
        EtcdClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::shared_ptr<EtcdClient>(*std::move(client))
                       : nullptr;
  }
  std::unique_ptr<EtcdLog> OpenLog(EtcdLogOptions options) {
    absl::StatusOr<std::unique_ptr<EtcdLog>> log =
        EtcdLog::Open(NewClient(), std::move(options));
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }
  std::unique_ptr<EtcdLog> OpenLog() { return OpenLog(options_); }
  std::unique_ptr<EtcdFollower> NewFollower(
      EtcdFollowerOptions follower_options = {}) {
    absl::StatusOr<std::unique_ptr<EtcdFollower>> f =
        EtcdFollower::Create(NewClient(), options_, follower_options);
    EXPECT_THAT(f, IsOk());
    return f.ok() ? *std::move(f) : nullptr;
  }
  // Appends payloads at the head, returning each result.
  std::vector<EtcdAppendResult> AppendAll(EtcdLog& log, uint64_t head,
                                          const std::vector<std::string>& ps) {
    std::vector<EtcdAppendResult> results;
    for (const std::string& p : ps) {
      absl::StatusOr<EtcdAppendResult> r = log.Append(head, p);
      EXPECT_THAT(r, IsOk());
      if (!r.ok()) break;
      head = r->revision;
      results.push_back(*r);
    }
    return results;
  }

  static EtcdCluster* cluster_;
  std::shared_ptr<EtcdClient> client_;
  EtcdLogOptions options_;
};
EtcdCluster* EtcdLogTest::cluster_ = nullptr;

std::vector<std::string> Numbered(int from, int to, absl::string_view tag) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back(absl::StrCat(tag, i));
  return out;
}

TEST_F(EtcdLogTest, OptionsAreChecked) {
  EtcdLogOptions bad;
  bad.prefix = "no-slash";
  EXPECT_THAT(EtcdLog::Open(client_, bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must start with '/'")));
  bad.prefix = "/x";
  bad.chunk_bytes = 0;
  EXPECT_THAT(
      EtcdLog::Open(client_, bad),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("chunk_bytes")));
  EXPECT_THAT(
      EtcdLog::Open(nullptr, options_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("client")));
  // A prefix whose head holds something else is refused at Open.
  ASSERT_THAT(client_->Put("/foreign/head", "not a number"), IsOk());
  EtcdLogOptions foreign;
  foreign.prefix = "/foreign";
  EXPECT_THAT(
      EtcdLog::Open(client_, foreign),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("\"/foreign/head\" does not hold a revision")));
}

TEST_F(EtcdLogTest, AppendsConsecutiveRevisionsAndRefusesAStaleHead) {
  std::unique_ptr<EtcdLog> log = OpenLog();
  ASSERT_OK_AND_ASSIGN(EtcdLogHead empty, log->ReadHead());
  EXPECT_EQ(empty.revision, 0u);
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult first, log->Append(0, "a"));
  EXPECT_EQ(first.revision, 1u);
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult second, log->Append(1, "b"));
  EXPECT_EQ(second.revision, 2u);
  EXPECT_GT(second.etcd_revision, first.etcd_revision);

  // A writer that read head 1 loses to revision 2.
  absl::StatusOr<EtcdAppendResult> stale = log->Append(1, "c");
  EXPECT_THAT(stale, StatusIs(absl::StatusCode::kAborted,
                              HasSubstr("append of revision 2 lost")));
  EXPECT_THAT(
      stale.status().message(),
      HasSubstr(absl::StrCat("at etcd revision ", second.etcd_revision)));
  EXPECT_THAT(stale.status().message(), HasSubstr("the head is now 2"));
  // Ahead of the head: refused as well.
  EXPECT_THAT(log->Append(5, "d"), StatusIs(absl::StatusCode::kAborted,
                                            HasSubstr("the head is now 2")));
  ASSERT_OK_AND_ASSIGN(EtcdLogHead head, log->ReadHead());
  EXPECT_EQ(head.revision, 2u);

  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  EXPECT_FALSE(snapshot.checkpoint.has_value());
  ASSERT_THAT(snapshot.entries, SizeIs(2));
  EXPECT_EQ(snapshot.entries[0].payload, "a");
  EXPECT_EQ(snapshot.entries[0].etcd_revision, first.etcd_revision);
  EXPECT_EQ(snapshot.entries[1].payload, "b");
  EXPECT_EQ(snapshot.revision(), 2u);
}

TEST_F(EtcdLogTest, RacingWritersAtOneRevisionNeverBothSucceed) {
  const uint64_t seed = absl::Uniform<uint64_t>(absl::BitGen());
  std::cout << "seed " << seed << "\n";
  std::unique_ptr<EtcdLog> logs[2] = {OpenLog(), OpenLog()};
  uint64_t head = 0;
  std::vector<std::string> committed;
  for (int round = 0; round < 100; ++round) {
    absl::StatusOr<EtcdAppendResult> r[2];
    const std::string payload[2] = {absl::StrCat("w0-", round),
                                    absl::StrCat("w1-", round)};
    std::thread t0([&] { r[0] = logs[0]->Append(head, payload[0]); });
    std::thread t1([&] { r[1] = logs[1]->Append(head, payload[1]); });
    t0.join();
    t1.join();
    ASSERT_EQ(r[0].ok() + r[1].ok(), 1)
        << "round " << round << ": " << r[0].status() << " / " << r[1].status()
        << " (seed " << seed << ")";
    const int winner = r[0].ok() ? 0 : 1;
    EXPECT_EQ(r[winner]->revision, head + 1);
    EXPECT_THAT(r[1 - winner],
                StatusIs(absl::StatusCode::kAborted, HasSubstr("lost")));
    committed.push_back(payload[winner]);
    head = r[winner]->revision;
  }
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> state, StateOf(snapshot));
  EXPECT_EQ(state, committed);
}

TEST_F(EtcdLogTest, ReplayedAttemptWithTheSameWriterIdIsRecognised) {
  // What Append does after a timeout whose first attempt was applied: the
  // retry's compare fails, and the entry carries the retry's own writer id.
  EtcdLogOptions options = options_;
  options.writer_id_for_test = [] { return std::string(16, 'w'); };
  std::unique_ptr<EtcdLog> log = OpenLog(options);
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult first, log->Append(0, "once"));
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult replay, log->Append(0, "once"));
  EXPECT_EQ(replay.revision, first.revision);
  EXPECT_EQ(replay.etcd_revision, first.etcd_revision);
  // Another writer's id: a conflict, not a success.
  std::unique_ptr<EtcdLog> other = OpenLog();
  EXPECT_THAT(other->Append(0, "once"),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("lost")));
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  EXPECT_THAT(snapshot.entries, SizeIs(1));  // committed once
}

TEST_F(EtcdLogTest, GroupCommitAppendsQueuedEntriesInOneTransaction) {
  EtcdLogOptions options = options_;
  options.max_inline_bytes = 4 << 10;  // 10 x 1 KiB: the last six chunked
  options.chunk_bytes = 512;
  std::unique_ptr<EtcdLog> log = OpenLog(options);
  FollowerRecorder recorder;
  // A slow consumer, so that WaitFor would see a half-delivered group.
  EtcdFollowerCallbacks slow = recorder.Callbacks();
  EtcdFollowerCallbacks callbacks;
  callbacks.on_entry = [&](const EtcdLogEntry& e) {
    absl::SleepFor(absl::Milliseconds(30));
    return slow.on_entry(e);
  };
  callbacks.on_reset = slow.on_reset;
  // Declared after what its callbacks use, so that it stops first.
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_THAT(recorder.Reset(snapshot), IsOk());
  ASSERT_THAT(follower->Follow(callbacks), IsOk());

  std::vector<EtcdLog::AppendHandle> handles;
  std::vector<std::string> payloads;
  for (int i = 1; i <= 10; ++i) {
    payloads.push_back(std::string(1024, static_cast<char>('a' + i)));
    handles.push_back(log->Enqueue(i, payloads.back()));
  }
  EtcdLog::AppendHandle stray = log->Enqueue(20, "x");
  EXPECT_THAT(stray.Wait(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("does not follow")));
  std::vector<EtcdAppendResult> results;
  for (EtcdLog::AppendHandle& h : handles) {
    ASSERT_OK_AND_ASSIGN(EtcdAppendResult r, h.Wait());
    results.push_back(r);
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i].revision, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(results[i].etcd_revision, results[0].etcd_revision);  // one txn
  }
  EtcdLogStats stats = log->stats();
  EXPECT_EQ(stats.group_commits, 1u);
  EXPECT_EQ(stats.entries_committed, 10u);
  EXPECT_EQ(stats.largest_group, 10u);
  // The token of the group is reached only once all ten are delivered.
  ASSERT_THAT(follower->WaitFor(results[0].etcd_revision,
                                absl::Now() + absl::Seconds(10)),
              IsOk());
  ASSERT_EQ(recorder.revision(), 10u) << "token reached before the group";
  EXPECT_TRUE(recorder.state() == payloads);

  // A group that lost fails whole, and what was queued behind it too.
  std::unique_ptr<EtcdLog> other = OpenLog(options);
  ASSERT_THAT(other->Append(10, "winner"), IsOk());
  std::vector<EtcdLog::AppendHandle> losers;
  for (int i = 11; i <= 13; ++i) losers.push_back(log->Enqueue(i, "lost"));
  for (EtcdLog::AppendHandle& h : losers) {
    EXPECT_THAT(h.Wait(), StatusIs(absl::StatusCode::kAborted, ::testing::_));
  }
  EXPECT_EQ(log->stats().conflicts, 1u);
  ASSERT_OK_AND_ASSIGN(EtcdLogHead head, log->ReadHead());
  EXPECT_EQ(head.revision, 11u);
}

TEST_F(EtcdLogTest, LargePayloadsAreChunkedAndReadBackExactly) {
  EtcdLogOptions options = options_;
  options.max_inline_bytes = 64 << 10;
  options.chunk_bytes = 100 << 10;
  options.max_entry_bytes = 4 << 20;
  options.read_page_chunks = 3;
  options_ = options;
  std::unique_ptr<EtcdLog> log = OpenLog(options);
  absl::BitGen gen;
  std::string big(3 * 1024 * 1024 + 12345, '\0');
  for (char& c : big) c = static_cast<char>(absl::Uniform<uint8_t>(gen));
  const std::string exact(options.chunk_bytes * 2, 'e');  // whole chunks
  ASSERT_THAT(log->Append(0, "small"), IsOk());
  ASSERT_THAT(log->Append(1, big), IsOk());
  ASSERT_THAT(log->Append(2, exact), IsOk());
  EXPECT_THAT(log->Append(3, std::string((4 << 20) + 1, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds max_entry_bytes")));

  // ceil(3.01 MiB / 100 KiB) = 31 chunks for `big`, 2 for `exact`.
  ASSERT_OK_AND_ASSIGN(
      EtcdRangeResult chunks,
      client_->Range(options.prefix + "/chunks/log/",
                     {PrefixRangeEnd(options.prefix + "/chunks/log/"), 0, 0,
                      false, true, true}));
  EXPECT_EQ(chunks.count, 31 + 2);

  FollowerRecorder recorder;
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_THAT(snapshot.entries, SizeIs(3));
  EXPECT_EQ(snapshot.entries[0].payload, "small");
  EXPECT_TRUE(snapshot.entries[1].payload == big);
  EXPECT_TRUE(snapshot.entries[2].payload == exact);

  // And through the watch.
  ASSERT_THAT(recorder.Reset(snapshot), IsOk());
  ASSERT_THAT(follower->Follow(recorder.Callbacks()), IsOk());
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult r, log->Append(3, big + "!"));
  ASSERT_THAT(
      follower->WaitFor(r.etcd_revision, absl::Now() + absl::Seconds(10)),
      IsOk());
  std::vector<std::string> state = recorder.state();
  ASSERT_THAT(state, SizeIs(4));
  EXPECT_TRUE(state[3] == big + "!");

  // A missing chunk is DataLoss naming the entry, never a short payload.
  ASSERT_OK_AND_ASSIGN(
      EtcdRangeResult keys,
      client_->Range(options.prefix + "/chunks/log/",
                     {PrefixRangeEnd(options.prefix + "/chunks/log/"), 0, 0,
                      false, true, false}));
  ASSERT_THAT(client_->DeleteRange(keys.kvs[5].key), IsOk());
  std::unique_ptr<EtcdFollower> late = NewFollower();
  EXPECT_THAT(late->Bootstrap(), StatusIs(absl::StatusCode::kDataLoss,
                                          HasSubstr("entry 2: chunks under")));
}

TEST_F(EtcdLogTest, CheckpointTruncatesTheLogAndBootstrapStartsThere) {
  EtcdLogOptions options = options_;
  options.keep_entries = 2;
  std::unique_ptr<EtcdLog> log = OpenLog(options);
  std::vector<std::string> payloads = Numbered(1, 10, "p");
  AppendAll(*log, 0, payloads);

  EXPECT_THAT(log->WriteCheckpoint(11, "x"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("past the head (10)")));
  const std::vector<std::string> at4(payloads.begin(), payloads.begin() + 4);
  ASSERT_THAT(log->WriteCheckpoint(4, EncodeState(at4)), IsOk());
  EXPECT_THAT(log->WriteCheckpoint(4, EncodeState(at4)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not newer than the current checkpoint")));
  // Entries 1..2 deleted (4 - keep 2), 3.. kept.
  ASSERT_OK_AND_ASSIGN(
      EtcdRangeResult kept,
      client_->Range(options_.prefix + "/log/",
                     {PrefixRangeEnd(options_.prefix + "/log/"), 0, 0, false,
                      true, false}));
  ASSERT_THAT(kept.kvs, SizeIs(8));
  EXPECT_THAT(kept.kvs[0].key, HasSubstr("00000000000000000003"));

  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_TRUE(snapshot.checkpoint.has_value());
  EXPECT_EQ(snapshot.checkpoint->revision, 4u);
  ASSERT_THAT(snapshot.entries, SizeIs(6));
  EXPECT_EQ(snapshot.entries[0].revision, 5u);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> state, StateOf(snapshot));
  EXPECT_EQ(state, payloads);

  // A newer checkpoint: entries 1..6 go (8 - keep 2).
  ASSERT_THAT(log->WriteCheckpoint(
                  8, EncodeState({payloads.begin(), payloads.begin() + 8})),
              IsOk());
  ASSERT_OK_AND_ASSIGN(
      EtcdRangeResult rest,
      client_->Range(options_.prefix + "/log/",
                     {PrefixRangeEnd(options_.prefix + "/log/"), 0, 0, false,
                      true, false}));
  ASSERT_THAT(rest.kvs, SizeIs(4));  // 7, 8, 9, 10
  std::unique_ptr<EtcdFollower> second = NewFollower();
  ASSERT_OK_AND_ASSIGN(snapshot, second->Bootstrap());
  EXPECT_EQ(snapshot.checkpoint->revision, 8u);
  EXPECT_THAT(snapshot.entries, SizeIs(2));
  ASSERT_OK_AND_ASSIGN(state, StateOf(snapshot));
  EXPECT_EQ(state, payloads);
}

TEST_F(EtcdLogTest, ChunkedCheckpointReplacesTheOldChunks) {
  EtcdLogOptions options = options_;
  options.max_inline_bytes = 10 << 10;
  options.chunk_bytes = 64 << 10;
  options.keep_entries = 0;
  std::unique_ptr<EtcdLog> log = OpenLog(options);
  // Payloads of 30 KB: images of 300 KB and 600 KB, 5 and 10 chunks.
  std::vector<std::string> payloads;
  for (int i = 0; i < 20; ++i) payloads.push_back(std::string(30000, 'a' + i));
  uint64_t head = 0;
  for (int i = 0; i < 10; ++i) head = log->Append(head, payloads[i])->revision;
  ASSERT_THAT(log->WriteCheckpoint(
                  10, EncodeState({payloads.begin(), payloads.begin() + 10})),
              IsOk());
  for (int i = 10; i < 20; ++i) head = log->Append(head, payloads[i])->revision;
  ASSERT_THAT(log->WriteCheckpoint(20, EncodeState(payloads)), IsOk());

  const std::string dir = options_.prefix + "/chunks/";
  ASSERT_OK_AND_ASSIGN(
      EtcdRangeResult chunks,
      client_->Range(dir, {PrefixRangeEnd(dir), 0, 0, false, true, false}));
  // Only the current image's 10 chunks remain (entries were inline and every
  // older blob went with its checkpoint).
  EXPECT_THAT(chunks.kvs, SizeIs(10));
  for (const EtcdKeyValue& kv : chunks.kvs) {
    EXPECT_THAT(kv.key, HasSubstr("chunks/checkpoint/00000000000000000020-"));
  }
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  EXPECT_THAT(snapshot.entries, SizeIs(0));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> state, StateOf(snapshot));
  EXPECT_EQ(state, payloads);
}

TEST_F(EtcdLogTest, InitializeImportsAStateOnlyIntoAnEmptyLog) {
  std::unique_ptr<EtcdLog> log = OpenLog();
  const std::vector<std::string> imported = Numbered(1, 42, "old");
  ASSERT_THAT(log->Initialize(42, EncodeState(imported)), IsOk());
  EXPECT_THAT(log->Initialize(42, EncodeState(imported)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not empty (head 42, checkpoint 42)")));
  ASSERT_OK_AND_ASSIGN(EtcdLogHead head, log->ReadHead());
  EXPECT_EQ(head.revision, 42u);
  EXPECT_EQ(head.checkpoint_revision, 42u);
  ASSERT_OK_AND_ASSIGN(EtcdAppendResult next, log->Append(42, "new"));
  EXPECT_EQ(next.revision, 43u);
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> state, StateOf(snapshot));
  std::vector<std::string> expected = imported;
  expected.push_back("new");
  EXPECT_EQ(state, expected);
}

TEST_F(EtcdLogTest, FollowerDeliversEveryEntryOnceInOrderWithItsToken) {
  std::unique_ptr<EtcdLog> log = OpenLog();
  AppendAll(*log, 0, Numbered(1, 5, "boot"));
  FollowerRecorder recorder;
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  EXPECT_THAT(follower->Follow({}), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("on_entry")));
  EXPECT_THAT(follower->Follow(recorder.Callbacks()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("Bootstrap first")));
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_THAT(recorder.Reset(snapshot), IsOk());
  ASSERT_THAT(follower->Follow(recorder.Callbacks()), IsOk());
  EXPECT_THAT(follower->Follow(recorder.Callbacks()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already following")));

  std::vector<EtcdAppendResult> appended =
      AppendAll(*log, 5, Numbered(6, 60, "live"));
  ASSERT_THAT(appended, SizeIs(55));
  ASSERT_THAT(follower->WaitFor(appended.back().etcd_revision,
                                absl::Now() + absl::Seconds(10)),
              IsOk());
  std::vector<std::string> expected = Numbered(1, 5, "boot");
  for (const std::string& s : Numbered(6, 60, "live")) expected.push_back(s);
  EXPECT_EQ(recorder.state(), expected);
  EXPECT_THAT(recorder.violation(), IsOk());
  std::vector<int64_t> tokens = recorder.etcd_revisions();
  for (size_t i = 0; i < appended.size(); ++i) {
    EXPECT_EQ(tokens[5 + i], appended[i].etcd_revision);
  }
  EXPECT_THAT(follower->Health(), IsOk());
  EtcdFollowerStatus status = follower->status();
  EXPECT_TRUE(status.following);
  EXPECT_TRUE(status.watch_connected);
  EXPECT_EQ(status.revision, 60u);
  EXPECT_EQ(status.duplicates_skipped, 0);
  EXPECT_EQ(status.rebootstraps, 0);

  // A token from the future is never reported as reached.
  EXPECT_THAT(follower->WaitFor(appended.back().etcd_revision + 1000,
                                absl::Now() + absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("not applied by the deadline")));
  EXPECT_THAT(
      follower->WaitForRevision(61, absl::Now() + absl::Milliseconds(100)),
      StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("61")));
  follower->Stop();
  EXPECT_THAT(follower->WaitFor(appended.back().etcd_revision + 1,
                                absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kCancelled, HasSubstr("stopped")));
  EXPECT_THAT(follower->Health(),
              StatusIs(absl::StatusCode::kCancelled, ::testing::_));
}

TEST_F(EtcdLogTest, TokenFromAnotherKeyIsReachedThroughProbes) {
  // A token that is not an entry's revision (another key's write) is reached
  // once a probe proves nothing before it is missing.
  std::unique_ptr<EtcdLog> log = OpenLog();
  AppendAll(*log, 0, {"a"});
  FollowerRecorder recorder;
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_THAT(recorder.Reset(snapshot), IsOk());
  ASSERT_THAT(follower->Follow(recorder.Callbacks()), IsOk());
  ASSERT_OK_AND_ASSIGN(int64_t unrelated, client_->Put("/elsewhere", "x"));
  const absl::Time start = absl::Now();
  EXPECT_THAT(follower->WaitFor(unrelated, absl::Now() + absl::Seconds(5)),
              IsOk());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // an immediate probe
}

// The follower falls behind etcd's compaction: it re-bootstraps. With the
// entries after its position still in the log, it continues entry by entry;
// with them truncated, it receives the whole state through on_reset.
TEST_F(EtcdLogTest, CompactionMakesTheFollowerRebootstrap) {
  for (const bool truncated : {false, true}) {
    SCOPED_TRACE(truncated ? "truncated" : "kept");
    options_.prefix = absl::StrCat("/log-test/compaction-", truncated);
    EtcdLogOptions options = options_;
    options.keep_entries = truncated ? 0 : 1000;
    std::unique_ptr<EtcdLog> log = OpenLog(options);
    std::vector<std::string> payloads = Numbered(1, 10, "c");
    AppendAll(*log, 0, payloads);
    FollowerRecorder recorder;
    std::unique_ptr<EtcdFollower> follower = NewFollower();
    ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
    ASSERT_THAT(recorder.Reset(snapshot), IsOk());
    // Before it follows: 20 more entries, a checkpoint at 25, compaction.
    for (const std::string& s : Numbered(11, 30, "c")) payloads.push_back(s);
    std::vector<EtcdAppendResult> more =
        AppendAll(*log, 10, {payloads.begin() + 10, payloads.end()});
    ASSERT_THAT(log->WriteCheckpoint(
                    25, EncodeState({payloads.begin(), payloads.begin() + 25})),
                IsOk());
    ASSERT_OK_AND_ASSIGN(EtcdLogHead head, log->ReadHead());
    ASSERT_THAT(client_->Compact(head.etcd_revision, /*physical=*/true),
                IsOk());

    ASSERT_THAT(follower->Follow(recorder.Callbacks()), IsOk());
    ASSERT_THAT(follower->WaitForRevision(30, absl::Now() + absl::Seconds(10)),
                IsOk());
    EXPECT_EQ(recorder.state(), payloads);
    EXPECT_THAT(recorder.violation(), IsOk());
    EtcdFollowerStatus status = follower->status();
    EXPECT_EQ(status.rebootstraps, 1);
    EXPECT_EQ(status.resets, truncated ? 1 : 0);
    EXPECT_EQ(recorder.resets(), truncated ? 1 : 0);
    // Truncated: entries 26..30 came inside the reset snapshot.
    EXPECT_EQ(recorder.entries_delivered(), truncated ? 0 : 20);

    // It keeps following afterwards.
    ASSERT_OK_AND_ASSIGN(EtcdAppendResult after, log->Append(30, "after"));
    ASSERT_THAT(
        follower->WaitFor(after.etcd_revision, absl::Now() + absl::Seconds(10)),
        IsOk());
    EXPECT_EQ(recorder.state().back(), "after");
    EXPECT_THAT(follower->Health(), IsOk());
  }
}

TEST_F(EtcdLogTest, ForeignKeyInTheLogStopsTheFollowerClosed) {
  std::unique_ptr<EtcdLog> log = OpenLog();
  AppendAll(*log, 0, {"a"});
  FollowerRecorder recorder;
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_OK_AND_ASSIGN(EtcdLogSnapshot snapshot, follower->Bootstrap());
  ASSERT_THAT(recorder.Reset(snapshot), IsOk());
  ASSERT_THAT(follower->Follow(recorder.Callbacks()), IsOk());
  // Someone writes garbage as entry 2.
  ASSERT_OK_AND_ASSIGN(
      int64_t bad,
      client_->Put(options_.prefix + "/log/00000000000000000002", "garbage"));
  // (A probe may prove the follower current up to `bad` first: the garbage
  // is no committed entry, the head still says 1. The watch then sees it.)
  absl::Status health = follower->Health();
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (health.ok() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
    health = follower->Health();
  }
  EXPECT_THAT(health,
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("entry 2 (key \"" + options_.prefix +
                                 "/log/00000000000000000002\", etcd revision " +
                                 std::to_string(bad) +
                                 ") is not a log record for that revision")));
  // Stopped closed: no token is answered any more, not even an old one.
  EXPECT_THAT(follower->WaitFor(bad + 1, absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry 2")));
  EXPECT_THAT(follower->WaitFor(1, absl::Now() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry 2")));
  EXPECT_THAT(recorder.state(), ElementsAre("a"));
  // And a fresh bootstrap refuses the log.
  std::unique_ptr<EtcdFollower> other = NewFollower();
  EXPECT_THAT(other->Bootstrap(),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(EtcdLogTest, FailingCallbackStopsTheFollower) {
  std::unique_ptr<EtcdLog> log = OpenLog();
  std::atomic<int> seen{0};
  std::unique_ptr<EtcdFollower> follower = NewFollower();
  ASSERT_THAT(follower->Bootstrap(), IsOk());
  EtcdFollowerCallbacks callbacks;
  callbacks.on_entry = [&](const EtcdLogEntry& e) {
    ++seen;
    return e.payload == "poison" ? absl::InternalError("cannot apply")
                                 : absl::OkStatus();
  };
  callbacks.on_reset = [](const EtcdLogSnapshot&) { return absl::OkStatus(); };
  ASSERT_THAT(follower->Follow(callbacks), IsOk());
  AppendAll(*log, 0, {"ok", "poison", "later"});
  EXPECT_THAT(
      follower->WaitForRevision(3, absl::Now() + absl::Seconds(5)),
      StatusIs(absl::StatusCode::kInternal,
               HasSubstr("on_entry for revision 2 failed: cannot apply")));
  EXPECT_EQ(follower->revision(), 1u);
  EXPECT_EQ(seen.load(), 2);  // nothing after the failure
}

}  // namespace
}  // namespace replication
}  // namespace arbiter
