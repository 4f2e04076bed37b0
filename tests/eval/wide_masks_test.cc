// The decision core over wide role masks (src/eval/decide.h, RoleMask<W>):
// a profile of more than 64 roles decides through the same core as the
// Anyscale profile, with grants of the roles past the 64th holding,
// subtracting and capping as the rules say. (Every random state of the
// differential test is also decided on RoleMask<4>: EvaluationPath::kWide.)

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "gtest/gtest.h"
#include "src/engine/engine_friend_access.h"
#include "src/eval/evaluator.h"

namespace arbiter {
namespace {

// One org, cloud c1 with a private project p1; user u1 with a cloud grant;
// 100 custom roles, r70 holds project.workload.create, r99 denies it.
v1::PolicySet WideState() {
  v1::PolicySet s;
  s.set_revision(3);
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
  auto* u = s.add_principals();
  u->set_id("u1");
  u->set_org_id("org1");
  u->set_kind(v1::PRINCIPAL_KIND_USER);
  u->set_email("u1@x.io");
  for (int i = 0; i < 100; ++i) {
    v1::Role* r = s.add_custom_roles();
    r->set_name(absl::StrCat("r", i));
    r->add_grantable_at(v1::SCOPE_TYPE_PROJECT);
    if (i == 70) r->add_permissions("project.workload.create");
    if (i == 99) {
      r->set_effect(v1::ROLE_EFFECT_DENY);
      r->add_permissions("project.workload.create");
    }
  }
  auto grant = [&](const char* id, const char* role, bool cloud) {
    auto* g = s.add_grants();
    g->set_id(id);
    g->set_principal_id("u1");
    g->set_role(role);
    if (cloud) {
      g->set_cloud_id("c1");
    } else {
      g->set_project_id("p1");
    }
  };
  grant("g_cloud", "cloud_collaborator", true);
  grant("g_r5", "r5", false);
  grant("g_r70", "r70", false);
  return s;
}

Decision CheckBy(const Engine& e, internal::EvaluationPath path) {
  auto p = e.FindPrincipal("u1");
  auto k = e.FindPermission("project.workload.create");
  auto r = e.FindResource("p1");
  return internal::Evaluate(EngineFriendAccess::State(e), p->index(),
                            k->index(), r->index(), RequestContext(),
                            e.revision(), path);
}

TEST(WideMasksTest, ARoleBeyondTheSixtyFourthDecides) {
  auto engine = Engine::Create(WideState());
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto& s = EngineFriendAccess::State(**engine);
  EXPECT_FALSE(s.mask_path);  // more than 64 roles
  EXPECT_EQ(s.wide_masks->mask_words, 4u);
  AccessRequest request;
  request.principal = "u1";
  request.permission = "project.workload.create";
  request.resource = "p1";
  const Decision d = (*engine)->Check(request);
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.reason, Reason::kGrant);
  EXPECT_EQ(d.grant_id, "g_r70");
  EXPECT_EQ(CheckBy(**engine, internal::EvaluationPath::kScan), d);
  EXPECT_EQ(CheckBy(**engine, internal::EvaluationPath::kWide), d);
}

TEST(WideMasksTest, ADenyRoleBeyondTheSixtyFourthSubtracts) {
  v1::PolicySet state = WideState();
  auto* g = state.add_grants();
  g->set_id("g_r99");
  g->set_principal_id("u1");
  g->set_role("r99");
  g->set_project_id("p1");
  auto engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Decision d = CheckBy(**engine, internal::EvaluationPath::kAuto);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kDenyRole);
  EXPECT_EQ(d.grant_id, "g_r99");
  // Explain runs the same core, with a trace.
  AccessRequest request;
  request.principal = "u1";
  request.permission = "project.workload.create";
  request.resource = "p1";
  const Explanation e = (*engine)->Explain(request);
  EXPECT_EQ(e.decision, d);
  EXPECT_NE(e.ToString().find("subtracts the permission (without it: ALLOW "
                              "GRANT)"),
            std::string::npos)
      << e.ToString();
}

TEST(WideMasksTest, NarrowAndWideCoresAgreeOnASmallProfile) {
  v1::PolicySet state = WideState();
  state.clear_custom_roles();
  state.mutable_grants()->DeleteSubrange(1, 2);
  auto* g = state.add_grants();
  g->set_id("g_write");
  g->set_principal_id("u1");
  g->set_role("project_write");
  g->set_project_id("p1");
  auto engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const auto& s = EngineFriendAccess::State(**engine);
  EXPECT_TRUE(s.mask_path);
  const Decision narrow = CheckBy(**engine, internal::EvaluationPath::kScan);
  const Decision wide = CheckBy(**engine, internal::EvaluationPath::kWide);
  EXPECT_TRUE(narrow.allowed()) << narrow;
  EXPECT_EQ(narrow, wide);
}

}  // namespace
}  // namespace arbiter
