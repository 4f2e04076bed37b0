// AuditLog: sequences, chain hashes, checkpoints, atomic batches, sinks,
// two-step append, restart from stored records; and VerifyAuditChain
// against tampering with records in memory (what a store reads back).

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

using ::arbiter::audit_testing::Rec;
using ::arbiter::audit_testing::SessionRecord;
using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1690300746);

std::vector<v1::AuditRecord> Session(absl::string_view org, int n,
                                     int first = 0) {
  std::vector<v1::AuditRecord> out;
  for (int i = first; i < first + n; ++i) {
    out.push_back(SessionRecord(org, i));
  }
  return out;
}

// An obviously-correct reference of what the chain must be: per
// organization, sequences 1, 2, ... and hash = SHA-256(prev || canonical),
// computed one record at a time.
void ExpectWellChained(const std::vector<v1::AuditRecord>& records) {
  std::map<std::string, std::pair<uint64_t, std::string>> heads;
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::AuditRecord& r = records[i];
    auto& [seq, hash] = heads[r.org_id()];
    if (hash.empty()) hash = std::string(32, '\0');
    ASSERT_EQ(r.sequence(), seq + 1) << "records[" << i << "]";
    ASSERT_EQ(r.prev_hash(), hash) << "records[" << i << "]";
    ASSERT_EQ(r.hash(), internal::ComputeAuditHash(hash, r))
        << "records[" << i << "]";
    seq = r.sequence();
    hash = r.hash();
  }
}

TEST(AuditLogTest, AppendChainsEachOrganizationFromGenesis) {
  FakeClock clock(kT0);
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({0, nullptr, &clock}));
  std::vector<v1::AuditRecord> batch = Session("org_a", 2);
  batch.push_back(SessionRecord("org_b", 0));
  batch.push_back(SessionRecord("org_a", 2));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditRecord> appended,
                       log->Append(batch));
  ASSERT_THAT(appended, SizeIs(4));
  EXPECT_EQ(appended[0].sequence(), 1u);
  EXPECT_EQ(appended[1].sequence(), 2u);
  EXPECT_EQ(appended[2].sequence(), 1u);  // org_b's first
  EXPECT_EQ(appended[3].sequence(), 3u);
  EXPECT_EQ(appended[0].prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(appended[2].prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(appended[3].prev_hash(), appended[1].hash());
  EXPECT_EQ(appended[0].timestamp(), "2023-07-25 15:59:06.000000+00:00");
  ExpectWellChained(appended);

  EXPECT_THAT(log->Organizations(), ElementsAre("org_a", "org_b"));
  EXPECT_EQ(log->Head("org_a").sequence, 3u);
  EXPECT_EQ(log->Head("org_a").hash, appended[3].hash());
  EXPECT_EQ(log->Head("org_c").sequence, 0u);
  EXPECT_EQ(log->Head("org_c").hash, std::string(32, '\0'));
  std::vector<v1::AuditRecord> a = log->Records("org_a");
  ASSERT_THAT(a, SizeIs(3));
  EXPECT_EQ(a[2].hash(), appended[3].hash());
  EXPECT_THAT(log->Records("org_a", 2), SizeIs(1));
  EXPECT_TRUE(VerifyAuditChain(log->Records("org_a")).ok());
}

TEST(AuditLogTest, KeepsTheCallersTimestamp) {
  FakeClock clock(kT0);
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({0, nullptr, &clock}));
  v1::AuditRecord r = NewAuditRecord(
      AuditActor{"usr_a"},
      AuditEvent{"org_a", audit_action::kJoin, audit_entity::kUser, "usr_a", 1,
                 absl::FromUnixMicros(1690851845073682)});
  ASSERT_OK_AND_ASSIGN(auto appended, log->Append({r}));
  EXPECT_EQ(appended[0].timestamp(), "2023-08-01 01:04:05.073682+00:00");
}

