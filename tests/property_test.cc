// Property tests of Engine::Check on random valid states
// (tests/testing/random_policy.h): default deny, monotonicity of allow grants
// and deny roles, independence from the order of the PolicySet, the
// organization boundary, and expiry. Each failure names the seed of the
// state; GenerateRandomPolicy(seed) rebuilds it.

#include <cstdint>
#include <map>
#include <set>
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

// ---------------------------------------------------------------- revocation

// Deny roles of the effective profile (custom ones included).
std::set<std::string> DenyRoles(const Engine& engine,
                                const v1::PolicySet& state) {
  std::set<std::string> out;
  for (const v1::Role& r : engine.profile().roles()) {
    if (r.effect() == v1::ROLE_EFFECT_DENY) out.insert(r.name());
  }
  for (const v1::Role& r : state.custom_roles()) {
    if (r.effect() == v1::ROLE_EFFECT_DENY) out.insert(r.name());
  }
  return out;
}

// One random revocation of `state`: removes an allow grant, removes a member
// from a group that (with the groups containing it) carries no deny role,
// marks a principal deleted, or removes a principal with its grants,
// memberships and creator references. Returns a description, or "" if none
// applied.
std::string Revoke(Rng& rng, const std::set<std::string>& deny_roles,
                   v1::PolicySet* state) {
  switch (rng.Below(4)) {
    case 0: {
      std::vector<int> allow;
      for (int i = 0; i < state->grants_size(); ++i) {
        if (!deny_roles.count(state->grants(i).role())) allow.push_back(i);
      }
      if (allow.empty()) return "";
      const int g = rng.Pick(allow);
      std::string what = absl::StrCat("remove grant ", state->grants(g).id());
      state->mutable_grants()->DeleteSubrange(g, 1);
      return what;
    }
    case 1: {
      // Groups whose members would lose a deny role: the deny-holding
      // groups and every group inside one.
      std::set<std::string> tainted;
      for (const v1::Grant& g : state->grants()) {
        if (deny_roles.count(g.role()) && !g.group_id().empty()) {
          tainted.insert(g.group_id());
        }
      }
      for (bool grew = true; grew;) {
        grew = false;
        for (const v1::Group& g : state->groups()) {
          if (!tainted.count(g.id())) continue;
          for (const std::string& m : g.member_ids()) {
            grew |= tainted.insert(m).second;
          }
        }
      }
      std::vector<int> candidates;
      for (int i = 0; i < state->groups_size(); ++i) {
        if (!tainted.count(state->groups(i).id()) &&
            state->groups(i).member_ids_size() > 0) {
          candidates.push_back(i);
        }
      }
      if (candidates.empty()) return "";
      v1::Group* g = state->mutable_groups(rng.Pick(candidates));
      const int m = static_cast<int>(rng.Below(g->member_ids_size()));
      std::string what =
          absl::StrCat("remove ", g->member_ids(m), " from ", g->id());
      g->mutable_member_ids()->DeleteSubrange(m, 1);
      return what;
    }
    case 2: {
      if (state->principals_size() == 0) return "";
      v1::Principal* p =
          state->mutable_principals(rng.Below(state->principals_size()));
      if (p->state() == v1::PRINCIPAL_STATE_DELETED) return "";
      // Another live principal of the org may hold the email only if this
      // one is deleted: marking it deleted keeps emails valid.
      p->set_state(v1::PRINCIPAL_STATE_DELETED);
      return absl::StrCat("delete principal ", p->id());
    }
    default: {
      if (state->principals_size() == 0) return "";
      const int i = static_cast<int>(rng.Below(state->principals_size()));
      const std::string id = state->principals(i).id();
      state->mutable_principals()->DeleteSubrange(i, 1);
      auto* grants = state->mutable_grants();
      for (int g = grants->size() - 1; g >= 0; --g) {
        if (grants->Get(g).principal_id() == id) grants->DeleteSubrange(g, 1);
      }
      for (v1::Group& g : *state->mutable_groups()) {
        auto* members = g.mutable_member_ids();
        for (int m = members->size() - 1; m >= 0; --m) {
          if (members->Get(m) == id) members->DeleteSubrange(m, 1);
        }
      }
      for (v1::Workload& w : *state->mutable_workloads()) {
        if (w.creator_id() == id) w.clear_creator_id();
      }
      for (v1::Project& p : *state->mutable_projects()) {
        if (p.creator_id() == id) p.clear_creator_id();
      }
      return absl::StrCat("remove principal ", id);
    }
  }
}

// Issue 13: a revocation of a valid state always loads (grant-time rules
// are warnings, not errors) and allows nothing it did not allow before.
TEST(PropertyTest, RevocationsAlwaysLoadAndNeverAddAccess) {
  int64_t revocations = 0, changed = 0, warned = 0;
  for (int i = 0; i < kStates; ++i) {
    RandomPolicy policy = GenerateRandomPolicy(StateSeed(8, i));
    std::unique_ptr<const Engine> before =
        MustCreate(policy, policy.state, "before");
    if (before == nullptr) continue;
    const std::set<std::string> deny = DenyRoles(*before, policy.state);
    const std::vector<RandomQuery> queries =
        Queries(policy, *before, kQueriesPerState / 2);
    Rng rng(MixSeed(policy.seed, 23));
    std::string history;
    for (int step = 0; step < 8; ++step) {
      const std::string what = Revoke(rng, deny, &policy.state);
      if (what.empty()) continue;
      ++revocations;
      absl::StrAppend(&history, "\n  ", what);
      absl::StatusOr<std::unique_ptr<const Engine>> after =
          Engine::Create(policy.state, policy.options);
      ASSERT_TRUE(after.ok()) << "seed " << policy.seed << ": after"
                              << history << "\nthe state does not load: "
                              << after.status();
      if (!(*after)->warnings().empty()) ++warned;
      for (const RandomQuery& q : queries) {
        const AccessRequest request = q.ToRequest();
        const Decision b = before->Check(request);
        const Decision a = (*after)->Check(request);
        if (b.allowed() != a.allowed()) ++changed;
        // Removing one of two principals sharing an email settles which one
        // the email names: that is resolution, not new access.
        if (b.reason == Reason::kAmbiguousPrincipal) continue;
        ASSERT_FALSE(a.allowed() && !b.allowed())
            << "seed " << policy.seed << ": after" << history << "\n"
            << q.DebugString() << " went from " << b << " to " << a;
      }
      before = std::move(*after);
    }
  }
  EXPECT_GT(revocations, kStates);
  EXPECT_GT(changed, 0);  // otherwise the property held vacuously
  EXPECT_GT(warned, 0);   // some revocation broke a grant-time rule
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
          // With the principal's org, the other tenant's resource is
          // unknown; without one (by id: the email may be shared), it is
          // CROSS_ORG.
          const bool bound = rng.Chance(0.5);
          if (bound || request.principal == p.email()) {
            request.org = p.org_id();
          }
          request.permission = perm.name();
          request.resource = resource_id;
          request.context.now = rng.Pick(policy.query_times);
          const Decision d = engine->Check(request);
          ++checks;
          const Reason want =
              request.org.empty() ? Reason::kCrossOrg : Reason::kUnknownResource;
          if (d.allowed() || d.reason != want) {
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
