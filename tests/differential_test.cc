// The randomized differential test: the engine against the reference
// evaluator (tests/reference/), on random valid states and random queries.
//
// Every state comes from its own seed, MixSeed(base seed, state index), and
// so do its queries: a mismatch prints the state's seed, and
//   ARBITER_DIFF_SEED=<seed> ./build/tests/differential_test
// replays exactly that state and its queries. Environment variables:
//   ARBITER_DIFF_QUERIES            total queries (default 1,000,000)
//   ARBITER_DIFF_QUERIES_PER_STATE  queries per random state (default 1,000)
//   ARBITER_DIFF_BASE_SEED          base seed of the run (default fixed;
//                                   "time" picks one from the clock)
//   ARBITER_DIFF_SEED               replay one state seed only
// See docs/testing.md.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "src/eval/evaluator.h"
#include "src/engine/engine_friend_access.h"
#include "tests/reference/reference_evaluator.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

constexpr uint64_t kDefaultBaseSeed = 0xA5B17E5u;
constexpr int64_t kDefaultQueries = 1000000;
constexpr int64_t kDefaultQueriesPerState = 1000;
// Stop reporting after this many failures; one is enough to debug.
constexpr int kMaxReportedFailures = 10;

absl::optional<uint64_t> EnvUint(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return absl::nullopt;
  uint64_t parsed = 0;
  if (absl::string_view(value) == "time") {
    return static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  }
  if (!absl::SimpleAtoi(value, &parsed)) {
    ADD_FAILURE() << name << "=" << value << " is not a number";
    return absl::nullopt;
  }
  return parsed;
}

constexpr int kNumReasons = static_cast<int>(Reason::kInternalError) + 1;

struct Stats {
  int64_t states = 0;
  int64_t queries = 0;
  int64_t handle_checks = 0;
  // Handle checks of principals with a scope summary, and without.
  int64_t summarized = 0;
  int64_t unsummarized = 0;
  int64_t stale_checks = 0;
  // Decisions with a finite Decision::valid_until.
  int64_t finite_valid_until = 0;
  int failures = 0;
  std::array<int64_t, kNumReasons> reasons{};
  std::array<int64_t, 4> sources{};  // of decisions with a grant
};

std::string OptionsString(const EngineOptions& o) {
  return absl::StrFormat(
      "cloud_owner_private_project_access=%d "
      "cloud_owner_configures_iam_mapping=%d "
      "allow_service_account_org_owner=%d cloud_owner_deletes_cloud=%d "
      "project_write_workload_delete=%d",
      o.cloud_owner_private_project_access,
      o.cloud_owner_configures_iam_mapping, o.allow_service_account_org_owner,
      o.cloud_owner_deletes_cloud,
      static_cast<int>(o.project_write_workload_delete));
}

// Writes the state next to the test's temporary files; returns the path.
std::string DumpState(const testing::RandomPolicy& policy) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(policy.state, &text);
  const std::string path = absl::StrCat(::testing::TempDir(), "arbiter_diff_",
                                        policy.seed, ".textproto");
  std::ofstream(path) << text;
  return path;
}

std::string Reproduce(uint64_t seed) {
  return absl::StrCat("reproduce with: ARBITER_DIFF_SEED=", seed,
                      " ./build/tests/differential_test");
}

// Structural invariants of any Decision of `engine`.
std::string CheckInvariants(const Engine& engine, const Decision& d,
                            uint64_t revision) {
  if (EffectOf(d.reason) != d.effect) return "effect does not match reason";
  if (d.revision != revision) return "wrong revision";
  if (d.grant_id.empty() != (d.grant_index == Decision::kNoGrant)) {
    return "grant_id and grant_index disagree";
  }
  if (d.grant_index != Decision::kNoGrant) {
    if (d.grant_index >= engine.num_grants()) return "grant_index out of range";
    const GrantInfo info = engine.grant(d.grant_index);
    if (info.id != d.grant_id) return "grant(grant_index).id != grant_id";
    if (info.source != d.source) return "grant(grant_index).source != source";
  } else if (d.source != GrantSource::kNone) {
    return "a source without a grant";
  }
  return "";
}

