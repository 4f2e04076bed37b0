// Export to access-model §9's layout and offline verification: a valid
// export verifies; each single tampering with an exported log is reported
// at the exact file and line.

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "arbiter/audit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/audit/format.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

namespace fs = std::filesystem;
using ::arbiter::audit_testing::ExportFiles;
using ::arbiter::audit_testing::ReadFile;
using ::arbiter::audit_testing::ReadLines;
using ::arbiter::audit_testing::ScratchDir;
using ::arbiter::audit_testing::SessionRecord;
using ::arbiter::audit_testing::WriteFile;
using ::arbiter::audit_testing::WriteLines;
using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1690300746;  // §9's example file name
constexpr int64_t kT1 = kT0 + 3600;

std::vector<v1::AuditRecord> Session(absl::string_view org, int first, int n) {
  std::vector<v1::AuditRecord> out;
  for (int i = first; i < first + n; ++i) out.push_back(SessionRecord(org, i));
  return out;
}

// Two hourly exports of org_123, signed, with interval checkpoints every 5
// records, and one export of org_456:
//
//   org_123 export kT0: records 1..6 (user 1,5; cloud 2,6; project 3;
//     service_account 4), interval checkpoint 7, export checkpoint 8.
//   org_123 export kT1: records 9..15 (project 9,13; service_account 10,14;
//     user 11,15; cloud 12), interval checkpoint 16, export checkpoint 17.
//   org_456 export kT0: records 1..2 (user 1, cloud 2), export checkpoint 3.
class AuditExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ScratchDir("export");
    ASSERT_OK_AND_ASSIGN(key_, AuditSigningKey::Generate());
    clock_.Set(absl::FromUnixSeconds(kT0));
    ASSERT_OK_AND_ASSIGN(log_, AuditLog::Create({5, key_, &clock_}));
    std::vector<v1::AuditRecord> batch = Session("org_123", 0, 6);
    for (v1::AuditRecord& r : Session("org_456", 0, 2)) batch.push_back(r);
    ASSERT_THAT(log_->Append(batch), IsOk());
    ASSERT_OK_AND_ASSIGN(AuditExportResult first, log_->Export(dir_));
    EXPECT_EQ(first.records, 8u + 3u);
    clock_.Set(absl::FromUnixSeconds(kT1));
    ASSERT_THAT(log_->Append(Session("org_123", 6, 7)), IsOk());
    ASSERT_OK_AND_ASSIGN(AuditExportResult second, log_->Export(dir_));
    EXPECT_EQ(second.records, 9u);
    options_.public_keys = {key_->public_key()};
  }

  std::string Path(absl::string_view entity, int64_t t,
                   absl::string_view org = "org_123") const {
    return absl::StrCat(dir_, "/", Rel(entity, t, org));
  }
  static std::string Rel(absl::string_view entity, int64_t t,
                         absl::string_view org = "org_123") {
    return absl::StrCat(org, "/audit_logs/", entity, "/", t, ".log.jsonl");
  }

  // Verifies and expects the first problem at `file`:`line`, `sequence`.
  void ExpectBrokenAt(const std::string& file, int line, uint64_t sequence,
                      const std::string& what) {
    ASSERT_OK_AND_ASSIGN(AuditVerification v,
                         VerifyAuditExport(dir_, options_));
    ASSERT_FALSE(v.ok()) << v.Summary();
    EXPECT_EQ(v.problem->file, file) << v.problem->ToString();
    EXPECT_EQ(v.problem->line, line) << v.problem->ToString();
    EXPECT_EQ(v.problem->sequence, sequence) << v.problem->ToString();
    EXPECT_THAT(v.problem->what, HasSubstr(what));
  }

  void EditLine(const std::string& path, int line, const std::string& from,
                const std::string& to) {
    std::vector<std::string> lines = ReadLines(path);
    ASSERT_LE(line, static_cast<int>(lines.size()));
    std::string& l = lines[line - 1];
    ASSERT_NE(l.find(from), std::string::npos) << l;
    l = absl::StrReplaceAll(l, {{from, to}});
    WriteLines(path, lines);
  }

  std::string dir_;
  FakeClock clock_;
  std::shared_ptr<const AuditSigningKey> key_;
  std::unique_ptr<AuditLog> log_;
  AuditVerifyOptions options_;
};

