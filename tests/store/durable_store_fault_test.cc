// Faults under a DurableStore, each a clear error, the store still opening
// at its last good state (or refusing clearly, modifying nothing), never a
// crash, never the data of a failed write:
//   - a full disk (ENOSPC, the fault-injection VFS): Apply refused with
//     UNAVAILABLE, nothing applied in memory or on disk, the store usable
//     again once there is space; a checkpoint that does not fit leaves the
//     previous one;
//   - an fsync failure: Apply refused, later writes refused until reopened,
//     the reopened store holding the transaction completely or not at all;
//     a group that reaches the log only in part: the same, a whole prefix;
//   - a read-only file system: a writable Open refused (PermissionDenied),
//     read-only opens work;
//   - corrupted pages (random bit flips in arbiter.db,
//     ARBITER_STORE_POLICY_FLIPS, default 60): refused or harmless, never a
//     different state;
//   - a truncated database and a truncated WAL: refused;
//   - log entries that verify but do not decode, do not apply or break the
//     audit chain (written with the right hashes by the DurableLog below):
//     refused, naming the revision.

#include <unistd.h>

#include <cerrno>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "arbiter/durable_store.h"
#include "arbiter/policy_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "src/store/durable_log.h"
#include "src/store/durable_store_internal.h"
#include "src/store/policy_codec.h"
#include "tests/store/fault_injection_vfs.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::AllOf;
using ::testing::AnyOf;
using testing::FaultInjectionVfs;
using ::testing::HasSubstr;
using testing::ScratchDir;

v1::Transaction SetResearchRole(const std::string& who,
                                const std::string& role) {
  v1::Transaction t;
  t.set_actor("alice@acme.com");
  auto* m = t.add_mutations()->mutable_set_cloud_member();
  m->set_cloud("research");
  m->set_principal(who);
  m->set_role(role);
  return t;
}

v1::Transaction Toggle(int i) {
  return SetResearchRole("carol@acme.com",
                         i % 2 == 0 ? "cloud_collaborator" : "cloud_readonly");
}

class StoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { vfs_->Reset(); }
  void TearDown() override { vfs_->Reset(); }

  std::string Path() const { return dir_.Sub("store"); }
  LogOptionsHook Hook() const {
    const std::string name = vfs_->name();
    return [name](DurableLogOptions* o) {
      o->sqlite_vfs_for_test = name;
      o->checkpoint_chunk_bytes = 4096;
      o->wal_checkpoint_pages = 0;
    };
  }
  DurableStoreOptions Options() const {
    DurableStoreOptions o;
    o.checkpoint_after_entries = 0;  // checkpoints only when asked
    o.checkpoint_after_bytes = 0;
    return o;
  }
  std::unique_ptr<DurableStore> Open(DurableStoreOptions o) {
    auto s = DurableStoreAccess::Open(Path(), o, Hook());
    EXPECT_THAT(s, IsOk());
    return s.ok() ? std::move(*s) : nullptr;
  }
  // A demo store with `n` transactions applied, closed.
  v1::PolicySet MakeStore(int n) {
    auto s =
        DurableStoreAccess::Create(Path(), DemoPolicySet(), Options(), Hook());
    EXPECT_THAT(s, IsOk());
    for (int i = 0; i < n; ++i) EXPECT_THAT((*s)->Apply(Toggle(i)), IsOk());
    return (*s)->StateCopy();
  }
  // Reopens without faults; the state must be `expected`.
  void ExpectStoreIs(const v1::PolicySet& expected) {
    vfs_->Reset();
    auto s = DurableStore::Open(Path(), Options());
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ((*s)->revision(), expected.revision());
    EXPECT_TRUE(MessageDifferencer::Equals((*s)->StateCopy(), expected));
    EXPECT_THAT((*s)->Verify(), IsOk());
  }

  FaultInjectionVfs* vfs_ = FaultInjectionVfs::Get();
  ScratchDir dir_{"store_fault"};
};

