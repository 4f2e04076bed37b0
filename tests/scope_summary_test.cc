// Scope summaries (PrincipalRec::tags, Snapshot::summary_entries):
// Check decides from a principal's summary where it has one. These cases pin
// the summary's edges: several roles at one scope, grants of groups at the
// same scope, expiring grants before and after their expiry, ids too long for
// an entry, scopes whose 16-bit tags collide, and snapshots or principals
// that get no summary. Each request is also evaluated by the role-mask scan
// and the per-grant path, which must agree with Check.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/engine_options.h"
#include "arbiter/request.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "src/eval/evaluator.h"
#include "src/engine/engine_friend_access.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

const absl::Time kBefore = absl::FromUnixSeconds(1767225600);  // 2026-01-01
const absl::Time kExpiry = absl::FromUnixSeconds(1767225600 + 3600);
const absl::Time kAfter = absl::FromUnixSeconds(1767225600 + 7200);

// One org, one cloud, its default project and private projects
// prj_1000..prj_1009, and:
//  * usr_two: project_readonly (g_two_a) and project_write (g_two_b) on
//    prj_1000;
//  * usr_exp: project_write until kExpiry (g_exp_a) and project_readonly
//    (g_exp_b) on prj_1001;
//  * usr_grp: project_readonly on prj_1002 (g_grp_own), and through group
//    grp_x project_readonly (g_0_x_read, an id that sorts first) and
//    project_write (g_0_x_write) on prj_1002;
//  * usr_gexp: in grp_e, whose project_write on prj_1003 expires at kExpiry.
// Every user but usr_gexp, and both groups, hold cloud_collaborator on the
// cloud.
v1::PolicySet SummaryOrg() {
  v1::PolicySet state;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        revision: 7
        organizations { id: "org" name: "org" }
        clouds { id: "cld" org_id: "org" name: "cld" }
        projects {
          id: "prj_0999"
          cloud_id: "cld"
          name: "default"
          is_default: true
        }
        groups { id: "grp_x" org_id: "org" name: "x" member_ids: "usr_grp" }
        groups { id: "grp_e" org_id: "org" name: "e" member_ids: "usr_gexp" }
        grants {
          id: "g_two_a"
          principal_id: "usr_two"
          role: "project_readonly"
          project_id: "prj_1000"
        }
        grants {
          id: "g_two_b"
          principal_id: "usr_two"
          role: "project_write"
          project_id: "prj_1000"
        }
        grants {
          id: "g_exp_a"
          principal_id: "usr_exp"
          role: "project_write"
          project_id: "prj_1001"
          expires_at { seconds: 1767229200 }
        }
        grants {
          id: "g_exp_b"
          principal_id: "usr_exp"
          role: "project_readonly"
          project_id: "prj_1001"
        }
        grants {
          id: "g_grp_own"
          principal_id: "usr_grp"
          role: "project_readonly"
          project_id: "prj_1002"
        }
        grants {
          id: "g_0_x_read"
          group_id: "grp_x"
          role: "project_readonly"
          project_id: "prj_1002"
        }
        grants {
          id: "g_0_x_write"
          group_id: "grp_x"
          role: "project_write"
          project_id: "prj_1002"
        }
        grants {
          id: "g_gexp"
          group_id: "grp_e"
          role: "project_write"
          project_id: "prj_1003"
          expires_at { seconds: 1767229200 }
        }
        grants {
          id: "g_x_cloud"
          group_id: "grp_x"
          role: "cloud_collaborator"
          cloud_id: "cld"
        }
        grants {
          id: "g_gexp_cloud"
          group_id: "grp_e"
          role: "cloud_collaborator"
          cloud_id: "cld"
        }
      )pb",
      &state));
  for (int i = 0; i < 10; ++i) {
    v1::Project* p = state.add_projects();
    p->set_id(absl::StrCat("prj_", 1000 + i));
    p->set_cloud_id("cld");
    p->set_name(absl::StrCat("p", i));
    p->set_visibility(v1::VISIBILITY_PRIVATE);
  }
  for (const char* user : {"usr_two", "usr_exp", "usr_grp", "usr_gexp"}) {
    v1::Principal* u = state.add_principals();
    u->set_id(user);
    u->set_org_id("org");
    u->set_kind(v1::PRINCIPAL_KIND_USER);
    u->set_email(absl::StrCat(user, "@example.com"));
    if (std::string(user) == "usr_gexp") continue;  // its group's grant
    v1::Grant* g = state.add_grants();
    g->set_id(absl::StrCat("g_", user, "_cloud"));
    g->set_principal_id(user);
    g->set_role("cloud_collaborator");
    g->set_cloud_id("cld");
  }
  return state;
}