TEST_F(AuditExportTest, LayoutIsSection9s) {
  EXPECT_THAT(
      ExportFiles(dir_),
      ElementsAre(Rel("checkpoint", kT0), Rel("checkpoint", kT1),
                  Rel("cloud", kT0), Rel("cloud", kT1), Rel("project", kT0),
                  Rel("project", kT1), Rel("service_account", kT0),
                  Rel("service_account", kT1), Rel("user", kT0),
                  Rel("user", kT1), Rel("checkpoint", kT0, "org_456"),
                  Rel("cloud", kT0, "org_456"), Rel("user", kT0, "org_456")));
  std::vector<std::string> user = ReadLines(Path("user", kT0));
  ASSERT_THAT(user, ::testing::SizeIs(2));
  ASSERT_OK_AND_ASSIGN(v1::AuditRecord r, AuditRecordFromJson(user[1], "x"));
  EXPECT_EQ(r.sequence(), 5u);
  EXPECT_EQ(r.entity(), "USER");
  EXPECT_THAT(
      user[0],
      ::testing::StartsWith(
          "{\"timestamp\":\"2023-07-25 15:59:06.000000+00:00\","
          "\"user_id\":\"usr_alice\",\"source_ip\":\"10.0.0.7\","
          "\"action\":\"INVITE\",\"entity\":\"USER\","
          "\"metadata\":{\"duration\":0.0,\"id\":\"res_0\",\"invitee_email\":"
          "\"u0@acme.com\",\"is_enabled\":true},\"user\":{"
          "\"name\":\"Alice\",\"email\":\"alice@acme.com\"},"
          "\"org_id\":\"org_123\",\"revision\":100,"));
  // The export checkpoint is the last line of the checkpoint file.
  std::vector<std::string> checkpoints = ReadLines(Path("checkpoint", kT1));
  ASSERT_THAT(checkpoints, ::testing::SizeIs(2));
  ASSERT_OK_AND_ASSIGN(v1::AuditRecord c,
                       AuditRecordFromJson(checkpoints[1], "x"));
  EXPECT_EQ(c.sequence(), 17u);
  EXPECT_EQ(c.checkpoint().reason(), "export");
  EXPECT_EQ(c.checkpoint().export_time(), kT1);
  EXPECT_EQ(c.checkpoint().key_id(), key_->key_id());
}

TEST_F(AuditExportTest, AValidExportVerifies) {
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir_, options_));
  EXPECT_TRUE(v.ok()) << v.Summary();
  EXPECT_EQ(v.organizations, 2u);
  EXPECT_EQ(v.records, 20u);
  EXPECT_EQ(v.checkpoints, 5u);
  EXPECT_EQ(v.signed_checkpoints, 5u);
  EXPECT_EQ(v.signatures, AuditSignatures::kVerified);
  EXPECT_EQ(v.last_sequence.at("org_123"), 17u);
  EXPECT_EQ(v.last_export_time.at("org_123"), kT1);
  EXPECT_EQ(v.last_export_time.at("org_456"), kT0);
  EXPECT_EQ(v.Summary(),
            absl::StrCat("intact: 2 organizations, 20 records, 5 checkpoints "
                         "(5 signed, verified with key ",
                         key_->key_id(), ")"));
  // One organization's directory on its own.
  ASSERT_OK_AND_ASSIGN(v, VerifyAuditExport(dir_ + "/org_456", options_));
  EXPECT_TRUE(v.ok()) << v.Summary();
  EXPECT_EQ(v.records, 3u);
  // Without the key: intact, signatures not checked.
  ASSERT_OK_AND_ASSIGN(v, VerifyAuditExport(dir_));
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.signatures, AuditSignatures::kNotChecked);
  // Read back in order.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditRecord> all, ReadAuditExport(dir_));
  ASSERT_EQ(all.size(), 20u);
  EXPECT_EQ(all[16].sequence(), 17u);
  EXPECT_EQ(all[17].org_id(), "org_456");
  EXPECT_TRUE(VerifyAuditChain(all).ok());
}

