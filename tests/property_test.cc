// Property tests of Engine::Check on random valid states
// (tests/testing/random_policy.h): default deny, monotonicity of allow grants
// and deny roles, independence from the order of the PolicySet, the
// organization boundary, and expiry. Each failure names the seed of the
// state; GenerateRandomPolicy(seed) rebuilds it.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

using testing::GenerateRandomPolicy;
using testing::MixSeed;
using testing::RandomPolicy;
using testing::RandomQuery;
using testing::RandomQueryGenerator;
using testing::Rng;

constexpr int kStates = 40;
constexpr int kQueriesPerState = 2000;

// A decision without grant_index, which is an index into one snapshot and
// may differ between equivalent snapshots.
struct Outcome {
  Effect effect;
  Reason reason;
  std::string grant_id;
  GrantSource source;
  uint64_t revision;

  bool operator==(const Outcome& o) const {
    return effect == o.effect && reason == o.reason && grant_id == o.grant_id &&
           source == o.source && revision == o.revision;
  }
};

Outcome OutcomeOf(const Decision& d) {
  return {d.effect, d.reason, std::string(d.grant_id), d.source, d.revision};
}

std::string ToString(const Outcome& o) {
  return absl::StrCat(o.effect == Effect::kAllow ? "ALLOW " : "DENY ",
                      ReasonName(o.reason), " grant=", o.grant_id,
                      " source=", GrantSourceName(o.source),
                      " revision=", o.revision);
}

std::string StateText(const v1::PolicySet& state) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(state, &text);
  return text;
}

// Compiles `state`; a failure is a generator or compiler bug, reported with
// the seed.
std::unique_ptr<const Engine> MustCreate(const RandomPolicy& policy,
                                         const v1::PolicySet& state,
                                         absl::string_view what) {
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, policy.options);
  if (!engine.ok()) {
    ADD_FAILURE() << "seed " << policy.seed << " (" << what
                  << "): Engine::Create failed: " << engine.status();
    return nullptr;
  }
  return std::move(*engine);
}

std::vector<RandomQuery> Queries(const RandomPolicy& policy,
                                 const Engine& engine, int n) {
  RandomQueryGenerator gen(policy, engine.profile(), MixSeed(policy.seed, 7));
  std::vector<RandomQuery> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(gen.Next());
  return out;
}

uint64_t StateSeed(int test, int i) {
  return MixSeed(0x9A0B1u + static_cast<uint64_t>(test) * 1000003u,
                 static_cast<uint64_t>(i));
}

absl::Time ExpiryOf(const v1::Grant& g) {
  return absl::FromUnixSeconds(g.expires_at().seconds()) +
         absl::Nanoseconds(g.expires_at().nanos());
}

// ---------------------------------------------------------------- default deny

