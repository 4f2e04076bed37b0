// DurableLog's contract (src/store/durable_log.h): appends, revisions,
// checkpoints and compaction, the base of an imported state, locking,
// read-only opens, group commit, and a seeded randomized comparison with an
// obviously-correct in-memory model of the log.

#include "src/store/durable_log.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using testing::LogContents;
using testing::OpenAndRead;
using testing::PayloadFor;
using testing::RandomBytes;
using testing::ReadContents;
using testing::ScratchDir;

DurableLogOptions Fast() {
  DurableLogOptions o;
  o.sync = SyncMode::kNormal;  // semantics only; durability: crash tests
  return o;
}

std::unique_ptr<DurableLog> OpenOrDie(const std::string& dir,
                                      const DurableLogOptions& o = Fast()) {
  absl::StatusOr<std::unique_ptr<DurableLog>> log = DurableLog::Open(dir, o);
  EXPECT_THAT(log, IsOk());
  if (!log.ok()) std::abort();
  return std::move(*log);
}

TEST(DurableLogTest, CreatesAppendsAndReopens) {
  ScratchDir dir;
  const std::string store = dir.Sub("a/b/store");  // parents created
  {
    DurableLogOptions o;  // kFull
    auto log = OpenOrDie(store, o);
    EXPECT_EQ(log->last_revision(), 0u);
    for (uint64_t r = 1; r <= 20; ++r) {
      ASSERT_THAT(log->Append({r, PayloadFor(1, r, 0, 500)}), IsOk());
    }
    EXPECT_EQ(log->last_revision(), 20u);
    EXPECT_THAT(log->Verify(), IsOk());
  }
  EXPECT_TRUE(testing::FileExists(store + "/arbiter.db"));
  EXPECT_FALSE(testing::FileExists(store + "/arbiter.db-wal"))
      << "a clean close folds the WAL into the database";
  ASSERT_OK_AND_ASSIGN(LogContents c, OpenAndRead(store, Fast()));
  EXPECT_FALSE(c.checkpoint.has_value());
  ASSERT_EQ(c.entries.size(), 20u);
  for (uint64_t r = 1; r <= 20; ++r) {
    EXPECT_EQ(c.entries[r], PayloadFor(1, r, 0, 500)) << r;
  }
}

TEST(DurableLogTest, EmptyPayloadsAndBinaryBytes) {
  ScratchDir dir;
  auto log = OpenOrDie(dir.path());
  ASSERT_THAT(log->Append({1, ""}), IsOk());
  ASSERT_THAT(log->Append({2, std::string("\0\xff\0", 3)}), IsOk());
  ASSERT_OK_AND_ASSIGN(LogContents c, ReadContents(*log));
  EXPECT_THAT(c.entries,
              ElementsAre(Pair(1u, ""), Pair(2u, std::string("\0\xff\0", 3))));
}