// Decision::valid_until against the reference: the decision holds just
// before it (and forever when it is infinite), and it is the expiry of some
// grant, after the decision time.
std::string CheckValidUntil(const testing::ReferenceEvaluator& reference,
                            const AccessRequest& request,
                            const Decision& actual,
                            const testing::ReferenceDecision& expected,
                            absl::Time clock_now,
                            const std::set<absl::Time>& expiries) {
  const absl::Time now = request.context.now.value_or(clock_now);
  AccessRequest at = request;
  if (actual.valid_until == absl::InfiniteFuture()) {
    at.context.now = now + absl::Hours(24 * 3650);
    if (!testing::SameDecision(reference.Check(at), actual)) {
      return "valid_until is infinite, but the decision changes within ten "
             "years";
    }
    return "";
  }
  if (actual.valid_until <= now) return "valid_until is not after now";
  if (!expiries.count(actual.valid_until)) {
    return "valid_until is no grant's expiry";
  }
  at.context.now = actual.valid_until - absl::Nanoseconds(1);
  if (!testing::SameDecision(reference.Check(at), actual)) {
    return absl::StrCat("the decision changes before valid_until, at ",
                        absl::FormatTime(*at.context.now));
  }
  (void)expected;
  return "";
}

bool IsResolutionDenial(Reason r) {
  return r == Reason::kUnknownPrincipal || r == Reason::kAmbiguousPrincipal ||
         r == Reason::kUnknownPermission || r == Reason::kUnknownResource ||
         r == Reason::kUnknownOrg;
}

struct Handles {
  PrincipalRef principal;
  PermissionRef permission;
  ResourceRef resource;
};

// One state: generate, compile, and compare `num_queries` queries. Keeps the
// engine in `*engine_out` and some handles of it in `*handles_out`, so that
// the next state can check that they are stale there.
void RunState(uint64_t seed, int64_t num_queries,
              const absl::optional<Handles>& previous_handles, Stats* stats,
              std::unique_ptr<const Engine>* engine_out,
              absl::optional<Handles>* handles_out) {
  const testing::RandomPolicy policy = testing::GenerateRandomPolicy(seed);
  absl::StatusOr<std::unique_ptr<const Engine>> created =
      Engine::Create(policy.state, policy.options);
  if (!created.ok()) {
    ++stats->failures;
    ADD_FAILURE() << "Engine::Create rejected the random state of seed " << seed
                  << ": " << created.status()
                  << "\n  state: " << DumpState(policy)
                  << "\n  options: " << OptionsString(policy.options) << "\n  "
                  << Reproduce(seed);
    return;
  }
  const Engine& engine = **created;
  const uint64_t revision = policy.state.revision();
  ++stats->states;

  if (previous_handles.has_value()) {
    const Decision d =
        engine.Check(previous_handles->principal, previous_handles->permission,
                     previous_handles->resource);
    ++stats->stale_checks;
    if (d.effect != Effect::kDeny || d.reason != Reason::kStaleReference) {
      ++stats->failures;
      ADD_FAILURE() << "seed " << seed << ": handles of another engine gave "
                    << d;
    }
  }
  const Decision invalid =
      engine.Check(PrincipalRef(), PermissionRef(), ResourceRef());
  if (invalid.allowed()) {
    ++stats->failures;
    ADD_FAILURE() << "seed " << seed << ": default handles gave " << invalid;
  }

  testing::ReferenceEvaluator reference(policy.state, engine.profile(),
                                        policy.now);
  std::set<absl::Time> expiries;
  for (const v1::Grant& g : policy.state.grants()) {
    if (g.has_expires_at()) {
      expiries.insert(absl::FromUnixSeconds(g.expires_at().seconds()) +
                      absl::Nanoseconds(g.expires_at().nanos()));
    }
  }
  testing::RandomQueryGenerator queries(policy, engine.profile(),
                                        testing::MixSeed(seed, 0x9));
  for (int64_t i = 0; i < num_queries; ++i) {
    if (stats->failures >= kMaxReportedFailures) return;
    const testing::RandomQuery q = queries.Next();
    const AccessRequest request = q.ToRequest();
    const Decision actual = engine.Check(request);
    const testing::ReferenceDecision expected = reference.Check(request);
    ++stats->queries;
    if (actual.valid_until != absl::InfiniteFuture()) {
      ++stats->finite_valid_until;
    }
    ++stats->reasons[static_cast<int>(actual.reason)];
    if (actual.grant_index != Decision::kNoGrant) {
      ++stats->sources[static_cast<int>(actual.source)];
    }

    std::string problem;
    if (!testing::SameDecision(expected, actual)) {
      problem = "engine and reference disagree";
    } else {
      problem = CheckInvariants(engine, actual, revision);
    }
    if (problem.empty()) {
      problem = CheckValidUntil(reference, request, actual, expected,
                                policy.now, expiries);
    }

    // The handle form must agree with the by-name form.
    Decision by_handle;
    absl::optional<PrincipalRef> pr = engine.FindPrincipal(q.principal, q.org);
    const absl::optional<PermissionRef> pe =
        engine.FindPermission(q.permission);
    // A request's org binds its resource too; without one, a path is in the
    // resolved principal's org.
    const internal::Snapshot& st = EngineFriendAccess::State(engine);
    auto org_id = [&](uint32_t org_node) {
      return std::string(st.node_ids.Get(org_node));
    };
    absl::optional<ResourceRef> rs = engine.FindResource(
        q.resource,
        !q.org.empty()                      ? q.org
        : !q.resource_is_path               ? std::string()
        : pr.has_value() ? org_id(st.principals[pr->index()].org)
                         : q.principal_org_id);
    if (!pr.has_value() && q.org.empty() && rs.has_value() &&
        !q.resource_is_path && !IsResolutionDenial(actual.reason)) {
      // An email that live principals of several orgs share: a resource id
      // settles it (docs/semantics.md step 1).
      pr = engine.FindPrincipal(
          q.principal, org_id(st.nodes[rs->index()].path[internal::kOrgLevel]));
    }
    if (problem.empty()) {
      if (pr.has_value() && pe.has_value() && rs.has_value()) {
        ++stats->handle_checks;
        if (EngineFriendAccess::State(engine)
                .principals[pr->index()]
                .summary_size != internal::kNoSummary) {
          ++stats->summarized;
        } else {
          ++stats->unsummarized;
        }
        by_handle = engine.Check(*pr, *pe, *rs, q.context);
        // Check decides from the principal's scope summary where it has
        // one; the role-mask scan and the per-grant implementation must
        // agree with it.
        auto evaluate = [&](internal::EvaluationPath path) {
          return internal::Evaluate(EngineFriendAccess::State(engine), pr->index(),
                                    pe->index(), rs->index(), q.context,
                                    engine.revision(), path);
        };
        const Decision scan = evaluate(internal::EvaluationPath::kScan);
        const Decision generic = evaluate(internal::EvaluationPath::kWide);
        if (by_handle != actual) {
          std::ostringstream os;
          os << "the handle form disagrees: " << by_handle;
          problem = os.str();
        } else if (scan != actual) {
          std::ostringstream os;
          os << "the role-mask scan disagrees: " << scan;
          problem = os.str();
        } else if (generic != actual) {
          std::ostringstream os;
          os << "the generic evaluation disagrees: " << generic;
          problem = os.str();
        } else if (!handles_out->has_value()) {
          *handles_out = Handles{*pr, *pe, *rs};
        }
      } else if (actual.allowed() || !IsResolutionDenial(actual.reason)) {
        problem =
            absl::StrCat("a Find* failed (principal ", pr.has_value(),
                         ", permission ", pe.has_value(), ", resource ",
                         rs.has_value(), ") but Check resolved the request");
      }
    }
    if (!problem.empty()) {
      ++stats->failures;
      ADD_FAILURE() << "MISMATCH: " << problem << "\n  seed:      " << seed
                    << " (query #" << i << ")\n  query:     " << q.DebugString()
                    << "\n  engine:    " << actual
                    << "\n  reference: " << testing::DebugString(expected)
                    << "\n  options:   " << OptionsString(policy.options)
                    << "\n  state:     " << DumpState(policy)
                    << "\n  explain:\n"
                    << engine.Explain(request).ToString() << "\n  "
                    << Reproduce(seed);
    }
  }
  *engine_out = std::move(*created);
}

