// The lookups against brute force: on random valid states
// (tests/testing/random_policy.h), and on snapshots derived from them by
// random deltas (SnapshotBuilder: relocated grant spans, overlays), every
// LookupResources, LookupSubjects and ListPermissions answer equals the set
// obtained by calling Engine::Check over every resource, principal or
// permission, with the same Decision (reason, deciding grant, source,
// revision, valid_until), in the documented order; a sample is also held
// to the reference evaluator (tests/reference/).
//
// Each state comes from its own seed (printed on a mismatch):
//   ARBITER_LOOKUP_SEED=<seed> ./build/tests/lookup_differential_test
// replays it. ARBITER_LOOKUP_STATES sets the number of states (default 16:
// about 250,000 lookups, a few seconds).

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/engine.h"
#include "arbiter/lookup.h"
#include "gtest/gtest.h"
#include "src/compiler/snapshot_builder.h"
#include "src/compiler/state_delta.h"
#include "src/engine/engine_friend_access.h"
#include "tests/query/lookup_testing.h"
#include "tests/reference/reference_evaluator.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

using lookup_testing::IndexState;
using lookup_testing::PrincipalInfo;
using lookup_testing::ResourceInfo;
using lookup_testing::StateIndex;

constexpr uint64_t kBaseSeed = 0x100C0FF5u;
constexpr int kMaxFailures = 8;

struct RunStats {
  uint64_t seed = 0;
  std::string label;  // "full" or "derived step N"
  int failures = 0;
  int64_t resources_lookups = 0, subjects_lookups = 0, permission_lookups = 0;
  int64_t reference_checked = 0;
  int64_t nonempty = 0;

  bool Fail(const std::string& what) {
    if (++failures <= kMaxFailures) {
      ADD_FAILURE() << "MISMATCH seed " << seed << " (" << label
                    << "): " << what
                    << "\n  reproduce: ARBITER_LOOKUP_SEED=" << seed
                    << " ./build/tests/lookup_differential_test";
    }
    return false;
  }
};

std::string Show(const Decision& d) {
  std::ostringstream os;
  os << d << " grant_index=" << d.grant_index
     << " valid_until=" << absl::FormatTime(d.valid_until);
  return os.str();
}

// A random context: the engine's clock or one of the state's interesting
// instants; the API channel mostly.
RequestContext RandomContext(testing::Rng& rng,
                             const testing::RandomPolicy& policy) {
  RequestContext c;
  if (!rng.Chance(0.3)) c.now = rng.Pick(policy.query_times);
  if (rng.Chance(0.2)) c.channel = Channel::kConsole;
  return c;
}

AccessRequest ById(const std::string& principal, const std::string& permission,
                   const std::string& resource, const RequestContext& c) {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.context = c;
  return r;
}

class Differential {
 public:
  Differential(const testing::RandomPolicy& policy, const Engine& engine,
               const v1::PolicySet& state, RunStats* run)
      : policy_(policy),
        engine_(engine),
        state_(state),
        ix_(IndexState(state, engine.profile())),
        lookup_(Lookup::Create(engine)),
        reference_(state, engine.profile(), policy.now),
        run_(run),
        rng_(testing::MixSeed(run->seed, 77)) {}

  void RunAll() {
    for (const PrincipalInfo& p : ix_.principals) {
      for (const std::string& k : ix_.permissions) {
        for (int kind = 0; kind < 6; ++kind) {
          Resources(p, k, static_cast<ResourceKind>(kind));
          if (run_->failures > kMaxFailures) return;
        }
      }
    }
    for (const ResourceInfo& r : ix_.resources) {
      for (const std::string& k : ix_.permissions) {
        Subjects(r, k);
        if (run_->failures > kMaxFailures) return;
      }
    }
    for (const PrincipalInfo& p : ix_.principals) {
      for (const ResourceInfo& r : ix_.resources) {
        Permissions(p, r);
        if (run_->failures > kMaxFailures) return;
      }
    }
  }

 private:
  // The reference's decision agrees with Check's (a sample).
  void Reference(const AccessRequest& r, const Decision& d) {
    if (!rng_.Chance(0.02)) return;
    ++run_->reference_checked;
    const testing::ReferenceDecision want = reference_.CheckResolved(
        r.principal, r.permission, r.resource, r.context);
    if (!testing::SameDecision(want, d)) {
      run_->Fail(absl::StrCat("reference ", testing::DebugString(want),
                              " vs lookup ", Show(d), " for ", r.principal, " ",
                              r.permission, " ", r.resource));
    }
  }