TEST_F(AuditExportTest, EditedField) {
  EditLine(Path("user", kT0), 2, "\"user_id\":\"usr_alice\"",
           "\"user_id\":\"usr_mallory\"");
  ExpectBrokenAt(Rel("user", kT0), 2, 5,
                 "hash does not match the record's contents (edited?)");
}

TEST_F(AuditExportTest, EditedMetadataValue) {
  EditLine(Path("cloud", kT1), 1, "\"id\":\"res_9\"", "\"id\":\"res_8\"");
  ExpectBrokenAt(Rel("cloud", kT1), 1, 12, "hash does not match");
}

TEST_F(AuditExportTest, EditedSequenceIsNotAHidingPlace) {
  // Renumbering a record and recomputing its hash breaks the next link.
  std::vector<std::string> lines = ReadLines(Path("project", kT0));
  ASSERT_OK_AND_ASSIGN(v1::AuditRecord r, AuditRecordFromJson(lines[0], "x"));
  r.set_revision(999);
  r.set_hash(internal::ComputeAuditHash(r.prev_hash(), r));
  lines[0] = AuditRecordToJson(r);
  WriteLines(Path("project", kT0), lines);
  ExpectBrokenAt(Rel("service_account", kT0), 1, 4,
                 "prev_hash is not the hash of sequence 3");
}

TEST_F(AuditExportTest, DeletedLine) {
  std::vector<std::string> lines = ReadLines(Path("cloud", kT0));
  lines.erase(lines.begin());  // sequence 2
  WriteLines(Path("cloud", kT0), lines);
  ExpectBrokenAt(Rel("project", kT0), 1, 3,
                 "follows sequence 1: record 2 is missing");
}

TEST_F(AuditExportTest, SwappedLines) {
  std::vector<std::string> lines = ReadLines(Path("user", kT0));
  std::swap(lines[0], lines[1]);
  WriteLines(Path("user", kT0), lines);
  ExpectBrokenAt(Rel("user", kT0), 2, 1,
                 "out of order: follows sequence 5 at line 1");
}

TEST_F(AuditExportTest, SwappedLinesAcrossFilesWithSwappedSequences) {
  // Records 3 (project) and 4 (service_account) trade places and numbers:
  // the renumbered records' hashes no longer match.
  EditLine(Path("project", kT0), 1, "\"sequence\":3,", "\"sequence\":4,");
  EditLine(Path("service_account", kT0), 1, "\"sequence\":4,",
           "\"sequence\":3,");
  ExpectBrokenAt(Rel("service_account", kT0), 1, 3,
                 "prev_hash is not the hash of sequence 2");
}

TEST_F(AuditExportTest, InsertedForgedLineDuplicatingASequence) {
  // A forged USER record claiming sequence 6, with a correct-looking chain
  // (prev_hash of 5, hash recomputed): the real 6 is in the cloud file.
  std::vector<std::string> user = ReadLines(Path("user", kT0));
  ASSERT_OK_AND_ASSIGN(v1::AuditRecord r5, AuditRecordFromJson(user[1], "x"));
  v1::AuditRecord forged = r5;
  forged.set_sequence(6);
  forged.set_resource_id("usr_mallory");
  forged.set_prev_hash(r5.hash());
  forged.set_hash(internal::ComputeAuditHash(forged.prev_hash(), forged));
  user.push_back(AuditRecordToJson(forged));
  WriteLines(Path("user", kT0), user);
  ExpectBrokenAt(
      Rel("user", kT0), 3, 6,
      absl::StrCat("appears twice: also at ", Rel("cloud", kT0), ":2"));
}