// A directed case of the comparison: grant expiry is exact to the
// nanosecond, as google.protobuf.Timestamp is ("live unless now >=
// expires_at", docs/semantics.md).
TEST(DifferentialTest, ExpiryIsExactToTheNanosecond) {
  v1::PolicySet state;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        revision: 5
        organizations { id: "org_1" name: "one" }
        clouds { id: "cld_a" org_id: "org_1" name: "a" }
        projects {
          id: "prj_d"
          cloud_id: "cld_a"
          name: "default"
          is_default: true
        }
        principals {
          id: "usr_u"
          org_id: "org_1"
          kind: PRINCIPAL_KIND_USER
          email: "u@x.com"
        }
        grants {
          id: "g_1"
          principal_id: "usr_u"
          role: "cloud_collaborator"
          cloud_id: "cld_a"
          expires_at { seconds: 1767225600 nanos: 500 }
        }
      )pb",
      &state));
  absl::StatusOr<std::unique_ptr<const Engine>> engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const absl::Time expiry =
      absl::FromUnixSeconds(1767225600) + absl::Nanoseconds(500);
  testing::ReferenceEvaluator reference(state, (*engine)->profile(), expiry);
  for (absl::Duration d : {absl::Nanoseconds(-500), absl::Nanoseconds(-1),
                           absl::ZeroDuration(), absl::Nanoseconds(1)}) {
    AccessRequest request;
    request.principal = "usr_u";
    request.permission = "cloud.view";
    request.resource = "cld_a";
    request.context.now = expiry + d;
    const testing::ReferenceDecision expected = reference.Check(request);
    EXPECT_EQ(expected.effect,
              d < absl::ZeroDuration() ? Effect::kAllow : Effect::kDeny);
    const Decision actual = (*engine)->Check(request);
    EXPECT_TRUE(testing::SameDecision(expected, actual))
        << "now = expires_at + " << d << ": engine " << actual << ", reference "
        << testing::DebugString(expected);
  }
}

