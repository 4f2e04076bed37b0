// DurableStore under concurrency (run under ThreadSanitizer in CI: the file
// name says concurrency): writer threads apply transactions (sharing log
// appends: group commit) while background checkpoints run (every few
// transactions), another thread writes checkpoints explicitly and reads the
// store from disk (DurableStore::Read), and reader threads check. Every
// decision must equal what a full compile of the state at the revision the
// decision reports decides (the states are rebuilt afterwards from the
// applied deltas), no writer's transaction is lost, revisions are
// consecutive, and the reopened store holds exactly the final state.
// ARBITER_STRESS_REVISIONS (default 40) transactions per writer.

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "arbiter/durable_store.h"
#include "arbiter/policy_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/store/store_test_util.h"

namespace arbiter {
namespace store {
namespace {

struct Query {
  const char* principal;
  const char* permission;
  const char* resource;
};

constexpr Query kQueries[] = {
    {"carol@acme.com", "cloud.view", "research"},
    {"dave@acme.com", "cloud.view", "research"},
    {"erin@acme.com", "project.view", "research/ml-research"},
    {"frank@acme.com", "cloud.view", "research"},
    {"kim@acme.com", "cloud.view", "research"},
    {"mallory@acme.com", "project.workload.create", "prod/ml-prod"},
};
constexpr int kNumQueries = sizeof(kQueries) / sizeof(kQueries[0]);

AccessRequest Request(const Query& q) {
  AccessRequest r;
  r.principal = q.principal;
  r.permission = q.permission;
  r.resource = q.resource;
  return r;
}

struct Seen {
  uint64_t revision;
  int query;
  Effect effect;
  Reason reason;
};

TEST(DurableStoreConcurrencyTest, WritersCheckpointsAndReadersAtOnce) {
  const char* env = std::getenv("ARBITER_STRESS_REVISIONS");
  const int per_writer = std::max(10, env != nullptr ? std::atoi(env) : 40);
  const std::vector<std::string> writers = {"carol@acme.com", "dave@acme.com",
                                            "erin@acme.com", "frank@acme.com"};
  testing::ScratchDir dir("store_concurrency");
  DurableStoreOptions options;
  options.checkpoint_after_entries = 6;
  auto created = DurableStore::Create(dir.Sub("s"), DemoPolicySet(), options);
  ASSERT_TRUE(created.ok()) << created.status();
  DurableStore& store = **created;
  const uint64_t base = store.revision();

  std::mutex mu;
  std::map<uint64_t, v1::StateDelta> deltas;
  std::vector<Seen> seen;
  std::atomic<int> writers_done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (size_t w = 0; w < writers.size(); ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < per_writer; ++i) {
        v1::Transaction txn;
        txn.set_actor("alice@acme.com");
        auto* m = txn.add_mutations()->mutable_set_cloud_member();
        m->set_cloud("research");
        m->set_principal(writers[w]);
        m->set_role(i % 2 == 0 ? "cloud_collaborator" : "cloud_readonly");
        absl::StatusOr<AppliedTransaction> a = store.Apply(txn);
        if (!a.ok()) {
          ++failures;
          ADD_FAILURE() << writers[w] << " " << i << ": " << a.status();
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        deltas[a->revision] = a->delta;
      }
      ++writers_done;
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::vector<Seen> local;
      int i = r;
      while (writers_done.load() < static_cast<int>(writers.size())) {
        const int q = i++ % kNumQueries;
        const std::shared_ptr<const Engine> engine = store.engine();
        const Decision d = engine->Check(Request(kQueries[q]));
        local.push_back({d.revision, q, d.effect, d.reason});
      }
      std::lock_guard<std::mutex> l(mu);
      seen.insert(seen.end(), local.begin(), local.end());
    });
  }
  threads.emplace_back([&] {
    // Explicit checkpoints and reads from disk beside the writers.
    while (writers_done.load() < static_cast<int>(writers.size())) {
      if (absl::Status s = store.Checkpoint(); !s.ok()) {
        ++failures;
        ADD_FAILURE() << "checkpoint: " << s;
      }
      absl::StatusOr<StoreContents> c = DurableStore::Read(dir.Sub("s"));
      if (!c.ok()) {
        ++failures;
        ADD_FAILURE() << "read: " << c.status();
      } else if (c->revision < base) {
        ADD_FAILURE() << "read went back to revision " << c->revision;
      }
      (void)store.stats();
    }
  });
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  // No transaction lost, revisions consecutive.
  const uint64_t n = writers.size() * per_writer;
  ASSERT_EQ(deltas.size(), n);
  ASSERT_EQ(deltas.begin()->first, base + 1);
  ASSERT_EQ(deltas.rbegin()->first, base + n);
  EXPECT_EQ(store.revision(), base + n);
  const DurableStoreStats stats = store.stats();
  EXPECT_EQ(stats.transactions_logged, n);
  EXPECT_GT(stats.checkpoints_written, 0u);
  EXPECT_EQ(stats.checkpoint_failures, 0u) << stats.last_checkpoint_error;

  // Each revision's state, rebuilt from the deltas, and its decisions.
  std::map<uint64_t, std::vector<std::pair<Effect, Reason>>> want;
  v1::PolicySet state = DemoPolicySet();
  auto record = [&](const v1::PolicySet& s) {
    auto engine = Engine::Create(s);
    ASSERT_TRUE(engine.ok()) << engine.status();
    auto& row = want[s.revision()];
    for (const Query& q : kQueries) {
      const Decision d = (*engine)->Check(Request(q));
      row.emplace_back(d.effect, d.reason);
    }
  };
  record(state);
  for (const auto& [revision, delta] : deltas) {
    absl::StatusOr<v1::PolicySet> next =
        PolicyStore::ReplayDeltas(std::move(state), {delta});
    ASSERT_TRUE(next.ok()) << next.status();
    state = *std::move(next);
    record(state);
  }
  int mismatches = 0;
  for (const Seen& s : seen) {
    auto it = want.find(s.revision);
    ASSERT_NE(it, want.end())
        << "a decision at unknown revision " << s.revision;
    const auto& w = it->second[s.query];
    if (w.first != s.effect || w.second != s.reason) {
      if (++mismatches < 5) {
        ADD_FAILURE() << "revision " << s.revision << " query " << s.query
                      << " decided otherwise than a full compile";
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      store.StateCopy(), state));
  std::printf(
      "%zu decisions checked over %zu revisions; %llu log appends "
      "for %llu transactions (largest group %llu); %llu checkpoints\n",
      seen.size(), want.size(),
      static_cast<unsigned long long>(stats.log_appends),
      static_cast<unsigned long long>(stats.transactions_logged),
      static_cast<unsigned long long>(stats.largest_group),
      static_cast<unsigned long long>(stats.checkpoints_written));

  created = absl::CancelledError("closed");
  auto reopened = DurableStore::Open(dir.Sub("s"), options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      (*reopened)->StateCopy(), state));
  EXPECT_TRUE((*reopened)->Verify().ok());
}

}  // namespace
}  // namespace store
}  // namespace arbiter
