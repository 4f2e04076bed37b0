// Concurrency stress (issue 6, item 3): reader threads check while writer
// threads keep compiling new states and publishing them through an
// EngineHolder. Every decision a reader gets must be the one the snapshot
// it names (Decision::revision) gives when evaluated alone, so a torn
// snapshot, a decision from the wrong snapshot, a handle read by the wrong
// engine or an engine freed under a reader shows up as a mismatch here (and
// as a report under ThreadSanitizer / AddressSanitizer).
//
// The expected decisions are computed before any thread starts: each
// revision is compiled into its own Engine and evaluated single-threaded,
// and that table is cross-checked against the reference evaluator
// (tests/reference), an independent implementation of docs/semantics.md.
//
// Sizes: ARBITER_STRESS_REVISIONS (default 120) revisions per test. The
// defaults take about a second, two under ThreadSanitizer, ten in a Debug
// build with AddressSanitizer.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/engine_holder.h"
#include "arbiter/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reference/reference_evaluator.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/random_policy.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::DebugString;
using ::arbiter::testing::FakeClock;
using ::arbiter::testing::GenerateRandomPolicy;
using ::arbiter::testing::GrantKind;
using ::arbiter::testing::MixSeed;
using ::arbiter::testing::RandomPolicy;
using ::arbiter::testing::RandomPolicyConfig;
using ::arbiter::testing::RandomQuery;
using ::arbiter::testing::RandomQueryGenerator;
using ::arbiter::testing::ReferenceEvaluator;
using ::arbiter::testing::Rng;
using ::arbiter::testing::SameDecision;

constexpr uint64_t kSeed = 0x5eed0006;
constexpr int kQueries = 200;
constexpr int kReaders = 4;
// Checks per reader, at least, even if the writers finish early.
constexpr int kMinChecksPerReader = 2000;

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  const int n = std::atoi(value);
  return n > 0 ? n : fallback;
}

struct Handles {
  PrincipalRef principal;
  PermissionRef permission;
  ResourceRef resource;
};

// Resolves the query's intended principal, permission and resource on
// `engine`, as a caller caching handles would.
absl::optional<Handles> Resolve(const Engine& engine, const RandomQuery& q) {
  if (q.principal_id.empty()) return absl::nullopt;
  absl::optional<PrincipalRef> p = engine.FindPrincipal(q.principal_id);
  absl::optional<PermissionRef> k = engine.FindPermission(q.permission);
  absl::optional<ResourceRef> r = engine.FindResource(
      q.resource, q.resource_is_path ? absl::string_view(q.principal_org_id)
                                     : absl::string_view());
  if (!p || !k || !r) return absl::nullopt;
  return Handles{*p, *k, *r};
}

// One revision of the policy and what every query must decide on it.
struct Revision {
  uint64_t number = 0;
  v1::PolicySet state;
  bool valid = false;
  // Compiled single-threaded before the stress phase; kept alive so that
  // the expected decisions' grant ids stay valid.
  std::unique_ptr<const Engine> serial;
  std::vector<Decision> by_name;                    // per query
  std::vector<absl::optional<Decision>> by_handle;  // per query
};

// The history every test replays: revision r is the base state with the
// grants expired at a random instant removed (sometimes), a few random
// allow and deny grants added, and sometimes a principal's state changed,
// all drawn from MixSeed(seed, r). Every seventh revision is broken (a grant
// on a project that does not exist): it must be refused and never seen.
class History {
 public:
  explicit History(int revisions) {
    RandomPolicyConfig config;
    // Removing expired grants must not remove a grant another depends on.
    config.prerequisites_never_expire = true;
    base_ = GenerateRandomPolicy(kSeed, config);
    revisions_.resize(revisions + 1);  // revisions_[0] is unused
    for (int r = 1; r <= revisions; ++r) Build(r);
  }

  static bool Broken(uint64_t r) { return r % 7 == 0; }