bool HasSummary(const Engine& engine, absl::string_view principal) {
  const absl::optional<PrincipalRef> p = engine.FindPrincipal(principal);
  EXPECT_TRUE(p.has_value()) << principal;
  return p.has_value() &&
         EngineFriendAccess::State(engine).principals[p->index()].summary_size !=
             internal::kNoSummary;
}

// Check at `now`, after asserting that the scan and the per-grant path
// decide the same.
Decision CheckAt(const Engine& engine, absl::string_view principal,
                 absl::string_view permission, absl::string_view resource,
                 absl::Time now = kBefore) {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.context.now = now;
  const Decision d = engine.Check(r);
  const absl::optional<PrincipalRef> p = engine.FindPrincipal(principal);
  const absl::optional<PermissionRef> k = engine.FindPermission(permission);
  const absl::optional<ResourceRef> res = engine.FindResource(resource);
  if (p.has_value() && k.has_value() && res.has_value()) {
    for (internal::EvaluationPath path : {internal::EvaluationPath::kScan,
                                          internal::EvaluationPath::kWide}) {
      EXPECT_EQ(internal::Evaluate(EngineFriendAccess::State(engine), p->index(),
                                   k->index(), res->index(), r.context,
                                   engine.revision(), path),
                d)
          << principal << " " << permission << " " << resource << " path "
          << static_cast<int>(path);
    }
  }
  return d;
}

MATCHER_P3(Decides, reason, grant_id, source,
           absl::StrCat(ReasonName(reason), " by ", grant_id, " (",
                        GrantSourceName(source), ")")) {
  return arg.reason == reason && arg.effect == EffectOf(reason) &&
         arg.grant_id == grant_id && arg.source == source && arg.revision == 7;
}

class ScopeSummaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(engine_, Engine::Create(SummaryOrg()));
    ASSERT_TRUE(EngineFriendAccess::State(*engine_).exact_tags);
    for (const char* user : {"usr_two", "usr_exp", "usr_grp", "usr_gexp"}) {
      ASSERT_TRUE(HasSummary(*engine_, user)) << user;
    }
  }
  std::unique_ptr<const Engine> engine_;
};

TEST_F(ScopeSummaryTest, TheLeastGrantOfAScopeDecidesWhenAllItsRolesQualify) {
  // Both roles hold project.view: the least grant at the scope decides.
  EXPECT_THAT(CheckAt(*engine_, "usr_two", "project.view", "prj_1000"),
              Decides(Reason::kGrant, "g_two_a", GrantSource::kDirect));
}

TEST_F(ScopeSummaryTest, OnlyTheRolesThatHoldThePermissionDecide) {
  // Only project_write creates workloads: its grant decides, not the least
  // grant at the scope.
  EXPECT_THAT(
      CheckAt(*engine_, "usr_two", "project.workload.create", "prj_1000"),
      Decides(Reason::kGrant, "g_two_b", GrantSource::kDirect));
  EXPECT_THAT(
      CheckAt(*engine_, "usr_grp", "project.workload.create", "prj_1002"),
      Decides(Reason::kGrant, "g_0_x_write", GrantSource::kGroup));
}

TEST_F(ScopeSummaryTest, ThePrincipalsOwnGrantPrecedesItsGroupsAtOneScope) {
  // g_0_x_read has the lesser id, but the principal's own grant ranks first.
  EXPECT_THAT(CheckAt(*engine_, "usr_grp", "project.view", "prj_1002"),
              Decides(Reason::kGrant, "g_grp_own", GrantSource::kDirect));
}

TEST_F(ScopeSummaryTest, AnExpiringGrantHoldsUntilItsExpiry) {
  EXPECT_THAT(CheckAt(*engine_, "usr_exp", "project.view", "prj_1001"),
              Decides(Reason::kGrant, "g_exp_a", GrantSource::kDirect));
  EXPECT_THAT(
      CheckAt(*engine_, "usr_exp", "project.workload.create", "prj_1001"),
      Decides(Reason::kGrant, "g_exp_a", GrantSource::kDirect));
  // At and after the expiry the other grant at the scope decides, and the
  // permission only the expired role held is gone.
  for (absl::Time now : {kExpiry, kAfter}) {
    EXPECT_THAT(CheckAt(*engine_, "usr_exp", "project.view", "prj_1001", now),
                Decides(Reason::kGrant, "g_exp_b", GrantSource::kDirect));
    EXPECT_THAT(CheckAt(*engine_, "usr_exp", "project.workload.create",
                        "prj_1001", now),
                Decides(Reason::kInsufficientRole, "", GrantSource::kNone));
  }
  EXPECT_THAT(CheckAt(*engine_, "usr_exp", "project.view", "prj_1001",
                      kExpiry - absl::Nanoseconds(1)),
              Decides(Reason::kGrant, "g_exp_a", GrantSource::kDirect));
}

