// Faults below the store, each a clear error, the log still opening at its
// last good state (or refusing clearly), never a crash, never data from a
// failed write:
//   - through the fault-injection VFS (tests/store/fault_injection_vfs.h):
//     a full disk (SQLITE_FULL / ENOSPC), an fsync failure, EIO on read, a
//     read-only file system (EROFS), and power loss: every write after the
//     last successful fsync dropped (or a random subset kept), at random
//     moments, over and over;
//   - on real file systems, when the test may mount them (root with
//     CAP_SYS_ADMIN, in a private mount namespace): a full tmpfs and a
//     tmpfs remounted read-only. Skipped otherwise (the VFS tests cover the
//     same paths).
// Sizes: ARBITER_STORE_POWER_LOSSES (default 60) power losses.

#include <fcntl.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/store/durable_log.h"
#include "tests/store/fault_injection_vfs.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::_;
using ::testing::AnyOf;
using ::testing::HasSubstr;

using testing::FaultInjectionVfs;
using testing::LogContents;
using testing::PayloadFor;
using testing::RandomBytes;
using testing::ScratchDir;

constexpr uint64_t kSeed = 7;

std::string Payload(uint64_t r) { return PayloadFor(kSeed, r, 20, 800); }
std::string Image(uint64_t r) {
  return RandomBytes(kSeed + r, 30000 + r % 5000);
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { vfs_->Reset(); }
  void TearDown() override { vfs_->Reset(); }

  DurableLogOptions Options() const {
    DurableLogOptions o;
    o.sqlite_vfs_for_test = vfs_->name();
    o.checkpoint_chunk_bytes = 4096;
    return o;
  }
  std::unique_ptr<DurableLog> OpenOrDie(const DurableLogOptions& o) {
    auto log = DurableLog::Open(dir_.path(), o);
    EXPECT_THAT(log, IsOk());
    if (!log.ok()) std::abort();
    return std::move(*log);
  }
  void AppendRange(DurableLog& log, uint64_t from, uint64_t to) {
    for (uint64_t r = from; r <= to; ++r) {
      ASSERT_THAT(log.Append({r, Payload(r)}), IsOk()) << r;
    }
  }
  // Reopens (default VFS, no faults) and checks entries 1..last exactly.
  void ExpectLogIs(uint64_t last, absl::optional<uint64_t> checkpoint = {}) {
    DurableLogOptions o;
    o.checkpoint_chunk_bytes = 4096;
    ASSERT_OK_AND_ASSIGN(LogContents c, testing::OpenAndRead(dir_.path(), o));
    EXPECT_EQ(c.last_revision, last);
    for (const auto& e : c.entries) {
      EXPECT_TRUE(e.second == Payload(e.first)) << e.first;
    }
    if (checkpoint.has_value()) {
      ASSERT_TRUE(c.checkpoint.has_value());
      EXPECT_EQ(c.checkpoint->revision, *checkpoint);
      EXPECT_TRUE(c.checkpoint->payload == Image(*checkpoint));
    }
  }

  FaultInjectionVfs* vfs_ = FaultInjectionVfs::Get();
  ScratchDir dir_{"fault"};
};

TEST_F(FaultTest, DiskFullOnAppendIsACleanFailure) {
  DurableLogOptions o = Options();
  o.wal_checkpoint_pages = 0;  // the WAL only grows: every commit needs space
  auto log = OpenOrDie(o);
  AppendRange(*log, 1, 20);
  vfs_->SetFreeBytes(0);
  EXPECT_THAT(log->Append({21, Payload(21)}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("committing revision 21"),
                             HasSubstr("disk is full"))));
  EXPECT_EQ(log->last_revision(), 20u);
  // Nothing is poisoned: with space again, revision 21 goes in.
  vfs_->SetFreeBytes(-1);
  ASSERT_THAT(log->Append({21, Payload(21)}), IsOk());
  AppendRange(*log, 22, 25);
  log.reset();
  ExpectLogIs(25);
}