TEST_F(StoreFaultTest, DiskFullRefusesTheTransactionAndRecovers) {
  MakeStore(4);
  std::unique_ptr<DurableStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  const v1::PolicySet before = s->StateCopy();
  vfs_->SetFreeBytes(0);
  absl::StatusOr<AppliedTransaction> a = s->Apply(Toggle(4));
  EXPECT_THAT(a.status(),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("could not make revision 6 durable"),
                             HasSubstr("disk is full"))));
  EXPECT_EQ(RefusalOf(a.status()), Refusal::kUnavailable);
  // Nothing of it in memory.
  EXPECT_EQ(s->revision(), before.revision());
  EXPECT_TRUE(MessageDifferencer::Equals(s->StateCopy(), before));
  EXPECT_EQ(s->audit_log().Records("org_123").size(), 4u);
  // With space again the same transaction goes in, at the same revision.
  vfs_->SetFreeBytes(-1);
  absl::StatusOr<AppliedTransaction> b = s->Apply(Toggle(4));
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->revision, 6u);
  const v1::PolicySet after = s->StateCopy();
  s.reset();
  ExpectStoreIs(after);
}

TEST_F(StoreFaultTest, DiskFullDuringACheckpointLeavesThePreviousOne) {
  MakeStore(3);
  std::unique_ptr<DurableStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  ASSERT_THAT(s->Checkpoint(), IsOk());
  const uint64_t first = s->stats().checkpoint_revision;
  for (int i = 3; i < 8; ++i) ASSERT_THAT(s->Apply(Toggle(i)), IsOk());
  vfs_->SetFreeBytes(3000);
  EXPECT_THAT(s->Checkpoint(), StatusIs(absl::StatusCode::kResourceExhausted,
                                        HasSubstr("disk is full")));
  EXPECT_EQ(s->stats().checkpoint_revision, first);
  EXPECT_EQ(s->stats().checkpoint_failures, 1u);
  vfs_->SetFreeBytes(-1);
  ASSERT_THAT(s->Apply(Toggle(8)), IsOk());  // still usable
  const v1::PolicySet after = s->StateCopy();
  s.reset();
  ExpectStoreIs(after);
}

TEST_F(StoreFaultTest, FsyncFailureRefusesAndStopsWritesUntilReopened) {
  MakeStore(4);
  std::unique_ptr<DurableStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  const v1::PolicySet before = s->StateCopy();
  vfs_->FailSyncs(0, 1);
  absl::StatusOr<AppliedTransaction> a = s->Apply(Toggle(4));
  EXPECT_THAT(a.status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("I/O error")));
  EXPECT_TRUE(MessageDifferencer::Equals(s->StateCopy(), before));
  // Its outcome on disk is unknown: no more writes until reopened.
  EXPECT_THAT(s->Apply(Toggle(4)).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reopen it")));
  s.reset();
  // Reopened, the transaction is there completely or not at all.
  vfs_->Reset();
  auto reopened = DurableStore::Open(Path(), Options());
  ASSERT_THAT(reopened, IsOk());
  const uint64_t revision = (*reopened)->revision();
  ASSERT_TRUE(revision == before.revision() ||
              revision == before.revision() + 1)
      << revision;
  if (revision == before.revision()) {
    EXPECT_TRUE(MessageDifferencer::Equals((*reopened)->StateCopy(), before));
  } else {
    auto model = PolicyStore::Create(before);
    ASSERT_THAT(model, IsOk());
    ASSERT_THAT((*model)->Apply(Toggle(4)), IsOk());
    EXPECT_TRUE(MessageDifferencer::Equals((*reopened)->StateCopy(),
                                           (*model)->StateCopy()));
  }
  EXPECT_THAT((*reopened)->Verify(), IsOk());
  EXPECT_THAT((*reopened)->Apply(Toggle(5)), IsOk());
}

TEST_F(StoreFaultTest, ReadOnlyFileSystem) {
  const v1::PolicySet state = MakeStore(5);
  const auto before = testing::SnapshotFiles(Path());
  vfs_->SetReadOnly(true);
  const LogOptionsHook read_only_fs = [this](DurableLogOptions* o) {
    Hook()(o);
    o->os_fault_for_test = [](absl::string_view, const std::string&) {
      return EROFS;
    };
  };
  EXPECT_THAT(DurableStoreAccess::Open(Path(), Options(), read_only_fs),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("Read-only file system")));
  DurableStoreOptions ro = Options();
  ro.read_only = true;
  auto s = DurableStoreAccess::Open(Path(), ro, read_only_fs);
  ASSERT_THAT(s, IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals((*s)->StateCopy(), state));
  EXPECT_THAT((*s)->Verify(), IsOk());
  s = absl::UnknownError("closed");
  EXPECT_TRUE(testing::SnapshotFiles(Path()) == before)
      << "a read-only open modified the store";
}