TEST(DurableLogTest, RevisionsMustBeConsecutive) {
  ScratchDir dir;
  auto log = OpenOrDie(dir.path());
  EXPECT_THAT(log->Append({2, "x"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("appending revision 2: revisions must be "
                                 "consecutive, expected revision 1")));
  EXPECT_THAT(log->Append({0, "x"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("expected revision 1")));
  ASSERT_THAT(log->Append({1, "x"}), IsOk());
  EXPECT_THAT(log->Append({1, "again"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("expected revision 2 (last committed 1")));
  EXPECT_EQ(log->last_revision(), 1u);
  ASSERT_OK_AND_ASSIGN(LogContents c, ReadContents(*log));
  EXPECT_THAT(c.entries, ElementsAre(Pair(1u, "x")));
}

TEST(DurableLogTest, LimitsAreEnforced) {
  ScratchDir dir;
  DurableLogOptions o = Fast();
  o.max_entry_bytes = 100;
  o.max_checkpoint_bytes = 1000;
  auto log = OpenOrDie(dir.path(), o);
  EXPECT_THAT(log->Append({1, std::string(101, 'x')}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("payload of 101 bytes exceeds "
                                 "max_entry_bytes (100)")));
  EXPECT_EQ(log->last_revision(), 0u);
  ASSERT_THAT(log->Append({1, std::string(100, 'x')}), IsOk());
  EXPECT_THAT(log->WriteCheckpoint({1, std::string(1001, 'c')}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds max_checkpoint_bytes (1000)")));
  DurableLogOptions bad;
  bad.checkpoint_chunk_bytes = 0;
  EXPECT_THAT(DurableLog::Open(dir.Sub("other"), bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("checkpoint_chunk_bytes")));
}

TEST(DurableLogTest, CheckpointCompactsOlderEntries) {
  ScratchDir dir;
  DurableLogOptions o = Fast();
  o.checkpoint_chunk_bytes = 1000;
  const std::string image = RandomBytes(7, 12345);  // 13 chunks
  {
    auto log = OpenOrDie(dir.path(), o);
    for (uint64_t r = 1; r <= 50; ++r) {
      ASSERT_THAT(log->Append({r, PayloadFor(2, r, 10, 100)}), IsOk());
    }
    ASSERT_THAT(log->WriteCheckpoint({30, image}), IsOk());
    EXPECT_EQ(log->stats().checkpoints_written, 1u);
    ASSERT_OK_AND_ASSIGN(absl::optional<Checkpoint> cp,
                         log->LatestCheckpoint());
    ASSERT_TRUE(cp.has_value());
    EXPECT_EQ(cp->revision, 30u);
    EXPECT_EQ(cp->payload, image);
    EXPECT_THAT(
        log->ReadEntries(10, [](const LogEntry&) { return absl::OkStatus(); }),
        StatusIs(absl::StatusCode::kOutOfRange,
                 HasSubstr("compacted into the checkpoint at "
                           "revision 30")));
    std::vector<uint64_t> seen;
    ASSERT_THAT(log->ReadEntries(
                    30,
                    [&](const LogEntry& e) {
                      seen.push_back(e.revision);
                      EXPECT_EQ(e.payload, PayloadFor(2, e.revision, 10, 100));
                      return absl::OkStatus();
                    }),
                IsOk());
    ASSERT_EQ(seen.size(), 20u);
    EXPECT_EQ(seen.front(), 31u);
    EXPECT_EQ(seen.back(), 50u);
    // Older than the latest, after the last, compacted: refused.
    EXPECT_THAT(log->WriteCheckpoint({29, "x"}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("older than the latest checkpoint, at "
                                   "revision 30")));
    EXPECT_THAT(log->WriteCheckpoint({51, "x"}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("after the last committed revision 50")));
    // A newer one replaces it.
    ASSERT_THAT(log->WriteCheckpoint({50, "fifty"}), IsOk());
  }
  ASSERT_OK_AND_ASSIGN(LogContents c, OpenAndRead(dir.path(), o));
  ASSERT_TRUE(c.checkpoint.has_value());
  EXPECT_EQ(c.checkpoint->revision, 50u);
  EXPECT_EQ(c.checkpoint->payload, "fifty");
  EXPECT_TRUE(c.entries.empty());
  EXPECT_EQ(c.last_revision, 50u);
}

TEST(DurableLogTest, KeepCompactedEntriesKeepsHistory) {
  ScratchDir dir;
  DurableLogOptions o = Fast();
  o.keep_compacted_entries = true;
  {
    auto log = OpenOrDie(dir.path(), o);
    for (uint64_t r = 1; r <= 10; ++r) {
      ASSERT_THAT(log->Append({r, PayloadFor(3, r, 1, 50)}), IsOk());
    }
    ASSERT_THAT(log->WriteCheckpoint({6, "six"}), IsOk());
    ASSERT_THAT(log->WriteCheckpoint({8, "eight"}), IsOk());
  }
  DurableLogOptions full = o;
  full.verify_on_open = OpenVerification::kFull;
  auto log = OpenOrDie(dir.path(), full);
  std::vector<uint64_t> seen;
  ASSERT_THAT(log->ReadEntries(0,
                               [&](const LogEntry& e) {
                                 seen.push_back(e.revision);
                                 return absl::OkStatus();
                               }),
              IsOk());
  EXPECT_EQ(seen.size(), 10u);
  ASSERT_OK_AND_ASSIGN(absl::optional<Checkpoint> cp, log->LatestCheckpoint());
  EXPECT_EQ(cp->revision, 8u);
  EXPECT_THAT(log->Verify(), IsOk());
  // Reopened without the option, the history goes.
  log.reset();
  DurableLogOptions compact = Fast();
  log = OpenOrDie(dir.path(), compact);
  EXPECT_THAT(
      log->ReadEntries(0, [](const LogEntry&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kOutOfRange, _));
}

TEST(DurableLogTest, BaseCheckpointOnEmptyLogImportsAState) {
  ScratchDir dir;
  {
    auto log = OpenOrDie(dir.path());
    ASSERT_THAT(log->WriteCheckpoint({1000, "imported state"}), IsOk());
    EXPECT_EQ(log->last_revision(), 1000u);
    EXPECT_THAT(log->Append({1, "x"}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("expected revision 1001")));
    ASSERT_THAT(log->Append({1001, "next"}), IsOk());
    // Not on a non-empty log.
    EXPECT_THAT(log->WriteCheckpoint({5000, "x"}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("after the last committed revision 1001")));
  }
  ASSERT_OK_AND_ASSIGN(LogContents c, OpenAndRead(dir.path(), Fast()));
  EXPECT_EQ(c.checkpoint->revision, 1000u);
  EXPECT_EQ(c.checkpoint->payload, "imported state");
  EXPECT_THAT(c.entries, ElementsAre(Pair(1001u, "next")));
  auto log = OpenOrDie(dir.path());
  EXPECT_THAT(
      log->ReadEntries(999, [](const LogEntry&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("base revision 1000")));
}

TEST(DurableLogTest, CheckpointPayloadSizesAroundChunkBoundaries) {
  ScratchDir dir;
  DurableLogOptions o = Fast();
  o.checkpoint_chunk_bytes = 64;
  auto log = OpenOrDie(dir.path(), o);
  uint64_t r = 0;
  for (size_t size : {0, 1, 63, 64, 65, 128, 1000}) {
    ASSERT_THAT(log->Append({++r, "e"}), IsOk());
    const std::string image = RandomBytes(size, size);
    ASSERT_THAT(log->WriteCheckpoint({r, image}), IsOk()) << size;
    ASSERT_OK_AND_ASSIGN(absl::optional<Checkpoint> cp,
                         log->LatestCheckpoint());
    ASSERT_TRUE(cp.has_value());
    EXPECT_EQ(cp->payload, image) << size;
  }
  EXPECT_THAT(log->Verify(), IsOk());
}

TEST(DurableLogTest, OneWriterPerDirectory) {
  ScratchDir dir;
  auto writer = OpenOrDie(dir.path());
  ASSERT_THAT(writer->Append({1, "one"}), IsOk());
  EXPECT_THAT(
      DurableLog::Open(dir.path(), Fast()),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          AllOf(HasSubstr(dir.path() + "/LOCK"),
                HasSubstr(absl::StrCat("this process (pid ", ::getpid())))));
  // Another process: named by pid.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    auto other = DurableLog::Open(dir.path(), Fast());
    std::string message = other.ok() ? "opened" : other.status().ToString();
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) message.append(buf, n);
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  EXPECT_THAT(message,
              HasSubstr(absl::StrCat("open for writing by pid ", ::getpid())));

  // Read-only opens coexist with the writer and see its commits.
  DurableLogOptions ro = Fast();
  ro.read_only = true;
  auto reader = OpenOrDie(dir.path(), ro);
  EXPECT_EQ(reader->last_revision(), 1u);
  ASSERT_THAT(writer->Append({2, "two"}), IsOk());
  ASSERT_OK_AND_ASSIGN(uint64_t last, reader->ReadLastRevision());
  EXPECT_EQ(last, 2u);
  EXPECT_EQ(reader->last_revision(), 2u);
  ASSERT_OK_AND_ASSIGN(LogContents c, ReadContents(*reader));
  EXPECT_THAT(c.entries, ElementsAre(Pair(1u, "one"), Pair(2u, "two")));
  EXPECT_THAT(reader->Append({3, "x"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("open read-only")));
  EXPECT_THAT(reader->WriteCheckpoint({2, "x"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("open read-only")));
  // Once the writer is gone, another may open.
  writer.reset();
  EXPECT_THAT(DurableLog::Open(dir.path(), Fast()), IsOk());
}

TEST(DurableLogTest, MissingStores) {
  ScratchDir dir;
  DurableLogOptions ro = Fast();
  ro.read_only = true;
  EXPECT_THAT(DurableLog::Open(dir.Sub("none"), ro),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("none")));
  EXPECT_THAT(DurableLog::Open(dir.path(), ro),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("arbiter.db: no store here")));
  DurableLogOptions no_create = Fast();
  no_create.create_if_missing = false;
  EXPECT_THAT(DurableLog::Open(dir.path(), no_create),
              StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_FALSE(testing::FileExists(dir.Sub("arbiter.db")));
  testing::WriteFileOrDie(dir.Sub("file"), "x");
  EXPECT_THAT(DurableLog::Open(dir.Sub("file"), Fast()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a directory")));
}

TEST(DurableLogTest, EnqueueQueuesInOrderAndWaitsOutsideTheCallersLock) {
  ScratchDir dir;
  auto log = OpenOrDie(dir.path());
  DurableLog::AppendHandle h1 = log->Enqueue({1, "a"});
  DurableLog::AppendHandle h2 = log->Enqueue({2, "b"});
  EXPECT_EQ(log->last_queued_revision(), 2u);
  DurableLog::AppendHandle bad = log->Enqueue({4, "d"});
  EXPECT_THAT(bad.Wait(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("expected revision 3")));
  // Waiting on the second commits both (one group).
  EXPECT_THAT(h2.Wait(), IsOk());
  EXPECT_THAT(h1.Wait(), IsOk());
  EXPECT_THAT(h1.Wait(), IsOk());  // the same status again
  EXPECT_EQ(log->stats().group_commits, 1u);
  EXPECT_EQ(log->stats().largest_group, 2u);
  // A handle dropped without Wait still commits (at the latest on close).
  { DurableLog::AppendHandle dropped = log->Enqueue({3, "c"}); }
  log.reset();
  ASSERT_OK_AND_ASSIGN(LogContents c, OpenAndRead(dir.path(), Fast()));
  EXPECT_THAT(c.entries,
              ElementsAre(Pair(1u, "a"), Pair(2u, "b"), Pair(3u, "c")));
}

// Concurrent writers share commits (group commit), each with its own
// status, and nothing is lost or reordered.
TEST(DurableLogTest, ConcurrentAppendsShareCommits) {
  ScratchDir dir;
  DurableLogOptions o;  // kFull: commits take an fsync, so groups form
  auto log = OpenOrDie(dir.path(), o);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::mutex order;  // the caller's revision lock (PolicyStore's role)
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::unique_lock<std::mutex> l(order);
        const uint64_t rev = log->last_queued_revision() + 1;
        DurableLog::AppendHandle h =
            log->Enqueue({rev, PayloadFor(4, rev, 10, 300)});
        l.unlock();
        if (!h.Wait().ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const DurableLogStats stats = log->stats();
  EXPECT_EQ(stats.entries_committed, uint64_t{kThreads * kPerThread});
  EXPECT_LT(stats.group_commits, stats.entries_committed)
      << "no commit was shared";
  EXPECT_GT(stats.largest_group, 1u);
  ASSERT_OK_AND_ASSIGN(LogContents c, ReadContents(*log));
  ASSERT_EQ(c.entries.size(), size_t{kThreads * kPerThread});
  for (const auto& e : c.entries) {
    EXPECT_EQ(e.second, PayloadFor(4, e.first, 10, 300));
  }
}

// ---- Randomized comparison with a model ----

// The log as a map: obviously correct, and the spec of the cases above.
struct Model {
  bool keep = false;
  uint64_t base = 0;
  uint64_t last = 0;
  std::map<uint64_t, std::string> entries;  // those still stored
  absl::optional<Checkpoint> checkpoint;

  bool CheckpointAllowed(uint64_t r) const {
    if (r > last) return last == 0;
    if (checkpoint.has_value() && r < checkpoint->revision) return false;
    return r == last || r == base || entries.count(r) > 0 ||
           (checkpoint.has_value() && checkpoint->revision == r);
  }
  void Checkpointed(uint64_t r, std::string payload) {
    if (r > last) {
      base = r;
      last = r;
    }
    checkpoint = Checkpoint{r, std::move(payload)};
    if (!keep) entries.erase(entries.begin(), entries.upper_bound(r));
  }
  // What ReadEntries(after) returns: the entries, or nullopt for OutOfRange.
  absl::optional<std::vector<uint64_t>> Read(uint64_t after) const {
    if (after < base) return absl::nullopt;
    std::vector<uint64_t> out;
    if (after >= last) return out;
    // Readable only if the entry after it is still stored (not compacted).
    if (entries.count(after + 1) == 0) return absl::nullopt;
    for (auto it = entries.upper_bound(after); it != entries.end(); ++it) {
      out.push_back(it->first);
    }
    return out;
  }
};

TEST(DurableLogTest, RandomizedAgainstModel) {
  const int64_t seeds = testing::EnvInt("ARBITER_STORE_MODEL_SEEDS", 12);
  const int64_t ops = testing::EnvInt("ARBITER_STORE_MODEL_OPS", 150);
  const uint64_t base_seed =
      static_cast<uint64_t>(testing::EnvInt("ARBITER_STORE_MODEL_SEED", 17));
  for (int64_t s = 0; s < seeds; ++s) {
    const uint64_t seed = base_seed + static_cast<uint64_t>(s);
    SCOPED_TRACE(absl::StrCat("reproduce with ARBITER_STORE_MODEL_SEED=", seed,
                              " ARBITER_STORE_MODEL_SEEDS=1"));
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) {
      return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
    };
    ScratchDir dir;
    DurableLogOptions o = Fast();
    o.keep_compacted_entries = pick(2) == 0;
    const size_t chunks[] = {64, 1000, 4096, 65536};
    o.checkpoint_chunk_bytes = chunks[pick(4)];
    Model model;
    model.keep = o.keep_compacted_entries;
    auto log = OpenOrDie(dir.path(), o);
    for (int64_t op = 0; op < ops && !HasFailure(); ++op) {
      const uint64_t kind = pick(100);
      if (kind < 55) {  // append, now and then with a wrong revision
        uint64_t rev = model.last + 1;
        if (pick(10) == 0) rev = pick(model.last + 3);
        const std::string payload = PayloadFor(seed, rev, 0, 2000);
        absl::Status st = log->Append({rev, payload});
        if (rev == model.last + 1) {
          ASSERT_THAT(st, IsOk()) << "op " << op;
          model.entries[rev] = payload;
          model.last = rev;
        } else {
          ASSERT_THAT(st, StatusIs(absl::StatusCode::kFailedPrecondition, _))
              << "op " << op << " rev " << rev;
        }
      } else if (kind < 70) {  // checkpoint, sometimes refused
        const uint64_t r = pick(model.last + 2);
        const std::string image = RandomBytes(seed ^ op, pick(20000));
        absl::Status st = log->WriteCheckpoint({r, image});
        if (model.CheckpointAllowed(r)) {
          ASSERT_THAT(st, IsOk()) << "op " << op << " checkpoint " << r;
          model.Checkpointed(r, image);
        } else {
          ASSERT_THAT(st, StatusIs(absl::StatusCode::kFailedPrecondition, _))
              << "op " << op << " checkpoint " << r;
        }
      } else if (kind < 80) {  // reopen
        log.reset();
        log = OpenOrDie(dir.path(), o);
      } else {  // read and compare
        ASSERT_EQ(log->last_revision(), model.last) << "op " << op;
        ASSERT_OK_AND_ASSIGN(absl::optional<Checkpoint> cp,
                             log->LatestCheckpoint());
        ASSERT_EQ(cp.has_value(), model.checkpoint.has_value()) << "op " << op;
        if (cp.has_value()) {
          ASSERT_EQ(cp->revision, model.checkpoint->revision) << "op " << op;
          ASSERT_EQ(cp->payload, model.checkpoint->payload) << "op " << op;
        }
        const uint64_t after = pick(model.last + 2);
        std::vector<uint64_t> seen;
        absl::Status st = log->ReadEntries(after, [&](const LogEntry& e) {
          seen.push_back(e.revision);
          EXPECT_EQ(e.payload, model.entries[e.revision]);
          return absl::OkStatus();
        });
        absl::optional<std::vector<uint64_t>> want = model.Read(after);
        if (want.has_value()) {
          ASSERT_THAT(st, IsOk()) << "op " << op << " after " << after;
          ASSERT_EQ(seen, *want) << "op " << op << " after " << after;
        } else {
          ASSERT_THAT(st, StatusIs(absl::StatusCode::kOutOfRange, _))
              << "op " << op << " after " << after;
        }
        if (pick(5) == 0) ASSERT_THAT(log->Verify(), IsOk()) << "op " << op;
      }
    }
  }
}

}  // namespace
}  // namespace store
}  // namespace arbiter