TEST_F(FaultTest, DiskFullDuringACheckpointLeavesThePreviousOne) {
  DurableLogOptions o = Options();
  o.wal_checkpoint_pages = 0;
  auto log = OpenOrDie(o);
  AppendRange(*log, 1, 10);
  ASSERT_THAT(log->WriteCheckpoint({5, Image(5)}), IsOk());
  AppendRange(*log, 11, 15);
  vfs_->SetFreeBytes(20000);  // runs out inside the chunks
  EXPECT_THAT(log->WriteCheckpoint({15, Image(15)}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("checkpoint at revision 15"),
                             HasSubstr("disk is full"))));
  ASSERT_OK_AND_ASSIGN(absl::optional<Checkpoint> cp, log->LatestCheckpoint());
  EXPECT_EQ(cp->revision, 5u);
  vfs_->SetFreeBytes(-1);
  AppendRange(*log, 16, 18);  // still usable
  log.reset();
  ExpectLogIs(18, 5);
}

TEST_F(FaultTest, DiskFullWhileCreatingLeavesNoStore) {
  vfs_->SetFreeBytes(0);
  EXPECT_THAT(DurableLog::Open(dir_.path(), Options()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("disk is full")));
  EXPECT_FALSE(testing::FileExists(dir_.Sub("arbiter.db")));
  vfs_->SetFreeBytes(-1);
  auto log = OpenOrDie(Options());
  AppendRange(*log, 1, 3);
  log.reset();
  ExpectLogIs(3);
}

TEST_F(FaultTest, InterruptedCheckpointOnAFullDiskStillOpens) {
  {
    auto log = OpenOrDie(Options());
    AppendRange(*log, 1, 10);
    // The process dies inside the checkpoint, after a few chunks.
    vfs_->CrashAfterOps(6);
    EXPECT_FALSE(log->WriteCheckpoint({10, Image(10)}).ok());
  }
  vfs_->Reset();  // the data written before the crash stays (no power loss)
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(dir_.Sub("arbiter.db").c_str(), &db,
                              SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM checkpoints WHERE state = 1",
                       -1, &stmt, nullptr);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(stmt, 0), 1) << "no interrupted checkpoint";
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  vfs_->SetAllWritesFull(true);
  // Removing the incomplete checkpoint needs space: it stays for later.
  auto log = OpenOrDie(Options());
  EXPECT_EQ(log->last_revision(), 10u);
  ASSERT_OK_AND_ASSIGN(absl::optional<Checkpoint> cp, log->LatestCheckpoint());
  EXPECT_FALSE(cp.has_value());
  EXPECT_THAT(log->Append({11, Payload(11)}),
              StatusIs(absl::StatusCode::kResourceExhausted, _));
  vfs_->SetAllWritesFull(false);
  ASSERT_THAT(log->WriteCheckpoint({10, Image(10)}), IsOk());
  EXPECT_THAT(log->Verify(), IsOk());
  log.reset();
  ExpectLogIs(10, 10);
}

TEST_F(FaultTest, FsyncFailureFailsTheCommitAndStopsWrites) {
  auto log = OpenOrDie(Options());
  AppendRange(*log, 1, 10);
  vfs_->FailSyncs(0, 1);
  absl::Status failed = log->Append({11, Payload(11)});
  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kUnavailable,
                               AllOf(HasSubstr("committing revision 11"),
                                     HasSubstr("I/O error"))));
  // The outcome is unknown: no more writes until reopened.
  EXPECT_THAT(log->Append({11, Payload(11)}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("refuses writes after an earlier failure")));
  EXPECT_THAT(log->WriteCheckpoint({10, Image(10)}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("refuses writes after an earlier failure")));
  EXPECT_EQ(log->last_revision(), 10u);
  // Readers still read the committed state, without the failed entry.
  ASSERT_OK_AND_ASSIGN(LogContents c, testing::ReadContents(*log));
  EXPECT_EQ(c.last_revision, 10u);
  log.reset();
  // The power goes: the unsynced commit is gone.
  vfs_->DropUnsyncedData();
  ExpectLogIs(10);
}

TEST_F(FaultTest, FsyncFailureWithoutPowerLossShowsTheEntryWholeOrNotAtAll) {
  auto log = OpenOrDie(Options());
  AppendRange(*log, 1, 10);
  vfs_->FailSyncs(0, 1);
  EXPECT_FALSE(log->Append({11, Payload(11)}).ok());
  log.reset();
  vfs_->Reset();
  DurableLogOptions o;
  ASSERT_OK_AND_ASSIGN(LogContents c, testing::OpenAndRead(dir_.path(), o));
  EXPECT_THAT(c.last_revision, AnyOf(10u, 11u));
  for (const auto& e : c.entries) EXPECT_TRUE(e.second == Payload(e.first));
}

