// Damaged stores are refused, never loaded as a silently different or
// smaller state (leveldb's corruption_test, for our schema and records):
//   - bits flipped at random offsets of the database file and of a live WAL:
//     each is refused (DataLoss / FailedPrecondition) or harmless (the
//     store opens with exactly the original contents) -- never a crash,
//     never other contents;
//   - a flipped bit inside a known entry or checkpoint chunk names it;
//   - truncated database and WAL files;
//   - rows edited, deleted, swapped or inserted through SQL (valid SQLite,
//     wrong records), a hidden checkpoint, an edited store record, an extra
//     schema object;
//   - foreign files: not SQLite, another application's SQLite database, an
//     empty file, another format version, another store's database.
// A refused Open modifies no data file.
// Sizes: ARBITER_STORE_FLIPS (default 300) random flips per file kind.

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/store/durable_log.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;

using testing::CopyTree;
using testing::LogContents;
using testing::PayloadFor;
using testing::RandomBytes;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::WriteFileOrDie;

constexpr uint64_t kSeed = 99;
constexpr uint64_t kEntries = 200;
constexpr uint64_t kCheckpointAt = 120;
constexpr size_t kChunk = 16384;

std::string CheckpointImage() { return RandomBytes(kSeed, 300000); }
std::string EntryPayload(uint64_t r) { return PayloadFor(kSeed, r, 50, 3000); }

// kFull: the LOCK witness of a kNormal writer tolerates a lost tail (what
// a power loss may take from it), and these tests check the witness.
DurableLogOptions Options() {
  DurableLogOptions o;
  o.checkpoint_chunk_bytes = kChunk;
  return o;
}

// The data files (what "modifies nothing" compares): not the -shm index,
// not an empty -wal SQLite may create when it opens, not an empty LOCK.
std::map<std::string, std::string> DataFiles(const std::string& dir) {
  auto files = testing::SnapshotFiles(dir);
  for (auto it = files.begin(); it != files.end();) {
    if ((it->first == "arbiter.db-wal" || it->first == "LOCK") &&
        it->second.empty()) {
      it = files.erase(it);
    } else {
      ++it;
    }
  }
  return files;
}

void ExpectPristine(const LogContents& c) {
  ASSERT_TRUE(c.checkpoint.has_value());
  EXPECT_EQ(c.checkpoint->revision, kCheckpointAt);
  EXPECT_TRUE(c.checkpoint->payload == CheckpointImage());
  EXPECT_EQ(c.last_revision, kEntries);
  ASSERT_EQ(c.entries.size(), kEntries - kCheckpointAt);
  for (const auto& e : c.entries) {
    EXPECT_TRUE(e.second == EntryPayload(e.first)) << e.first;
  }
}

// Runs SQL on a database directly (the tampering tool).
void Sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

class CorruptionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = new ScratchDir("pristine");
    auto log = DurableLog::Open(pristine_->path(), Options());
    ASSERT_THAT(log, IsOk());
    for (uint64_t r = 1; r <= kEntries; ++r) {
      ASSERT_THAT((*log)->Append({r, EntryPayload(r)}), IsOk());
      if (r == kCheckpointAt + 30) {
        ASSERT_THAT((*log)->WriteCheckpoint({kCheckpointAt, CheckpointImage()}),
                    IsOk());
      }
    }
  }
  static void TearDownTestSuite() {
    delete pristine_;
    pristine_ = nullptr;
  }

  // A copy of the pristine store in a fresh directory.
  std::string Copy() {
    ASSERT_COPY_OK(CopyTree(pristine_->path(), scratch_.path()));
    return scratch_.path();
  }
  static void ASSERT_COPY_OK(const absl::Status& s) {
    if (!s.ok()) std::abort();
  }

  // Open must refuse with one of DataLoss / FailedPrecondition and a
  // message matching `message`, modifying no data file.
  template <typename M>
  void ExpectRefused(const std::string& dir, M message) {
    const auto before = DataFiles(dir);
    auto log = DurableLog::Open(dir, Options());
    EXPECT_THAT(
        log, AnyOf(StatusIs(absl::StatusCode::kDataLoss, message),
                   StatusIs(absl::StatusCode::kFailedPrecondition, message)));
    log = absl::StatusOr<std::unique_ptr<DurableLog>>(absl::UnknownError(""));
    EXPECT_TRUE(DataFiles(dir) == before) << "a refused Open modified files";
  }

  static ScratchDir* pristine_;
  ScratchDir scratch_{"corrupt"};
};