  void Resources(const PrincipalInfo& p, const std::string& k,
                 ResourceKind kind) {
    LookupResourcesRequest req;
    req.principal = p.id;
    req.permission = k;
    req.kind = kind;
    req.context = RandomContext(rng_, policy_);
    req.page_size = kMaxPageSize;
    // Within: mostly the principal's organization, else any org, cloud or
    // project of the state (another organization's: an empty answer).
    const ResourceInfo* within = nullptr;
    if (rng_.Chance(0.3)) {
      std::vector<const ResourceInfo*> scopes;
      for (const ResourceInfo& r : ix_.resources) {
        if (r.kind == ResourceKind::kOrg || r.kind == ResourceKind::kCloud ||
            r.kind == ResourceKind::kProject) {
          scopes.push_back(&r);
        }
      }
      within = rng_.Pick(scopes);
      req.within = within->id;
    }
    absl::StatusOr<ResourcePage> page = lookup_->LookupResources(req);
    ++run_->resources_lookups;
    const std::string what = absl::StrCat(
        "LookupResources principal=", p.id, " permission=", k,
        " kind=", ResourceKindName(kind),
        " within=", within ? within->id : "(org)",
        req.context.channel == Channel::kConsole ? " console" : "",
        req.context.now
            ? absl::StrCat(" now=", absl::FormatTime(*req.context.now))
            : "");
    if (!page.ok()) {
      run_->Fail(absl::StrCat(what, ": ", page.status().ToString()));
      return;
    }
    if (!page->complete) {
      run_->Fail(absl::StrCat(what, ": incomplete one-shot page"));
      return;
    }
    // Brute force: Check on every resource of the kind under `within`.
    const RequestContext at = AtPage(req.context, page->at);
    std::map<std::string, Decision> want;
    for (const ResourceInfo& r : ix_.resources) {
      if (r.kind != kind) continue;
      if (within != nullptr ? !lookup_testing::Under(r, *within)
                            : r.org != p.org) {
        continue;
      }
      const AccessRequest request = ById(p.id, k, r.id, at);
      const Decision d = engine_.Check(request);
      if (d.allowed()) {
        want.emplace(r.id, d);
        Reference(request, d);
      }
    }
    Compare(what, want, page->resources);
    if (!want.empty()) ++run_->nonempty;
    // Tree order.
    for (size_t i = 1; i < page->resources.size(); ++i) {
      const auto a = lookup_testing::TreeKey(
          ix_.resources[ix_.by_id.at(std::string(page->resources[i - 1].id))]);
      const auto b = lookup_testing::TreeKey(
          ix_.resources[ix_.by_id.at(std::string(page->resources[i].id))]);
      if (!(a < b)) {
        run_->Fail(absl::StrCat(what, ": out of order at ", i));
        return;
      }
    }
  }

  // The context Check must get to decide as the page did: its instant.
  static RequestContext AtPage(const RequestContext& c, absl::Time at) {
    RequestContext out = c;
    out.now = at;
    return out;
  }

  template <typename Match>
  void Compare(const std::string& what,
               const std::map<std::string, Decision>& want,
               const std::vector<Match>& got) {
    std::set<std::string> seen;
    for (const Match& m : got) {
      const std::string id(m.id);
      if (!seen.insert(id).second) {
        run_->Fail(absl::StrCat(what, ": ", id, " twice"));
        return;
      }
      auto it = want.find(id);
      if (it == want.end()) {
        run_->Fail(absl::StrCat(what, ": returned ", id,
                                " which Check denies; lookup says ",
                                Show(m.decision)));
        return;
      }
      if (it->second != m.decision) {
        run_->Fail(absl::StrCat(what, ": ", id, ": Check ", Show(it->second),
                                " vs lookup ", Show(m.decision)));
        return;
      }
    }
    for (const auto& [id, d] : want) {
      if (seen.count(id) == 0) {
        run_->Fail(
            absl::StrCat(what, ": missing ", id, " (Check: ", Show(d), ")"));
        return;
      }
    }
  }

