// SnapshotBuilder (src/compiler/snapshot_builder.h): a snapshot derived from
// another by StateDeltas decides exactly as a full compile of the resulting
// state, on random states, chains of random deltas and random queries (the
// seed is printed on a mismatch); it shares what did not change; handles of
// the lineage stay valid and those of an unrelated snapshot are stale; a
// delta that cannot apply changes nothing.
//
// ARBITER_DELTA_STATES (default 60) states, each taking
// ARBITER_DELTA_STEPS (default 12) deltas, each checked on 400 queries.

#include "src/compiler/snapshot_builder.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/compiler/state_delta.h"
#include "src/engine/engine_friend_access.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

using internal::SnapshotBuilder;
using internal::StateDelta;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

// Equal decisions up to the grant's slot, which differs between a derived
// and a compiled snapshot (the id does not).
std::string Differs(const Decision& a, const Decision& b) {
  if (a.effect != b.effect || a.reason != b.reason || a.source != b.source ||
      a.grant_id != b.grant_id || a.valid_until != b.valid_until ||
      (a.grant_index == Decision::kNoGrant) !=
          (b.grant_index == Decision::kNoGrant)) {
    std::ostringstream os;
    os << a << " vs " << b;
    return os.str();
  }
  return "";
}

// A random delta against policy->state: removes some grants, adds others
// (valid by construction, testing::AddRandomGrant), and applies it to
// policy->state.
StateDelta RandomDelta(testing::Rng& rng, testing::RandomPolicy* policy,
                       uint64_t revision) {
  StateDelta delta;
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
  const int adds = rng.Between(0, 3);
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
  // The adds were appended to the state already: take them off again and
  // let the delta apply everything.
  state.mutable_grants()->DeleteSubrange(before, state.grants_size() - before);
  return delta;
}

TEST(SnapshotBuilderTest, DerivedSnapshotsDecideAsAFullCompile) {
  const int states = EnvInt("ARBITER_DELTA_STATES", 60);
  const int steps = EnvInt("ARBITER_DELTA_STEPS", 12);
  const uint64_t base_seed = 20261206;
  int failures = 0;
  size_t checks = 0, derived = 0, invalid = 0;
  for (int n = 0; n < states && failures < 5; ++n) {
    const uint64_t seed = testing::MixSeed(base_seed, n);
    testing::RandomPolicy policy = testing::GenerateRandomPolicy(seed);
    policy.state.set_revision(1);
    auto created = Engine::Create(policy.state, policy.options);
    ASSERT_TRUE(created.ok()) << "seed " << seed << ": " << created.status();
    std::shared_ptr<const Engine> engine = std::move(*created);
    testing::Rng rng(seed);
    for (int step = 0; step < steps && failures < 5; ++step) {
      const uint64_t revision = engine->revision() + 1;
      testing::RandomPolicy next = policy;
      StateDelta delta = RandomDelta(rng, &next, revision);
      ASSERT_TRUE(delta.ApplyTo(&next.state).ok());
      auto full = Engine::Create(next.state, policy.options);
      auto snapshot =
          SnapshotBuilder::Apply(EngineFriendAccess::State(*engine), delta);
      if (!full.ok()) {
        // A delta the compiler refuses (a rule that spans grants, which the
        // admin layer checks first): the lineage stays where it was.
        ++invalid;
        continue;
      }
      ASSERT_TRUE(snapshot.ok())
          << "seed " << seed << " step " << step << ": " << snapshot.status()
          << "\ndelta: " << delta.proto().DebugString();
      std::unique_ptr<const Engine> incremental =
          EngineFriendAccess::Make(*snapshot, revision);
      ++derived;
      EXPECT_EQ(incremental->num_grants(), (*full)->num_grants())
          << "seed " << seed << " step " << step;
      testing::RandomQueryGenerator queries(next, (*full)->profile(),
                                            testing::MixSeed(seed, step));
      for (int q = 0; q < 400; ++q) {
        const testing::RandomQuery query = queries.Next();
        const AccessRequest request = query.ToRequest();
        const Decision want = (*full)->Check(request);
        const Decision got = incremental->Check(request);
        ++checks;
        const std::string diff = Differs(want, got);
        if (!diff.empty()) {
          ++failures;
          ADD_FAILURE() << "MISMATCH seed " << seed << " step " << step
                        << " query " << query.DebugString()
                        << "\n  full vs "
                           "derived: "
                        << diff << "\n  delta: " << delta.proto().DebugString()
                        << "\n  explain (derived):\n"
                        << incremental->Explain(request).ToString();
          break;
        }
        // Handles of the first snapshot of the lineage still work.
        absl::optional<PrincipalRef> p =
            engine->FindPrincipal(query.principal, query.org);
        absl::optional<PermissionRef> k =
            engine->FindPermission(query.permission);
        absl::optional<PrincipalRef> p2 =
            incremental->FindPrincipal(query.principal, query.org);
        absl::optional<PermissionRef> k2 =
            incremental->FindPermission(query.permission);
        if (p && k && p2 && k2 && !query.resource_is_path) {
          absl::optional<ResourceRef> r = engine->FindResource(query.resource);
          absl::optional<ResourceRef> r2 =
              incremental->FindResource(query.resource);
          if (r && r2) {
            const Decision by_old_handles =
                incremental->Check(*p, *k, *r, query.context);
            const Decision by_new_handles =
                incremental->Check(*p2, *k2, *r2, query.context);
            EXPECT_EQ(by_old_handles, by_new_handles)
                << "seed " << seed << " step " << step;
            EXPECT_NE(by_old_handles.reason, Reason::kStaleReference);
          }
        }
      }
      policy = std::move(next);
      engine = std::move(incremental);
    }
  }
  std::printf(
      "derived %zu snapshots (%zu deltas refused by the compiler), "
      "%zu checks\n",
      derived, invalid, checks);
  EXPECT_EQ(failures, 0) << "base seed " << base_seed;
  EXPECT_GT(derived, static_cast<size_t>(states));
}