TEST(PropertyTest, DefaultDeny) {
  int64_t checks = 0, allowed = 0;
  for (int i = 0; i < kStates; ++i) {
    RandomPolicy policy = GenerateRandomPolicy(StateSeed(1, i));
    testing::RemoveAllGrants(&policy.state);
    std::unique_ptr<const Engine> engine =
        MustCreate(policy, policy.state, "no grants");
    if (engine == nullptr) continue;
    const v1::Profile& profile = engine->profile();
    const v1::Role* member = nullptr;
    for (const v1::Role& r : profile.roles()) {
      if (r.name() == profile.member_role()) member = &r;
    }
    ASSERT_NE(member, nullptr);

    std::vector<std::pair<std::string, std::string>> resources;  // id, org
    for (const v1::Organization& o : policy.state.organizations()) {
      resources.push_back({o.id(), o.id()});
    }
    auto org_of_cloud = [&](const std::string& cloud_id) {
      for (const v1::Cloud& c : policy.state.clouds()) {
        if (c.id() == cloud_id) return c.org_id();
      }
      return std::string();
    };
    for (const v1::Image& img : policy.state.images()) {
      resources.push_back({img.id(), img.org_id()});
    }
    for (const v1::Cloud& c : policy.state.clouds()) {
      resources.push_back({c.id(), c.org_id()});
    }
    for (const v1::Project& p : policy.state.projects()) {
      resources.push_back({p.id(), org_of_cloud(p.cloud_id())});
    }
    for (const v1::Workload& w : policy.state.workloads()) {
      std::string cloud = w.cloud_id();
      for (const v1::Project& p : policy.state.projects()) {
        if (p.id() == w.project_id()) cloud = p.cloud_id();
      }
      resources.push_back({w.id(), org_of_cloud(cloud)});
    }

    for (const v1::Principal& principal : policy.state.principals()) {
      const bool active = principal.state() == v1::PRINCIPAL_STATE_ACTIVE ||
                          principal.state() == v1::PRINCIPAL_STATE_UNSPECIFIED;
      for (const v1::Permission& perm : profile.permissions()) {
        bool member_perm = perm.scope() == v1::SCOPE_TYPE_ORG;
        bool listed = false;
        for (const std::string& p : member->permissions())
          listed |= p == perm.name();
        member_perm &= listed;
        for (const auto& [resource_id, resource_org] : resources) {
          for (Channel channel : {Channel::kApi, Channel::kConsole}) {
            AccessRequest request;
            request.principal = principal.id();
            request.permission = perm.name();
            request.resource = resource_id;
            request.context.channel = channel;
            request.context.now = policy.now;
            const Decision d = engine->Check(request);
            ++checks;
            const bool expected =
                member_perm && active && resource_org == principal.org_id() &&
                !(channel == Channel::kConsole &&
                  principal.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
            if (d.allowed()) ++allowed;
            if (d.allowed() != expected ||
                (d.allowed() && d.reason != Reason::kOrgMember)) {
              ADD_FAILURE() << "seed " << policy.seed << ": without grants, "
                            << principal.id() << " " << perm.name() << " on "
                            << resource_id << " gave " << d << ", expected "
                            << (expected ? "ALLOW ORG_MEMBER" : "DENY");
              return;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(allowed, 0);
  EXPECT_GT(checks, allowed);
}

// ---------------------------------------------------------------- monotonicity

// Adds `kind` grants one at a time; after each, every query that was allowed
// (kAllow) stays allowed, or every query now allowed was allowed (kDeny).
void CheckMonotonic(testing::GrantKind kind, int test_id) {
  int64_t changed = 0, added = 0;
  for (int i = 0; i < kStates; ++i) {
    RandomPolicy policy = GenerateRandomPolicy(StateSeed(test_id, i));
    std::unique_ptr<const Engine> before =
        MustCreate(policy, policy.state, "before");
    if (before == nullptr) continue;
    const std::vector<RandomQuery> queries =
        Queries(policy, *before, kQueriesPerState);
    Rng rng(MixSeed(policy.seed, 11));
    for (int step = 0; step < 4; ++step) {
      const v1::PolicySet old_state = policy.state;
      if (!testing::AddRandomGrant(rng, kind, &policy)) break;
      ++added;
      const v1::Grant& grant =
          policy.state.grants(policy.state.grants_size() - 1);
      std::unique_ptr<const Engine> after = MustCreate(
          policy, policy.state, absl::StrCat("after adding ", grant.id()));
      if (after == nullptr) return;
      for (const RandomQuery& q : queries) {
        const AccessRequest request = q.ToRequest();
        const Decision b = before->Check(request);
        const Decision a = after->Check(request);
        if (b.allowed() != a.allowed()) ++changed;
        const bool violated = kind == testing::GrantKind::kAllow
                                  ? (b.allowed() && !a.allowed())
                                  : (!b.allowed() && a.allowed());
        if (violated) {
          ADD_FAILURE() << "seed " << policy.seed << ": adding grant\n"
                        << grant.DebugString() << "changed " << q.DebugString()
                        << " from " << b << " to " << a;
          return;
        }
      }
      before = std::move(after);
    }
  }
  EXPECT_GT(added, kStates);
  // Otherwise the property held vacuously.
  EXPECT_GT(changed, 0);
}

TEST(PropertyTest, AddingAnAllowGrantNeverRemovesAccess) {
  CheckMonotonic(testing::GrantKind::kAllow, 2);
}

TEST(PropertyTest, AddingADenyRoleNeverAddsAccess) {
  CheckMonotonic(testing::GrantKind::kDeny, 3);
}

// ---------------------------------------------------------------- order

TEST(PropertyTest, DecisionsDoNotDependOnTheOrderOfThePolicySet) {
  int64_t decided_by_grant = 0;
  for (int i = 0; i < kStates; ++i) {
    const RandomPolicy policy = GenerateRandomPolicy(StateSeed(4, i));
    std::unique_ptr<const Engine> engine =
        MustCreate(policy, policy.state, "original");
    if (engine == nullptr) continue;
    const std::vector<RandomQuery> queries =
        Queries(policy, *engine, kQueriesPerState);
    Rng rng(MixSeed(policy.seed, 13));
    for (int round = 0; round < 2; ++round) {
      v1::PolicySet shuffled = policy.state;
      testing::ShufflePolicySet(rng, &shuffled);
      std::unique_ptr<const Engine> other =
          MustCreate(policy, shuffled, "shuffled");
      if (other == nullptr) return;
      for (const RandomQuery& q : queries) {
        const AccessRequest request = q.ToRequest();
        const Outcome a = OutcomeOf(engine->Check(request));
        const Outcome b = OutcomeOf(other->Check(request));
        if (!a.grant_id.empty()) ++decided_by_grant;
        if (!(a == b)) {
          ADD_FAILURE() << "seed " << policy.seed << " round " << round << ": "
                        << q.DebugString() << " gave " << ToString(a) << " but "
                        << ToString(b) << " after shuffling; shuffled state:\n"
                        << StateText(shuffled);
          return;
        }
      }
    }
  }
  EXPECT_GT(decided_by_grant, 0);
}

// ---------------------------------------------------------------- org boundary

TEST(PropertyTest, RequestsAcrossOrganizationsAreAlwaysDenied) {
  int64_t checks = 0;
  for (int i = 0; i < kStates; ++i) {
    const RandomPolicy policy = GenerateRandomPolicy(StateSeed(5, i));
    std::unique_ptr<const Engine> engine =
        MustCreate(policy, policy.state, "original");
    if (engine == nullptr) continue;
    const v1::PolicySet& s = policy.state;
    std::map<std::string, std::string> org_of;  // resource id -> org id
    for (const v1::Organization& o : s.organizations()) org_of[o.id()] = o.id();
    for (const v1::Image& img : s.images()) org_of[img.id()] = img.org_id();
    for (const v1::Cloud& c : s.clouds()) org_of[c.id()] = c.org_id();
    for (const v1::ComputeConfig& cc : s.compute_configs()) {
      org_of[cc.id()] = org_of[cc.cloud_id()];
    }
    for (const v1::Project& p : s.projects())
      org_of[p.id()] = org_of[p.cloud_id()];
    for (const v1::Workload& w : s.workloads()) {
      org_of[w.id()] =
          org_of[w.project_id().empty() ? w.cloud_id() : w.project_id()];
    }
    Rng rng(MixSeed(policy.seed, 17));
    const v1::Profile& profile = engine->profile();
    for (const v1::Principal& p : s.principals()) {
      for (const auto& [resource_id, resource_org] : org_of) {
        if (resource_org == p.org_id()) continue;
        // Every permission, at a few times, by id and by email.
        for (const v1::Permission& perm : profile.permissions()) {
          AccessRequest request;
          request.principal = rng.Chance(0.5) ? p.id() : p.email();
          request.org = p.org_id();
          request.permission = perm.name();
          request.resource = resource_id;
          request.context.now = rng.Pick(policy.query_times);
          const Decision d = engine->Check(request);
          ++checks;
          if (d.allowed() || d.reason != Reason::kCrossOrg) {
            ADD_FAILURE() << "seed " << policy.seed << ": " << p.id() << " ("
                          << p.org_id() << ") " << perm.name() << " on "
                          << resource_id << " (" << resource_org << ") gave "
                          << d;
            return;
          }
        }
      }
    }
  }
  EXPECT_GT(checks, 0);
}

// ---------------------------------------------------------------- expiry

TEST(PropertyTest, ExpiredGrantsNeverDecideAndRemovingThemChangesNothing) {
  testing::RandomPolicyConfig config;
  config.prerequisites_never_expire = true;  // so removal keeps it valid
  config.expiry_probability = 0.5;
  int64_t decided_by_expiring = 0, removed = 0;
  for (int i = 0; i < kStates; ++i) {
    const RandomPolicy policy = GenerateRandomPolicy(StateSeed(6, i), config);
    std::unique_ptr<const Engine> engine =
        MustCreate(policy, policy.state, "original");
    if (engine == nullptr) continue;
    std::map<std::string, const v1::Grant*> grant_by_id;
    for (const v1::Grant& g : policy.state.grants()) grant_by_id[g.id()] = &g;

    // Whatever decides, decides while live.
    std::vector<RandomQuery> queries =
        Queries(policy, *engine, kQueriesPerState);
    for (const RandomQuery& q : queries) {
      const Decision d = engine->Check(q.ToRequest());
      if (d.grant_id.empty()) continue;
      const v1::Grant* g = grant_by_id[std::string(d.grant_id)];
      ASSERT_NE(g, nullptr) << d;
      if (!g->has_expires_at()) continue;
      ++decided_by_expiring;
      const absl::Time now = q.context.now.value_or(policy.now);
      if (now >= ExpiryOf(*g)) {
        ADD_FAILURE() << "seed " << policy.seed << ": " << q.DebugString()
                      << " was decided by expired grant " << g->DebugString()
                      << ": " << d;
        return;
      }
    }

    // Removing the grants expired at t changes no decision at t.
    Rng rng(MixSeed(policy.seed, 19));
    for (int round = 0; round < 4; ++round) {
      const absl::Time t = rng.Pick(policy.query_times);
      v1::PolicySet pruned = policy.state;
      testing::RemoveExpiredGrants(t, &pruned);
      removed += policy.state.grants_size() - pruned.grants_size();
      std::unique_ptr<const Engine> other =
          MustCreate(policy, pruned, "expired grants removed");
      if (other == nullptr) return;
      for (RandomQuery& q : queries) {
        q.context.now = t;
        const AccessRequest request = q.ToRequest();
        const Outcome a = OutcomeOf(engine->Check(request));
        const Outcome b = OutcomeOf(other->Check(request));
        if (!(a == b)) {
          ADD_FAILURE() << "seed " << policy.seed << ": " << q.DebugString()
                        << " gave " << ToString(a) << " but " << ToString(b)
                        << " once the grants expired at that time were removed";
          return;
        }
      }
    }
  }
  EXPECT_GT(decided_by_expiring, 0);
  EXPECT_GT(removed, 0);
}

}  // namespace
}  // namespace arbiter