  void Subjects(const ResourceInfo& r, const std::string& k) {
    LookupSubjectsRequest req;
    req.permission = k;
    req.resource = r.id;
    req.context = RandomContext(rng_, policy_);
    req.page_size = kMaxPageSize;
    const int filter = static_cast<int>(rng_.Below(4));
    if (filter == 1) req.principals = PrincipalFilter::kUsers;
    if (filter == 2) req.principals = PrincipalFilter::kServiceAccounts;
    absl::StatusOr<SubjectPage> page = lookup_->LookupSubjects(req);
    ++run_->subjects_lookups;
    const std::string what = absl::StrCat(
        "LookupSubjects permission=", k, " resource=", r.id,
        " filter=", static_cast<int>(req.principals),
        req.context.channel == Channel::kConsole ? " console" : "",
        req.context.now
            ? absl::StrCat(" now=", absl::FormatTime(*req.context.now))
            : "");
    if (!page.ok()) {
      run_->Fail(absl::StrCat(what, ": ", page.status().ToString()));
      return;
    }
    if (!page->complete) {
      run_->Fail(absl::StrCat(what, ": incomplete one-shot page"));
      return;
    }
    const RequestContext at = AtPage(req.context, page->at);
    std::map<std::string, Decision> want;
    for (const PrincipalInfo& p : ix_.principals) {
      if (req.principals == PrincipalFilter::kUsers && p.service_account)
        continue;
      if (req.principals == PrincipalFilter::kServiceAccounts &&
          !p.service_account) {
        continue;
      }
      const AccessRequest request = ById(p.id, k, r.id, at);
      const Decision d = engine_.Check(request);
      if (d.allowed()) {
        want.emplace(p.id, d);
        Reference(request, d);
      }
    }
    Compare(what, want, page->subjects);
    if (!want.empty()) ++run_->nonempty;
    for (size_t i = 1; i < page->subjects.size(); ++i) {
      if (!(page->subjects[i - 1].id < page->subjects[i].id)) {
        run_->Fail(absl::StrCat(what, ": out of id order at ", i));
        return;
      }
    }
    for (const SubjectMatch& m : page->subjects) {
      const bool sa = std::any_of(ix_.principals.begin(), ix_.principals.end(),
                                  [&](const PrincipalInfo& p) {
                                    return p.id == m.id && p.service_account;
                                  });
      if (sa != m.service_account) {
        run_->Fail(absl::StrCat(what, ": wrong service_account for ", m.id));
        return;
      }
    }
  }

  void Permissions(const PrincipalInfo& p, const ResourceInfo& r) {
    RequestContext c = RandomContext(rng_, policy_);
    absl::StatusOr<PermissionSet> set =
        lookup_->ListPermissions(p.id, r.id, {}, c);
    ++run_->permission_lookups;
    const std::string what =
        absl::StrCat("ListPermissions principal=", p.id, " resource=", r.id);
    if (!set.ok()) {
      run_->Fail(absl::StrCat(what, ": ", set.status().ToString()));
      return;
    }
    size_t allowed = 0;
    for (const std::string& k : ix_.permissions) {
      const Decision d = engine_.Check(ById(p.id, k, r.id, c));
      allowed += d.allowed();
      if (set->Has(k) != d.allowed()) {
        run_->Fail(absl::StrCat(what, ": ", k, ": Check ", Show(d),
                                " but the set says ", set->Has(k)));
        return;
      }
    }
    if (set->size() != allowed || set->Names().size() != allowed) {
      run_->Fail(absl::StrCat(what, ": size ", set->size(), " vs ", allowed));
    }
  }

  const testing::RandomPolicy& policy_;
  const Engine& engine_;
  const v1::PolicySet& state_;
  StateIndex ix_;
  std::unique_ptr<const Lookup> lookup_;
  testing::ReferenceEvaluator reference_;
  RunStats* run_;
  testing::Rng rng_;
};

