// Seeded randomized differential tests: the QuotaAccountant against the
// naive ReferenceAccountant over random quota states and event streams
// (admissions, checks, commits, releases, unconditional starts, stops,
// clock advances, expiry, quota changes), and the BudgetTracker against
// ReferenceBudgets over random budgets and spend streams.
//
//   ARBITER_QUOTA_DIFF_SEEDS=<n>   number of seeds (default 300 for quotas,
//                                  150 for budgets)
//   ARBITER_QUOTA_DIFF_STEPS=<n>   events per seed (default 400 and 200)
//   ARBITER_QUOTA_DIFF_SEED=<s>    replay one seed
//
// A mismatch prints the seed, the step and both answers.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/quota.h"
#include "gtest/gtest.h"
#include "tests/quota/quota_test_state.h"
#include "tests/quota/reference_accountant.h"
#include "tests/testing/fake_clock.h"

namespace arbiter {
namespace {

using quota_testing::BaseState;
using reference::RefBreach;
using reference::RefDecision;
using reference::RefNode;
using testing::FakeClock;

absl::optional<uint64_t> EnvUint(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return absl::nullopt;
  return std::strtoull(v, nullptr, 10);
}

std::vector<uint64_t> Seeds(uint64_t base, uint64_t default_count) {
  if (auto one = EnvUint("ARBITER_QUOTA_DIFF_SEED")) return {*one};
  const uint64_t n =
      EnvUint("ARBITER_QUOTA_DIFF_SEEDS").value_or(default_count);
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < n; ++i) seeds.push_back(base + i);
  return seeds;
}

int Steps(int default_steps) {
  return static_cast<int>(
      EnvUint("ARBITER_QUOTA_DIFF_STEPS").value_or(default_steps));
}

struct Scope {
  const char* cloud;
  std::vector<const char*> projects;
};
const Scope kScopes[] = {
    {"cld_a", {"prj_a_default", "prj_a1", "prj_a2"}},
    {"cld_b", {"prj_b_default", "prj_b1"}},
};
const char* const kUsers[] = {"usr_1", "usr_2", "usr_3", "sa_ci", "usr_del"};
const char* const kQuotaTypes[] = {"A10G", "t4", "A100-80G"};
const char* const kNodeTypes[] = {"", "a10g", "T4", "A100-80G", "L4"};

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  int Int(int lo, int hi) {  // inclusive
    return std::uniform_int_distribution<int>(lo, hi)(gen_);
  }
  bool Chance(int percent) { return Int(0, 99) < percent; }
  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Int(0, N - 1)];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Int(0, static_cast<int>(v.size()) - 1)];
  }

 private:
  std::mt19937_64 gen_;
};

// A valid random quota state: at most one live quota per scope.
v1::PolicySet RandomQuotaState(Rng& rng, int generation) {
  v1::PolicySet s = BaseState();
  std::set<std::string> taken;
  const int n = rng.Int(0, 8);
  for (int i = 0; i < n; ++i) {
    const Scope& scope = rng.Pick(kScopes);
    const std::string project = rng.Chance(50) ? rng.Pick(scope.projects) : "";
    const std::string user = rng.Chance(50) ? rng.Pick(kUsers) : "";
    const bool deleted = rng.Chance(10);
    const std::string key = absl::StrCat(scope.cloud, "/", project, "/", user);
    if (!deleted && !taken.insert(key).second) continue;
    v1::ResourceQuota* q = s.add_quotas();
    q->set_id(absl::StrCat("rsq_", generation, "_", i));
    q->set_cloud_id(scope.cloud);
    q->set_project_id(project);
    q->set_user_id(user);
    q->set_enabled(rng.Chance(80));
    q->set_hard(rng.Chance(50));
    if (deleted) q->mutable_deleted_at()->set_seconds(1);
    v1::QuotaLimits* l = q->mutable_limits();
    if (rng.Chance(50)) l->set_num_cpus(rng.Int(0, 24));
    if (rng.Chance(40)) l->set_num_gpus(rng.Int(0, 8));
    if (rng.Chance(40)) l->set_num_instances(rng.Int(0, 6));
    const int types = rng.Int(0, 2);
    for (int t = 0; t < types; ++t) {
      (*l->mutable_num_accelerators())[rng.Pick(kQuotaTypes)] = rng.Int(0, 6);
    }
  }
  return s;
}

