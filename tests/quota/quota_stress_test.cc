// Concurrency stress for the QuotaAccountant (labelled `concurrency`: run
// under ThreadSanitizer with -DARBITER_SANITIZE=thread). Many threads race
// for the last units of hard quotas; the admitted total never passes a
// limit, and every reservation ends exactly once (committed, released or
// expired), so no release is lost and nothing is counted twice.

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/quota.h"
#include "gtest/gtest.h"
#include "tests/quota/quota_test_state.h"
#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace {

using quota_testing::AddQuota;
using quota_testing::BaseState;
using quota_testing::MakeBook;
using quota_testing::MakeNode;
using testing::FakeClock;

constexpr int kThreads = 8;

// A state with many users and projects, so that threads create scope
// records (and grow the scope table) while others read it.
v1::PolicySet WideState(int users, int projects) {
  v1::PolicySet s = BaseState();
  for (int u = 0; u < users; ++u) {
    v1::Principal* p = s.add_principals();
    p->set_id(absl::StrCat("usr_w", u));
    p->set_org_id("org_1");
    p->set_email(absl::StrCat("w", u, "@acme.com"));
  }
  for (int i = 0; i < projects; ++i) {
    v1::Project* p = s.add_projects();
    p->set_id(absl::StrCat("prj_w", i));
    p->set_cloud_id("cld_a");
    p->set_name(absl::StrCat("w", i));
  }
  return s;
}

// The last units: 64 threads' worth of attempts for 10 CPUs; exactly 10
// are admitted.
TEST(QuotaStressTest, LastUnitsAreAdmittedExactlyOnce) {
  for (int round = 0; round < 20; ++round) {
    v1::PolicySet s = WideState(64, 8);
    AddQuota(&s, R"pb(id: "rsq_1"
                      cloud_id: "cld_a"
                      enabled: true
                      hard: true
                      limits { num_cpus: 10 })pb");
    auto book = MakeBook(s);
    QuotaAccountant accountant;
    std::atomic<int> admitted{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (int i = 0; i < 8; ++i) {
          const std::string user = absl::StrCat("usr_w", (t * 8 + i) % 64);
          const std::string project = absl::StrCat("prj_w", i % 8);
          NodeAdmission a =
              accountant.AdmitNode(*book, MakeNode("cld_a", project, user, 1));
          if (a.outcome == QuotaOutcome::kAdmit) {
            admitted.fetch_add(1);
            EXPECT_TRUE(accountant.Commit(a.reservation).ok());
          } else {
            EXPECT_EQ(a.reason, QuotaReason::kHardQuotaExceeded);
          }
        }
      });
    }
    go.store(true);
    for (auto& th : threads) th.join();
    EXPECT_EQ(admitted.load(), 10);
    EXPECT_EQ(accountant.Usage("cld_a", "", "").cpus, 10);
  }
}