// A random delta against policy->state (as tests/compiler/
// snapshot_builder_test.cc): removes and adds grants.
internal::StateDelta RandomDelta(testing::Rng& rng,
                                 testing::RandomPolicy* policy,
                                 uint64_t revision) {
  internal::StateDelta delta;
  delta.set_revisions(revision - 1, revision);
  v1::PolicySet& state = policy->state;
  const int removals = state.grants_size() == 0 ? 0 : rng.Between(0, 3);
  std::vector<int> picked;
  for (int i = 0; i < removals; ++i) {
    const int g = static_cast<int>(rng.Below(state.grants_size()));
    if (std::find(picked.begin(), picked.end(), g) != picked.end()) continue;
    picked.push_back(g);
    delta.RemoveGrant(state.grants(g));
  }
  const int adds = rng.Between(1, 4);
  const int before = state.grants_size();
  for (int i = 0; i < adds; ++i) {
    testing::AddRandomGrant(rng,
                            rng.Chance(0.2) ? testing::GrantKind::kDeny
                                            : testing::GrantKind::kAllow,
                            policy);
  }
  for (int i = before; i < state.grants_size(); ++i) {
    delta.AddGrant(state.grants(i));
  }
  state.mutable_grants()->DeleteSubrange(before, state.grants_size() - before);
  return delta;
}

void RunState(uint64_t seed, RunStats* total) {
  testing::RandomPolicy policy = testing::GenerateRandomPolicy(seed);
  policy.state.set_revision(1);
  auto engine = Engine::Create(policy.state, policy.options);
  ASSERT_TRUE(engine.ok()) << "seed " << seed << ": " << engine.status();
  RunStats run;
  run.seed = seed;
  run.label = "full compile";
  Differential(policy, **engine, policy.state, &run).RunAll();

  // A few snapshots derived by deltas: relocated spans and overlays.
  testing::Rng rng(testing::MixSeed(seed, 5));
  std::shared_ptr<const Engine> current = std::move(*engine);
  for (int step = 1; step <= 3; ++step) {
    const uint64_t revision = current->revision() + 1;
    testing::RandomPolicy next = policy;
    internal::StateDelta delta = RandomDelta(rng, &next, revision);
    ASSERT_TRUE(delta.ApplyTo(&next.state).ok());
    if (!Engine::Create(next.state, policy.options).ok()) continue;
    auto snapshot = internal::SnapshotBuilder::Apply(
        EngineFriendAccess::State(*current), delta);
    // A delta the builder refuses though a full compile accepts it is the
    // builder's business (tests/compiler/snapshot_builder_test.cc); the
    // lookups are tested on the snapshots it does build.
    if (!snapshot.ok()) continue;
    current = EngineFriendAccess::Make(*snapshot, revision);
    policy = next;
    if (step < 3) continue;  // check the last one (most relocated)
    run.label = absl::StrCat("derived step ", step);
    Differential(policy, *current, policy.state, &run).RunAll();
  }
  total->failures += run.failures;
  total->resources_lookups += run.resources_lookups;
  total->subjects_lookups += run.subjects_lookups;
  total->permission_lookups += run.permission_lookups;
  total->reference_checked += run.reference_checked;
  total->nonempty += run.nonempty;
}

TEST(LookupDifferentialTest, EveryLookupEqualsCheckOverEverything) {
  RunStats total;
  uint64_t replay_seed = 0;
  const bool replay =
      lookup_testing::EnvUint64("ARBITER_LOOKUP_SEED", &replay_seed);
  if (replay) {
    RunState(replay_seed, &total);
  } else {
    const int states = lookup_testing::EnvInt("ARBITER_LOOKUP_STATES", 16);
    for (int i = 0; i < states && total.failures == 0; ++i) {
      RunState(testing::MixSeed(kBaseSeed, i), &total);
    }
  }
  const int64_t lookups = total.resources_lookups + total.subjects_lookups +
                          total.permission_lookups;
  std::printf(
      "lookups: %lld (resources %lld, subjects %lld, permissions %lld); "
      "non-empty answers %lld; decisions also checked by the reference %lld\n",
      static_cast<long long>(lookups),
      static_cast<long long>(total.resources_lookups),
      static_cast<long long>(total.subjects_lookups),
      static_cast<long long>(total.permission_lookups),
      static_cast<long long>(total.nonempty),
      static_cast<long long>(total.reference_checked));
  EXPECT_EQ(total.failures, 0);
  if (!replay) {
    EXPECT_GE(lookups, 100000) << "the run is too small to mean much";
    EXPECT_GT(total.nonempty, lookups / 20) << "answers are mostly empty";
  }
}

}  // namespace
}  // namespace arbiter