ScratchDir* CorruptionTest::pristine_ = nullptr;

TEST_F(CorruptionTest, PristineCopyOpens) {
  const std::string dir = Copy();
  EXPECT_FALSE(testing::FileExists(dir + "/arbiter.db-wal"));
  ASSERT_OK_AND_ASSIGN(LogContents c, testing::OpenAndRead(dir, Options()));
  ExpectPristine(c);
}

// Returns the offset of `needle` in `haystack` (it must occur exactly once).
size_t UniqueOffset(const std::string& haystack, const std::string& needle) {
  size_t at = haystack.find(needle);
  EXPECT_NE(at, std::string::npos);
  EXPECT_EQ(haystack.find(needle, at + 1), std::string::npos);
  return at;
}

TEST_F(CorruptionTest, FlippedBitInAnEntryNamesIt) {
  const std::string dir = Copy();
  const std::string db = dir + "/arbiter.db";
  std::string bytes = ReadFileOrDie(db);
  const std::string payload = EntryPayload(150);
  size_t at = UniqueOffset(bytes, payload.substr(0, 48)) + 40;
  bytes[at] ^= 0x10;
  WriteFileOrDie(db, bytes);
  ExpectRefused(dir,
                HasSubstr("table entries, revision 150: SHA-256 mismatch"));
}

TEST_F(CorruptionTest, FlippedBitInACheckpointChunkNamesIt) {
  const std::string dir = Copy();
  const std::string db = dir + "/arbiter.db";
  std::string bytes = ReadFileOrDie(db);
  const std::string image = CheckpointImage();
  // Inside chunk 5.
  size_t at = UniqueOffset(bytes, image.substr(5 * kChunk + 100, 64)) + 7;
  bytes[at] ^= 0x01;
  WriteFileOrDie(db, bytes);
  ExpectRefused(
      dir, AllOf(HasSubstr("checkpoint at revision 120"), HasSubstr("chunk 5"),
                 HasSubstr("SHA-256 mismatch")));
}

TEST_F(CorruptionTest, RandomBitFlipsInTheDatabaseAreRefusedOrHarmless) {
  const int64_t flips = testing::EnvInt("ARBITER_STORE_FLIPS", 300);
  const std::string original = ReadFileOrDie(pristine_->path() + "/arbiter.db");
  std::mt19937_64 rng(kSeed);
  int refused = 0, harmless = 0;
  std::map<std::string, int> reasons;
  for (int64_t i = 0; i < flips && !HasFailure(); ++i) {
    ScratchDir dir("flip");
    ASSERT_THAT(CopyTree(pristine_->path(), dir.path()), IsOk());
    std::string bytes = original;
    const size_t offset = rng() % bytes.size();
    const int bit = static_cast<int>(rng() % 8);
    bytes[offset] ^= static_cast<char>(1 << bit);
    WriteFileOrDie(dir.path() + "/arbiter.db", bytes);
    SCOPED_TRACE(absl::StrCat("flip ", i, ": offset ", offset, " (page ",
                              offset / 4096 + 1, ") bit ", bit));
    const auto before = DataFiles(dir.path());
    auto log = DurableLog::Open(dir.path(), Options());
    if (!log.ok()) {
      ASSERT_THAT(log.status().code(),
                  AnyOf(absl::StatusCode::kDataLoss,
                        absl::StatusCode::kFailedPrecondition))
          << log.status();
      ASSERT_TRUE(DataFiles(dir.path()) == before)
          << "a refused Open modified files: " << log.status();
      ++refused;
      std::string reason(log.status().message());
      reason = reason.substr(reason.find("arbiter.db") + 10, 40);
      ++reasons[reason];
      continue;
    }
    // Opened: then it must be exactly the original state.
    ASSERT_OK_AND_ASSIGN(LogContents c, testing::ReadContents(**log));
    ExpectPristine(c);
    ++harmless;
  }
  std::printf(
      "random flips in arbiter.db: %d refused, %d harmless (unused "
      "bytes)\n",
      refused, harmless);
  for (const auto& r : reasons) {
    std::printf("  %4d x %s\n", r.second, r.first.c_str());
  }
}