TEST_F(StoreFaultTest, RandomBitFlipsAreRefusedOrHarmless) {
  const v1::PolicySet state = MakeStore(12);
  {
    auto s = DurableStore::Open(Path(), Options());
    ASSERT_THAT(s, IsOk());
    ASSERT_THAT((*s)->Checkpoint(), IsOk());
    for (int i = 12; i < 16; ++i) ASSERT_THAT((*s)->Apply(Toggle(i)), IsOk());
  }
  auto pristine = DurableStore::Read(Path());
  ASSERT_THAT(pristine, IsOk());
  const std::string original = testing::ReadFileOrDie(Path() + "/arbiter.db");
  const int64_t flips = testing::EnvInt("ARBITER_STORE_POLICY_FLIPS", 60);
  std::mt19937_64 rng(99);
  int refused = 0, harmless = 0;
  for (int64_t i = 0; i < flips && !HasFailure(); ++i) {
    ScratchDir dir("policy_flip");
    ASSERT_THAT(testing::CopyTree(Path(), dir.path()), IsOk());
    std::string bytes = original;
    const size_t offset = rng() % bytes.size();
    const int bit = static_cast<int>(rng() % 8);
    bytes[offset] ^= static_cast<char>(1 << bit);
    testing::WriteFileOrDie(dir.path() + "/arbiter.db", bytes);
    SCOPED_TRACE(absl::StrCat("flip ", i, ": offset ", offset, " bit ", bit));
    auto s = DurableStore::Open(dir.path(), Options());
    if (!s.ok()) {
      ASSERT_THAT(s.status().code(),
                  AnyOf(absl::StatusCode::kDataLoss,
                        absl::StatusCode::kFailedPrecondition))
          << s.status();
      ASSERT_THAT(std::string(s.status().message()), HasSubstr("arbiter.db"));
      ++refused;
      continue;
    }
    ASSERT_TRUE(MessageDifferencer::Equals((*s)->StateCopy(), pristine->state))
        << "a flipped bit loaded a different state";
    ++harmless;
  }
  std::printf("bit flips in a store: %d refused, %d harmless\n", refused,
              harmless);
  EXPECT_GT(refused, 0);
}

TEST_F(StoreFaultTest, TruncatedDatabaseIsRefused) {
  MakeStore(10);
  const std::string original = testing::ReadFileOrDie(Path() + "/arbiter.db");
  for (size_t size : {size_t{0}, size_t{100}, size_t{4096}, original.size() / 2,
                      original.size() - 4096}) {
    SCOPED_TRACE(absl::StrCat("truncated to ", size));
    ScratchDir dir("policy_trunc");
    ASSERT_THAT(testing::CopyTree(Path(), dir.path()), IsOk());
    testing::WriteFileOrDie(dir.path() + "/arbiter.db",
                            original.substr(0, size));
    EXPECT_THAT(
        DurableStore::Open(dir.path(), Options()).status(),
        AnyOf(StatusIs(absl::StatusCode::kDataLoss, ::testing::_),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_)));
  }
}

TEST_F(StoreFaultTest, TruncatedWalOfACrashedWriterIsRefused) {
  MakeStore(2);
  std::unique_ptr<DurableStore> writer = Open(Options());
  ASSERT_NE(writer, nullptr);
  for (int i = 2; i < 30; ++i) ASSERT_THAT(writer->Apply(Toggle(i)), IsOk());
  // The files as a killed writer leaves them (every commit synced).
  ScratchDir image("policy_image");
  ASSERT_THAT(testing::CopyTree(Path(), image.path()), IsOk());
  const std::string wal =
      testing::ReadFileOrDie(image.path() + "/arbiter.db-wal");
  ASSERT_GT(wal.size(), 0u);
  {
    ScratchDir whole("policy_whole");
    ASSERT_THAT(testing::CopyTree(image.path(), whole.path()), IsOk());
    auto s = DurableStore::Open(whole.path(), Options());
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ((*s)->revision(), writer->revision());
  }
  ScratchDir cut("policy_walcut");
  ASSERT_THAT(testing::CopyTree(image.path(), cut.path()), IsOk());
  testing::WriteFileOrDie(cut.path() + "/arbiter.db-wal",
                          wal.substr(0, wal.size() / 2));
  EXPECT_THAT(
      DurableStore::Open(cut.path(), Options()).status(),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("as durably committed")));
}