TEST_F(AuditExportTest, InsertedForgedLineAfterTheLastExport) {
  // Chained correctly after the final checkpoint, but no signed export
  // checkpoint covers it.
  std::vector<std::string> user = ReadLines(Path("user", kT1));
  std::vector<std::string> cps = ReadLines(Path("checkpoint", kT1));
  ASSERT_OK_AND_ASSIGN(v1::AuditRecord last, AuditRecordFromJson(cps[1], "x"));
  v1::AuditRecord forged = SessionRecord("org_123", 0);
  forged.set_timestamp(last.timestamp());
  forged.set_sequence(18);
  forged.set_prev_hash(last.hash());
  forged.set_hash(internal::ComputeAuditHash(forged.prev_hash(), forged));
  user.push_back(AuditRecordToJson(forged));
  WriteLines(Path("user", kT1), user);
  ExpectBrokenAt(Rel("user", kT1), 3, 18,
                 "the log ends here without an export checkpoint");
}

TEST_F(AuditExportTest, TruncatedLastLines) {
  // The export checkpoint (the log's last line) cut off.
  std::vector<std::string> cps = ReadLines(Path("checkpoint", kT1));
  cps.pop_back();
  WriteLines(Path("checkpoint", kT1), cps);
  ExpectBrokenAt(Rel("checkpoint", kT1), 1, 16,
                 "the log ends here without an export checkpoint (its end was "
                 "cut off, or records were added after the last export); last "
                 "export checkpoint: sequence 8");
}

TEST_F(AuditExportTest, TruncatedRecordsBeforeTheLastCheckpoint) {
  std::vector<std::string> user = ReadLines(Path("user", kT1));
  user.pop_back();  // sequence 15
  WriteLines(Path("user", kT1), user);
  ExpectBrokenAt(Rel("checkpoint", kT1), 1, 16,
                 "follows sequence 14: record 15 is missing");
}

TEST_F(AuditExportTest, TruncatedMidLine) {
  std::string data = ReadFile(Path("checkpoint", kT1));
  data.resize(data.size() - 40);
  WriteFile(Path("checkpoint", kT1), data);
  ExpectBrokenAt(Rel("checkpoint", kT1), 2, 0,
                 "the last line has no newline (the file was cut off?)");
}

TEST_F(AuditExportTest, RemovedEntityFile) {
  fs::remove(Path("project", kT0));  // sequence 3
  ExpectBrokenAt(Rel("service_account", kT0), 1, 4,
                 "follows sequence 2: record 3 is missing");
}

TEST_F(AuditExportTest, RemovedCheckpointFile) {
  fs::remove(Path("checkpoint", kT1));  // 16 and 17
  ExpectBrokenAt(Rel("user", kT1), 2, 15,
                 "the log ends here without an export checkpoint");
}

TEST_F(AuditExportTest, AlteredCheckpointSignature) {
  std::vector<std::string> cps = ReadLines(Path("checkpoint", kT0));
  const size_t at = cps[0].find("\"signature\":\"") + 13;
  cps[0][at + 5] = cps[0][at + 5] == 'A' ? 'B' : 'A';
  WriteLines(Path("checkpoint", kT0), cps);
  ExpectBrokenAt(Rel("checkpoint", kT0), 1, 7,
                 absl::StrCat("checkpoint signature does not verify with key ",
                              key_->key_id(), " (forged or altered)"));
}

TEST_F(AuditExportTest, StrippedSignatures) {
  // Every signature removed and every hash recomputed from the start: a
  // whole new chain, which only the missing signatures give away.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditRecord> all, ReadAuditExport(dir_));
  std::string prev(32, '\0');
  std::map<std::string, std::vector<std::string>> files;
  for (v1::AuditRecord& r : all) {
    if (r.org_id() != "org_123") continue;
    if (r.has_checkpoint()) {
      r.mutable_checkpoint()->clear_key_id();
      r.mutable_checkpoint()->clear_signature();
    }
    r.set_prev_hash(prev);
    r.set_hash(internal::ComputeAuditHash(prev, r));
    prev = r.hash();
  }
  // Rewrite org_123's files in place.
  for (const v1::AuditRecord& r : all) {
    if (r.org_id() != "org_123") continue;
    int64_t t = r.sequence() <= 8 ? kT0 : kT1;
    files[Path(absl::AsciiStrToLower(r.entity()), t)].push_back(
        AuditRecordToJson(r));
  }
  for (const auto& [path, lines] : files) WriteLines(path, lines);
  // Without a key the rewritten log is consistent: integrity alone cannot
  // tell a rewrite (docs/audit.md says so).
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir_));
  EXPECT_TRUE(v.ok()) << v.Summary();
  ExpectBrokenAt(Rel("checkpoint", kT1), 2, 17,
                 "no checkpoint is signed (an unsigned log, or its signatures "
                 "were removed)");
}

