// Concurrency (runs under ThreadSanitizer in CI: `ctest -L concurrency`):
// writers appending batches from several threads while others export and
// read keep one valid chain per organization, with every batch contiguous;
// and the denied-check sampler's ring under concurrent producers and a
// draining consumer loses or tears no sample.

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "arbiter/audit.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/audit/audit_test_util.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::audit_testing::ScratchDir;
using ::arbiter::audit_testing::SessionRecord;

TEST(AuditConcurrencyTest, ConcurrentAppendsKeepOneValidChainPerOrg) {
  const std::string dir = ScratchDir("concurrency");
  ASSERT_OK_AND_ASSIGN(auto key, AuditSigningKey::Generate());
  MemoryAuditSink sink;
  ASSERT_OK_AND_ASSIGN(auto log, AuditLog::Create({16, key, nullptr, &sink}));
  constexpr int kWriters = 4;
  constexpr int kBatches = 150;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> appended{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<v1::AuditRecord> batch;
        const int n = 1 + (b + t) % 4;
        for (int i = 0; i < n; ++i) {
          batch.push_back(
              SessionRecord(absl::StrCat("org_", (b + i) % 3), t * 1000 + b));
        }
        absl::StatusOr<std::vector<v1::AuditRecord>> r = log->Append(batch);
        ASSERT_TRUE(r.ok()) << r.status();
        // The batch is contiguous in each organization's chain.
        std::map<std::string, uint64_t> last;
        for (const v1::AuditRecord& rec : *r) {
          auto it = last.find(rec.org_id());
          if (it != last.end()) {
            ASSERT_EQ(rec.sequence(), it->second + 1);
          }
          last[rec.org_id()] = rec.sequence();
        }
        appended.fetch_add(n);
      }
    });
  }
  // An exporter and a reader at the same time.
  threads.emplace_back([&] {
    while (!done.load()) {
      absl::StatusOr<AuditExportResult> r = log->Export(dir);
      ASSERT_TRUE(r.ok()) << r.status();
      std::this_thread::yield();
    }
  });
  threads.emplace_back([&] {
    while (!done.load()) {
      for (const std::string& org : log->Organizations()) {
        const AuditHead head = log->Head(org);
        std::vector<v1::AuditRecord> records = log->Records(org, 0);
        ASSERT_GE(records.size(), head.sequence);
      }
      std::this_thread::yield();
    }
  });
  for (int t = 0; t < kWriters; ++t) threads[t].join();
  done.store(true);
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  ASSERT_TRUE(log->Export(dir).ok());

  const std::vector<v1::AuditRecord> all = sink.records();
  uint64_t plain = 0;
  for (const v1::AuditRecord& r : all) plain += r.has_checkpoint() ? 0 : 1;
  EXPECT_EQ(plain, appended.load());
  AuditVerifyOptions options;
  options.public_keys = {key->public_key()};
  options.require_final_checkpoint = true;
  AuditVerification chain = VerifyAuditChain(all, options);
  EXPECT_TRUE(chain.ok()) << chain.Summary();
  ASSERT_OK_AND_ASSIGN(AuditVerification exported,
                       VerifyAuditExport(dir, options));
  EXPECT_TRUE(exported.ok()) << exported.Summary();
  EXPECT_EQ(exported.records, all.size());
}

TEST(AuditConcurrencyTest, SamplerRingUnderConcurrentProducersAndDrains) {
  DeniedCheckSampler::Options options;
  options.sample_one_in = 1;
  options.capacity = 64;  // small: the ring fills and drops
  ASSERT_OK_AND_ASSIGN(auto sampler, DeniedCheckSampler::Create(options));
  constexpr int kProducers = 4;
  constexpr int kChecks = 5000;
  std::atomic<int> running{kProducers};
  std::vector<v1::AuditRecord> drained;
  std::thread consumer([&] {
    while (running.load() > 0) {
      for (v1::AuditRecord& r : sampler->Drain(16)) {
        drained.push_back(std::move(r));
      }
    }
  });
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      Decision deny;
      deny.reason = Reason::kNoCloudGrant;
      for (int i = 0; i < kChecks; ++i) {
        // principal, permission and resource all encode (t, i), so a torn
        // slot (fields from two samples) is visible.
        const std::string principal = absl::StrCat("usr_", t, "_", i);
        const std::string permission = absl::StrCat("perm.", t, ".", i);
        const std::string resource = absl::StrCat("res/", t, "/", i);
        AccessRequest request{principal, permission, resource};
        deny.revision = static_cast<uint64_t>(t) * 100000 + i;
        sampler->Record("org_1", request, deny);
      }
      running.fetch_sub(1);
    });
  }
  for (std::thread& p : producers) p.join();
  consumer.join();
  for (v1::AuditRecord& r : sampler->Drain()) drained.push_back(std::move(r));

  const DeniedCheckSampler::Stats stats = sampler->stats();
  EXPECT_EQ(stats.denied, uint64_t{kProducers} * kChecks);
  EXPECT_EQ(stats.sampled + stats.dropped, stats.denied);
  EXPECT_EQ(drained.size(), stats.sampled);
  std::map<int, int> last_per_thread;
  for (const v1::AuditRecord& r : drained) {
    std::vector<std::string> parts = absl::StrSplit(r.user_id(), '_');
    ASSERT_EQ(parts.size(), 3u) << r.user_id();
    int t = 0, i = 0;
    ASSERT_TRUE(absl::SimpleAtoi(parts[1], &t));
    ASSERT_TRUE(absl::SimpleAtoi(parts[2], &i));
    const auto& fields = r.metadata().fields();
    EXPECT_EQ(fields.at("permission").string_value(),
              absl::StrCat("perm.", t, ".", i));
    EXPECT_EQ(r.resource_id(), absl::StrCat("res/", t, "/", i));
    EXPECT_EQ(r.revision(), static_cast<uint64_t>(t) * 100000 + i);
    // Each producer's samples come out in the order it recorded them.
    auto it = last_per_thread.find(t);
    if (it != last_per_thread.end()) EXPECT_GT(i, it->second);
    last_per_thread[t] = i;
  }
}

}  // namespace
}  // namespace arbiter