// Threads admit, then commit or release; a sampler watches the usage.
// Overlapping hard quotas (cloud-wide and per-user) hold throughout, and at
// the end the usage is exactly what was committed.
TEST(QuotaStressTest, AdmitCommitReleaseNeverOverAdmits) {
  v1::PolicySet s = WideState(16, 4);
  AddQuota(&s, R"pb(id: "rsq_cloud"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits {
                      num_cpus: 40
                      num_accelerators { key: "A10G" value: 12 }
                    })pb");
  for (int u = 0; u < 16; ++u) {
    v1::ResourceQuota* q = AddQuota(&s, R"pb(enabled: true
                                             hard: true
                                             limits { num_cpus: 4 })pb");
    q->set_id(absl::StrCat("rsq_u", u));
    q->set_cloud_id("cld_a");
    q->set_user_id(absl::StrCat("usr_w", u));
  }
  auto book = MakeBook(s);
  QuotaAccountant accountant;
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::thread sampler([&] {
    while (!stop.load()) {
      const ResourceUsage u = accountant.Usage("cld_a", "", "");
      if (u.cpus > 40) violations.fetch_add(1);
      for (const auto& [type, count] : u.accelerators)
        if (type == "A10G" && count > 12) violations.fetch_add(1);
      for (int user = 0; user < 16; ++user) {
        if (accountant.Usage("cld_a", "", absl::StrCat("usr_w", user)).cpus > 4)
          violations.fetch_add(1);
      }
    }
  });
  struct Running {
    std::string user, project;
    int64_t cpus;
    int64_t a10g;
  };
  std::vector<std::vector<Running>> running(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 3000; ++i) {
        const int op = rng() % 10;
        if (op < 3 && !running[t].empty()) {
          const Running r = running[t].back();
          running[t].pop_back();
          EXPECT_TRUE(
              accountant
                  .NodeStopped(MakeNode("cld_a", r.project, r.user, r.cpus, 0,
                                        r.a10g > 0 ? "A10G" : "", r.a10g))
                  .ok());
          continue;
        }
        Running r{absl::StrCat("usr_w", rng() % 16),
                  absl::StrCat("prj_w", rng() % 4),
                  static_cast<int64_t>(1 + rng() % 3),
                  static_cast<int64_t>(rng() % 3)};
        NodeAdmission a = accountant.AdmitNode(
            *book, MakeNode("cld_a", r.project, r.user, r.cpus, 0,
                            r.a10g > 0 ? "a10g" : "", r.a10g));
        if (a.outcome == QuotaOutcome::kBlock) {
          EXPECT_EQ(a.reason, QuotaReason::kHardQuotaExceeded);
          continue;
        }
        if (rng() % 2 == 0) {
          EXPECT_TRUE(accountant.Commit(a.reservation).ok());
          running[t].push_back(r);
        } else {
          EXPECT_TRUE(accountant.Release(a.reservation).ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  stop.store(true);
  sampler.join();
  EXPECT_EQ(violations.load(), 0);
  int64_t cpus = 0, a10g = 0, instances = 0;
  for (const auto& list : running) {
    for (const Running& r : list) {
      cpus += r.cpus;
      a10g += r.a10g;
      ++instances;
    }
  }
  const ResourceUsage u = accountant.Usage("cld_a", "", "");
  EXPECT_EQ(u.cpus, cpus);
  EXPECT_EQ(u.instances, instances);
  int64_t got_a10g = 0;
  for (const auto& [type, count] : u.accelerators)
    if (type == "A10G") got_a10g = count;
  EXPECT_EQ(got_a10g, a10g);
  EXPECT_EQ(accountant.num_reservations(), 0u);
  EXPECT_LE(u.cpus, 40);
}

// Reservations race their own expiry: a clock thread advances time and
// expires while workers commit, release or abandon their reservations.
// Every reservation ends exactly once, and the usage is exactly the
// committed nodes.
TEST(QuotaStressTest, ExpiryRacesCommitAndRelease) {
  v1::PolicySet s = WideState(8, 2);
  AddQuota(&s, R"pb(id: "rsq_1"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_gpus: 24 })pb");
  auto book = MakeBook(s);
  auto clock = std::make_shared<FakeClock>(absl::FromUnixSeconds(1'000'000));
  QuotaAccountantOptions options;
  options.clock = clock;
  options.reservation_ttl = absl::Milliseconds(3);
  options.max_reservations = 256;
  QuotaAccountant accountant(options);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> expired{0};
  std::thread ticker([&] {
    while (!stop.load()) {
      clock->Advance(absl::Milliseconds(1));
      expired.fetch_add(static_cast<int64_t>(accountant.ExpireReservations()));
      std::this_thread::yield();
    }
  });
  std::atomic<int64_t> admitted{0}, ended{0}, abandoned{0}, committed_gpus{0},
      committed_nodes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      for (int i = 0; i < 2000; ++i) {
        // A Node holds views: the strings outlive it.
        const std::string creator = absl::StrCat("usr_w", t);
        const Node node =
            MakeNode("cld_a", "prj_w0", creator, 0, 1 + rng() % 2);
        const int64_t gpus = node.gpus;
        NodeAdmission a = accountant.AdmitNode(*book, node);
        if (a.outcome == QuotaOutcome::kBlock) continue;
        admitted.fetch_add(1);
        const int fate = rng() % 4;
        if (fate == 1) {  // the caller "crashed": left to expire
          abandoned.fetch_add(1);
          continue;
        }
        const bool commit = fate == 0;
        const absl::Status st = commit ? accountant.Commit(a.reservation)
                                       : accountant.Release(a.reservation);
        if (st.ok()) {
          ended.fetch_add(1);
          if (commit) {
            committed_gpus.fetch_add(gpus);
            committed_nodes.fetch_add(1);
          }
        } else {
          EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  stop.store(true);
  ticker.join();
  clock->Advance(absl::Seconds(1));
  expired.fetch_add(static_cast<int64_t>(accountant.ExpireReservations()));
  EXPECT_EQ(accountant.num_reservations(), 0u);
  // Expiry happens in ExpireReservations (counted here) and inside
  // AdmitNode when it would block (not counted): every reservation ended
  // at most once, and none is left.
  EXPECT_GT(abandoned.load(), 0);
  EXPECT_LE(ended.load() + expired.load(), admitted.load());
  EXPECT_EQ(accountant.Usage("cld_a", "", "").gpus, committed_gpus.load());
  EXPECT_EQ(accountant.Usage("cld_a", "", "").instances,
            committed_nodes.load());
  EXPECT_LE(committed_gpus.load(), 24);
}

// Books change under the admitting threads (limits raised and lowered, a
// quota disabled and enabled); usage carries over and the hard cloud-wide
// limit present in every book holds.
TEST(QuotaStressTest, BookSwapsKeepUsage) {
  v1::PolicySet s = WideState(8, 2);
  AddQuota(&s, R"pb(id: "rsq_cloud"
                    cloud_id: "cld_a"
                    enabled: true
                    hard: true
                    limits { num_cpus: 30 })pb");
  AddQuota(&s, R"pb(id: "rsq_proj"
                    cloud_id: "cld_a"
                    project_id: "prj_w0"
                    enabled: true
                    hard: true
                    limits { num_cpus: 10 })pb");
  std::vector<std::shared_ptr<const QuotaBook>> books;
  for (int v = 0; v < 4; ++v) {
    v1::PolicySet variant = s;
    variant.mutable_quotas(1)->set_enabled(v % 2 == 0);
    variant.mutable_quotas(1)->mutable_limits()->set_num_cpus(5 + 5 * v);
    books.push_back(MakeBook(variant));
  }
  std::mutex mu;
  std::shared_ptr<const QuotaBook> current = books[0];
  QuotaAccountant accountant;
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    for (int i = 0; !stop.load(); ++i) {
      std::lock_guard<std::mutex> lock(mu);
      current = books[i % books.size()];
    }
  });
  std::atomic<int64_t> committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(7 * t + 1);
      for (int i = 0; i < 2000; ++i) {
        std::shared_ptr<const QuotaBook> book;
        {
          std::lock_guard<std::mutex> lock(mu);
          book = current;
        }
        const std::string project = absl::StrCat("prj_w", rng() % 2);
        const std::string creator = absl::StrCat("usr_w", t);
        const Node node = MakeNode("cld_a", project, creator, 1);
        NodeAdmission a = accountant.AdmitNode(*book, node);
        if (a.outcome == QuotaOutcome::kBlock) continue;
        if (rng() % 8 == 0 && accountant.Commit(a.reservation).ok()) {
          committed.fetch_add(1);
        } else {
          EXPECT_TRUE(accountant.Release(a.reservation).ok());
        }
        EXPECT_LE(accountant.Usage("cld_a", "", "").cpus, 30);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop.store(true);
  swapper.join();
  EXPECT_EQ(accountant.Usage("cld_a", "", "").cpus, committed.load());
  EXPECT_LE(committed.load(), 30);
}

}  // namespace
}  // namespace arbiter