// A three-grant state: user u1 in group g1; cloud c1 with project p1.
v1::PolicySet SmallState() {
  v1::PolicySet s;
  s.set_revision(1);
  s.add_organizations()->set_id("org1");
  auto* c = s.add_clouds();
  c->set_id("c1");
  c->set_org_id("org1");
  c->set_name("prod");
  auto* d = s.add_projects();
  d->set_id("p0");
  d->set_cloud_id("c1");
  d->set_name("default");
  d->set_is_default(true);
  d->set_visibility(v1::VISIBILITY_PUBLIC);
  auto* p = s.add_projects();
  p->set_id("p1");
  p->set_cloud_id("c1");
  p->set_name("ml");
  p->set_visibility(v1::VISIBILITY_PRIVATE);
  for (const char* id : {"u1", "u2"}) {
    auto* u = s.add_principals();
    u->set_id(id);
    u->set_org_id("org1");
    u->set_kind(v1::PRINCIPAL_KIND_USER);
    u->set_email(absl::StrCat(id, "@x.io"));
  }
  auto* g = s.add_groups();
  g->set_id("g1");
  g->set_org_id("org1");
  g->add_member_ids("u1");
  auto grant = [&](const char* id, const char* subject, bool group,
                   const char* role, const char* cloud, const char* project) {
    auto* gr = s.add_grants();
    gr->set_id(id);
    if (group) {
      gr->set_group_id(subject);
    } else {
      gr->set_principal_id(subject);
    }
    gr->set_role(role);
    if (project != nullptr) {
      gr->set_project_id(project);
    } else {
      gr->set_cloud_id(cloud);
    }
  };
  grant("gc1", "u1", false, "cloud_collaborator", "c1", nullptr);
  grant("gc2", "u2", false, "cloud_collaborator", "c1", nullptr);
  grant("gp1", "g1", true, "project_readonly", nullptr, "p1");
  return s;
}

v1::Grant Grant(const char* id, const char* principal, const char* role,
                const char* project) {
  v1::Grant g;
  g.set_id(id);
  g.set_principal_id(principal);
  g.set_role(role);
  g.set_project_id(project);
  return g;
}

class SnapshotBuilderSmallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = SmallState();
    auto engine = Engine::Create(state_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  Decision CheckOn(const Engine& e, const char* who, const char* what,
                   const char* where) {
    AccessRequest r;
    r.principal = who;
    r.permission = what;
    r.resource = where;
    return e.Check(r);
  }
  v1::PolicySet state_;
  std::unique_ptr<const Engine> engine_;
};

TEST_F(SnapshotBuilderSmallTest, AGrantAddedAndRemovedDecidesAndSharesTables) {
  const auto& base = EngineFriendAccess::State(*engine_);
  StateDelta add;
  add.set_revisions(1, 2);
  add.AddGrant(Grant("gp2", "u2", "project_write", "p1"));
  auto derived = SnapshotBuilder::Apply(base, add);
  ASSERT_TRUE(derived.ok()) << derived.status();
  auto e2 = EngineFriendAccess::Make(*derived, 2);
  EXPECT_FALSE(
      CheckOn(*engine_, "u2", "project.workload.create", "p1").allowed());
  const Decision d = CheckOn(*e2, "u2", "project.workload.create", "p1");
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.grant_id, "gp2");
  EXPECT_EQ(d.revision, 2u);
  // Tables the delta did not touch are shared, not copied.
  const auto& s2 = **derived;
  EXPECT_TRUE(s2.nodes.SharesStorageWith(base.nodes));
  EXPECT_TRUE(s2.principals.SharesStorageWith(base.principals));
  EXPECT_EQ(s2.lineage, base.lineage);
  EXPECT_EQ(s2.principal_overlay.size(), 1u);  // u2 only
  // The base snapshot is unchanged for its readers.
  EXPECT_FALSE(
      CheckOn(*engine_, "u2", "project.workload.create", "p1").allowed());

  StateDelta remove;
  remove.set_revisions(2, 3);
  remove.RemoveGrant(Grant("gp2", "u2", "project_write", "p1"));
  auto back = SnapshotBuilder::Apply(s2, remove);
  ASSERT_TRUE(back.ok()) << back.status();
  auto e3 = EngineFriendAccess::Make(*back, 3);
  EXPECT_FALSE(CheckOn(*e3, "u2", "project.workload.create", "p1").allowed());
  EXPECT_EQ(e3->num_grants(), engine_->num_grants());
}