TEST(AuditLogTest, AnInvalidRecordRefusesTheWholeBatch) {
  MemoryAuditSink sink;
  ASSERT_OK_AND_ASSIGN(auto log,
                       AuditLog::Create({0, nullptr, nullptr, &sink}));
  ASSERT_THAT(log->Append(Session("org_a", 2)), IsOk());
  const AuditHead before = log->Head("org_a");
  std::vector<v1::AuditRecord> batch = Session("org_a", 3, 2);
  batch.push_back(SessionRecord("org_b", 0));
  batch[3].set_entity("not a name");
  EXPECT_THAT(log->Append(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("records[3].entity: \"not a name\"")));
  EXPECT_EQ(log->Head("org_a").sequence, before.sequence);
  EXPECT_EQ(log->Head("org_a").hash, before.hash);
  EXPECT_THAT(log->Organizations(), ElementsAre("org_a"));
  EXPECT_THAT(log->Records("org_a"), SizeIs(2));
  EXPECT_EQ(sink.batches(), 1u);
  EXPECT_THAT(sink.records(), SizeIs(2));
}

class FailingSink : public AuditSink {
 public:
  absl::Status Write(absl::Span<const v1::AuditRecord> batch) override {
    if (fail) return absl::UnavailableError("disk full");
    written += batch.size();
    return absl::OkStatus();
  }
  bool fail = false;
  size_t written = 0;
};

TEST(AuditLogTest, ASinkFailureLeavesTheLogUnchanged) {
  FailingSink sink;
  ASSERT_OK_AND_ASSIGN(auto log,
                       AuditLog::Create({0, nullptr, nullptr, &sink}));
  ASSERT_OK_AND_ASSIGN(auto first, log->Append(Session("org_a", 2)));
  sink.fail = true;
  EXPECT_THAT(log->Append(Session("org_a", 2, 2)),
              StatusIs(absl::StatusCode::kUnavailable, "disk full"));
  EXPECT_EQ(log->Head("org_a").sequence, 2u);
  EXPECT_THAT(log->Checkpoint("org_a"),
              StatusIs(absl::StatusCode::kUnavailable, "disk full"));
  sink.fail = false;
  ASSERT_OK_AND_ASSIGN(auto next, log->Append(Session("org_a", 1, 2)));
  EXPECT_EQ(next[0].sequence(), 3u);
  EXPECT_EQ(next[0].prev_hash(), first[1].hash());
  EXPECT_EQ(sink.written, 3u);
}

TEST(AuditLogTest, IntervalCheckpointsCloseTheBatchThatReachesN) {
  FakeClock clock(kT0);
  MemoryAuditSink sink;
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({3, nullptr, &clock, &sink}));
  ASSERT_OK_AND_ASSIGN(auto a, log->Append(Session("org_a", 2)));
  EXPECT_THAT(a, SizeIs(2));  // 2 < 3: no checkpoint
  std::vector<v1::AuditRecord> batch = Session("org_a", 2, 2);
  batch.push_back(SessionRecord("org_b", 0));
  ASSERT_OK_AND_ASSIGN(auto b, log->Append(batch));
  ASSERT_THAT(b, SizeIs(4));  // org_a reaches 4: a checkpoint after them
  const v1::AuditRecord& c = b[3];
  EXPECT_EQ(c.org_id(), "org_a");
  EXPECT_EQ(c.sequence(), 5u);
  EXPECT_EQ(c.action(), "CHECKPOINT");
  EXPECT_EQ(c.entity(), "CHECKPOINT");
  EXPECT_EQ(c.checkpoint().reason(), "interval");
  EXPECT_EQ(c.checkpoint().export_time(), 0);
  EXPECT_EQ(c.checkpoint().key_id(), "");
  EXPECT_EQ(c.checkpoint().signature(), "");
  EXPECT_EQ(c.revision(), b[1].revision());
  EXPECT_EQ(c.prev_hash(), b[1].hash());
  ASSERT_OK_AND_ASSIGN(auto d, log->Append(Session("org_a", 2, 4)));
  EXPECT_THAT(d, SizeIs(2));  // counting restarted after the checkpoint
  std::vector<v1::AuditRecord> all = sink.records();
  ExpectWellChained(all);
  AuditVerifyOptions options;
  options.require_final_checkpoint = true;
  AuditVerification v = VerifyAuditChain(all, options);
  ASSERT_FALSE(v.ok());  // org_a ends with 2 records after its checkpoint
  EXPECT_EQ(v.problem->index, all.size() - 1);
  EXPECT_THAT(v.problem->what, HasSubstr("ends without a checkpoint"));
}

