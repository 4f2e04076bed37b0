// DurableStore (arbiter/durable_store.h): the contract, a test per case --
// create (import) and reopen byte for byte, the audit chain continued
// across restarts, refusals leaving nothing on disk, one writer and
// read-only readers, checkpoints (explicit, in the background by count,
// compacting or keeping history), group commit, import/export round trips
// in every format, and a seeded randomized comparison of a store reopened
// after every few transactions with an in-memory PolicyStore given the
// same transactions (ARBITER_STORE_POLICY_SEEDS, default 6).

#include "arbiter/durable_store.h"

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "arbiter/policy_io.h"
#include "arbiter/policy_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "src/store/durable_log.h"
#include "src/store/durable_store_internal.h"
#include "tests/store/policy_test_util.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace store {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using testing::ScratchDir;

v1::Transaction Txn(const std::string& text) {
  v1::Transaction t;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &t)) << text;
  return t;
}

// alice (the demo's org owner) sets `who`'s role on the research cloud.
v1::Transaction SetResearchRole(const std::string& who,
                                const std::string& role) {
  return Txn(absl::StrCat(
      R"(actor: "alice@acme.com" mutations { set_cloud_member { cloud: "research" principal: ")",
      who, R"(" role: ")", role, R"(" } })"));
}

// Every audit record of the store, organization by organization.
std::map<std::string, std::vector<std::string>> AuditBytes(
    const AuditLog& log) {
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& org : log.Organizations()) {
    for (const v1::AuditRecord& r : log.Records(org)) {
      // Deterministic: metadata is a map.
      std::string bytes;
      {
        google::protobuf::io::StringOutputStream stream(&bytes);
        google::protobuf::io::CodedOutputStream coded(&stream);
        coded.SetSerializationDeterministic(true);
        r.SerializeToCodedStream(&coded);
      }
      out[org].push_back(bytes);
    }
  }
  return out;
}

class DurableStoreTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.Sub("store"); }
  std::unique_ptr<DurableStore> CreateDemo(DurableStoreOptions o = {}) {
    auto s = DurableStore::Create(Path(), DemoPolicySet(), o);
    EXPECT_THAT(s, IsOk());
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<DurableStore> OpenOrNull(DurableStoreOptions o = {}) {
    auto s = DurableStore::Open(Path(), o);
    EXPECT_THAT(s, IsOk());
    return s.ok() ? std::move(*s) : nullptr;
  }
  ScratchDir dir_{"durable_store"};
};

TEST_F(DurableStoreTest, CreateImportsTheStateAtItsRevision) {
  v1::PolicySet state = DemoPolicySet();
  state.set_revision(41);
  {
    auto s = DurableStore::Create(Path(), state);
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ((*s)->revision(), 41u);
    ASSERT_THAT(
        (*s)->Apply(SetResearchRole("carol@acme.com", "cloud_readonly")),
        IsOk());
    EXPECT_EQ((*s)->revision(), 42u);
  }
  std::unique_ptr<DurableStore> s = OpenOrNull();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->revision(), 42u);
  AccessRequest r;
  r.principal = "carol@acme.com";
  r.permission = "cloud.view";
  r.resource = "research";
  EXPECT_TRUE(s->engine()->Check(r).allowed());
}

TEST_F(DurableStoreTest, ReopenRestoresStateAndAuditByteForByte) {
  v1::PolicySet before;
  std::map<std::string, std::vector<std::string>> audit;
  {
    std::unique_ptr<DurableStore> s = CreateDemo();
    ASSERT_NE(s, nullptr);
    for (const char* who : {"carol@acme.com", "dave@acme.com", "erin@acme.com",
                            "frank@acme.com"}) {
      ASSERT_THAT(s->Apply(SetResearchRole(who, "cloud_collaborator")), IsOk());
    }
    ASSERT_THAT(s->Apply(Txn(R"(actor: "alice@acme.com"
        mutations { invite_users { emails: "new@acme.com" principal_ids: "usr_new" } })")),
                IsOk());
    before = s->StateCopy();
    audit = AuditBytes(s->audit_log());
    EXPECT_EQ(s->stats().transactions_logged, 5u);
  }
  std::unique_ptr<DurableStore> s = OpenOrNull();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->revision(), before.revision());
  EXPECT_TRUE(MessageDifferencer::Equals(s->StateCopy(), before));
  EXPECT_EQ(AuditBytes(s->audit_log()), audit);
  // The chain goes on from where it was: one chain, verified whole.
  ASSERT_THAT(s->Apply(SetResearchRole("kim@acme.com", "cloud_readonly")),
              IsOk());
  const std::vector<v1::AuditRecord> records =
      s->audit_log().Records("org_123");
  EXPECT_TRUE(VerifyAuditChain(records).ok())
      << VerifyAuditChain(records).Summary();
  EXPECT_EQ(records.size(), audit["org_123"].size() + 1);
  EXPECT_THAT(s->Verify(), IsOk());
}