  const RandomPolicy& base() const { return base_; }
  // Published revisions whose decisions differ from the previous published
  // one's for at least one query.
  int changed_revisions() const {
    int changed = 0;
    const Revision* previous = nullptr;
    for (const Revision& r : revisions_) {
      if (!r.valid) continue;
      if (previous != nullptr) {
        for (size_t q = 0; q < r.by_name.size(); ++q) {
          Decision a = r.by_name[q], b = previous->by_name[q];
          a.revision = b.revision = 0;
          if (a != b) {
            ++changed;
            break;
          }
        }
      }
      previous = &r;
    }
    return changed;
  }
  const std::vector<RandomQuery>& queries() const { return queries_; }
  const std::vector<AccessRequest>& requests() const { return requests_; }
  int size() const { return static_cast<int>(revisions_.size()) - 1; }
  const Revision& at(uint64_t r) const { return revisions_[r]; }
  bool published(uint64_t r) const {
    return r >= 1 && r < revisions_.size() && revisions_[r].valid;
  }

 private:
  void Build(int r) {
    Revision& rev = revisions_[r];
    rev.number = r;
    RandomPolicy p = base_;
    Rng rng(MixSeed(kSeed, r));
    if (rng.Chance(0.3)) {
      ::arbiter::testing::RemoveExpiredGrants(rng.Pick(p.query_times),
                                              &p.state);
    }
    const int additions = rng.Between(0, 6);
    for (int i = 0; i < additions; ++i) {
      ::arbiter::testing::AddRandomGrant(
          rng, rng.Chance(0.3) ? GrantKind::kDeny : GrantKind::kAllow, &p);
    }
    if (rng.Chance(0.3) && p.state.principals_size() > 0) {
      v1::Principal* principal = p.state.mutable_principals(
          static_cast<int>(rng.Below(p.state.principals_size())));
      principal->set_state(static_cast<v1::PrincipalState>(rng.Between(
          v1::PRINCIPAL_STATE_ACTIVE, v1::PRINCIPAL_STATE_DELETED)));
    }
    if (Broken(r)) {
      v1::Grant* g = p.state.add_grants();
      g->set_id(absl::StrCat("g_broken_", r));
      g->set_principal_id(p.state.principals(0).id());
      g->set_role("project_readonly");
      g->set_project_id("prj_does_not_exist");
    }
    p.state.set_revision(r);
    rev.state = std::move(p.state);

    absl::StatusOr<std::unique_ptr<const Engine>> engine =
        Engine::Create(rev.state, base_.options);
    rev.valid = engine.ok();
    EXPECT_EQ(rev.valid, !Broken(r))
        << "revision " << r << ": " << engine.status()
        << " (the random policy generator made an invalid state; not a "
           "concurrency problem)";
    if (!rev.valid) return;
    rev.serial = std::move(*engine);

    if (queries_.empty()) {
      RandomQueryGenerator generator(base_, rev.serial->profile(), kSeed);
      for (int i = 0; i < kQueries; ++i) queries_.push_back(generator.Next());
      for (const RandomQuery& q : queries_) requests_.push_back(q.ToRequest());
    }
    ReferenceEvaluator reference(rev.state, rev.serial->profile(), base_.now);
    rev.by_name.reserve(kQueries);
    rev.by_handle.reserve(kQueries);
    for (int i = 0; i < kQueries; ++i) {
      const Decision d = rev.serial->Check(requests_[i]);
      rev.by_name.push_back(d);
      ::arbiter::testing::ReferenceDecision expected =
          reference.Check(requests_[i]);
      EXPECT_TRUE(SameDecision(expected, d))
          << "revision " << r << ", " << queries_[i].DebugString()
          << ": the engine says " << d << ", the reference "
          << DebugString(expected) << " (not a concurrency problem)";
      absl::optional<Handles> h = Resolve(*rev.serial, queries_[i]);
      if (h) {
        rev.by_handle.push_back(rev.serial->Check(
            h->principal, h->permission, h->resource, queries_[i].context));
      } else {
        rev.by_handle.push_back(absl::nullopt);
      }
    }
  }

  RandomPolicy base_;
  std::vector<RandomQuery> queries_;
  std::vector<AccessRequest> requests_;  // views into queries_
  std::vector<Revision> revisions_;
};

const History& SharedHistory() {
  static const History* history =
      new History(EnvInt("ARBITER_STRESS_REVISIONS", 120));
  return *history;
}