TEST(AuditLogTest, SignedCheckpointsVerifyWithThePublicKeyOnly) {
  ASSERT_OK_AND_ASSIGN(auto key, AuditSigningKey::Generate());
  MemoryAuditSink sink;
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({2, key, nullptr, &sink}));
  ASSERT_THAT(log->Append(Session("org_a", 5)), IsOk());
  ASSERT_OK_AND_ASSIGN(auto c, log->Checkpoint("org_a"));
  EXPECT_EQ(c.checkpoint().key_id(), key->key_id());
  EXPECT_EQ(c.checkpoint().signature().size(), 64u);
  ASSERT_OK_AND_ASSIGN(auto pub,
                       AuditPublicKey::FromPem(key->public_key()->ToPem()));
  EXPECT_TRUE(pub->Verify(internal::CheckpointSignedMessage(c),
                          c.checkpoint().signature()));
  AuditVerifyOptions options;
  options.public_keys = {pub};
  options.require_final_checkpoint = true;
  AuditVerification v = VerifyAuditChain(sink.records(), options);
  EXPECT_TRUE(v.ok()) << v.Summary();
  EXPECT_EQ(v.signatures, AuditSignatures::kVerified);
  EXPECT_EQ(v.checkpoints, 2u);
  EXPECT_EQ(v.signed_checkpoints, 2u);
  EXPECT_THAT(v.key_ids, ElementsAre(key->key_id()));
  EXPECT_THAT(v.Summary(),
              HasSubstr("intact: 1 organization, 7 records, 2 checkpoints (2 "
                        "signed, verified with key " +
                        key->key_id()));
  // Without a key: intact, but says the signatures were not checked.
  v = VerifyAuditChain(sink.records());
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.signatures, AuditSignatures::kNotChecked);
}

TEST(AuditLogTest, PrepareChangesNothingAndCommitChecksTheHead) {
  MemoryAuditSink sink;
  ASSERT_OK_AND_ASSIGN(auto log,
                       AuditLog::Create({0, nullptr, nullptr, &sink}));
  ASSERT_THAT(log->Append(Session("org_a", 1)), IsOk());
  ASSERT_OK_AND_ASSIGN(AuditBatch batch, log->Prepare(Session("org_a", 2, 1)));
  ASSERT_THAT(batch.records(), SizeIs(2));
  EXPECT_EQ(batch.records()[0].sequence(), 2u);
  EXPECT_EQ(log->Head("org_a").sequence, 1u);
  EXPECT_EQ(sink.batches(), 1u);
  ASSERT_THAT(log->Commit(std::move(batch)), IsOk());
  EXPECT_EQ(log->Head("org_a").sequence, 3u);
  EXPECT_EQ(sink.batches(), 2u);

  // A batch prepared on a head that has moved since.
  ASSERT_OK_AND_ASSIGN(AuditBatch stale, log->Prepare(Session("org_a", 1, 3)));
  ASSERT_THAT(log->Append(Session("org_a", 1, 3)), IsOk());
  EXPECT_THAT(log->Commit(std::move(stale)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("audit log of org_a moved since the batch was "
                                 "prepared (head 3, now 4)")));
  EXPECT_EQ(log->Head("org_a").sequence, 4u);
  ExpectWellChained(sink.records());
}