TEST_F(DurableStoreTest, OpenAndCreateErrors) {
  EXPECT_THAT(DurableStore::Open(Path()).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_FALSE(testing::FileExists(Path())) << "a failed Open created files";
  // A state that does not compile: nothing written at all.
  v1::PolicySet bad = DemoPolicySet();
  bad.add_grants()->set_id("g_nothing");
  EXPECT_THAT(DurableStore::Create(Path(), bad).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the state to import")));
  EXPECT_FALSE(testing::FileExists(Path() + "/arbiter.db"));
  ASSERT_NE(CreateDemo(), nullptr);
  EXPECT_THAT(DurableStore::Create(Path(), DemoPolicySet()).status(),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("holds a store already")));
  DurableStoreOptions with_log;
  struct NoLog : PolicyLog {
    absl::Status Append(uint64_t, std::vector<std::string>) override {
      return absl::OkStatus();
    }
  } no_log;
  with_log.policy.log = &no_log;
  EXPECT_THAT(DurableStore::Open(Path(), with_log).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("policy.log must be null")));
}

TEST_F(DurableStoreTest, AnInterruptedCreateIsRefusedThenCompleted) {
  // What a crash between creating the database and importing leaves.
  {
    DurableLogOptions o;
    auto log = DurableLog::Open(Path(), o);
    ASSERT_THAT(log, IsOk());
  }
  EXPECT_THAT(DurableStore::Open(Path()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("creation was interrupted")));
  EXPECT_NE(CreateDemo(), nullptr);
  EXPECT_NE(OpenOrNull(), nullptr);
}

TEST_F(DurableStoreTest, RefusedTransactionsLeaveNothingOnDisk) {
  std::unique_ptr<DurableStore> s = CreateDemo();
  ASSERT_NE(s, nullptr);
  DurableLog& log = DurableStoreAccess::Log(*s);
  const uint64_t last = log.last_revision();
  // The last org owner cannot be demoted.
  absl::StatusOr<AppliedTransaction> refused =
      s->Apply(Txn(R"(actor: "alice@acme.com"
      mutations { set_org_role { principal: "alice@acme.com" role: "org_collaborator" } })"));
  EXPECT_EQ(RefusalOf(refused.status()), Refusal::kLastOrgOwner);
  EXPECT_EQ(log.last_revision(), last);
  EXPECT_EQ(s->stats().transactions_logged, 0u);
}

TEST_F(DurableStoreTest, OneWriterAndReadOnlyReaders) {
  std::unique_ptr<DurableStore> writer = CreateDemo();
  ASSERT_NE(writer, nullptr);
  EXPECT_THAT(DurableStore::Open(Path()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("open for writing by")));
  DurableStoreOptions ro;
  ro.read_only = true;
  std::unique_ptr<DurableStore> reader = OpenOrNull(ro);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->read_only());
  ASSERT_THAT(writer->Apply(SetResearchRole("dave@acme.com", "cloud_readonly")),
              IsOk());
  // The reader is a snapshot of the open; Read sees the newest commit.
  EXPECT_EQ(reader->revision(), writer->revision() - 1);
  absl::StatusOr<StoreContents> read = DurableStore::Read(Path());
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->revision, writer->revision());
  EXPECT_TRUE(MessageDifferencer::Equals(read->state, writer->StateCopy()));
  // A reader writes nothing.
  absl::StatusOr<AppliedTransaction> a =
      reader->Apply(SetResearchRole("erin@acme.com", "cloud_readonly"));
  EXPECT_THAT(a.status(), StatusIs(absl::StatusCode::kUnavailable,
                                   HasSubstr("open read-only")));
  EXPECT_EQ(RefusalOf(a.status()), Refusal::kUnavailable);
  EXPECT_THAT(reader->Checkpoint(),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_EQ(reader->revision(), writer->revision() - 1);
  reader.reset();
  writer.reset();
  EXPECT_NE(OpenOrNull(), nullptr) << "the lock outlived its writer";
}