TEST_F(FaultTest, ReadErrorsAreClearAndLeaveTheStoreAlone) {
  {
    auto log = OpenOrDie(Options());
    AppendRange(*log, 1, 30);
    ASSERT_THAT(log->WriteCheckpoint({20, Image(20)}), IsOk());
  }
  const auto before = testing::SnapshotFiles(dir_.path());
  vfs_->FailReads(FaultInjectionVfs::FileKind::kMainDb, 0, -1);
  EXPECT_THAT(DurableLog::Open(dir_.path(), Options()),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("arbiter.db"),
                             HasSubstr("Input/output error"))));
  EXPECT_TRUE(testing::SnapshotFiles(dir_.path()) == before);
  // A read error later in the scan (not the first page).
  for (int after : {1, 3, 8}) {
    vfs_->FailReads(FaultInjectionVfs::FileKind::kMainDb, after, -1);
    EXPECT_THAT(DurableLog::Open(dir_.path(), Options()),
                StatusIs(absl::StatusCode::kUnavailable, HasSubstr("I/O")))
        << after;
  }
  vfs_->FailReads(FaultInjectionVfs::FileKind::kAny, -1, 0);
  auto log = OpenOrDie(Options());
  // While reading the checkpoint: a fresh reader connection reads the file.
  vfs_->FailReads(FaultInjectionVfs::FileKind::kAny, 2, -1);
  EXPECT_THAT(log->LatestCheckpoint(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("I/O")));
  vfs_->FailReads(FaultInjectionVfs::FileKind::kAny, -1, 0);
  log.reset();
  ExpectLogIs(30, 20);
}

TEST_F(FaultTest, ReadOnlyFileSystem) {
  {
    auto log = OpenOrDie(Options());
    AppendRange(*log, 1, 12);
  }
  const auto before = testing::SnapshotFiles(dir_.path());
  vfs_->SetReadOnly(true);
  DurableLogOptions o = Options();
  o.os_fault_for_test = [](absl::string_view op, const std::string&) {
    return EROFS;  // every file-system write the store does itself
  };
  EXPECT_THAT(DurableLog::Open(dir_.path(), o),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr("LOCK: cannot open the lock file"),
                             HasSubstr("Read-only file system"))));
  // Read-only opens work (no -wal after a clean close: the database alone).
  o.read_only = true;
  auto log = DurableLog::Open(dir_.path(), o);
  ASSERT_THAT(log, IsOk());
  ASSERT_OK_AND_ASSIGN(LogContents c, testing::ReadContents(**log));
  EXPECT_EQ(c.last_revision, 12u);
  EXPECT_THAT((*log)->Verify(), IsOk());
  log = absl::UnknownError("closed");
  EXPECT_TRUE(testing::SnapshotFiles(dir_.path()) == before);
}

TEST_F(FaultTest, FileSystemTurningReadOnlyUnderAWriter) {
  auto log = OpenOrDie(Options());
  AppendRange(*log, 1, 5);
  vfs_->SetReadOnly(true);
  absl::Status s = log->Append({6, Payload(6)});
  EXPECT_THAT(s, AnyOf(StatusIs(absl::StatusCode::kPermissionDenied,
                                HasSubstr("committing revision 6")),
                       StatusIs(absl::StatusCode::kUnavailable,
                                HasSubstr("committing revision 6"))));
  EXPECT_FALSE(log->Append({6, Payload(6)}).ok());
  log.reset();
  vfs_->Reset();
  ExpectLogIs(5);
}