// A group that reaches the log only in part (the DurableLog splits it into
// two commits, the second fails): refused as a whole, the store refuses
// writes until reopened, and the reopened store holds a whole prefix.
TEST_F(StoreFaultTest, AGroupCommittedInPartStopsWritesUntilReopened) {
  MakeStore(2);
  const LogOptionsHook small_batches = [this](DurableLogOptions* o) {
    Hook()(o);
    o->max_batch_entries = 2;
  };
  auto opened = DurableStoreAccess::Open(Path(), Options(), small_batches);
  ASSERT_THAT(opened, IsOk());
  DurableStore& s = **opened;
  const uint64_t base = s.revision();
  // Six transactions' records, as the store's PolicyStore would log them,
  // from a model at the same state (states[i]: after i of them).
  struct Capture : PolicyLog {
    absl::Status Append(uint64_t, std::vector<std::string> r) override {
      for (std::string& x : r) records.push_back(std::move(x));
      return absl::OkStatus();
    }
    std::vector<std::string> records;
  } capture;
  PolicyStoreOptions mo;
  mo.log = &capture;
  const std::vector<v1::AuditRecord> audit = s.audit_log().Records("org_123");
  auto model = PolicyStore::Create(s.StateCopy(), mo, audit);
  ASSERT_THAT(model, IsOk());
  std::vector<v1::PolicySet> states = {s.StateCopy()};
  for (int i = 2; i < 8; ++i) {
    ASSERT_THAT((*model)->Apply(Toggle(i)), IsOk());
    states.push_back((*model)->StateCopy());
  }
  ASSERT_EQ(capture.records.size(), 6u);
  // Logged straight through the store's PolicyLog (its PolicyStore does
  // not see them: the log is what this test is about). Two alone, the
  // second counting the syncs of one commit.
  PolicyLog& log = DurableStoreAccess::PolicyLogOf(s);
  ASSERT_THAT(log.Append(base + 1, {capture.records[0]}), IsOk());
  const int64_t before = vfs_->syncs();
  ASSERT_THAT(log.Append(base + 2, {capture.records[1]}), IsOk());
  const int64_t per_commit = vfs_->syncs() - before;
  ASSERT_GT(per_commit, 0);
  // A group of four: two commits of two; the second one's fsync fails.
  vfs_->FailSyncs(per_commit, -1);
  EXPECT_THAT(log.Append(base + 3, {capture.records[2], capture.records[3],
                                    capture.records[4], capture.records[5]}),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  vfs_->Reset();
  // Part of it is on disk and the store cannot tell: no more writes until
  // reopened.
  EXPECT_THAT(log.Append(base + 3, {capture.records[2]}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("reopen")));
  opened = absl::CancelledError("closed");
  auto reopened = DurableStore::Open(Path(), Options());
  ASSERT_THAT(reopened, IsOk());
  const uint64_t revision = (*reopened)->revision();
  // A whole prefix: up to the group's first commit, or (the failed fsync's
  // write reached the file after all) the whole group.
  ASSERT_TRUE(revision == base + 4 || revision == base + 6) << revision;
  EXPECT_TRUE(MessageDifferencer::Equals((*reopened)->StateCopy(),
                                         states[revision - base]));
  EXPECT_THAT((*reopened)->Verify(), IsOk());
}

// Entries that the DurableLog verifies (right hashes) but that are not what
// a PolicyStore writes.
class ForgedEntryTest : public StoreFaultTest {
 protected:
  // Appends `payload` as the next entry, through the log itself.
  void Forge(const std::string& payload) {
    DurableLogOptions o;
    auto log = DurableLog::Open(Path(), o);
    ASSERT_THAT(log, IsOk());
    const uint64_t r = (*log)->last_revision() + 1;
    ASSERT_THAT((*log)->Append({r, payload}), IsOk());
  }
  v1::LogRecord NextRecord() {
    auto s = DurableStore::Open(Path(), Options());
    EXPECT_THAT(s, IsOk());
    v1::LogRecord record;
    record.set_revision((*s)->revision() + 1);
    record.mutable_delta()->set_base_revision((*s)->revision());
    record.mutable_delta()->set_revision((*s)->revision() + 1);
    return record;
  }
};

TEST_F(ForgedEntryTest, AnEntryThatIsNotALogRecord) {
  MakeStore(3);
  Forge("not a log record \xff\xff\xff");
  EXPECT_THAT(
      DurableStore::Open(Path(), Options()).status(),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry at revision 5")));
}

TEST_F(ForgedEntryTest, ARecordOfAnotherRevision) {
  MakeStore(3);
  v1::LogRecord record = NextRecord();
  record.set_revision(9);
  Forge(record.SerializeAsString());
  EXPECT_THAT(DurableStore::Open(Path(), Options()).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("the record says revision 9")));
}

TEST_F(ForgedEntryTest, ADeltaThatDoesNotApply) {
  MakeStore(3);
  v1::LogRecord record = NextRecord();
  record.mutable_delta()->add_delete_principals("usr_nobody");
  Forge(record.SerializeAsString());
  EXPECT_THAT(DurableStore::Open(Path(), Options()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("recovering revision 5"),
                             HasSubstr("usr_nobody"))));
  EXPECT_THAT(DurableStore::Read(Path()).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("usr_nobody")));
}