TEST(AuditLogTest, LimitsAndMisuse) {
  AuditLogOptions options;
  options.max_batch_records = 2;
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create(options));
  EXPECT_THAT(log->Append(Session("org_a", 3)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("audit batch of 3 records exceeds the limit "
                                 "of 2")));
  EXPECT_THAT(log->Checkpoint("org_a"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no audit records for organization "
                                 "\"org_a\"")));
  ASSERT_OK_AND_ASSIGN(auto empty, log->Append({}));
  EXPECT_THAT(empty, SizeIs(0));
  options.max_batch_records = 0;
  EXPECT_THAT(AuditLog::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_batch_records")));
}

TEST(AuditLogTest, ContinuesStoredRecordsAndRefusesBrokenOnes) {
  MemoryAuditSink sink;
  {
    ASSERT_OK_AND_ASSIGN(auto log,
                         AuditLog::Create({3, nullptr, nullptr, &sink}));
    ASSERT_THAT(log->Append(Session("org_a", 4)), IsOk());
    ASSERT_THAT(log->Append(Session("org_b", 1)), IsOk());
  }
  const std::vector<v1::AuditRecord> stored = sink.records();
  ASSERT_THAT(stored, SizeIs(6));  // 4 + checkpoint + 1
  MemoryAuditSink sink2;
  ASSERT_OK_AND_ASSIGN(auto log,
                       AuditLog::Create({3, nullptr, nullptr, &sink2}, stored));
  EXPECT_EQ(log->Head("org_a").sequence, 5u);
  EXPECT_THAT(log->Records("org_a"), SizeIs(5));
  ASSERT_OK_AND_ASSIGN(auto more, log->Append(Session("org_a", 2, 4)));
  ASSERT_THAT(more, SizeIs(2));  // the count restarted at the checkpoint
  EXPECT_EQ(more[0].sequence(), 6u);
  EXPECT_EQ(more[0].prev_hash(), stored[4].hash());
  std::vector<v1::AuditRecord> all = stored;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_TRUE(VerifyAuditChain(all).ok());

  std::vector<v1::AuditRecord> broken = stored;
  broken[2].set_resource_id("res_forged");
  EXPECT_THAT(AuditLog::Create({}, broken),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("records[2] (org org_a): sequence 3: hash "
                                 "does not match the record's contents")));
}

TEST(AuditLogTest, WithoutRetainedRecordsOnlyTheHeadsAreKept) {
  MemoryAuditSink sink;
  AuditLogOptions options;
  options.sink = &sink;
  options.retain_records = false;
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create(options));
  ASSERT_OK_AND_ASSIGN(auto a, log->Append(Session("org_a", 3)));
  ASSERT_OK_AND_ASSIGN(auto b, log->Append(Session("org_a", 2, 3)));
  EXPECT_EQ(b[0].prev_hash(), a[2].hash());
  EXPECT_EQ(log->Head("org_a").sequence, 5u);
  EXPECT_THAT(log->Records("org_a"), SizeIs(0));
  EXPECT_THAT(sink.records(), SizeIs(5));
  EXPECT_THAT(log->Export(audit_testing::ScratchDir("noretain")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("retain_records is off")));
}

// ---- VerifyAuditChain against tampering
// ------------------------------------------

class AuditChainTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(key_, AuditSigningKey::Generate());
    ASSERT_OK_AND_ASSIGN(auto log,
                         AuditLog::Create({4, key_, nullptr, &sink_}));
    for (int i = 0; i < 3; ++i) {
      std::vector<v1::AuditRecord> batch = Session("org_a", 3, 3 * i);
      batch.push_back(SessionRecord("org_b", i));
      ASSERT_THAT(log->Append(batch), IsOk());
    }
    ASSERT_THAT(log->Checkpoint("org_a"), IsOk());
    ASSERT_THAT(log->Checkpoint("org_b"), IsOk());
    records_ = sink_.records();
    // org_a: 1..3, 4..6, ckpt 7 (interval), 8..10, ckpt 11; org_b 1..3,
    // ckpt 4: 15 records.
    ASSERT_THAT(records_, SizeIs(15));
    options_.public_keys = {key_->public_key()};
    options_.require_final_checkpoint = true;
    AuditVerification v = VerifyAuditChain(records_, options_);
    ASSERT_TRUE(v.ok()) << v.Summary();
  }

  // The index of org_a's record `sequence`.
  size_t IndexOf(absl::string_view org, uint64_t sequence) const {
    for (size_t i = 0; i < records_.size(); ++i) {
      if (records_[i].org_id() == org && records_[i].sequence() == sequence) {
        return i;
      }
    }
    ADD_FAILURE() << org << " " << sequence;
    return 0;
  }

  void ExpectBrokenAt(const std::vector<v1::AuditRecord>& records, size_t index,
                      const std::string& what) {
    AuditVerification v = VerifyAuditChain(records, options_);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.problem->index, index) << v.problem->ToString();
    EXPECT_THAT(v.problem->what, HasSubstr(what));
  }

  std::shared_ptr<const AuditSigningKey> key_;
  MemoryAuditSink sink_;
  std::vector<v1::AuditRecord> records_;
  AuditVerifyOptions options_;
};

TEST_F(AuditChainTamperTest, EditedField) {
  const size_t i = IndexOf("org_a", 5);
  records_[i].mutable_user()->set_email("mallory@acme.com");
  ExpectBrokenAt(records_, i, "hash does not match the record's contents");
}

TEST_F(AuditChainTamperTest, EditedFieldWithItsHashRecomputed) {
  const size_t i = IndexOf("org_a", 5);
  records_[i].set_action("REVOKE");
  records_[i].set_hash(
      internal::ComputeAuditHash(records_[i].prev_hash(), records_[i]));
  // The next record of org_a no longer links to it.
  ExpectBrokenAt(records_, IndexOf("org_a", 6),
                 "prev_hash is not the hash of sequence 5");
}

TEST_F(AuditChainTamperTest, RemovedRecord) {
  const size_t i = IndexOf("org_a", 2);
  records_.erase(records_.begin() + i);
  ExpectBrokenAt(records_, i, "follows sequence 1: record 2 is missing");
}

TEST_F(AuditChainTamperTest, Reordered) {
  const size_t i = IndexOf("org_a", 2);
  const size_t j = IndexOf("org_a", 3);
  std::swap(records_[i], records_[j]);
  ExpectBrokenAt(records_, i, "follows sequence 1: record 2 is missing");
}

TEST_F(AuditChainTamperTest, InsertedRecord) {
  // A forged record with the next sequence number after org_a's 3: the
  // forger can compute a hash, but the real 4 no longer follows it.
  v1::AuditRecord forged = SessionRecord("org_a", 99);
  forged.set_sequence(4);
  forged.set_timestamp(records_[0].timestamp());
  forged.set_prev_hash(records_[IndexOf("org_a", 3)].hash());
  forged.set_hash(internal::ComputeAuditHash(forged.prev_hash(), forged));
  const size_t real4 = IndexOf("org_a", 4);
  records_.insert(records_.begin() + real4, forged);
  ExpectBrokenAt(records_, real4 + 1,
                 "expected sequence 5: a duplicate, or a record out of order");
}

TEST_F(AuditChainTamperTest, Truncated) {
  records_.pop_back();  // org_b's final checkpoint
  ExpectBrokenAt(records_, IndexOf("org_b", 3),
                 "the chain ends without a checkpoint");
}

TEST_F(AuditChainTamperTest, AlteredSignature) {
  const size_t i = IndexOf("org_a", 7);
  std::string sig = records_[i].checkpoint().signature();
  sig[0] ^= 0x40;
  records_[i].mutable_checkpoint()->set_signature(sig);
  ExpectBrokenAt(records_, i, "checkpoint signature does not verify with key");
}