// A crash image: the database and its WAL as a killed writer leaves them
// (the copy is taken while the writer is open, between commits).
class WalCorruptionTest : public CorruptionTest {
 protected:
  void SetUp() override {
    live_ = std::make_unique<ScratchDir>("live");
    ASSERT_THAT(CopyTree(pristine_->path(), live_->path()), IsOk());
    writer_ = std::move(*DurableLog::Open(live_->path(), Options()));
    for (uint64_t r = kEntries + 1; r <= kEntries + 40; ++r) {
      ASSERT_THAT(writer_->Append({r, EntryPayload(r)}), IsOk());
    }
    ASSERT_GT(testing::FileSize(live_->path() + "/arbiter.db-wal"), 0);
  }
  // A crash image of the live store in a fresh directory.
  std::string CrashImage() {
    ScratchDir* d = new ScratchDir("image");
    images_.emplace_back(d);
    ASSERT_COPY_OK(CopyTree(live_->path(), d->path()));
    return d->path();
  }
  std::unique_ptr<ScratchDir> live_;
  std::unique_ptr<DurableLog> writer_;
  std::vector<std::unique_ptr<ScratchDir>> images_;
};

TEST_F(WalCorruptionTest, CrashImageOpensWithEveryCommit) {
  const std::string dir = CrashImage();
  auto log = DurableLog::Open(dir, Options());
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ((*log)->last_revision(), kEntries + 40);
}

TEST_F(WalCorruptionTest, RandomBitFlipsInTheWalAreRefusedOrHarmless) {
  const int64_t flips = testing::EnvInt("ARBITER_STORE_FLIPS", 300);
  const std::string image = CrashImage();
  const std::string wal = ReadFileOrDie(image + "/arbiter.db-wal");
  std::mt19937_64 rng(kSeed + 1);
  int refused = 0, harmless = 0;
  for (int64_t i = 0; i < flips && !HasFailure(); ++i) {
    ScratchDir dir("walflip");
    ASSERT_THAT(CopyTree(image, dir.path()), IsOk());
    std::string bytes = wal;
    const size_t offset = rng() % bytes.size();
    bytes[offset] ^= static_cast<char>(1 << (rng() % 8));
    WriteFileOrDie(dir.path() + "/arbiter.db-wal", bytes);
    SCOPED_TRACE(absl::StrCat("flip ", i, " at WAL offset ", offset));
    auto log = DurableLog::Open(dir.path(), Options());
    if (!log.ok()) {
      ASSERT_THAT(log.status().code(),
                  AnyOf(absl::StatusCode::kDataLoss,
                        absl::StatusCode::kFailedPrecondition))
          << log.status();
      ++refused;
      continue;
    }
    ASSERT_EQ((*log)->last_revision(), kEntries + 40)
        << "a damaged WAL loaded a smaller state";
    ASSERT_OK_AND_ASSIGN(LogContents c, testing::ReadContents(**log));
    for (const auto& e : c.entries) {
      ASSERT_TRUE(e.second == EntryPayload(e.first)) << e.first;
    }
    ++harmless;
  }
  std::printf("random flips in arbiter.db-wal: %d refused, %d harmless\n",
              refused, harmless);
}

TEST_F(WalCorruptionTest, TruncatedWalIsRefusedByTheLockWitness) {
  const std::string image = CrashImage();
  const std::string wal = ReadFileOrDie(image + "/arbiter.db-wal");
  std::mt19937_64 rng(kSeed + 2);
  for (int i = 0; i < 40 && !HasFailure(); ++i) {
    ScratchDir dir("waltrunc");
    ASSERT_THAT(CopyTree(image, dir.path()), IsOk());
    const size_t size = i == 0 ? 0 : rng() % wal.size();
    WriteFileOrDie(dir.path() + "/arbiter.db-wal", wal.substr(0, size));
    SCOPED_TRACE(absl::StrCat("WAL truncated to ", size, " of ", wal.size()));
    auto log = DurableLog::Open(dir.path(), Options());
    if (log.ok()) {
      // Only a cut after the last commit frame loses nothing.
      ASSERT_EQ((*log)->last_revision(), kEntries + 40);
      continue;
    }
    EXPECT_THAT(log, StatusIs(absl::StatusCode::kDataLoss,
                              HasSubstr("records revision 240 as durably "
                                        "committed")));
  }
  // Deleting the WAL of a crashed store: the same.
  ScratchDir dir("walgone");
  ASSERT_THAT(CopyTree(image, dir.path()), IsOk());
  ASSERT_EQ(::unlink((dir.path() + "/arbiter.db-wal").c_str()), 0);
  EXPECT_THAT(DurableLog::Open(dir.path(), Options()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("committed transactions are missing")));
}