TEST_F(ScopeSummaryTest, AGroupsExpiringGrantHoldsUntilItsExpiry) {
  EXPECT_THAT(
      CheckAt(*engine_, "usr_gexp", "project.workload.create", "prj_1003"),
      Decides(Reason::kGrant, "g_gexp", GrantSource::kGroup));
  EXPECT_THAT(CheckAt(*engine_, "usr_gexp", "project.workload.create",
                      "prj_1003", kAfter),
              Decides(Reason::kNoProjectGrant, "", GrantSource::kNone));
}

TEST_F(ScopeSummaryTest, AScopeThePrincipalDoesNotHoldDecidesNothing) {
  EXPECT_THAT(CheckAt(*engine_, "usr_two", "project.view", "prj_1001"),
              Decides(Reason::kNoProjectGrant, "", GrantSource::kNone));
  EXPECT_THAT(CheckAt(*engine_, "usr_two", "cloud.view", "cld"),
              Decides(Reason::kGrant, "g_usr_two_cloud", GrantSource::kDirect));
}

TEST(ScopeSummaryLimitsTest, AnIdTooLongForAnEntryIsReadFromTheTable) {
  v1::PolicySet state = SummaryOrg();
  const std::string long_id(70000, 'g');
  for (v1::Grant& g : *state.mutable_grants()) {
    if (g.id() == "g_two_a") g.set_id(long_id);
  }
  EngineOptions options;
  options.max_id_length = 80000;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state, options));
  ASSERT_TRUE(HasSummary(*engine, "usr_two"));
  // "gggg..." sorts after "g_two_b" ('g' > '_'): g_two_b is the least grant.
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", "prj_1000"),
              Decides(Reason::kGrant, "g_two_b", GrantSource::kDirect));
  for (v1::Grant& g : *state.mutable_grants()) {
    if (g.id() == "g_two_b") g.set_id("h");
  }
  ASSERT_OK_AND_ASSIGN(engine, Engine::Create(state, options));
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", "prj_1000"),
              Decides(Reason::kGrant, long_id, GrantSource::kDirect));
}

TEST(ScopeSummaryLimitsTest, APrincipalWithManyScopesIsScanned) {
  v1::PolicySet state = SummaryOrg();
  // usr_two: its cloud, prj_1000, and prj_1002..prj_1009 plus 10 more
  // projects: 20 scopes, above kMaxSummaryScopes.
  for (int i = 10; i < 20; ++i) {
    v1::Project* p = state.add_projects();
    p->set_id(absl::StrCat("prj_", 1000 + i));
    p->set_cloud_id("cld");
    p->set_name(absl::StrCat("p", i));
  }
  for (int i = 2; i < 20; ++i) {
    v1::Grant* g = state.add_grants();
    g->set_id(absl::StrCat("g_two_", 1000 + i));
    g->set_principal_id("usr_two");
    g->set_role("project_readonly");
    g->set_project_id(absl::StrCat("prj_", 1000 + i));
  }
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  ASSERT_GT(20u, internal::kMaxSummaryScopes);
  EXPECT_FALSE(HasSummary(*engine, "usr_two"));
  EXPECT_TRUE(HasSummary(*engine, "usr_exp"));
  EXPECT_THAT(
      CheckAt(*engine, "usr_two", "project.workload.create", "prj_1000"),
      Decides(Reason::kGrant, "g_two_b", GrantSource::kDirect));
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", "prj_1019"),
              Decides(Reason::kGrant, "g_two_1019", GrantSource::kDirect));
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", "prj_1001"),
              Decides(Reason::kNoProjectGrant, "", GrantSource::kNone));
}