TEST_F(AuditExportTest, WrongPublicKey) {
  ASSERT_OK_AND_ASSIGN(auto other, AuditSigningKey::Generate());
  options_.public_keys = {other->public_key()};
  ExpectBrokenAt(
      Rel("checkpoint", kT0), 1, 7,
      absl::StrCat("checkpoint signed with key ", key_->key_id(),
                   ", not with the public key given (", other->key_id(), ")"));
}

TEST_F(AuditExportTest, LineMovedToAnotherExport) {
  // Sequence 11 (exported at kT1) moved into the kT0 user file, in order.
  std::vector<std::string> t1 = ReadLines(Path("user", kT1));
  std::vector<std::string> t0 = ReadLines(Path("user", kT0));
  t0.push_back(t1[0]);
  t1.erase(t1.begin());
  WriteLines(Path("user", kT0), t0);
  WriteLines(Path("user", kT1), t1);
  ExpectBrokenAt(Rel("user", kT0), 3, 11,
                 absl::StrCat("in the files of export ", kT0,
                              ", but the export that covers it (checkpoint at "
                              "sequence 17) is ",
                              kT1));
}

TEST_F(AuditExportTest, RecordInAnotherEntitysFile) {
  std::vector<std::string> project = ReadLines(Path("project", kT0));
  std::vector<std::string> user = ReadLines(Path("user", kT0));
  user.insert(user.begin() + 1, project[0]);  // sequence 3 between 1 and 5
  project.erase(project.begin());
  WriteLines(Path("user", kT0), user);
  fs::remove(Path("project", kT0));
  ExpectBrokenAt(Rel("user", kT0), 2, 3,
                 "entity \"PROJECT\" in the directory \"user\"");
}

TEST_F(AuditExportTest, OrganizationDirectoryRenamed) {
  fs::rename(dir_ + "/org_456", dir_ + "/org_789");
  ExpectBrokenAt(Rel("checkpoint", kT0, "org_789"), 1, 3,
                 "org_id \"org_456\" in the directory of \"org_789\"");
}

TEST_F(AuditExportTest, UnparseableAndUnexpectedContent) {
  EditLine(Path("cloud", kT0), 2, "\"sequence\":6,",
           "\"sequence\":6,\"sequence\":6,");
  ExpectBrokenAt(Rel("cloud", kT0), 2, 0,
                 "not a record: invalid JSON: duplicate key \"sequence\"");
}

TEST_F(AuditExportTest, UnexpectedFilesAndHiddenFiles) {
  WriteFile(Path("user", kT0) + ".bak", "x");
  ExpectBrokenAt(Rel("user", kT0) + ".bak", 0, 0,
                 "unexpected file (expected <unix seconds>.log.jsonl)");
  fs::remove(Path("user", kT0) + ".bak");
  // Hidden files (an exporter's leftover temporary file) are ignored.
  WriteFile(dir_ + "/org_123/audit_logs/user/.1690300746.log.jsonl.tmp-1", "x");
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir_, options_));
  EXPECT_TRUE(v.ok()) << v.Summary();
}

TEST_F(AuditExportTest, EveryFileOfAnOrganizationRemoved) {
  for (const char* entity : {"checkpoint", "cloud", "user"}) {
    fs::remove_all(absl::StrCat(dir_, "/org_456/audit_logs/", entity));
  }
  ExpectBrokenAt("org_456/audit_logs", 0, 0,
                 "no audit records (every file removed?)");
}

TEST_F(AuditExportTest, InputErrors) {
  EXPECT_THAT(
      VerifyAuditExport(dir_ + "/nope"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("not a directory")));
  const std::string empty = ScratchDir("empty");
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(empty));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->file, empty);
  EXPECT_THAT(v.problem->what, HasSubstr("no audit logs here"));
  options_.max_file_bytes = 100;
  EXPECT_THAT(VerifyAuditExport(dir_, options_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("over the limit of 100")));
}