TEST_F(ForgedEntryTest, AnAuditRecordOutsideTheChain) {
  MakeStore(3);
  v1::LogRecord record = NextRecord();
  v1::AuditRecord* r = record.add_audit();
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"(timestamp: "2026-01-01 00:00:00.000000+00:00" user_id: "usr_alice"
         action: "GRANT" entity: "CLOUD" org_id: "org_123" revision: 5
         sequence: 4 prev_hash: "0123456789abcdef0123456789abcdef"
         hash: "0123456789abcdef0123456789abcdef")",
      r));
  Forge(record.SerializeAsString());
  EXPECT_THAT(
      DurableStore::Open(Path(), Options()).status(),
      StatusIs(absl::StatusCode::kDataLoss,
               AllOf(HasSubstr("recovering revision 5"), HasSubstr("audit"))));
  EXPECT_THAT(DurableStore::Read(Path()).status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("the audit chain is broken")));
}

TEST(PolicyCodecTest, CheckpointsRoundTripAndRefuseForeignPayloads) {
  v1::PolicySet state = DemoPolicySet();
  state.set_revision(12);
  v1::AuditRecord r;
  r.set_org_id("org_123");
  r.set_sequence(1);
  const std::string payload = EncodeCheckpoint(12, state, {r, r});
  absl::StatusOr<DecodedCheckpoint> d = DecodeCheckpoint(payload, 12, "db");
  ASSERT_THAT(d, IsOk());
  EXPECT_TRUE(MessageDifferencer::Equals(d->state, state));
  EXPECT_EQ(d->audit.size(), 2u);
  EXPECT_EQ(EncodeCheckpoint(12, d->state, d->audit), payload);
  EXPECT_THAT(
      DecodeCheckpoint(payload, 13, "db").status(),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("holds revision 12")));
  EXPECT_THAT(DecodeCheckpoint("garbage", 12, "db").status(),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(DecodeCheckpoint(payload.substr(0, payload.size() - 3), 12, "db")
                  .status(),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(DecodeCheckpoint(state.SerializeAsString(), 12, "db").status(),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  std::string other = payload;
  other.replace(other.find("v1"), 2, "v2");
  EXPECT_THAT(DecodeCheckpoint(other, 12, "db").status(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("arbiter.policy_checkpoint.v2")));
}

}  // namespace
}  // namespace store
}  // namespace arbiter