TEST(DifferentialTest, EngineEqualsReference) {
  const absl::optional<uint64_t> only_seed = EnvUint("ARBITER_DIFF_SEED");
  const int64_t per_state =
      static_cast<int64_t>(EnvUint("ARBITER_DIFF_QUERIES_PER_STATE")
                               .value_or(kDefaultQueriesPerState));
  int64_t total = static_cast<int64_t>(
      EnvUint("ARBITER_DIFF_QUERIES").value_or(kDefaultQueries));
  const uint64_t base =
      EnvUint("ARBITER_DIFF_BASE_SEED").value_or(kDefaultBaseSeed);
  ASSERT_GT(per_state, 0);
  if (only_seed.has_value() && std::getenv("ARBITER_DIFF_QUERIES") == nullptr) {
    total = per_state;
  }

  Stats stats;
  const absl::Time start = absl::Now();
  std::unique_ptr<const Engine> previous;
  absl::optional<Handles> previous_handles;
  for (uint64_t index = 0;
       stats.queries < total && stats.failures < kMaxReportedFailures;
       ++index) {
    // Replaying one seed puts every query on that one state.
    const uint64_t seed =
        only_seed.has_value() ? *only_seed : testing::MixSeed(base, index);
    std::unique_ptr<const Engine> engine;
    absl::optional<Handles> handles;
    RunState(seed,
             only_seed.has_value() ? total
                                   : std::min(per_state, total - stats.queries),
             previous_handles, &stats, &engine, &handles);
    if (only_seed.has_value()) break;
    // Keep the old engine alive while its handles are used on the new one.
    previous = std::move(engine);
    previous_handles = handles;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  std::string reasons;
  for (int r = 0; r < kNumReasons; ++r) {
    if (stats.reasons[r] == 0) continue;
    absl::StrAppend(&reasons, " ", ReasonName(static_cast<Reason>(r)), "=",
                    stats.reasons[r]);
  }
  std::printf(
      "differential: %lld states, %lld queries (%lld also by handle: %lld "
      "with a scope summary, %lld without; %lld stale-handle checks) in "
      "%.2f s; base seed %llu\n  reasons:%s\n",
      static_cast<long long>(stats.states),
      static_cast<long long>(stats.queries),
      static_cast<long long>(stats.handle_checks),
      static_cast<long long>(stats.summarized),
      static_cast<long long>(stats.unsummarized),
      static_cast<long long>(stats.stale_checks), seconds,
      static_cast<unsigned long long>(base), reasons.c_str());

  EXPECT_EQ(stats.failures, 0);
  if (only_seed.has_value()) return;
  EXPECT_GE(stats.queries, total);
  // The generator must reach every outcome, or the comparison proves little.
  if (stats.queries >= 100000) {
    for (Reason r : {Reason::kOrgOwner,
                     Reason::kGrant,
                     Reason::kPublicProject,
                     Reason::kCloudRoleInheritance,
                     Reason::kOrgMember,
                     Reason::kOwnWorkload,
                     Reason::kUnknownPrincipal,
                     Reason::kAmbiguousPrincipal,
                     Reason::kUnknownPermission,
                     Reason::kUnknownResource,
                     Reason::kCrossOrg,
                     Reason::kPrincipalDeleted,
                     Reason::kPrincipalInvited,
                     Reason::kServiceAccountConsole,
                     Reason::kPermissionNotApplicable,
                     Reason::kProtectedResource,
                     Reason::kNeedsOrgOwner,
                     Reason::kNoCloudGrant,
                     Reason::kNoProjectGrant,
                     Reason::kNotWorkloadCreator,
                     Reason::kInsufficientRole,
                     Reason::kDenyRole}) {
      EXPECT_GT(stats.reasons[static_cast<int>(r)], 0)
          << "no query was decided " << ReasonName(r);
    }
    EXPECT_GT(stats.finite_valid_until, 0)
        << "no decision could change by an expiry: valid_until is untested";
    for (GrantSource s :
         {GrantSource::kDirect, GrantSource::kGroup, GrantSource::kAutoAdd}) {
      EXPECT_GT(stats.sources[static_cast<int>(s)], 0)
          << "no decision came from a " << GrantSourceName(s) << " grant";
    }
  }
}

}  // namespace
}  // namespace arbiter