// ---- The exporter
// ------------------------------------------------------------------

TEST_F(AuditExportTest, NothingNewMeansNoFiles) {
  const std::vector<std::string> before = ExportFiles(dir_);
  ASSERT_OK_AND_ASSIGN(AuditExportResult r, log_->Export(dir_));
  EXPECT_TRUE(r.files.empty());
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(ExportFiles(dir_), before);
}

TEST_F(AuditExportTest, ExportsInTheSameSecondGetDistinctNames) {
  ASSERT_THAT(log_->Append(Session("org_456", 2, 1)), IsOk());
  ASSERT_OK_AND_ASSIGN(AuditExportResult a, log_->Export(dir_));
  ASSERT_THAT(log_->Append(Session("org_456", 3, 1)), IsOk());
  ASSERT_OK_AND_ASSIGN(AuditExportResult b, log_->Export(dir_));
  // org_456 last exported at kT0; the clock says kT1 for both.
  EXPECT_THAT(a.files, ::testing::Contains(Path("checkpoint", kT1, "org_456")));
  EXPECT_THAT(b.files,
              ::testing::Contains(Path("checkpoint", kT1 + 1, "org_456")));
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir_, options_));
  EXPECT_TRUE(v.ok()) << v.Summary();
  EXPECT_EQ(v.last_export_time.at("org_456"), kT1 + 1);
}

TEST_F(AuditExportTest, AFailedExportChangesNothing) {
  ASSERT_THAT(log_->Append(Session("org_123", 20, 2)), IsOk());
  ASSERT_THAT(log_->Append(Session("org_456", 20, 1)), IsOk());
  const AuditHead head = log_->Head("org_123");
  // org_456's directory cannot be written: org_123's files must go too.
  const std::string blocked = ScratchDir("blocked");
  WriteFile(blocked + "/org_456", "a file, not a directory");
  EXPECT_THAT(log_->Export(blocked), StatusIs(absl::StatusCode::kUnavailable,
                                              HasSubstr("cannot create")));
  EXPECT_EQ(log_->Head("org_123").sequence, head.sequence);
  EXPECT_EQ(ExportFiles(blocked), std::vector<std::string>{"org_456"});
  // A file already at the name: never replaced.
  clock_.Set(absl::FromUnixSeconds(kT1 + 100));
  fs::create_directories(dir_ + "/org_123/audit_logs/user");
  WriteFile(Path("user", kT1 + 100), "precious\n");
  EXPECT_THAT(log_->Export(dir_), StatusIs(absl::StatusCode::kAlreadyExists,
                                           HasSubstr("File exists")));
  EXPECT_EQ(ReadFile(Path("user", kT1 + 100)), "precious\n");
  EXPECT_EQ(log_->Head("org_123").sequence, head.sequence);
  fs::remove(Path("user", kT1 + 100));
  ASSERT_OK_AND_ASSIGN(AuditExportResult r, log_->Export(dir_));
  EXPECT_EQ(log_->Head("org_123").sequence, head.sequence + 1);
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir_, options_));
  EXPECT_TRUE(v.ok()) << v.Summary();
}

TEST_F(AuditExportTest, ReleaseExportedAndRestart) {
  ASSERT_THAT(log_->Append(Session("org_123", 30, 2)), IsOk());
  log_->ReleaseExported();
  std::vector<v1::AuditRecord> kept = log_->Records("org_123");
  ASSERT_THAT(kept, ::testing::SizeIs(2));
  EXPECT_EQ(kept[0].sequence(), 18u);
  // A restarted log continues from a store's records and keeps exporting
  // where the last export stopped.
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditRecord> exported,
                       ReadAuditExport(dir_));
  std::vector<v1::AuditRecord> stored;
  for (const auto& r : exported) {
    if (r.org_id() == "org_123") stored.push_back(r);
  }
  stored.insert(stored.end(), kept.begin(), kept.end());
  ASSERT_OK_AND_ASSIGN(auto restarted,
                       AuditLog::Create({5, key_, &clock_}, stored));
  ASSERT_OK_AND_ASSIGN(AuditExportResult r, restarted->Export(dir_));
  EXPECT_EQ(r.records, 3u);  // 18, 19 and the export checkpoint
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir_, options_));
  EXPECT_TRUE(v.ok()) << v.Summary();
  EXPECT_EQ(v.last_sequence.at("org_123"), 20u);
  EXPECT_EQ(v.last_export_time.at("org_123"), kT1 + 1);
}