// The base state and queries alone (one revision), for tests that do not
// publish.
const History& BaseHistory() {
  static const History* history = new History(1);
  return *history;
}

// Collects failures from any thread; keeps the first few messages. (A
// std::mutex rather than absl::Mutex: ThreadSanitizer sees pthread locks,
// but not the lock of an uninstrumented libabsl_synchronization.)
class Failures {
 public:
  void Add(std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    if (messages_.size() < 10) messages_.push_back(std::move(message));
  }
  int count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::string Summary() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& m : messages_) absl::StrAppend(&out, m, "\n");
    return out;
  }

 private:
  mutable std::mutex mu_;
  int count_ = 0;
  std::vector<std::string> messages_;
};

std::string Str(const Decision& d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

void AtomicMax(std::atomic<uint64_t>& target, uint64_t value) {
  uint64_t current = target.load();
  while (current < value && !target.compare_exchange_weak(current, value)) {
  }
}

// The state shared by the readers of one stress run.
struct StressRun {
  explicit StressRun(const History& h)
      : history(h), seen(static_cast<size_t>(h.size()) + 1) {}

  const History& history;
  EngineHolder holder;
  std::atomic<bool> writers_done{false};
  std::atomic<uint64_t> max_seen{0};
  std::vector<std::atomic<bool>> seen;
  // Revisions only ever grow (one writer publishing in order).
  bool monotonic = true;
  Failures failures;
};

// Checks random queries against whatever engine is current, until the
// writers are done and at least kMinChecksPerReader checks were made.
void Reader(StressRun& run, int reader) {
  const History& h = run.history;
  Rng rng(MixSeed(kSeed, 1000 + reader));
  std::shared_ptr<const Engine> previous;
  uint64_t last_revision = 0;
  int checks = 0;
  auto fail = [&](uint64_t revision, int q, const std::string& what) {
    run.failures.Add(absl::StrCat("reader ", reader, ", revision ", revision,
                                  ", ", h.queries()[q].DebugString(), ": ",
                                  what));
  };

  while (!run.writers_done.load() || checks < kMinChecksPerReader) {
    std::shared_ptr<const Engine> engine = run.holder.Get();
    if (engine == nullptr) {
      run.failures.Add("the holder has no engine");
      return;
    }
    const uint64_t revision = engine->revision();
    if (!h.published(revision)) {
      run.failures.Add(absl::StrCat("reader ", reader, " got revision ",
                                    revision, ", which was never published"));
      return;
    }
    if (run.monotonic && revision < last_revision) {
      run.failures.Add(absl::StrCat("reader ", reader, " saw revision ",
                                    revision, " after ", last_revision));
    }
    last_revision = std::max(last_revision, revision);
    run.seen[revision].store(true);
    AtomicMax(run.max_seen, revision);
    const Revision& expected = h.at(revision);

    // A batch of checks on the same snapshot, held while the writers
    // replace it: it must stay alive and whole.
    for (int k = 0; k < 16; ++k, ++checks) {
      const int q = static_cast<int>(rng.Below(h.queries().size()));
      const Decision d = engine->Check(h.requests()[q]);
      if (d != expected.by_name[q]) {
        fail(revision, q,
             absl::StrCat("Check gave ", Str(d), ", expected ",
                          Str(expected.by_name[q])));
      }
      if (expected.by_handle[q].has_value()) {
        absl::optional<Handles> handles = Resolve(*engine, h.queries()[q]);
        if (!handles) {
          fail(revision, q, "handles did not resolve");
        } else {
          const Decision dh =
              engine->Check(handles->principal, handles->permission,
                            handles->resource, h.queries()[q].context);
          if (dh != *expected.by_handle[q]) {
            fail(revision, q,
                 absl::StrCat("Check by handles gave ", Str(dh), ", expected ",
                              Str(*expected.by_handle[q])));
          }
          // Handles of an older snapshot never decide on this one.
          if (previous != nullptr && previous != engine) {
            absl::optional<Handles> stale = Resolve(*previous, h.queries()[q]);
            if (stale) {
              const Decision ds =
                  engine->Check(stale->principal, stale->permission,
                                stale->resource, h.queries()[q].context);
              if (ds.reason != Reason::kStaleReference || ds.allowed()) {
                fail(revision, q,
                     absl::StrCat("a stale handle gave ", Str(ds)));
              }
            }
          }
        }
      }
      if (k == 0) {
        const Explanation e = engine->Explain(h.requests()[q]);
        if (e.decision != d) {
          fail(revision, q,
               absl::StrCat("Explain gave ", Str(e.decision), ", Check ",
                            Str(d)));
        }
      }
    }

    // The convenience path through the holder. The result keeps its engine
    // alive, so even grant_id may be compared.
    const int q = static_cast<int>(rng.Below(h.queries().size()));
    const HeldDecision result = run.holder.Check(h.requests()[q]);
    const Decision& held = result.decision;
    if (!h.published(held.revision) ||
        (run.monotonic && held.revision < revision)) {
      fail(revision, q,
           absl::StrCat("EngineHolder::Check answered from revision ",
                        held.revision));
    } else {
      const Decision& want = h.at(held.revision).by_name[q];
      if (held.effect != want.effect || held.reason != want.reason ||
          held.source != want.source || held.grant_index != want.grant_index ||
          held.grant_id != want.grant_id) {
        fail(held.revision, q,
             absl::StrCat("EngineHolder::Check gave ", ReasonName(held.reason),
                          " grant ", held.grant_index, ", expected ",
                          Str(want)));
      }
    }
    ++checks;
    previous = std::move(engine);
  }
}

void StartReaders(StressRun& run, std::vector<std::thread>& threads) {
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&run, i] { Reader(run, i); });
  }
}