RefNode RandomNode(Rng& rng) {
  RefNode n;
  const Scope& scope = rng.Pick(kScopes);
  n.cloud = scope.cloud;
  n.project = rng.Pick(scope.projects);
  n.creator = rng.Pick(kUsers);
  if (rng.Chance(3)) n.project = "prj_b1";  // maybe not in the cloud
  if (rng.Chance(2)) n.creator = "usr_x";   // another organization
  if (rng.Chance(1)) n.cloud = "cld_9";     // unknown
  n.cpus = rng.Int(0, 8);
  n.gpus = rng.Int(0, 3);
  n.type = rng.Pick(kNodeTypes);
  n.accelerators = n.type.empty() ? 0 : rng.Int(0, 3);
  return n;
}

Node ToNode(const RefNode& r) {
  return quota_testing::MakeNode(r.cloud, r.project, r.creator, r.cpus, r.gpus,
                                 r.type, r.accelerators);
}

std::string Describe(const RefNode& n) {
  return absl::StrCat("(", n.cloud, ", ", n.project, ", ", n.creator,
                      ", cpus=", n.cpus, ", gpus=", n.gpus, ", ", n.type, "x",
                      n.accelerators, ")");
}

std::string Describe(const RefDecision& d) {
  std::string out =
      absl::StrCat(QuotaOutcomeName(d.outcome), " ", QuotaReasonName(d.reason),
                   " applicable=[", absl::StrJoin(d.applicable, ","), "]");
  for (const RefBreach& b : d.breaches) {
    absl::StrAppend(&out, " {", b.quota_id, b.hard ? " hard " : " soft ",
                    QuotaDimensionName(b.dimension), b.type, " ", b.usage, "+",
                    b.requested, ">", b.limit, "}");
  }
  return out;
}

RefDecision FromReal(const NodeAdmission& a, const QuotaBook& book) {
  RefDecision d;
  d.outcome = a.outcome;
  d.reason = a.reason;
  for (int i = 0; i < a.num_applicable; ++i)
    d.applicable.push_back(book.quotas()[a.applicable[i]].id());
  for (int i = 0; i < a.num_breaches; ++i) {
    const QuotaBreach& b = a.breaches[i];
    RefBreach r;
    r.quota_id = std::string(b.quota_id);
    r.hard = b.hard;
    r.dimension = b.dimension;
    r.type = std::string(b.accelerator_type);
    r.usage = b.usage;
    r.requested = b.requested;
    r.limit = b.limit;
    d.breaches.push_back(r);
  }
  return d;
}

bool Same(const RefDecision& a, const RefDecision& b) {
  return a.outcome == b.outcome && a.reason == b.reason &&
         a.applicable == b.applicable && a.breaches == b.breaches;
}

std::string Describe(const ResourceUsage& u) {
  std::string out = absl::StrCat("cpus=", u.cpus, " gpus=", u.gpus,
                                 " instances=", u.instances);
  for (const auto& [t, c] : u.accelerators)
    absl::StrAppend(&out, " ", t, "=", c);
  return out;
}

// What a run exercised, so that a run that never blocks cannot pass.
struct Coverage {
  int admits = 0, alerts = 0, blocks = 0, unresolved = 0, expired = 0;
  int alerts_fired = 0;
};

