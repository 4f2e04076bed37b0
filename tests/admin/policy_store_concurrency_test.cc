// PolicyStore under concurrency (run under ThreadSanitizer in CI: the file
// name says concurrency): writer threads apply transactions while reader
// threads check. Every decision must equal what a full compile of the
// state at the revision the decision reports decides (the states are
// rebuilt afterwards from the applied deltas), no writer's transaction is
// lost, and revisions are consecutive.

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/demo.h"
#include "arbiter/policy_store.h"
#include "gtest/gtest.h"
#include "src/compiler/state_delta.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

struct Query {
  std::string principal, permission, resource;
};

const std::vector<Query>& Queries() {
  static const auto* queries = new std::vector<Query>{
      {"frank@acme.com", "project.workload.create", "prod/ml-prod"},
      {"frank@acme.com", "project.view", "prod/web"},
      {"carol@acme.com", "project.workload.delete", "prod/ml-prod"},
      {"erin@acme.com", "project.workload.create", "prod/ml-prod"},
      {"mallory@acme.com", "project.view", "prod/ml-prod"},
      {"dave@acme.com", "project.members.manage", "prod/ml-prod"},
      {"kim@acme.com", "project.workload.view", "prod/ml-prod/nightly-etl"},
  };
  return *queries;
}

TEST(PolicyStoreConcurrencyTest, ReadersSeeWholeRevisionsAndNoWriteIsLost) {
  const int kWriters = 2, kReaders = 2;
  const int kTxnsPerWriter = std::max(
      10, std::atoi(std::getenv("ARBITER_STRESS_REVISIONS") != nullptr
                        ? std::getenv("ARBITER_STRESS_REVISIONS")
                        : "60"));
  const v1::PolicySet initial = DemoPolicySet();
  auto created = PolicyStore::Create(initial);
  ASSERT_TRUE(created.ok()) << created.status();
  PolicyStore& store = **created;

  std::mutex mu;
  std::map<uint64_t, v1::StateDelta> deltas;  // revision -> delta
  std::atomic<int> writers_done{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      testing::Rng rng(1000 + w);
      static const char* kWho[] = {"frank@acme.com", "carol@acme.com",
                                   "mallory@acme.com", "kim@acme.com"};
      static const char* kRoles[] = {"project_write", "project_readonly",
                                     "project_owner"};
      for (int i = 0; i < kTxnsPerWriter; ++i) {
        v1::Transaction txn;
        txn.set_actor("alice@acme.com");
        if (rng.Chance(0.7)) {
          auto* m = txn.add_mutations()->mutable_set_project_member();
          m->set_project(rng.Chance(0.5) ? "prod/ml-prod" : "prod/web");
          m->set_principal(kWho[rng.Below(4)]);
          m->set_role(kRoles[rng.Below(3)]);
        } else {
          auto* m = txn.add_mutations()->mutable_remove_project_member();
          m->set_project(rng.Chance(0.5) ? "prod/ml-prod" : "prod/web");
          m->set_principal(kWho[rng.Below(4)]);
        }
        absl::StatusOr<AppliedTransaction> a = store.Apply(txn);
        if (a.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          ASSERT_TRUE(deltas.emplace(a->revision, a->delta).second)
              << "revision " << a->revision << " applied twice";
        }
      }
      ++writers_done;
    });
  }
  struct Seen {
    uint64_t revision;
    size_t query;
    Decision decision;
    std::string grant_id;
  };
  std::vector<std::vector<Seen>> seen(kReaders);
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      size_t q = r;
      while (writers_done.load() < kWriters) {
        const std::shared_ptr<const Engine> engine = store.engine();
        const Query& query = Queries()[q++ % Queries().size()];
        AccessRequest request;
        request.principal = query.principal;
        request.permission = query.permission;
        request.resource = query.resource;
        const Decision d = engine->Check(request);
        seen[r].push_back({d.revision, (q - 1) % Queries().size(), d,
                           std::string(d.grant_id)});
      }
    });
  }
  for (std::thread& t : threads) t.join();

  // Consecutive revisions, none lost.
  const uint64_t last = store.revision();
  EXPECT_EQ(deltas.size(), last - initial.revision());
  uint64_t expect = initial.revision() + 1;
  for (const auto& [revision, delta] : deltas) {
    EXPECT_EQ(revision, expect++);
    EXPECT_EQ(delta.base_revision(), revision - 1);
  }
  // Every decision is the one of its revision's state.
  std::map<uint64_t, std::unique_ptr<const Engine>> reference;
  v1::PolicySet state = initial;
  reference[state.revision()] = *Engine::Create(state);
  for (const auto& [revision, delta] : deltas) {
    ASSERT_TRUE(internal::StateDelta(delta).ApplyTo(&state).ok());
    auto engine = Engine::Create(state);
    ASSERT_TRUE(engine.ok()) << engine.status();
    reference[revision] = std::move(*engine);
  }
  EXPECT_EQ(store.StateCopy().SerializeAsString().size(),
            state.SerializeAsString().size());
  size_t checked = 0;
  for (const auto& reader : seen) {
    for (const Seen& s : reader) {
      auto it = reference.find(s.revision);
      ASSERT_NE(it, reference.end()) << "unknown revision " << s.revision;
      const Query& query = Queries()[s.query];
      AccessRequest request;
      request.principal = query.principal;
      request.permission = query.permission;
      request.resource = query.resource;
      const Decision want = it->second->Check(request);
      ASSERT_EQ(want.reason, s.decision.reason)
          << query.principal << " " << query.permission << " at revision "
          << s.revision;
      ASSERT_EQ(std::string(want.grant_id), s.grant_id);
      ++checked;
    }
  }
  std::printf("%zu revisions, %zu decisions checked\n", deltas.size(), checked);
  EXPECT_GT(checked, 0u);
}

}  // namespace
}  // namespace arbiter