void ExpectNoFailures(const StressRun& run) {
  EXPECT_EQ(run.failures.count(), 0) << run.failures.Summary();
}

TEST(ConcurrencyStressTest, ReadersSeeWholeSnapshotsWhileOneWriterPublishes) {
  const History& h = SharedHistory();
  ASSERT_TRUE(h.at(1).valid);
  StressRun run(h);
  ASSERT_OK(run.holder.Update(h.at(1).state, h.base().options));
  std::vector<std::thread> readers;
  StartReaders(run, readers);

  int refused = 0;
  std::thread writer([&] {
    while (run.max_seen.load() < 1) std::this_thread::yield();
    for (int r = 2; r <= h.size(); ++r) {
      const absl::Status status =
          run.holder.Update(h.at(r).state, h.base().options);
      if (status.ok() != h.at(r).valid) {
        run.failures.Add(absl::StrCat("Update(revision ", r, ") returned ",
                                      status.ToString()));
      }
      if (!status.ok()) {
        ++refused;
        // The previous engine stays.
        if (run.holder.Get()->revision() >= static_cast<uint64_t>(r)) {
          run.failures.Add(
              absl::StrCat("refused revision ", r, " replaced the engine"));
        }
        continue;
      }
      // Let a reader see every published revision before replacing it.
      while (run.max_seen.load() < static_cast<uint64_t>(r)) {
        std::this_thread::yield();
      }
    }
    run.writers_done.store(true);
  });
  writer.join();
  for (std::thread& t : readers) t.join();

  ExpectNoFailures(run);
  EXPECT_EQ(refused, h.size() / 7);
  // The revisions really differ: a reader answering from the wrong one
  // would have been caught.
  EXPECT_GT(h.changed_revisions(), h.size() / 2);
  EXPECT_EQ(run.holder.Get()->revision(),
            static_cast<uint64_t>(History::Broken(h.size()) ? h.size() - 1
                                                            : h.size()));
  for (int r = 1; r <= h.size(); ++r) {
    EXPECT_EQ(run.seen[r].load(), h.at(r).valid) << "revision " << r;
  }
}