// A scope whose node index is 65,536 above another's has the same 16-bit tag.
TEST(ScopeSummaryLimitsTest, ATagMatchesOnlyTheScopeItsEntryConfirms) {
  v1::PolicySet state = SummaryOrg();
  constexpr int kMany = 65600;  // more than 65,536 projects
  for (int i = 0; i < kMany; ++i) {
    v1::Project* p = state.add_projects();
    p->set_id(absl::StrCat("prj_x", 100000 + i));
    p->set_cloud_id("cld");
    p->set_name(absl::StrCat("x", i));
    p->set_visibility(v1::VISIBILITY_PRIVATE);
  }
  // The project 65,536 nodes above `id`.
  auto twin = [&](const Engine& engine, absl::string_view id) {
    const uint32_t want = engine.FindResource(id)->index() + 65536;
    for (int i = 0; i < kMany; ++i) {
      const std::string other = absl::StrCat("prj_x", 100000 + i);
      if (engine.FindResource(other)->index() == want) return other;
    }
    ADD_FAILURE() << "no project 65,536 nodes above " << id;
    return std::string();
  };
  std::string twin_1000, twin_1005;
  {
    ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
    twin_1000 = twin(*engine, "prj_1000");
    twin_1005 = twin(*engine, "prj_1005");
  }
  ASSERT_FALSE(twin_1000.empty());
  ASSERT_FALSE(twin_1005.empty());
  // usr_exp holds the upper twin of prj_1005, which nobody holds.
  v1::Grant* g = state.add_grants();
  g->set_id("g_exp_twin");
  g->set_principal_id("usr_exp");
  g->set_role("project_readonly");
  g->set_project_id(twin_1005);
  // usr_grp's scopes (its cloud, prj_1002, prj_1000 and its twin) share a
  // tag: it gets no summary.
  for (const std::string& project : {std::string("prj_1000"), twin_1000}) {
    g = state.add_grants();
    g->set_id(absl::StrCat("g_grp_", project));
    g->set_principal_id("usr_grp");
    g->set_role("project_write");
    g->set_project_id(project);
  }
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  // Tags no longer identify scopes: Check confirms each match.
  ASSERT_FALSE(EngineFriendAccess::State(*engine).exact_tags);
  ASSERT_TRUE(HasSummary(*engine, "usr_two"));
  ASSERT_TRUE(HasSummary(*engine, "usr_exp"));
  EXPECT_FALSE(HasSummary(*engine, "usr_grp"));

  // usr_two holds prj_1000, whose tag its upper twin shares.
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", "prj_1000"),
              Decides(Reason::kGrant, "g_two_a", GrantSource::kDirect));
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", twin_1000),
              Decides(Reason::kNoProjectGrant, "", GrantSource::kNone));
  // usr_exp holds the upper twin, not prj_1005.
  EXPECT_THAT(CheckAt(*engine, "usr_exp", "project.view", twin_1005),
              Decides(Reason::kGrant, "g_exp_twin", GrantSource::kDirect));
  EXPECT_THAT(CheckAt(*engine, "usr_exp", "project.view", "prj_1005"),
              Decides(Reason::kNoProjectGrant, "", GrantSource::kNone));
  // Scanned, usr_grp holds both twins.
  EXPECT_THAT(
      CheckAt(*engine, "usr_grp", "project.workload.create", "prj_1000"),
      Decides(Reason::kGrant, "g_grp_prj_1000", GrantSource::kDirect));
  EXPECT_THAT(CheckAt(*engine, "usr_grp", "project.workload.create", twin_1000),
              Decides(Reason::kGrant, absl::StrCat("g_grp_", twin_1000),
                      GrantSource::kDirect));
}

TEST(ScopeSummaryLimitsTest, ASnapshotWithManyRolesHasNoSummaries) {
  v1::PolicySet state = SummaryOrg();
  for (size_t i = 0; i <= internal::kMaxSummaryRoles; ++i) {
    v1::Role* role = state.add_custom_roles();
    role->set_name(absl::StrCat("viewer_", i));
    role->add_grantable_at(v1::SCOPE_TYPE_PROJECT);
    role->add_permissions("project.view");
  }
  v1::Grant* g = state.add_grants();
  g->set_id("g_two_viewer");
  g->set_principal_id("usr_two");
  g->set_role(absl::StrCat("viewer_", internal::kMaxSummaryRoles));
  g->set_project_id("prj_1005");
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  for (const char* user : {"usr_two", "usr_exp", "usr_grp", "usr_gexp"}) {
    EXPECT_FALSE(HasSummary(*engine, user)) << user;
  }
  EXPECT_THAT(CheckAt(*engine, "usr_two", "project.view", "prj_1005"),
              Decides(Reason::kGrant, "g_two_viewer", GrantSource::kDirect));
  EXPECT_THAT(
      CheckAt(*engine, "usr_two", "project.workload.create", "prj_1000"),
      Decides(Reason::kGrant, "g_two_b", GrantSource::kDirect));
}

}  // namespace
}  // namespace arbiter