TEST_F(WalCorruptionTest, WithoutTheLockFileATruncatedWalGoesUnnoticed) {
  // The documented limit: the witness lives in LOCK. Without it, a WAL cut
  // at a commit boundary is indistinguishable from a crash before those
  // commits; what loads is still a consistent, verified prefix.
  const std::string image = CrashImage();
  ScratchDir dir("nolock");
  ASSERT_THAT(CopyTree(image, dir.path()), IsOk());
  ASSERT_EQ(::unlink((dir.path() + "/LOCK").c_str()), 0);
  ASSERT_EQ(::unlink((dir.path() + "/arbiter.db-wal").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(LogContents c,
                       testing::OpenAndRead(dir.path(), Options()));
  EXPECT_EQ(c.last_revision, kEntries);
}

TEST_F(CorruptionTest, TruncatedDatabaseIsRefused) {
  const std::string original = ReadFileOrDie(pristine_->path() + "/arbiter.db");
  std::mt19937_64 rng(kSeed + 3);
  for (int i = 0; i < 60 && !HasFailure(); ++i) {
    ScratchDir dir("trunc");
    ASSERT_THAT(CopyTree(pristine_->path(), dir.path()), IsOk());
    size_t size = rng() % original.size();
    if (i % 2 == 0) size -= size % 4096;  // at a page boundary
    if (i == 0) size = 0;
    if (i == 1) size = 100;  // inside the header
    WriteFileOrDie(dir.path() + "/arbiter.db", original.substr(0, size));
    SCOPED_TRACE(absl::StrCat("truncated to ", size, " of ", original.size()));
    auto log = DurableLog::Open(dir.path(), Options());
    ASSERT_FALSE(log.ok()) << "a truncated database opened";
    EXPECT_THAT(log.status().code(),
                AnyOf(absl::StatusCode::kDataLoss,
                      absl::StatusCode::kFailedPrecondition))
        << log.status();
  }
}

TEST_F(CorruptionTest, EditedPayloadIsRefused) {
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db",
      "UPDATE entries SET payload = x'00' || payload WHERE revision = 160");
  ExpectRefused(dir, HasSubstr("revision 160: SHA-256 mismatch"));
}

TEST_F(CorruptionTest, MissingEntryIsRefused) {
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db", "DELETE FROM entries WHERE revision = 170");
  ExpectRefused(dir, HasSubstr("revision 170 is missing"));
}

TEST_F(CorruptionTest, SwappedPayloadsAreRefused) {
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db",
      "UPDATE entries SET payload = CASE revision WHEN 180 THEN "
      "(SELECT payload FROM entries WHERE revision = 181) ELSE "
      "(SELECT payload FROM entries WHERE revision = 180) END "
      "WHERE revision IN (180, 181)");
  ExpectRefused(dir, HasSubstr("revision 180: SHA-256 mismatch"));
}

TEST_F(CorruptionTest, LostTailIsRefusedByTheLockWitness) {
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db", "DELETE FROM entries WHERE revision > 195");
  ExpectRefused(dir, HasSubstr("the log ends at revision 195, but"));
}

TEST_F(CorruptionTest, AppendedForgedEntryIsRefused) {
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db",
      "INSERT INTO entries(revision, hash, payload) VALUES (201, "
      "zeroblob(32), x'41')");
  ExpectRefused(dir, HasSubstr("revision 201: SHA-256 mismatch"));
}

TEST_F(CorruptionTest, EditedOrMissingChunkIsRefused) {
  {
    const std::string dir = Copy();
    Sql(dir + "/arbiter.db",
        "UPDATE checkpoint_chunks SET data = substr(data, 2) WHERE "
        "chunk_index = 3");
    ExpectRefused(dir, HasSubstr("chunk 3"));
  }
  {
    ScratchDir other("chunk");
    ASSERT_THAT(CopyTree(pristine_->path(), other.path()), IsOk());
    Sql(other.path() + "/arbiter.db",
        "DELETE FROM checkpoint_chunks WHERE chunk_index = 3");
    ExpectRefused(other.path(), HasSubstr("chunk 3 is missing"));
  }
}

TEST_F(CorruptionTest, HiddenCheckpointIsRefusedNotCleanedUp) {
  // A checkpoint that no longer looks complete would be deleted as an
  // interrupted one -- but the entries it replaced are gone, so Open must
  // refuse before any cleanup.
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db", "UPDATE checkpoints SET state = 1");
  ExpectRefused(dir, HasSubstr("revisions 1..120 are missing"));
}