// Power loss at random moments, again and again on one store: after each,
// every acknowledged entry and checkpoint is there, nothing else but at
// most the one entry in flight (complete), and Verify() passes.
void PowerLossRounds(FaultInjectionVfs* vfs, const std::string& dir,
                     SyncMode sync, int64_t rounds) {
  std::mt19937_64 rng(kSeed);
  DurableLogOptions o;
  o.sqlite_vfs_for_test = vfs->name();
  o.checkpoint_chunk_bytes = 4096;
  o.sync = sync;
  o.wal_checkpoint_pages = 50;  // WAL copies into the database, often
  uint64_t durable = 0;         // acknowledged (kFull) or synced
  uint64_t acked_checkpoint = 0;
  int64_t drops = 0, crashes_in_checkpoint = 0;
  for (int64_t round = 0; round < rounds && !::testing::Test::HasFailure();
       ++round) {
    SCOPED_TRACE(absl::StrCat("power loss ", round));
    vfs->Reset();
    uint64_t acked = 0;
    {
      auto opened = DurableLog::Open(dir, o);
      ASSERT_THAT(opened, IsOk());
      std::unique_ptr<DurableLog> log = std::move(*opened);
      uint64_t last = log->last_revision();
      ASSERT_GE(last, durable);
      acked = last;
      vfs->CrashAfterOps(static_cast<int64_t>(rng() % 120));
      while (true) {
        if (rng() % 6 == 0) {
          const uint64_t at = log->last_revision();
          if (!log->WriteCheckpoint({at, Image(at)}).ok()) {
            ++crashes_in_checkpoint;
            break;
          }
          acked_checkpoint = std::max(acked_checkpoint, at);
          if (sync == SyncMode::kFull) durable = std::max(durable, at);
        } else {
          const uint64_t r = log->last_revision() + 1;
          if (!log->Append({r, Payload(r)}).ok()) break;
          acked = r;
          if (sync == SyncMode::kFull) durable = r;
        }
      }
      ASSERT_TRUE(vfs->crashed());
    }
    // The machine is off; what was not synced is lost (all of it, or a
    // random part: writes reach the disk in any order).
    const double keep = (round % 3 == 0) ? 0.0 : 0.5;
    vfs->DropUnsyncedData(keep, rng());
    ++drops;
    DurableLogOptions plain;
    plain.checkpoint_chunk_bytes = 4096;
    auto reopened = DurableLog::Open(dir, plain);
    ASSERT_THAT(reopened, IsOk());
    ASSERT_OK_AND_ASSIGN(LogContents c, testing::ReadContents(**reopened));
    ASSERT_GE(c.last_revision, durable) << "an acknowledged entry was lost";
    ASSERT_LE(c.last_revision, acked + 1);
    for (const auto& e : c.entries) {
      ASSERT_TRUE(e.second == Payload(e.first)) << "entry " << e.first;
    }
    if (c.checkpoint.has_value()) {
      ASSERT_TRUE(c.checkpoint->payload == Image(c.checkpoint->revision));
      ASSERT_LE(c.checkpoint->revision, c.last_revision);
    }
    if (sync == SyncMode::kFull && acked_checkpoint > 0) {
      ASSERT_TRUE(c.checkpoint.has_value());
      ASSERT_GE(c.checkpoint->revision, acked_checkpoint);
    }
    ASSERT_THAT((*reopened)->Verify(), IsOk());
    // Closing cleanly syncs everything: the base of the next round.
    durable = c.last_revision;
  }
  std::printf("power losses: %lld (%lld inside a checkpoint)\n",
              static_cast<long long>(drops),
              static_cast<long long>(crashes_in_checkpoint));
}

TEST_F(FaultTest, PowerLossDropsOnlyUnsyncedData) {
  PowerLossRounds(vfs_, dir_.path(), SyncMode::kFull,
                  testing::EnvInt("ARBITER_STORE_POWER_LOSSES", 60));
}

TEST_F(FaultTest, PowerLossInNormalModeLosesATailButNeverCorrupts) {
  PowerLossRounds(vfs_, dir_.path(), SyncMode::kNormal,
                  testing::EnvInt("ARBITER_STORE_POWER_LOSSES", 60) / 2);
}

// ---- Real file systems, in a private mount namespace ----

// Runs `body` in a forked child inside its own mount namespace with a tmpfs
// of `bytes` at `mountpoint`; returns what the body returned ("" = passed),
// or nullopt when this process may not mount (then the test is skipped).
absl::optional<std::string> InPrivateTmpfs(
    const std::string& mountpoint, size_t bytes,
    const std::function<std::string(const std::string&)>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return std::string("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string result;
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mountpoint.c_str(), "tmpfs", 0,
                absl::StrCat("size=", bytes).c_str()) != 0) {
      result = "\x01";  // cannot mount here: skip
    } else {
      result = body(mountpoint);
    }
    (void)!::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return std::string("the child crashed");
  if (out == "\x01") return absl::nullopt;
  return out;
}