TEST_F(AuditChainTamperTest, StrippedSignature) {
  const size_t i = IndexOf("org_a", 11);
  records_[i].mutable_checkpoint()->clear_signature();
  records_[i].mutable_checkpoint()->clear_key_id();
  records_[i].set_hash(
      internal::ComputeAuditHash(records_[i].prev_hash(), records_[i]));
  ExpectBrokenAt(records_, i, "unsigned checkpoint after signed ones");
}

TEST_F(AuditChainTamperTest, WrongPublicKey) {
  ASSERT_OK_AND_ASSIGN(auto other, AuditSigningKey::Generate());
  options_.public_keys = {other->public_key()};
  ExpectBrokenAt(
      records_, IndexOf("org_a", 7),
      absl::StrCat("checkpoint signed with key ", key_->key_id(),
                   ", not with the public key given (", other->key_id(), ")"));
  // Either key of a rotation is fine.
  options_.public_keys = {other->public_key(), key_->public_key()};
  EXPECT_TRUE(VerifyAuditChain(records_, options_).ok());
}

// Random sessions over three organizations, checked against the reference
// chain; then one random record edited, removed or duplicated, which must
// be reported at that record (or, for a removal, at the next record of its
// organization, or at the end).
TEST(AuditChainRandomTest, RandomSessionsAndSingleTampers) {
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 40; ++round) {
    MemoryAuditSink sink;
    ASSERT_OK_AND_ASSIGN(
        auto log, AuditLog::Create({1 + rng() % 6, nullptr, nullptr, &sink}));
    const int batches = 1 + rng() % 12;
    for (int b = 0; b < batches; ++b) {
      std::vector<v1::AuditRecord> batch;
      const int n = rng() % 5;
      for (int i = 0; i < n; ++i) {
        batch.push_back(SessionRecord(absl::StrCat("org_", rng() % 3),
                                      static_cast<int>(rng() % 50)));
      }
      ASSERT_THAT(log->Append(batch), IsOk());
    }
    std::vector<v1::AuditRecord> records = sink.records();
    ExpectWellChained(records);
    ASSERT_TRUE(VerifyAuditChain(records).ok());
    if (records.empty()) continue;
    const size_t i = rng() % records.size();
    switch (rng() % 3) {
      case 0: {  // edit
        records[i].set_revision(records[i].revision() + 1);
        AuditVerification v = VerifyAuditChain(records);
        ASSERT_FALSE(v.ok());
        EXPECT_EQ(v.problem->index, i);
        break;
      }
      case 1: {  // remove
        const std::string org = records[i].org_id();
        const uint64_t seq = records[i].sequence();
        records.erase(records.begin() + i);
        size_t next = records.size();
        for (size_t j = i; j < records.size(); ++j) {
          if (records[j].org_id() == org) {
            next = j;
            break;
          }
        }
        AuditVerifyOptions options;
        options.require_final_checkpoint = true;
        AuditVerification v = VerifyAuditChain(records, options);
        if (next < records.size()) {
          ASSERT_FALSE(v.ok()) << seq;
          EXPECT_EQ(v.problem->index, next);
        } else if (!v.ok()) {
          // The last record of its organization: only a final checkpoint
          // requirement can tell (unless it was the checkpoint itself and
          // the one before is one too, which interval checkpoints never do).
          EXPECT_THAT(v.problem->what, HasSubstr("without a checkpoint"));
        }
        break;
      }
      case 2: {  // duplicate
        records.insert(records.begin() + i + 1, records[i]);
        AuditVerification v = VerifyAuditChain(records);
        ASSERT_FALSE(v.ok());
        EXPECT_EQ(v.problem->index, i + 1);
        break;
      }
    }
  }
}

}  // namespace
}  // namespace arbiter