TEST(AuditExportUnsignedTest, UnsignedLogsVerifyAsUnsigned) {
  const std::string dir = ScratchDir("unsigned");
  FakeClock clock(absl::FromUnixSeconds(kT0));
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({0, nullptr, &clock}));
  ASSERT_THAT(log->Append(Session("org_1", 0, 3)), IsOk());
  ASSERT_THAT(log->Export(dir), IsOk());
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir));
  EXPECT_TRUE(v.ok()) << v.Summary();
  EXPECT_EQ(v.signatures, AuditSignatures::kUnsigned);
  EXPECT_EQ(v.Summary(),
            "intact: 1 organization, 4 records, 1 checkpoint (unsigned: "
            "integrity only, no proof of origin)");
  ASSERT_OK_AND_ASSIGN(auto key, AuditSigningKey::Generate());
  AuditVerifyOptions options;
  options.public_keys = {key->public_key()};
  ASSERT_OK_AND_ASSIGN(v, VerifyAuditExport(dir, options));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.problem->file,
            "org_1/audit_logs/checkpoint/1690300746.log.jsonl");
  EXPECT_EQ(v.problem->line, 1);
  EXPECT_THAT(v.problem->what, HasSubstr("no checkpoint is signed"));
}

// Random single-byte edits of random lines: every edit that changes what a
// record says (or breaks its syntax) is reported.
TEST(AuditExportRandomTest, EveryContentChangeIsDetected) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  const std::string dir = ScratchDir("random");
  FakeClock clock(absl::FromUnixSeconds(kT0));
  ASSERT_OK_AND_ASSIGN(auto key, AuditSigningKey::Generate());
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({4, key, &clock}));
  ASSERT_THAT(log->Append(Session("org_1", 0, 9)), IsOk());
  ASSERT_THAT(log->Export(dir), IsOk());
  AuditVerifyOptions options;
  options.public_keys = {key->public_key()};
  const std::vector<std::string> files = ExportFiles(dir);
  int detected = 0;
  for (int round = 0; round < 300; ++round) {
    const std::string path = dir + "/" + files[rng() % files.size()];
    const std::string original = ReadFile(path);
    std::vector<std::string> lines = ReadLines(path);
    const size_t l = rng() % lines.size();
    std::string& line = lines[l];
    const size_t at = rng() % line.size();
    const char c = static_cast<char>(' ' + rng() % 95);
    if (line[at] == c) continue;
    const std::string before = line;
    line[at] = c;
    // Skip edits that leave the record's contents unchanged (none should
    // exist in our output, but a number's spelling could in principle).
    absl::StatusOr<v1::AuditRecord> a = AuditRecordFromJson(before, "a");
    absl::StatusOr<v1::AuditRecord> b = AuditRecordFromJson(line, "b");
    ASSERT_TRUE(a.ok());
    if (b.ok()) {
      std::string ca, cb;
      internal::AppendCanonicalAuditRecord(*a, &ca);
      internal::AppendCanonicalAuditRecord(*b, &cb);
      if (ca == cb && a->hash() == b->hash() &&
          a->prev_hash() == b->prev_hash() &&
          a->checkpoint().signature() == b->checkpoint().signature()) {
        continue;
      }
    }
    WriteLines(path, lines);
    ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir, options));
    EXPECT_FALSE(v.ok()) << path << ":" << l + 1 << " byte " << at << " '"
                         << before[at] << "' -> '" << c << "'";
    if (!v.ok()) ++detected;
    WriteFile(path, original);
  }
  EXPECT_GT(detected, 200);
  ASSERT_OK_AND_ASSIGN(AuditVerification v, VerifyAuditExport(dir, options));
  EXPECT_TRUE(v.ok());
}

}  // namespace
}  // namespace arbiter