TEST(RealFileSystemTest, FullTmpfs) {
  ScratchDir mnt("tmpfs");
  auto result = InPrivateTmpfs(
      mnt.path(), 1 << 20, [](const std::string& root) -> std::string {
        const std::string dir = root + "/store";
        DurableLogOptions o;
        uint64_t acked = 0;
        absl::Status failure;
        {
          auto log = DurableLog::Open(dir, o);
          if (!log.ok()) return log.status().ToString();
          for (uint64_t r = 1; r < 100000; ++r) {
            failure = (*log)->Append({r, RandomBytes(r, 2000)});
            if (!failure.ok()) break;
            acked = r;
          }
        }
        if (failure.code() != absl::StatusCode::kResourceExhausted ||
            failure.message().find("disk is full") == std::string::npos) {
          return "unexpected failure: " + failure.ToString();
        }
        // Still full: it opens at its last good state.
        {
          auto log = DurableLog::Open(dir, o);
          if (!log.ok())
            return "reopen on a full disk: " + log.status().ToString();
          auto c = testing::ReadContents(**log);
          if (!c.ok()) return c.status().ToString();
          if (c->last_revision != acked) {
            return absl::StrCat("reopened at ", c->last_revision, ", acked ",
                                acked);
          }
          for (const auto& e : c->entries) {
            if (e.second != RandomBytes(e.first, 2000)) {
              return absl::StrCat("entry ", e.first, " differs");
            }
          }
          // A checkpoint cannot fit either: a clean error, the log intact.
          absl::Status cp =
              (*log)->WriteCheckpoint({acked, RandomBytes(1, 500000)});
          if (cp.code() != absl::StatusCode::kResourceExhausted) {
            return "checkpoint on a full disk: " + cp.ToString();
          }
          absl::Status v = (*log)->Verify();
          if (!v.ok()) return "verify: " + v.ToString();
        }
        return "";
      });
  if (!result.has_value()) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN); the "
                    "fault-injection VFS tests cover a full disk";
  }
  EXPECT_EQ(*result, "");
}

TEST(RealFileSystemTest, ReadOnlyRemount) {
  ScratchDir mnt("tmpfs");
  auto result = InPrivateTmpfs(
      mnt.path(), 8 << 20, [](const std::string& root) -> std::string {
        const std::string dir = root + "/store";
        const std::string crashed = root + "/crashed";
        DurableLogOptions o;
        {
          auto log = DurableLog::Open(dir, o);
          if (!log.ok()) return log.status().ToString();
          for (uint64_t r = 1; r <= 20; ++r) {
            if (!(*log)->Append({r, RandomBytes(r, 300)}).ok()) return "append";
          }
        }
        // A store left by a crash: its -wal and -shm are still there.
        {
          auto log = DurableLog::Open(crashed, o);
          if (!log.ok()) return log.status().ToString();
          for (uint64_t r = 1; r <= 5; ++r) {
            if (!(*log)->Append({r, RandomBytes(r, 300)}).ok()) return "append";
          }
          if (!testing::CopyTree(crashed, root + "/image").ok()) return "copy";
        }
        if (::mount(nullptr, root.c_str(), nullptr, MS_REMOUNT | MS_RDONLY,
                    nullptr) != 0) {
          return std::string("remount: ") + std::strerror(errno);
        }
        auto w = DurableLog::Open(dir, o);
        if (w.ok() ||
            w.status().code() != absl::StatusCode::kPermissionDenied ||
            w.status().message().find("Read-only file system") ==
                std::string::npos) {
          return "writable open on a read-only fs: " + w.status().ToString();
        }
        DurableLogOptions ro;
        ro.read_only = true;
        auto r = DurableLog::Open(dir, ro);
        if (!r.ok()) return "read-only open: " + r.status().ToString();
        auto c = testing::ReadContents(**r);
        if (!c.ok() || c->last_revision != 20) return "read-only contents";
        // The crash image needs its WAL replayed, which a read-only file
        // system cannot do: a clear error, never the smaller database alone.
        auto i = DurableLog::Open(root + "/image", ro);
        if (i.ok() && (*i)->last_revision() != 5) {
          return absl::StrCat("crash image opened at revision ",
                              (*i)->last_revision());
        }
        return "";
      });
  if (!result.has_value()) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN); the "
                    "fault-injection VFS tests cover a read-only file system";
  }
  EXPECT_EQ(*result, "");
}

}  // namespace
}  // namespace store
}  // namespace arbiter