TEST(ConcurrencyStressTest, TwoWritersPublishingInAnyOrder) {
  const History& h = SharedHistory();
  StressRun run(h);
  run.monotonic = false;
  ASSERT_OK(run.holder.Update(h.at(1).state, h.base().options));
  std::vector<std::thread> readers;
  StartReaders(run, readers);

  // Writer 0 publishes even revisions, writer 1 odd ones; one compiles with
  // Update, the other compiles itself and publishes with Publish.
  std::atomic<int> writers_left{2};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int r = 2 + w; r <= h.size(); r += 2) {
        if (w == 0) {
          const absl::Status status =
              run.holder.Update(h.at(r).state, h.base().options);
          // A valid revision is refused only when the other writer already
          // published a newer one.
          const bool overtaken =
              status.code() == absl::StatusCode::kFailedPrecondition &&
              run.holder.Get()->revision() > static_cast<uint64_t>(r);
          if (status.ok() != h.at(r).valid && !overtaken) {
            run.failures.Add(absl::StrCat("Update(revision ", r, ") returned ",
                                          status.ToString()));
          }
        } else {
          absl::StatusOr<std::unique_ptr<const Engine>> engine =
              Engine::Create(h.at(r).state, h.base().options);
          if (engine.ok() != h.at(r).valid) {
            run.failures.Add(absl::StrCat("Create(revision ", r, ") returned ",
                                          engine.status().ToString()));
          }
          if (engine.ok()) {
            // Refused only when the other writer published a newer one.
            const absl::Status published = run.holder.Publish(
                std::shared_ptr<const Engine>(std::move(*engine)));
            if (!published.ok() &&
                (published.code() != absl::StatusCode::kFailedPrecondition ||
                 run.holder.Get()->revision() <= static_cast<uint64_t>(r))) {
              run.failures.Add(absl::StrCat("Publish(revision ", r,
                                            ") returned ",
                                            published.ToString()));
            }
          }
        }
      }
      if (writers_left.fetch_sub(1) == 1) run.writers_done.store(true);
    });
  }
  for (std::thread& t : writers) t.join();
  for (std::thread& t : readers) t.join();

  ExpectNoFailures(run);
  const uint64_t last = run.holder.Get()->revision();
  EXPECT_TRUE(h.published(last)) << last;
  // The last engine is the last one either writer published.
  EXPECT_GE(last, static_cast<uint64_t>(h.size() - 3));
}

// One engine, many readers, and a clock that keeps jumping across grant
// expiries: each decision is the one for one of the two instants, never a
// mix, and reading the clock is not a data race.
TEST(ConcurrencyStressTest, ClockMovingUnderConcurrentChecks) {
  const History& h = BaseHistory();
  const RandomPolicy& base = h.base();
  ASSERT_GE(base.query_times.size(), 2u);
  const absl::Time t1 =
      *std::min_element(base.query_times.begin(), base.query_times.end());
  const absl::Time t2 =
      *std::max_element(base.query_times.begin(), base.query_times.end());

  auto clock = std::make_shared<FakeClock>(t1);
  EngineOptions options = base.options;
  options.clock = clock;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const Engine> engine,
                       Engine::Create(base.state, options));

  // The queries without a time of their own, and their decision at t1, t2.
  std::vector<AccessRequest> requests;
  std::vector<Decision> at_t1, at_t2;
  int differ = 0;
  for (const RandomQuery& q : h.queries()) {
    AccessRequest r = q.ToRequest();
    r.context.now = absl::nullopt;
    AccessRequest fixed = r;
    fixed.context.now = t1;
    at_t1.push_back(engine->Check(fixed));
    fixed.context.now = t2;
    at_t2.push_back(engine->Check(fixed));
    differ += at_t1.back() != at_t2.back();
    requests.push_back(r);
  }
  // The test is only meaningful if some decisions depend on the time.
  EXPECT_GT(differ, 0);

  std::atomic<bool> done{false};
  std::thread ticker([&] {
    for (int i = 0; i < 20000; ++i) clock->Set(i % 2 == 0 ? t2 : t1);
    done.store(true);
  });
  Failures failures;
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      Rng rng(MixSeed(kSeed, 2000 + i));
      int checks = 0;
      while (!done.load() || checks < kMinChecksPerReader) {
        const size_t q = rng.Below(requests.size());
        const Decision d = engine->Check(requests[q]);
        if (d != at_t1[q] && d != at_t2[q]) {
          failures.Add(absl::StrCat(h.queries()[q].DebugString(), ": ", Str(d),
                                    " is neither ", Str(at_t1[q]), " nor ",
                                    Str(at_t2[q])));
        }
        ++checks;
      }
    });
  }
  ticker.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.count(), 0) << failures.Summary();
}

}  // namespace
}  // namespace arbiter