TEST_F(CorruptionTest, EditedCheckpointOrStoreRecordIsRefused) {
  {
    const std::string dir = Copy();
    Sql(dir + "/arbiter.db", "UPDATE checkpoints SET revision = 119");
    ExpectRefused(dir, HasSubstr("does not match its hash"));
  }
  {
    ScratchDir other("info");
    ASSERT_THAT(CopyTree(pristine_->path(), other.path()), IsOk());
    Sql(other.path() + "/arbiter.db",
        "UPDATE store_info SET created_unix_ms = created_unix_ms + 1");
    ExpectRefused(other.path(), HasSubstr("table store_info: the store record "
                                          "does not match its hash"));
  }
}

TEST_F(CorruptionTest, ExtraOrMissingSchemaObjectsAreRefused) {
  {
    const std::string dir = Copy();
    Sql(dir + "/arbiter.db",
        "CREATE TRIGGER t AFTER INSERT ON entries BEGIN DELETE FROM entries; "
        "END");
    ExpectRefused(dir, HasSubstr("unexpected schema object: trigger t"));
  }
  {
    ScratchDir other("schema");
    ASSERT_THAT(CopyTree(pristine_->path(), other.path()), IsOk());
    Sql(other.path() + "/arbiter.db", "DROP TABLE checkpoint_chunks");
    ExpectRefused(other.path(), HasSubstr("schema object"));
  }
}

TEST_F(CorruptionTest, ForeignFilesAreRefused) {
  ScratchDir dir("foreign");
  const std::string db = dir.path() + "/arbiter.db";
  WriteFileOrDie(db, RandomBytes(5, 100000));
  ExpectRefused(dir.path(), HasSubstr("not a database"));

  WriteFileOrDie(db, "name,revision\nalice,1\n");
  ExpectRefused(dir.path(), HasSubstr("not a database"));

  WriteFileOrDie(db, "");
  ExpectRefused(dir.path(), HasSubstr("an empty SQLite database"));

  ::unlink(db.c_str());
  Sql(db, "CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT)");
  ExpectRefused(dir.path(),
                HasSubstr("an SQLite database of another application "
                          "(application_id 0x00000000"));

  ::unlink(db.c_str());
  Sql(db, "PRAGMA application_id = 1; CREATE TABLE t(x)");
  ExpectRefused(dir.path(), HasSubstr("application_id 0x00000001"));
}

TEST_F(CorruptionTest, OtherFormatVersionIsRefused) {
  const std::string dir = Copy();
  Sql(dir + "/arbiter.db", "PRAGMA user_version = 2");
  ExpectRefused(dir, HasSubstr("store format version 2; this build reads "
                               "version 1"));
}

TEST_F(CorruptionTest, AnotherStoresDatabaseIsRefused) {
  ScratchDir other("other");
  {
    auto log = DurableLog::Open(other.path(), Options());
    ASSERT_THAT(log, IsOk());
    for (uint64_t r = 1; r <= kEntries; ++r) {
      ASSERT_THAT((*log)->Append({r, "other"}), IsOk());
    }
  }
  const std::string dir = Copy();
  WriteFileOrDie(dir + "/arbiter.db",
                 ReadFileOrDie(other.path() + "/arbiter.db"));
  ExpectRefused(dir, HasSubstr("files of two stores are mixed"));
}

TEST_F(CorruptionTest, KeptHistoryIsCheckedByVerifyAndFullOpen) {
  ScratchDir dir("history");
  DurableLogOptions o = Options();
  o.keep_compacted_entries = true;
  {
    auto log = DurableLog::Open(dir.path(), o);
    ASSERT_THAT(log, IsOk());
    for (uint64_t r = 1; r <= 30; ++r) {
      ASSERT_THAT((*log)->Append({r, EntryPayload(r)}), IsOk());
    }
    ASSERT_THAT((*log)->WriteCheckpoint({20, "image"}), IsOk());
  }
  Sql(dir.path() + "/arbiter.db",
      "UPDATE entries SET payload = x'00' WHERE revision = 10");
  {
    // The recovery view (checkpoint 20 + entries 21..30) is intact.
    auto log = DurableLog::Open(dir.path(), o);
    ASSERT_THAT(log, IsOk());
    EXPECT_THAT((*log)->Verify(),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("revision 10: SHA-256 mismatch")));
  }
  o.verify_on_open = OpenVerification::kFull;
  EXPECT_THAT(DurableLog::Open(dir.path(), o),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("revision 10: SHA-256 mismatch")));
}

}  // namespace
}  // namespace store
}  // namespace arbiter