// Runs one seed; returns "" or the first mismatch.
std::string RunQuotaSeed(uint64_t seed, int steps, Coverage* coverage) {
  Rng rng(seed);
  auto clock =
      std::make_shared<FakeClock>(absl::FromUnixSeconds(1'800'000'000));
  QuotaAccountantOptions options;
  options.clock = clock;
  options.reservation_ttl = absl::Minutes(5);
  options.max_reservations = 4096;
  QuotaAccountant real(options);
  reference::ReferenceAccountant ref;
  const int64_t ttl = absl::ToInt64Nanoseconds(options.reservation_ttl);
  int generation = 0;
  v1::PolicySet state = RandomQuotaState(rng, generation);
  std::unique_ptr<const QuotaBook> book = quota_testing::MakeBook(state);
  if (book == nullptr) return "invalid random state";
  std::vector<std::pair<uint64_t, uint64_t>> reservations;  // (real, ref)
  auto now = [&] { return absl::ToUnixNanos(clock->Now()); };
  auto where = [&](int step, absl::string_view op) {
    return absl::StrCat("seed ", seed, " step ", step, " (", op,
                        "); reproduce with ARBITER_QUOTA_DIFF_SEED=", seed,
                        ": ");
  };

  for (int step = 0; step < steps; ++step) {
    const int op = rng.Int(0, 99);
    if (op < 45) {  // admit or check
      const bool reserve = op < 35;
      const RefNode n = RandomNode(rng);
      uint64_t ref_id = 0;
      const RefDecision expected =
          ref.Decide(state, n, now(), reserve, ttl, &ref_id);
      const NodeAdmission a = reserve ? real.AdmitNode(*book, ToNode(n))
                                      : real.CheckNode(*book, ToNode(n));
      const RefDecision got = FromReal(a, *book);
      if (!Same(expected, got)) {
        return absl::StrCat(where(step, reserve ? "AdmitNode" : "CheckNode"),
                            Describe(n), "\n  reference: ", Describe(expected),
                            "\n  accountant: ", Describe(got));
      }
      if ((a.reservation != 0) != (ref_id != 0)) {
        return absl::StrCat(where(step, "reservation"), Describe(n));
      }
      if (ref_id != 0) reservations.emplace_back(a.reservation, ref_id);
      if (a.reason == QuotaReason::kWithinQuota) ++coverage->admits;
      if (a.reason == QuotaReason::kSoftQuotaExceeded) ++coverage->alerts;
      if (a.reason == QuotaReason::kHardQuotaExceeded) ++coverage->blocks;
      if (a.outcome == QuotaOutcome::kBlock &&
          a.reason != QuotaReason::kHardQuotaExceeded) {
        ++coverage->unresolved;
      }
    } else if (op < 57 && !reservations.empty()) {  // commit or release
      const size_t i = rng.Int(0, static_cast<int>(reservations.size()) - 1);
      const auto [real_id, ref_id] = reservations[i];
      const bool commit = op < 50;
      const bool expected = commit ? ref.Commit(ref_id) : ref.Release(ref_id);
      const bool got =
          commit ? real.Commit(real_id).ok() : real.Release(real_id).ok();
      if (expected != got) {
        return absl::StrCat(where(step, commit ? "Commit" : "Release"),
                            "reference ", expected, ", accountant ", got);
      }
      if (rng.Chance(70)) reservations.erase(reservations.begin() + i);
    } else if (op < 65) {  // a node started outside admission
      RefNode n = RandomNode(rng);
      n.cloud = "cld_a";
      n.project = "prj_a1";
      if (n.creator == "usr_x") n.creator = "usr_2";
      ref.Start(n);
      if (!real.NodeStarted(ToNode(n)).ok()) {
        return absl::StrCat(where(step, "NodeStarted"), Describe(n));
      }
    } else if (op < 77) {  // stop a running node, or a bogus one
      if (!ref.running().empty() && rng.Chance(80)) {
        const RefNode n = rng.Pick(ref.running());
        if (!ref.Stop(n) || !real.NodeStopped(ToNode(n)).ok()) {
          return absl::StrCat(where(step, "NodeStopped"), Describe(n));
        }
      } else {
        const RefNode n = RandomNode(rng);
        if (ref.Usage(n.cloud, n.project, n.creator).instances == 0 &&
            real.NodeStopped(ToNode(n)).ok()) {
          return absl::StrCat(where(step, "NodeStopped of nothing"),
                              Describe(n));
        }
      }
    } else if (op < 88) {
      clock->Advance(absl::Seconds(rng.Int(0, 150)));
    } else if (op < 92) {
      const size_t expected = ref.ExpireOverdue(now());
      const size_t got = real.ExpireReservations();
      coverage->expired += static_cast<int>(got);
      if (expected != got) {
        return absl::StrCat(where(step, "ExpireReservations"), "reference ",
                            expected, ", accountant ", got);
      }
    } else {  // the quotas change; usage stays
      state = RandomQuotaState(rng, ++generation);
      book = quota_testing::MakeBook(state);
      if (book == nullptr) return "invalid random state";
    }
    // Usage agrees in every scope shape of a random node, and per cloud.
    const RefNode probe = RandomNode(rng);
    const std::vector<std::pair<std::string, std::string>> shapes = {
        {"", ""},
        {probe.project, ""},
        {"", probe.creator},
        {probe.project, probe.creator}};
    for (const auto& [project, user] : shapes) {
      const ResourceUsage e = ref.Usage(probe.cloud, project, user);
      const ResourceUsage g = real.Usage(probe.cloud, project, user);
      if (Describe(e) != Describe(g)) {
        return absl::StrCat(where(step, "Usage"), "(", probe.cloud, ", ",
                            project, ", ", user, ") reference ", Describe(e),
                            ", accountant ", Describe(g));
      }
    }
    if (ref.num_reservations() != real.num_reservations()) {
      return absl::StrCat(where(step, "num_reservations"),
                          ref.num_reservations(), " vs ",
                          real.num_reservations());
    }
  }
  return "";
}

TEST(QuotaDifferentialTest, AccountantMatchesReference) {
  const int steps = Steps(400);
  Coverage coverage;
  const std::vector<uint64_t> seeds = Seeds(0x9007a000, 300);
  for (uint64_t seed : seeds) {
    const std::string mismatch = RunQuotaSeed(seed, steps, &coverage);
    ASSERT_EQ(mismatch, "") << mismatch;
  }
  if (seeds.size() > 1) {
    EXPECT_GT(coverage.admits, 0);
    EXPECT_GT(coverage.alerts, 0);
    EXPECT_GT(coverage.blocks, 0);
    EXPECT_GT(coverage.unresolved, 0);
    EXPECT_GT(coverage.expired, 0);
  }
}

// ---- Budgets ----

v1::PolicySet RandomBudgetState(Rng& rng, int generation) {
  v1::PolicySet s = BaseState();
  std::set<std::string> taken;
  const int n = rng.Int(0, 7);
  for (int i = 0; i < n; ++i) {
    v1::Budget b;
    b.set_id(absl::StrCat("bud_", generation, "_", i));
    const int kind = rng.Int(0, 2);
    if (kind == 0) {
      b.set_org_id(rng.Chance(80) ? "org_1" : "org_2");
    } else {
      const Scope& scope = rng.Pick(kScopes);
      b.set_cloud_id(scope.cloud);
      if (kind == 2) b.set_project_id(rng.Pick(scope.projects));
    }
    b.set_period(rng.Chance(50) ? v1::BUDGET_PERIOD_DAILY
                                : v1::BUDGET_PERIOD_MONTHLY);
    b.set_amount_credits(rng.Int(1, 400) / 4.0);
    for (double p : {25.0, 50.0, 80.0, 100.0, 150.0}) {
      if (rng.Chance(40)) b.add_thresholds_percent(p);
    }
    b.set_enabled(rng.Chance(85));
    if (rng.Chance(30)) {  // created within the window
      b.mutable_created_at()->set_seconds(1832976000 +
                                          rng.Int(0, 40) * 86400 / 2);
    }
    const bool deleted = rng.Chance(10);
    if (deleted) b.mutable_deleted_at()->set_seconds(5);
    const std::string key = absl::StrCat(b.org_id(), "/", b.cloud_id(), "/",
                                         b.project_id(), "/", b.period());
    if (!deleted && !taken.insert(key).second) continue;
    *s.add_budgets() = b;
  }
  return s;
}

std::string RunBudgetSeed(uint64_t seed, int steps, Coverage* coverage) {
  Rng rng(seed);
  // The window: 2028-01-31 .. 2028-03-02, across a leap day and two month
  // ends.
  const int64_t window_start = 1832976000;  // 2028-01-31T00:00:00Z
  const int64_t window_seconds = 31 * 86400;
  auto clock = std::make_shared<FakeClock>(absl::FromUnixSeconds(window_start));
  std::vector<std::string> got;
  BudgetTrackerOptions options;
  options.clock = clock;
  BudgetTracker real(
      [&got](const BudgetAlert& a) {
        got.push_back(absl::StrCat(a.budget_id, "@", a.threshold_percent, " ",
                                   absl::ToUnixSeconds(a.period_start)));
      },
      options);
  reference::ReferenceBudgets ref;
  int generation = 0;
  v1::PolicySet state = RandomBudgetState(rng, generation);
  std::unique_ptr<const QuotaBook> book = quota_testing::MakeBook(state);
  if (book == nullptr) return "invalid random state";
  for (int step = 0; step < steps; ++step) {
    std::vector<std::string> expected;
    got.clear();
    std::string op;
    if (rng.Chance(90)) {
      const Scope& scope = rng.Pick(kScopes);
      reference::RefSpend e;
      e.cloud = rng.Chance(3) ? "cld_x" : scope.cloud;
      e.project =
          e.cloud == "cld_x" || rng.Chance(20) ? "" : rng.Pick(scope.projects);
      const double credits = rng.Int(0, 4000) / 100.0;
      e.micro = static_cast<int64_t>(std::llround(credits * 1e6));
      e.seconds = window_start + rng.Int(0, window_seconds);
      op = absl::StrCat("spend ", credits, " in (", e.cloud, ", ", e.project,
                        ") at ", e.seconds);
      ref.Record(e);
      std::set<std::pair<int, int64_t>> touched;
      for (v1::BudgetPeriod p :
           {v1::BUDGET_PERIOD_DAILY, v1::BUDGET_PERIOD_MONTHLY})
        touched.insert({p, reference::ReferenceBudgets::Start(p, e.seconds)});
      expected = ref.Due(state, touched, &e);
      SpendEvent event;
      event.cloud_id = e.cloud;
      event.project_id = e.project;
      event.credits = credits;
      event.time = absl::FromUnixSeconds(e.seconds);
      if (!real.RecordSpend(*book, event).ok())
        return absl::StrCat("seed ", seed, ": ", op);
    } else {
      state = RandomBudgetState(rng, ++generation);
      book = quota_testing::MakeBook(state);
      if (book == nullptr) return "invalid random state";
      const int64_t now = window_start + rng.Int(0, window_seconds);
      clock->Set(absl::FromUnixSeconds(now));
      op = absl::StrCat("new budgets, Evaluate at ", now);
      std::set<std::pair<int, int64_t>> touched;
      for (v1::BudgetPeriod p :
           {v1::BUDGET_PERIOD_DAILY, v1::BUDGET_PERIOD_MONTHLY})
        touched.insert({p, reference::ReferenceBudgets::Start(p, now)});
      expected = ref.Due(state, touched);
      real.Evaluate(*book);
    }
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    coverage->alerts_fired += static_cast<int>(got.size());
    if (expected != got) {
      return absl::StrCat("seed ", seed, " step ", step, " (", op,
                          "); reproduce with ARBITER_QUOTA_DIFF_SEED=", seed,
                          "\n  reference: [", absl::StrJoin(expected, ", "),
                          "]\n  tracker:   [", absl::StrJoin(got, ", "), "]");
    }
    // Spend per scope agrees.
    for (const auto& b : state.budgets()) {
      if (b.has_deleted_at()) continue;
      const int64_t at = window_start + rng.Int(0, window_seconds);
      const int64_t start = reference::ReferenceBudgets::Start(b.period(), at);
      const double e = static_cast<double>(ref.SpendOf(state, b, start)) / 1e6;
      const double g = real.Spend(b.org_id(), b.cloud_id(), b.project_id(),
                                  b.period(), absl::FromUnixSeconds(at));
      if (e != g) {
        return absl::StrCat("seed ", seed, " step ", step, ": Spend of ",
                            b.id(), " at ", at, " reference ", e, ", tracker ",
                            g);
      }
    }
  }
  return "";
}

TEST(QuotaDifferentialTest, BudgetTrackerMatchesReference) {
  // The reference rescans every event: fewer seeds and steps by default.
  const int steps = Steps(200);
  Coverage coverage;
  const std::vector<uint64_t> seeds = Seeds(0xb0d6e7000, 150);
  for (uint64_t seed : seeds) {
    const std::string mismatch = RunBudgetSeed(seed, steps, &coverage);
    ASSERT_EQ(mismatch, "") << mismatch;
  }
  if (seeds.size() > 1) EXPECT_GT(coverage.alerts_fired, 100);
}

}  // namespace
}  // namespace arbiter