TEST_F(SnapshotBuilderSmallTest, AGroupGrantReachesItsMembersOnly) {
  StateDelta delta;
  delta.set_revisions(1, 2);
  v1::Grant g = Grant("gp9", "", "project_write", "p1");
  g.set_group_id("g1");
  delta.AddGrant(g);
  auto derived =
      SnapshotBuilder::Apply(EngineFriendAccess::State(*engine_), delta);
  ASSERT_TRUE(derived.ok()) << derived.status();
  auto e2 = EngineFriendAccess::Make(*derived, 2);
  const Decision d = CheckOn(*e2, "u1", "project.workload.create", "p1");
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.grant_id, "gp9");
  EXPECT_EQ(d.source, GrantSource::kGroup);
  EXPECT_FALSE(CheckOn(*e2, "u2", "project.workload.create", "p1").allowed());
}

TEST_F(SnapshotBuilderSmallTest, HandlesSurviveTheLineageButNotOtherSnapshots) {
  auto who = engine_->FindPrincipal("u2");
  auto what = engine_->FindPermission("project.workload.create");
  auto where = engine_->FindResource("p1");
  ASSERT_TRUE(who && what && where);
  StateDelta delta;
  delta.set_revisions(1, 2);
  delta.AddGrant(Grant("gp2", "u2", "project_write", "p1"));
  auto derived =
      SnapshotBuilder::Apply(EngineFriendAccess::State(*engine_), delta);
  ASSERT_TRUE(derived.ok());
  auto e2 = EngineFriendAccess::Make(*derived, 2);
  const Decision d = e2->Check(*who, *what, *where);
  EXPECT_TRUE(d.allowed()) << d;
  // The same state compiled again is another lineage: stale.
  auto other = Engine::Create(state_);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Check(*who, *what, *where).reason,
            Reason::kStaleReference);
}

TEST_F(SnapshotBuilderSmallTest, ARefusedDeltaChangesNothing) {
  const auto& base = EngineFriendAccess::State(*engine_);
  const size_t overlay = base.principal_overlay.size();
  const size_t slots = base.grants.size();
  StateDelta bad;
  bad.set_revisions(1, 2);
  bad.AddGrant(Grant("gp2", "u2", "project_write", "p1"));
  bad.AddGrant(Grant("gp3", "nobody", "project_write", "p1"));
  auto r = SnapshotBuilder::Apply(base, bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::HasSubstr("add_grants[1].subject: unknown principal "
                                   "\"nobody\""));
  StateDelta missing;
  missing.set_revisions(1, 2);
  missing.RemoveGrant(Grant("gx", "u2", "project_write", "p1"));
  auto m = SnapshotBuilder::Apply(base, missing);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  StateDelta wrong_scope;
  wrong_scope.set_revisions(1, 2);
  wrong_scope.AddGrant(Grant("gp4", "u2", "cloud_owner", "p1"));
  auto w = SnapshotBuilder::Apply(base, wrong_scope);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(w.status().message()),
              ::testing::HasSubstr("add_grants[0].role:"));
  EXPECT_EQ(base.principal_overlay.size(), overlay);
  EXPECT_EQ(base.grants.size(), slots);
  EXPECT_FALSE(
      CheckOn(*engine_, "u2", "project.workload.create", "p1").allowed());
}

TEST(StateDeltaTest, EncodesDeterministicallyAndRoundTrips) {
  StateDelta d;
  d.set_revisions(7, 8);
  d.AddGrant(Grant("a", "u1", "project_write", "p1"));
  d.RemoveGrant(Grant("b", "u2", "project_readonly", "p1"));
  const std::string bytes = d.Encode();
  auto back = StateDelta::Decode(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Encode(), bytes);
  EXPECT_EQ(back->revision(), 8u);
  EXPECT_EQ(back->proto().add_grants(0).id(), "a");
  EXPECT_FALSE(StateDelta::Decode("\xff\xff").ok());
}

}  // namespace
}  // namespace arbiter