TEST_F(DurableStoreTest, ExplicitCheckpointCompactsTheLog) {
  std::unique_ptr<DurableStore> s = CreateDemo();
  ASSERT_NE(s, nullptr);
  const char* roles[] = {"cloud_collaborator", "cloud_readonly"};
  for (int i = 0; i < 6; ++i) {
    ASSERT_THAT(s->Apply(SetResearchRole("carol@acme.com", roles[i % 2])),
                IsOk());
  }
  EXPECT_EQ(s->stats().entries_since_checkpoint, 6u);
  ASSERT_THAT(s->Checkpoint(), IsOk());
  DurableStoreStats stats = s->stats();
  EXPECT_EQ(stats.checkpoint_revision, s->revision());
  EXPECT_EQ(stats.entries_since_checkpoint, 0u);
  EXPECT_EQ(stats.checkpoints_written, 1u);
  // The entries up to it are gone (compacted).
  DurableLog& log = DurableStoreAccess::Log(*s);
  EXPECT_THAT(
      log.ReadEntries(1, [](const LogEntry&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
  ASSERT_THAT(s->Apply(SetResearchRole("carol@acme.com", roles[0])), IsOk());
  const v1::PolicySet before = s->StateCopy();
  s.reset();
  s = OpenOrNull();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->stats().entries_since_checkpoint, 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(s->StateCopy(), before));
  EXPECT_THAT(s->Verify(), IsOk());
}

TEST_F(DurableStoreTest, BackgroundCheckpointsByCountKeepingHistory) {
  DurableStoreOptions o;
  o.checkpoint_after_entries = 4;
  o.keep_log_entries = true;
  std::unique_ptr<DurableStore> s = CreateDemo(o);
  ASSERT_NE(s, nullptr);
  const char* roles[] = {"cloud_collaborator", "cloud_readonly"};
  // Two rounds of five transactions (revisions 2-6, then 7-11), each past
  // the threshold of 4: a background checkpoint after each round. (Ten in a
  // row could be folded into one checkpoint by a slow checkpoint thread.)
  const auto wait_for = [&](uint64_t revision, uint64_t written) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((s->stats().checkpoint_revision < revision ||
            s->stats().checkpoints_written < written) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  for (int i = 0; i < 10; ++i) {
    ASSERT_THAT(s->Apply(SetResearchRole("dave@acme.com", roles[i % 2])),
                IsOk());
    if (i == 4) wait_for(6, 1);
  }
  wait_for(11, 2);
  const DurableStoreStats stats = s->stats();
  EXPECT_GE(stats.checkpoint_revision, 8u) << stats.last_checkpoint_error;
  EXPECT_GE(stats.checkpoints_written, 2u);
  EXPECT_EQ(stats.checkpoint_failures, 0u);
  // History kept: every entry from the first is still there.
  uint64_t entries = 0;
  ASSERT_THAT(DurableStoreAccess::Log(*s).ReadEntries(
                  1,  // the demo's revision: the log's base
                  [&](const LogEntry&) {
                    ++entries;
                    return absl::OkStatus();
                  }),
              IsOk());
  EXPECT_EQ(entries, 10u);
  const v1::PolicySet before = s->StateCopy();
  s.reset();
  DurableStoreOptions full = o;
  full.verify_history_on_open = true;
  s = OpenOrNull(full);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(MessageDifferencer::Equals(s->StateCopy(), before));
  EXPECT_LE(s->stats().entries_since_checkpoint, 3u);
}

TEST_F(DurableStoreTest, ConcurrentWritersShareLogAppends) {
  std::unique_ptr<DurableStore> s = CreateDemo();
  ASSERT_NE(s, nullptr);
  const std::vector<std::string> who = {
      "carol@acme.com", "dave@acme.com",    "erin@acme.com", "frank@acme.com",
      "kim@acme.com",   "mallory@acme.com", "bob@acme.com",  "grace@acme.com"};
  const int kPerThread = 12;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<uint64_t> revisions;
  std::atomic<int> failures{0};
  for (size_t t = 0; t < who.size(); ++t) {
    threads.emplace_back([&, t] {
      const char* roles[] = {"cloud_collaborator", "cloud_readonly"};
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<AppliedTransaction> a =
            s->Apply(SetResearchRole(who[t], roles[i % 2]));
        if (!a.ok()) {
          ++failures;
          ADD_FAILURE() << who[t] << ": " << a.status();
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        EXPECT_TRUE(revisions.insert(a->revision).second) << a->revision;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  const uint64_t n = who.size() * kPerThread;
  ASSERT_EQ(revisions.size(), n);
  EXPECT_EQ(*revisions.begin(), 2u);
  EXPECT_EQ(*revisions.rbegin(), n + 1);
  const DurableStoreStats stats = s->stats();
  EXPECT_EQ(stats.transactions_logged, n);
  // Group commit happened: fewer log writes than transactions. (With 8
  // writers and one fsync at a time, groups form whenever a commit takes
  // longer than an Apply, which an fsync always does.)
  EXPECT_LT(stats.log_appends, n);
  EXPECT_GT(stats.largest_group, 1u);
  const std::vector<v1::AuditRecord> records =
      s->audit_log().Records("org_123");
  EXPECT_TRUE(VerifyAuditChain(records).ok());
  const v1::PolicySet before = s->StateCopy();
  const auto audit = AuditBytes(s->audit_log());
  s.reset();
  s = OpenOrNull();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(MessageDifferencer::Equals(s->StateCopy(), before));
  EXPECT_EQ(AuditBytes(s->audit_log()), audit);
}

TEST_F(DurableStoreTest, ImportExportRoundTripIsIdentical) {
  const ::arbiter::testing::RandomPolicy policy = testing::RandomStoreState(5);
  for (PolicyFormat format :
       {PolicyFormat::kText, PolicyFormat::kJson, PolicyFormat::kBinary}) {
    SCOPED_TRACE(PolicyFormatName(format));
    ScratchDir dir("roundtrip");
    absl::StatusOr<std::string> file = SerializePolicySet(policy.state, format);
    ASSERT_THAT(file, IsOk());
    absl::StatusOr<v1::PolicySet> parsed = ParsePolicySet(*file, format);
    ASSERT_THAT(parsed, IsOk());
    {
      auto s = DurableStore::Create(dir.Sub("s"), *parsed,
                                    testing::StoreOptions(policy.options, 0));
      ASSERT_THAT(s, IsOk());
    }
    absl::StatusOr<StoreContents> read = DurableStore::Read(dir.Sub("s"));
    ASSERT_THAT(read, IsOk());
    absl::StatusOr<std::string> dumped =
        SerializePolicySet(read->state, format);
    ASSERT_THAT(dumped, IsOk());
    EXPECT_EQ(*dumped, *file) << "the dump differs from the imported file";
  }
}

// Random transactions through a store reopened every few transactions (and
// checkpointed now and then) against an in-memory PolicyStore given the
// same ones: the same results, the same states byte for byte, the same
// audit records, and the store's engine deciding as a full compile.
TEST_F(DurableStoreTest, ReopenedStoreMatchesAnInMemoryStore) {
  const int64_t seeds = testing::EnvInt("ARBITER_STORE_POLICY_SEEDS", 6);
  for (int64_t n = 0; n < seeds && !HasFailure(); ++n) {
    const uint64_t seed = ::arbiter::testing::MixSeed(8080, n);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    ScratchDir dir("model");
    const ::arbiter::testing::RandomPolicy policy =
        testing::RandomStoreState(seed);
    DurableStoreOptions o = testing::StoreOptions(policy.options, 7);
    o.keep_log_entries = n % 2 == 1;
    PolicyStoreOptions mo = o.policy;
    auto model = PolicyStore::Create(policy.state, mo);
    ASSERT_THAT(model, IsOk());
    auto created = DurableStore::Create(dir.Sub("s"), policy.state, o);
    ASSERT_THAT(created, IsOk());
    std::unique_ptr<DurableStore> s = *std::move(created);
    testing::TxnGenerator gen(seed);
    ::arbiter::testing::Rng rng(seed);
    int applied = 0;
    for (int t = 0; t < 60 && !HasFailure(); ++t) {
      const v1::Transaction txn =
          gen.Next((*model)->StateCopy(), *(*model)->engine());
      if (txn.mutations_size() == 0) continue;
      absl::StatusOr<AppliedTransaction> want = (*model)->Apply(txn);
      absl::StatusOr<AppliedTransaction> got = s->Apply(txn);
      ASSERT_EQ(got.status(), want.status()) << txn.DebugString();
      if (want.ok()) {
        ++applied;
        EXPECT_EQ(got->revision, want->revision);
        ASSERT_EQ(got->audit.size(), want->audit.size());
        for (size_t i = 0; i < want->audit.size(); ++i) {
          EXPECT_TRUE(
              MessageDifferencer::Equals(got->audit[i], want->audit[i]));
        }
      }
      if (rng.Chance(0.1)) ASSERT_THAT(s->Checkpoint(), IsOk());
      if (rng.Chance(0.2)) {
        s.reset();
        auto reopened = DurableStore::Open(dir.Sub("s"), o);
        ASSERT_THAT(reopened, IsOk());
        s = *std::move(reopened);
      }
      ASSERT_TRUE(
          MessageDifferencer::Equals(s->StateCopy(), (*model)->StateCopy()))
          << "after " << txn.DebugString();
    }
    EXPECT_EQ(AuditBytes(s->audit_log()), AuditBytes((*model)->audit_log()));
    EXPECT_EQ(
        testing::CompareWithFullCompile(*s->engine(), (*model)->StateCopy(),
                                        policy.options, seed, 500),
        "");
    EXPECT_THAT(s->Verify(), IsOk());
    EXPECT_GT(applied, 5);
  }
}

}  // namespace
}  // namespace store
}  // namespace arbiter
