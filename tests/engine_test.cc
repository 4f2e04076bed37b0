// The Engine API surface: by-name resolution (ids, emails, paths, the org
// disambiguator), handles from Find*, the unknown-input denials, grant expiry
// against an injected clock and RequestContext::now, every §12 option of
// EngineOptions, GrantInfo, Engine::profile(), Explain, concurrent checks and
// EngineHolder.

#include "arbiter/engine.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/decision.h"
#include "arbiter/engine_holder.h"
#include "arbiter/engine_options.h"
#include "arbiter/explanation.h"
#include "arbiter/policy_io.h"
#include "arbiter/profile.h"
#include "arbiter/request.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::FakeClock;
using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The instant the expiring grants below stop applying:
// 2030-01-01T00:00:00.5Z.
const absl::Time kExpiry =
    absl::FromUnixSeconds(1893456000) + absl::Milliseconds(500);

// Two organizations sharing an email and a cloud name, plus grants that
// expire at kExpiry.
constexpr char kTwoOrgs[] = R"pb(
  revision: 3
  organizations { id: "org_a" name: "acme" }
  organizations { id: "org_b" name: "globex" }
  clouds { id: "cld_a" org_id: "org_a" name: "prod" }
  clouds { id: "cld_b" org_id: "org_b" name: "prod" }
  projects {
    id: "prj_a_default"
    cloud_id: "cld_a"
    name: "default"
    is_default: true
  }
  projects {
    id: "prj_a_ml"
    cloud_id: "cld_a"
    name: "ml-team"
    visibility: VISIBILITY_PRIVATE
  }
  projects {
    id: "prj_b_default"
    cloud_id: "cld_b"
    name: "default"
    is_default: true
  }
  workloads {
    id: "wl_a_nightly"
    project_id: "prj_a_ml"
    name: "nightly"
    type: WORKLOAD_TYPE_JOB
    creator_id: "usr_a_sam"
  }
  images { id: "img_a" org_id: "org_a" name: "ray" kind: IMAGE_KIND_BASE }
  principals {
    id: "usr_a_sam"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "Sam@Example.com"
  }
  principals {
    id: "usr_b_sam"
    org_id: "org_b"
    kind: PRINCIPAL_KIND_USER
    email: "sam@example.com"
  }
  principals {
    id: "usr_a_kim"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "kim@acme.com"
  }
  principals {
    id: "usr_a_lee"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "lee@acme.com"
  }
  principals {
    id: "usr_a_max"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "max@acme.com"
  }
  principals {
    id: "sa_a_ci"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
    email: "ci@org-a.serviceaccount.com"
  }
  groups { id: "grp_a_ml" org_id: "org_a" name: "ml" member_ids: "usr_a_lee" }
  grants {
    id: "g_a_sam_prod"
    principal_id: "usr_a_sam"
    role: "cloud_collaborator"
    cloud_id: "cld_a"
  }
  grants {
    id: "g_a_sam_ml"
    principal_id: "usr_a_sam"
    role: "project_write"
    project_id: "prj_a_ml"
  }
  grants {
    id: "g_b_sam_owner"
    principal_id: "usr_b_sam"
    role: "org_owner"
    org_id: "org_b"
  }
  grants {
    id: "g_kim_readonly"
    principal_id: "usr_a_kim"
    role: "cloud_readonly"
    cloud_id: "cld_a"
  }
  grants {
    id: "g_kim_owner_until"
    principal_id: "usr_a_kim"
    role: "cloud_owner"
    cloud_id: "cld_a"
    expires_at { seconds: 1893456000 nanos: 500000000 }
  }
  grants {
    id: "g_ml_prod"
    group_id: "grp_a_ml"
    role: "cloud_collaborator"
    cloud_id: "cld_a"
  }
  grants {
    id: "g_lee_read_only_until"
    principal_id: "usr_a_lee"
    role: "cloud_read_only"
    cloud_id: "cld_a"
    expires_at { seconds: 1893456000 nanos: 500000000 }
  }
  grants {
    id: "g_max_owner_until"
    principal_id: "usr_a_max"
    role: "org_owner"
    org_id: "org_a"
    expires_at { seconds: 1893456000 nanos: 500000000 }
  }
  grants {
    id: "g_ci_prod"
    principal_id: "sa_a_ci"
    role: "cloud_collaborator"
    cloud_id: "cld_a"
  }
)pb";

v1::PolicySet TwoOrgs() {
  absl::StatusOr<v1::PolicySet> state =
      ParsePolicySet(kTwoOrgs, PolicyFormat::kText, "two_orgs");
  EXPECT_THAT(state, IsOk());
  return state.ok() ? *std::move(state) : v1::PolicySet();
}

// tests/testdata/NAME. CMake passes the directory (__FILE__ may be
// relative to the build directory, e.g. under ccache's base_dir); Bazel runs
// tests from the workspace root, where __FILE__'s directory is right.
std::string TestDataPath(absl::string_view name) {
#ifdef ARBITER_TESTS_DIR
  return absl::StrCat(ARBITER_TESTS_DIR, "/testdata/", name);
#else
  std::string file = __FILE__;
  return absl::StrCat(file.substr(0, file.rfind('/') + 1), "testdata/", name);
#endif
}

v1::PolicySet RulesOrg() {
  absl::StatusOr<v1::PolicySet> state =
      LoadPolicySetFile(TestDataPath("rules_org.textproto"));
  EXPECT_THAT(state, IsOk());
  return state.ok() ? *std::move(state) : v1::PolicySet();
}

Decision CheckAt(const Engine& engine, absl::string_view principal,
                 absl::string_view permission, absl::string_view resource,
                 absl::string_view org = {},
                 absl::optional<absl::Time> now = absl::nullopt) {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.org = org;
  // Fixed by default, so that expiring grants decide deterministically.
  r.context.now = now.has_value() ? *now : absl::FromUnixSeconds(1767225600);
  return engine.Check(r);
}

// Matches a decision's effect, reason and deciding grant ("" for none).
MATCHER_P2(Decides, reason, grant_id,
           absl::StrCat(EffectOf(reason) == Effect::kAllow ? "ALLOW " : "DENY ",
                        ReasonName(reason), " grant=", grant_id)) {
  return arg.effect == EffectOf(reason) && arg.reason == reason &&
         arg.grant_id == grant_id &&
         (std::string(grant_id).empty() ==
          (arg.grant_index == Decision::kNoGrant));
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(engine_, Engine::Create(TwoOrgs()));
  }
  std::unique_ptr<const Engine> engine_;
};

// ---------------------------------------------------------------------------
// By-name resolution.

TEST_F(EngineTest, PrincipalByIdOrEmailIgnoringCase) {
  EXPECT_THAT(CheckAt(*engine_, "usr_a_kim", "cloud.members.manage", "cld_a"),
              Decides(Reason::kGrant, "g_kim_owner_until"));
  EXPECT_THAT(
      CheckAt(*engine_, "kim@acme.com", "cloud.members.manage", "cld_a"),
      Decides(Reason::kGrant, "g_kim_owner_until"));
  EXPECT_THAT(
      CheckAt(*engine_, "KIM@Acme.COM", "cloud.members.manage", "cld_a"),
      Decides(Reason::kGrant, "g_kim_owner_until"));
  // Ids are exact.
  EXPECT_THAT(CheckAt(*engine_, "USR_A_KIM", "cloud.view", "cld_a"),
              Decides(Reason::kUnknownPrincipal, ""));
}

TEST_F(EngineTest, EmailInTwoOrgsIsAmbiguousWithoutOrg) {
  // A path does not say which organization is meant.
  Decision d = CheckAt(*engine_, "sam@example.com", "cloud.view", "prod");
  EXPECT_THAT(d, Decides(Reason::kAmbiguousPrincipal, ""));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.revision, 3u);
  // Either spelling of the email.
  EXPECT_THAT(CheckAt(*engine_, "SAM@EXAMPLE.COM", "org.view", "prod/ml"),
              Decides(Reason::kAmbiguousPrincipal, ""));
  EXPECT_FALSE(engine_->FindPrincipal("sam@example.com").has_value());
}

TEST_F(EngineTest, AResourceIdSettlesAnEmailInTwoOrgs) {
  EXPECT_THAT(CheckAt(*engine_, "sam@example.com", "cloud.view", "cld_a"),
              Decides(Reason::kGrant, "g_a_sam_prod"));
  EXPECT_THAT(CheckAt(*engine_, "SAM@EXAMPLE.COM", "org.view", "org_b"),
              Decides(Reason::kOrgOwner, "g_b_sam_owner"));
}

TEST_F(EngineTest, OrgDisambiguatesAnEmailByIdOrName) {
  EXPECT_THAT(
      CheckAt(*engine_, "sam@example.com", "cloud.view", "prod", "org_a"),
      Decides(Reason::kGrant, "g_a_sam_prod"));
  EXPECT_THAT(
      CheckAt(*engine_, "sam@example.com", "cloud.view", "prod", "acme"),
      Decides(Reason::kGrant, "g_a_sam_prod"));
  // The path resolves in the chosen principal's org: globex's "prod".
  EXPECT_THAT(
      CheckAt(*engine_, "Sam@Example.com", "cloud.delete", "prod", "globex"),
      Decides(Reason::kOrgOwner, "g_b_sam_owner"));
  // With an org, another tenant's resource id is unknown, not CROSS_ORG.
  EXPECT_THAT(
      CheckAt(*engine_, "sam@example.com", "cloud.delete", "cld_a", "globex"),
      Decides(Reason::kUnknownResource, ""));
}

// A deleted principal's email may be a live principal's too: the same
// person re-invited into its organization, or a member of another one. The
// email names the live principal; only `org` reaches the deleted one.
constexpr char kReinvited[] = R"pb(
  organizations { id: "org_a" name: "acme" }
  organizations { id: "org_b" name: "globex" }
  clouds { id: "cld_a" org_id: "org_a" name: "prod" }
  clouds { id: "cld_b" org_id: "org_b" name: "prod" }
  projects { id: "prj_a" cloud_id: "cld_a" name: "default" is_default: true }
  projects { id: "prj_b" cloud_id: "cld_b" name: "default" is_default: true }
  principals {
    id: "usr_a_ann_old"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "Ann@Example.com"
    state: PRINCIPAL_STATE_DELETED
  }
  principals {
    id: "usr_a_ann"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "ann@example.com"
  }
  principals {
    id: "usr_a_bob_old"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "bob@example.com"
    state: PRINCIPAL_STATE_DELETED
  }
  principals {
    id: "usr_b_bob"
    org_id: "org_b"
    kind: PRINCIPAL_KIND_USER
    email: "BOB@example.com"
  }
  grants {
    id: "g_ann_old"
    principal_id: "usr_a_ann_old"
    role: "org_owner"
    org_id: "org_a"
  }
  grants {
    id: "g_ann"
    principal_id: "usr_a_ann"
    role: "cloud_collaborator"
    cloud_id: "cld_a"
  }
  grants {
    id: "g_bob_old"
    principal_id: "usr_a_bob_old"
    role: "org_owner"
    org_id: "org_a"
  }
  grants {
    id: "g_bob"
    principal_id: "usr_b_bob"
    role: "cloud_collaborator"
    cloud_id: "cld_b"
  }
)pb";

TEST(EmailResolutionTest, TheLivePrincipalHoldingAnEmailIsMeant) {
  absl::StatusOr<v1::PolicySet> state =
      ParsePolicySet(kReinvited, PolicyFormat::kText, "reinvited");
  ASSERT_THAT(state, IsOk());
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(*state));
  // Same organization: the re-invited member, not the deleted owner.
  EXPECT_THAT(CheckAt(*engine, "ann@example.com", "cloud.view", "cld_a"),
              Decides(Reason::kGrant, "g_ann"));
  EXPECT_THAT(CheckAt(*engine, "ANN@example.com", "cloud.delete", "cld_a"),
              Decides(Reason::kInsufficientRole, ""));
  // Another organization: the live member of globex, not acme's deleted
  // owner; the email is not ambiguous.
  EXPECT_THAT(CheckAt(*engine, "bob@example.com", "cloud.view", "cld_b"),
              Decides(Reason::kGrant, "g_bob"));
  EXPECT_THAT(CheckAt(*engine, "bob@example.com", "cloud.view", "cld_a"),
              Decides(Reason::kCrossOrg, ""));
  // Naming acme reaches the deleted principal, which holds nothing.
  EXPECT_THAT(
      CheckAt(*engine, "bob@example.com", "cloud.view", "cld_a", "org_a"),
      Decides(Reason::kPrincipalDeleted, ""));
}

TEST_F(EngineTest, OrgThatDoesNotHoldTheEmailIsUnknownPrincipal) {
  EXPECT_THAT(
      CheckAt(*engine_, "kim@acme.com", "cloud.view", "cld_a", "globex"),
      Decides(Reason::kUnknownPrincipal, ""));
  EXPECT_THAT(
      CheckAt(*engine_, "sam@example.com", "cloud.view", "cld_a", "org_nope"),
      Decides(Reason::kUnknownOrg, ""));
}

TEST_F(EngineTest, ResourceByIdOrPath) {
  EXPECT_THAT(
      CheckAt(*engine_, "usr_a_sam", "project.workload.delete", "wl_a_nightly"),
      Decides(Reason::kOwnWorkload, "g_a_sam_ml"));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "project.workload.delete",
                      "prod/ml-team/nightly"),
              Decides(Reason::kOwnWorkload, "g_a_sam_ml"));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "project.view", "prod/ml-team"),
              Decides(Reason::kGrant, "g_a_sam_ml"));
  EXPECT_THAT(
      CheckAt(*engine_, "usr_a_sam", "project.workload.create", "prod/default"),
      Decides(Reason::kPublicProject, "g_a_sam_prod"));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "cloud.view", "prod"),
              Decides(Reason::kGrant, "g_a_sam_prod"));
}

TEST_F(EngineTest, MalformedOrUnknownPathsAreUnknownResources) {
  for (const char* path :
       {"", "nope", "prod/nope", "prod//ml-team", "/prod", "prod/",
        "prod/ml-team/nightly/extra", "prod/ml-team/nope", "acme/prod", "PROD",
        "usr_a_sam", "grp_a_ml", "g_a_sam_prod"}) {
    SCOPED_TRACE(path);
    EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "cloud.view", path),
                Decides(Reason::kUnknownResource, ""));
  }
}

TEST_F(EngineTest, UnknownInputsDenyInResolutionOrder) {
  EXPECT_THAT(CheckAt(*engine_, "nobody@acme.com", "nope", "nope"),
              Decides(Reason::kUnknownPrincipal, ""));
  EXPECT_THAT(CheckAt(*engine_, "", "cloud.view", "cld_a"),
              Decides(Reason::kUnknownPrincipal, ""));
  // Objects that are not principals.
  EXPECT_THAT(CheckAt(*engine_, "cld_a", "cloud.view", "cld_a"),
              Decides(Reason::kUnknownPrincipal, ""));
  EXPECT_THAT(CheckAt(*engine_, "grp_a_ml", "cloud.view", "cld_a"),
              Decides(Reason::kUnknownPrincipal, ""));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "nope", "nope"),
              Decides(Reason::kUnknownPermission, ""));
  // Permission names are exact.
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "Cloud.View", "cld_a"),
              Decides(Reason::kUnknownPermission, ""));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "cloud.view", "cld_nope"),
              Decides(Reason::kUnknownResource, ""));
  // Every one of them carries the revision.
  EXPECT_EQ(CheckAt(*engine_, "", "", "").revision, 3u);
}

TEST_F(EngineTest, PermissionNotApplicable) {
  // A project permission on a cloud, a cloud permission on an org or image.
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "project.view", "prod"),
              Decides(Reason::kPermissionNotApplicable, ""));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "cloud.view", "org_a"),
              Decides(Reason::kPermissionNotApplicable, ""));
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "cloud.view", "img_a"),
              Decides(Reason::kPermissionNotApplicable, ""));
  // An org permission applies to anything in the org.
  EXPECT_THAT(CheckAt(*engine_, "usr_a_sam", "org.images.use", "wl_a_nightly"),
              Decides(Reason::kOrgMember, ""));
}

// ---------------------------------------------------------------------------
// Handles.

TEST_F(EngineTest, FindResolvesLikeCheck) {
  EXPECT_FALSE(engine_->FindPrincipal("sam@example.com").has_value());
  absl::optional<PrincipalRef> sam_a =
      engine_->FindPrincipal("SAM@example.com", "org_a");
  absl::optional<PrincipalRef> sam_b =
      engine_->FindPrincipal("sam@example.com", "globex");
  ASSERT_TRUE(sam_a.has_value());
  ASSERT_TRUE(sam_b.has_value());
  EXPECT_NE(sam_a->index(), sam_b->index());
  EXPECT_EQ(engine_->FindPrincipal("usr_a_sam")->index(), sam_a->index());
  EXPECT_FALSE(engine_->FindPrincipal("nobody").has_value());

  EXPECT_TRUE(engine_->FindPermission("cloud.view").has_value());
  EXPECT_FALSE(engine_->FindPermission("cloud.fly").has_value());

  // Two organizations: a path needs one.
  EXPECT_FALSE(engine_->FindResource("prod/ml-team").has_value());
  EXPECT_FALSE(engine_->FindResource("prod/ml-team", "org_nope").has_value());
  absl::optional<ResourceRef> ml =
      engine_->FindResource("prod/ml-team", "acme");
  ASSERT_TRUE(ml.has_value());
  EXPECT_EQ(engine_->FindResource("prj_a_ml")->index(), ml->index());
  EXPECT_NE(engine_->FindResource("prod", "org_b")->index(),
            engine_->FindResource("prod", "org_a")->index());

  absl::optional<PermissionRef> view = engine_->FindPermission("project.view");
  ASSERT_TRUE(view.has_value());
  EXPECT_THAT(engine_->Check(*sam_a, *view, *ml),
              Decides(Reason::kGrant, "g_a_sam_ml"));
  EXPECT_THAT(engine_->Check(*sam_b, *view, *ml),
              Decides(Reason::kCrossOrg, ""));
}

TEST_F(EngineTest, PathsNeedNoOrgInASingleOrgSnapshot) {
  v1::PolicySet state = TwoOrgs();
  // Keep organization acme only.
  v1::PolicySet one;
  one.set_revision(4);
  *one.add_organizations() = state.organizations(0);
  *one.add_clouds() = state.clouds(0);
  *one.add_projects() = state.projects(0);
  *one.add_projects() = state.projects(1);
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(one));
  EXPECT_TRUE(engine->FindResource("prod/ml-team").has_value());
  EXPECT_TRUE(engine->FindResource("prod").has_value());
  EXPECT_FALSE(engine->FindResource("prod/nope").has_value());
}

TEST_F(EngineTest, HandleFromAnotherEngineIsStale) {
  ASSERT_OK_AND_ASSIGN(auto other, Engine::Create(TwoOrgs()));
  absl::optional<PrincipalRef> p = engine_->FindPrincipal("usr_a_sam");
  absl::optional<PermissionRef> k = engine_->FindPermission("cloud.view");
  absl::optional<ResourceRef> r = engine_->FindResource("cld_a");
  absl::optional<PrincipalRef> p2 = other->FindPrincipal("usr_a_sam");
  ASSERT_TRUE(p && k && r && p2);
  // Same state, same indices, different snapshot.
  EXPECT_EQ(p->index(), p2->index());
  EXPECT_THAT(engine_->Check(*p, *k, *r),
              Decides(Reason::kGrant, "g_a_sam_prod"));
  EXPECT_THAT(other->Check(*p, *k, *r), Decides(Reason::kStaleReference, ""));
  // One stale handle is enough.
  EXPECT_THAT(engine_->Check(*p2, *k, *r),
              Decides(Reason::kStaleReference, ""));
  EXPECT_THAT(other->Check(*p2, *other->FindPermission("cloud.view"), *r),
              Decides(Reason::kStaleReference, ""));
}

TEST_F(EngineTest, DefaultConstructedHandlesDeny) {
  Decision d = engine_->Check(PrincipalRef(), PermissionRef(), ResourceRef());
  EXPECT_FALSE(d.allowed());
  EXPECT_THAT(d, Decides(Reason::kStaleReference, ""));
  EXPECT_EQ(d.revision, 3u);
  // Also mixed with valid ones.
  EXPECT_FALSE(engine_
                   ->Check(*engine_->FindPrincipal("usr_a_sam"),
                           PermissionRef(), *engine_->FindResource("cld_a"))
                   .allowed());
}

TEST_F(EngineTest, HandleCheckTakesTheContext) {
  absl::optional<PrincipalRef> ci = engine_->FindPrincipal("sa_a_ci");
  absl::optional<PermissionRef> k = engine_->FindPermission("cloud.view");
  absl::optional<ResourceRef> r = engine_->FindResource("cld_a");
  ASSERT_TRUE(ci && k && r);
  EXPECT_THAT(engine_->Check(*ci, *k, *r),
              Decides(Reason::kGrant, "g_ci_prod"));
  RequestContext console;
  console.channel = Channel::kConsole;
  EXPECT_THAT(engine_->Check(*ci, *k, *r, console),
              Decides(Reason::kServiceAccountConsole, ""));
}

// ---------------------------------------------------------------------------
// Expiry: judged against the injected clock, or RequestContext::now.

class ExpiryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<FakeClock>(kExpiry - absl::Hours(1));
    EngineOptions options;
    options.clock = clock_;
    ASSERT_OK_AND_ASSIGN(engine_, Engine::Create(TwoOrgs(), options));
  }
  Decision Check(absl::string_view principal, absl::string_view permission,
                 absl::string_view resource,
                 absl::optional<absl::Time> now = absl::nullopt) {
    AccessRequest r;
    r.principal = principal;
    r.permission = permission;
    r.resource = resource;
    r.context.now = now;
    return engine_->Check(r);
  }
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<const Engine> engine_;
};

TEST_F(ExpiryTest, AllowGrantStopsAtTheExactInstant) {
  clock_->Set(kExpiry - absl::Microseconds(1));
  EXPECT_THAT(Check("usr_a_kim", "cloud.members.manage", "cld_a"),
              Decides(Reason::kGrant, "g_kim_owner_until"));
  clock_->Set(kExpiry);
  EXPECT_THAT(Check("usr_a_kim", "cloud.members.manage", "cld_a"),
              Decides(Reason::kInsufficientRole, ""));
  // The permanent grant still applies.
  EXPECT_THAT(Check("usr_a_kim", "cloud.view", "cld_a"),
              Decides(Reason::kGrant, "g_kim_readonly"));
  clock_->Set(kExpiry + absl::Hours(24 * 365));
  EXPECT_THAT(Check("usr_a_kim", "cloud.members.manage", "cld_a"),
              Decides(Reason::kInsufficientRole, ""));
}

TEST_F(ExpiryTest, DenyGrantStopsSubtractingAtTheExactInstant) {
  clock_->Set(kExpiry - absl::Microseconds(1));
  EXPECT_THAT(Check("usr_a_lee", "cloud.projects.create", "cld_a"),
              Decides(Reason::kDenyRole, "g_lee_read_only_until"));
  clock_->Set(kExpiry);
  EXPECT_THAT(Check("usr_a_lee", "cloud.projects.create", "cld_a"),
              Decides(Reason::kGrant, "g_ml_prod"));
}

TEST_F(ExpiryTest, OrgOwnerGrantExpires) {
  clock_->Set(kExpiry - absl::Microseconds(1));
  EXPECT_THAT(Check("usr_a_max", "org.billing.view", "org_a"),
              Decides(Reason::kOrgOwner, "g_max_owner_until"));
  EXPECT_THAT(Check("usr_a_max", "project.view", "prj_a_ml"),
              Decides(Reason::kOrgOwner, "g_max_owner_until"));
  clock_->Set(kExpiry);
  EXPECT_THAT(Check("usr_a_max", "org.billing.view", "org_a"),
              Decides(Reason::kNeedsOrgOwner, ""));
  EXPECT_THAT(Check("usr_a_max", "project.view", "prj_a_ml"),
              Decides(Reason::kNoCloudGrant, ""));
}

TEST_F(ExpiryTest, RequestContextNowOverridesTheClock) {
  clock_->Set(kExpiry + absl::Hours(1));
  EXPECT_THAT(Check("usr_a_kim", "cloud.members.manage", "cld_a",
                    kExpiry - absl::Microseconds(1)),
              Decides(Reason::kGrant, "g_kim_owner_until"));
  clock_->Set(kExpiry - absl::Hours(1));
  EXPECT_THAT(Check("usr_a_kim", "cloud.members.manage", "cld_a", kExpiry),
              Decides(Reason::kInsufficientRole, ""));
  EXPECT_THAT(Check("usr_a_kim", "cloud.members.manage", "cld_a",
                    absl::InfiniteFuture()),
              Decides(Reason::kInsufficientRole, ""));
  EXPECT_THAT(
      Check("usr_a_kim", "cloud.members.manage", "cld_a", absl::InfinitePast()),
      Decides(Reason::kGrant, "g_kim_owner_until"));
}

TEST_F(ExpiryTest, ExplainShowsTheExpiredGrant) {
  clock_->Set(kExpiry);
  AccessRequest r;
  r.principal = "usr_a_kim";
  r.permission = "cloud.members.manage";
  r.resource = "cld_a";
  Explanation e = engine_->Explain(r);
  EXPECT_EQ(e.decision, engine_->Check(r));
  bool found = false;
  for (const ConsideredGrant& g : e.grants) {
    if (g.grant_id != "g_kim_owner_until") continue;
    found = true;
    EXPECT_FALSE(g.live);
    EXPECT_TRUE(g.matches_permission);
    EXPECT_THAT(g.note, HasSubstr("expired at 2030-01-01T00:00:00.5Z"));
  }
  EXPECT_TRUE(found) << e.ToString();
}

TEST(ExpiryClockTest, SystemClockByDefault) {
  // A grant that expired in 1970 never applies; one that expires in 9999
  // always does.
  v1::PolicySet state = TwoOrgs();
  for (v1::Grant& g : *state.mutable_grants()) {
    if (g.id() == "g_kim_owner_until") g.mutable_expires_at()->set_seconds(1);
  }
  v1::Grant* g = state.add_grants();
  g->set_id("g_kim_collab_forever");
  g->set_principal_id("usr_a_kim");
  g->set_role("cloud_collaborator");
  g->set_cloud_id("cld_a");
  g->mutable_expires_at()->set_seconds(253402300799);
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  AccessRequest r;
  r.principal = "usr_a_kim";
  r.permission = "cloud.members.manage";
  r.resource = "cld_a";
  EXPECT_THAT(engine->Check(r), Decides(Reason::kInsufficientRole, ""));
  r.permission = "cloud.projects.create";
  EXPECT_THAT(engine->Check(r),
              Decides(Reason::kGrant, "g_kim_collab_forever"));
}

// Counts reads, to pin down "read at most once per Check, and only when a
// grant with an expiry is consulted" (EngineOptions::clock).
class CountingClock final : public Clock {
 public:
  absl::Time Now() const override {
    reads_.fetch_add(1);
    return absl::FromUnixSeconds(1767225600);
  }
  int reads() const { return reads_.load(); }

 private:
  mutable std::atomic<int> reads_{0};
};

TEST(ExpiryClockTest, ClockIsReadLazilyAndAtMostOncePerCheck) {
  auto clock = std::make_shared<CountingClock>();
  EngineOptions options;
  options.clock = clock;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(TwoOrgs(), options));
  AccessRequest r;
  r.principal = "usr_a_sam";  // no expiring grant
  r.permission = "project.workload.create";
  r.resource = "prj_a_ml";
  engine->Check(r);
  EXPECT_EQ(clock->reads(), 0);
  r.principal = "usr_a_kim";  // one expiring grant on the path
  r.permission = "cloud.view";
  r.resource = "cld_a";
  engine->Check(r);
  EXPECT_EQ(clock->reads(), 1);
  r.principal = "usr_a_lee";  // an expiring deny grant, looked at twice
  r.permission = "cloud.projects.create";
  engine->Check(r);
  EXPECT_EQ(clock->reads(), 2);
  r.context.now = absl::FromUnixSeconds(1);  // the context wins
  engine->Check(r);
  EXPECT_EQ(clock->reads(), 2);
}

// ---------------------------------------------------------------------------
// §12 options: each changes exactly the documented decisions. Every request
// of a grid over the rules fixture (every principal, permission and
// resource) is checked with and without the option.

struct GridRequest {
  std::string principal, permission, resource;
  bool operator<(const GridRequest& o) const {
    return std::tie(principal, permission, resource) <
           std::tie(o.principal, o.permission, o.resource);
  }
  bool operator==(const GridRequest& o) const {
    return std::tie(principal, permission, resource) ==
           std::tie(o.principal, o.permission, o.resource);
  }
};

void PrintTo(const GridRequest& g, std::ostream* os) {
  *os << g.principal << " " << g.permission << " " << g.resource;
}

std::vector<GridRequest> Grid(const v1::PolicySet& state) {
  std::vector<std::string> resources;
  for (const auto& o : state.organizations()) resources.push_back(o.id());
  for (const auto& c : state.clouds()) resources.push_back(c.id());
  for (const auto& p : state.projects()) resources.push_back(p.id());
  for (const auto& w : state.workloads()) resources.push_back(w.id());
  for (const auto& c : state.compute_configs()) resources.push_back(c.id());
  for (const auto& i : state.images()) resources.push_back(i.id());
  std::vector<GridRequest> grid;
  for (const auto& p : state.principals()) {
    for (const auto& k : BuiltinProfile().permissions()) {
      for (const std::string& r : resources) {
        grid.push_back({p.id(), k.name(), r});
      }
    }
  }
  return grid;
}

Decision GridCheck(const Engine& engine, const GridRequest& g) {
  return CheckAt(engine, g.principal, g.permission, g.resource);
}

// The requests whose decision differs between the two engines.
std::map<GridRequest, std::pair<Decision, Decision>> Diff(
    const Engine& before, const Engine& after,
    const std::vector<GridRequest>& grid) {
  std::map<GridRequest, std::pair<Decision, Decision>> diff;
  for (const GridRequest& g : grid) {
    Decision a = GridCheck(before, g), b = GridCheck(after, g);
    if (a != b) diff.emplace(g, std::make_pair(a, b));
  }
  return diff;
}

bool RoleHolds(const v1::Profile& profile, absl::string_view role,
               absl::string_view permission) {
  for (const v1::Role& r : profile.roles()) {
    if (r.name() != role) continue;
    for (const std::string& p : r.permissions()) {
      if (p == permission) return true;
    }
  }
  return false;
}

bool IsProjectPermission(absl::string_view permission) {
  return absl::StartsWith(permission, "project.");
}

// Resources of cloud main in the rules fixture, and the project of each.
const std::map<std::string, std::string>& MainResources() {
  static const auto* m = new std::map<std::string, std::string>{
      {"cld_main", ""},
      {"cc_main_cpu", ""},
      {"prj_main_default", "prj_main_default"},
      {"wl_scratch", "prj_main_default"},
      {"prj_pub", "prj_pub"},
      {"wl_web_service", "prj_pub"},
      {"prj_priv", "prj_priv"},
      {"wl_pw_job", "prj_priv"},
      {"wl_po_notebook", "prj_priv"},
  };
  return *m;
}

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = RulesOrg();
    grid_ = Grid(state_);
    ASSERT_OK_AND_ASSIGN(default_, Engine::Create(state_));
  }
  std::unique_ptr<const Engine> With(const EngineOptions& options) {
    absl::StatusOr<std::unique_ptr<const Engine>> e =
        Engine::Create(state_, options);
    EXPECT_THAT(e, IsOk());
    return e.ok() ? *std::move(e) : nullptr;
  }
  v1::PolicySet state_;
  std::vector<GridRequest> grid_;
  std::unique_ptr<const Engine> default_;
};

TEST(EngineOptionsTest, DefaultsAreTheRecommendedChoices) {
  EngineOptions o;
  EXPECT_FALSE(o.cloud_owner_private_project_access);  // row 1: no
  EXPECT_FALSE(o.cloud_owner_configures_iam_mapping);  // row 2: org owner
  EXPECT_FALSE(o.allow_service_account_org_owner);     // row 4: reject
  EXPECT_EQ(o.project_write_workload_delete,           // row 7: own only
            WorkloadDeletePolicy::kOwnWorkloads);
  EXPECT_TRUE(o.cloud_owner_deletes_cloud);  // row 14: OO and CO
  EXPECT_EQ(o.iam_override_precedence, IamOverridePrecedence::kMappingWins);
}

TEST_F(OptionsTest, GridIsLargeAndDecisionsAreDeterministic) {
  EXPECT_GT(grid_.size(), 20000u);
  ASSERT_OK_AND_ASSIGN(auto again, Engine::Create(state_));
  EXPECT_TRUE(Diff(*default_, *again, grid_).empty());
}

TEST_F(OptionsTest, CloudOwnerConfiguresIamMapping) {
  EngineOptions options;
  options.cloud_owner_configures_iam_mapping = true;
  auto engine = With(options);
  ASSERT_NE(engine, nullptr);
  auto diff = Diff(*default_, *engine, grid_);
  std::set<GridRequest> expected;
  for (const auto& [resource, project] : MainResources()) {
    expected.insert({"usr_co", "cloud.iam_mapping.configure", resource});
  }
  std::set<GridRequest> changed;
  for (const auto& [g, d] : diff) {
    changed.insert(g);
    EXPECT_THAT(d.first, Decides(Reason::kInsufficientRole, ""));
    EXPECT_THAT(d.second, Decides(Reason::kGrant, "g_co_main"));
  }
  EXPECT_EQ(changed, expected);
}

TEST_F(OptionsTest, CloudOwnerDoesNotDeleteCloud) {
  EngineOptions options;
  options.cloud_owner_deletes_cloud = false;
  auto engine = With(options);
  ASSERT_NE(engine, nullptr);
  auto diff = Diff(*default_, *engine, grid_);
  std::set<GridRequest> expected;
  for (const auto& [resource, project] : MainResources()) {
    expected.insert({"usr_co", "cloud.delete", resource});
  }
  std::set<GridRequest> changed;
  for (const auto& [g, d] : diff) {
    changed.insert(g);
    EXPECT_THAT(d.first, Decides(Reason::kGrant, "g_co_main"));
    EXPECT_THAT(d.second, Decides(Reason::kInsufficientRole, ""));
  }
  EXPECT_EQ(changed, expected);
  // Org owners still delete clouds.
  EXPECT_THAT(CheckAt(*engine, "usr_oo", "cloud.delete", "cld_main"),
              Decides(Reason::kOrgOwner, "g_oo_owner"));
}

TEST_F(OptionsTest, CloudOwnerPrivateProjectAccess) {
  EngineOptions options;
  options.cloud_owner_private_project_access = true;
  auto engine = With(options);
  ASSERT_NE(engine, nullptr);
  auto diff = Diff(*default_, *engine, grid_);
  const v1::Profile& profile = BuiltinProfile();

  // Expected: only usr_co (the one live cloud owner who is not an org
  // owner), only project permissions, only on cloud main's projects; on the
  // private project it is now an implicit project owner, on public projects
  // it gains what project_owner adds to project_write.
  std::set<GridRequest> expected;
  for (const auto& [resource, project] : MainResources()) {
    if (project.empty()) continue;
    for (const v1::Permission& k : profile.permissions()) {
      if (!IsProjectPermission(k.name())) continue;
      const bool owner = RoleHolds(profile, "project_owner", k.name());
      const bool writer = RoleHolds(profile, "project_write", k.name());
      GridRequest g{"usr_co", k.name(), resource};
      if (project == "prj_priv") {
        expected.insert(g);
        Decision d = CheckAt(*engine, g.principal, g.permission, g.resource);
        if (owner) {
          EXPECT_THAT(d, Decides(Reason::kCloudRoleInheritance, "g_co_main"))
              << k.name() << " " << resource;
        } else {
          EXPECT_THAT(d, Decides(Reason::kInsufficientRole, ""))
              << k.name() << " " << resource;
        }
      } else if (owner && !writer &&
                 !(k.forbidden_on_default_project() &&
                   project == "prj_main_default")) {
        expected.insert(g);
        EXPECT_THAT(CheckAt(*engine, g.principal, g.permission, g.resource),
                    Decides(Reason::kPublicProject, "g_co_main"))
            << k.name() << " " << resource;
      }
    }
  }
  std::set<GridRequest> changed;
  for (const auto& [g, d] : diff) changed.insert(g);
  EXPECT_EQ(changed, expected);
  EXPECT_THAT(CheckAt(*engine, "usr_co", "project.delete", "prj_main_default"),
              Decides(Reason::kProtectedResource, ""));
}

TEST_F(OptionsTest, ProjectWriteDeletesAllWorkloads) {
  EngineOptions options;
  options.project_write_workload_delete = WorkloadDeletePolicy::kAllWorkloads;
  auto engine = With(options);
  ASSERT_NE(engine, nullptr);
  auto diff = Diff(*default_, *engine, grid_);
  ASSERT_FALSE(diff.empty());
  for (const auto& [g, d] : diff) {
    SCOPED_TRACE(::testing::Message()
                 << g.principal << " " << g.permission << " " << g.resource
                 << ": " << d.first << " -> " << d.second);
    EXPECT_EQ(g.permission, "project.workload.delete");
    // Writers, explicit or implicit, now delete; for holders of
    // cloud_read_only the implicit write stays capped, which changes the
    // reason only.
    if (!d.second.allowed()) {
      EXPECT_EQ(d.first.reason, Reason::kInsufficientRole);
      EXPECT_EQ(d.second.reason, Reason::kDenyRole);
      EXPECT_THAT(std::string(d.second.grant_id), HasSubstr("read_only"));
    }
    EXPECT_FALSE(d.first.allowed() && !d.second.allowed());
  }
  // Every request that depended on being the creator changed.
  for (const GridRequest& g : grid_) {
    Decision before = GridCheck(*default_, g);
    if (before.reason == Reason::kNotWorkloadCreator ||
        before.reason == Reason::kOwnWorkload) {
      EXPECT_TRUE(diff.count(g)) << g.principal << " " << g.resource;
    }
  }
  EXPECT_THAT(
      CheckAt(*engine, "usr_pw", "project.workload.delete", "wl_po_notebook"),
      Decides(Reason::kGrant, "g_pw_ml"));
  EXPECT_THAT(
      CheckAt(*engine, "usr_cw", "project.workload.delete", "wl_web_service"),
      Decides(Reason::kPublicProject, "g_cw_main"));
}

TEST_F(OptionsTest, ProjectWriteNeverDeletesWorkloads) {
  EngineOptions options;
  options.project_write_workload_delete = WorkloadDeletePolicy::kNever;
  auto engine = With(options);
  ASSERT_NE(engine, nullptr);
  auto diff = Diff(*default_, *engine, grid_);
  std::set<GridRequest> expected;
  for (const GridRequest& g : grid_) {
    Decision before = GridCheck(*default_, g);
    // Decided by being (or not being) the creator; or a cap by
    // cloud_read_only on the implied write's own-workload delete, which no
    // longer exists to cap (cloud_read_only does not list the permission).
    if (before.reason == Reason::kNotWorkloadCreator ||
        before.reason == Reason::kOwnWorkload ||
        (before.reason == Reason::kDenyRole &&
         g.permission == "project.workload.delete")) {
      expected.insert(g);
    }
  }
  EXPECT_THAT(expected,
              Contains(GridRequest{"usr_crd", "project.workload.delete",
                                   "wl_web_service"}));
  std::set<GridRequest> changed;
  for (const auto& [g, d] : diff) {
    changed.insert(g);
    EXPECT_EQ(g.permission, "project.workload.delete");
    EXPECT_THAT(d.second, Decides(Reason::kInsufficientRole, ""));
  }
  EXPECT_EQ(changed, expected);
  EXPECT_THAT(
      CheckAt(*engine, "usr_pw", "project.workload.delete", "wl_pw_job"),
      Decides(Reason::kInsufficientRole, ""));
  EXPECT_THAT(
      CheckAt(*engine, "usr_po", "project.workload.delete", "wl_pw_job"),
      Decides(Reason::kGrant, "g_po_ml"));
}

TEST_F(OptionsTest, OptionsThatDoNotTouchCheck) {
  // Row 4 only changes what compiles; row 3 only changes IAM resolution.
  EngineOptions options;
  options.allow_service_account_org_owner = true;
  options.iam_override_precedence = IamOverridePrecedence::kComputeConfigWins;
  auto engine = With(options);
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(Diff(*default_, *engine, grid_).empty());
  EXPECT_TRUE(engine->options().allow_service_account_org_owner);
  EXPECT_EQ(engine->options().iam_override_precedence,
            IamOverridePrecedence::kComputeConfigWins);
}

// ---------------------------------------------------------------------------
// Engine::profile(), options() and GrantInfo.

const v1::Role* FindRole(const v1::Profile& profile, absl::string_view name) {
  for (const v1::Role& r : profile.roles()) {
    if (r.name() == name) return &r;
  }
  return nullptr;
}

TEST(ProfileTest, DefaultProfileIsTheBuiltinOne) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(TwoOrgs()));
  EXPECT_EQ(engine->profile().name(), "anyscale");
  EXPECT_EQ(engine->profile().roles_size(), BuiltinProfile().roles_size());
  EXPECT_EQ(engine->profile().permissions_size(),
            BuiltinProfile().permissions_size());
  const v1::Role* owner = FindRole(engine->profile(), "cloud_owner");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->private_project_role(), "");
  EXPECT_THAT(owner->permissions(), Contains("cloud.delete"));
  EXPECT_THAT(owner->permissions(),
              Not(Contains("cloud.iam_mapping.configure")));
  const v1::Role* write = FindRole(engine->profile(), "project_write");
  ASSERT_NE(write, nullptr);
  EXPECT_THAT(write->own_workload_permissions(),
              ElementsAre("project.workload.delete"));
  EXPECT_THAT(write->permissions(), Not(Contains("project.workload.delete")));
}

TEST(ProfileTest, ReflectsOptions) {
  EngineOptions options;
  options.cloud_owner_private_project_access = true;
  options.cloud_owner_configures_iam_mapping = true;
  options.cloud_owner_deletes_cloud = false;
  options.project_write_workload_delete = WorkloadDeletePolicy::kAllWorkloads;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(TwoOrgs(), options));
  const v1::Role* owner = FindRole(engine->profile(), "cloud_owner");
  ASSERT_NE(owner, nullptr);
  EXPECT_EQ(owner->private_project_role(), "project_owner");
  EXPECT_EQ(owner->public_project_role(), "project_owner");
  EXPECT_THAT(owner->permissions(), Contains("cloud.iam_mapping.configure"));
  EXPECT_THAT(owner->permissions(), Not(Contains("cloud.delete")));
  const v1::Role* write = FindRole(engine->profile(), "project_write");
  ASSERT_NE(write, nullptr);
  EXPECT_THAT(write->permissions(), Contains("project.workload.delete"));
  EXPECT_THAT(write->own_workload_permissions(), ::testing::IsEmpty());
  EXPECT_TRUE(engine->options().cloud_owner_private_project_access);

  options.project_write_workload_delete = WorkloadDeletePolicy::kNever;
  ASSERT_OK_AND_ASSIGN(engine, Engine::Create(TwoOrgs(), options));
  write = FindRole(engine->profile(), "project_write");
  ASSERT_NE(write, nullptr);
  EXPECT_THAT(write->permissions(), Not(Contains("project.workload.delete")));
  EXPECT_THAT(write->own_workload_permissions(), ::testing::IsEmpty());
  // The built-in profile itself is untouched.
  EXPECT_EQ(FindRole(BuiltinProfile(), "cloud_owner")->private_project_role(),
            "");
}

TEST(ProfileTest, IncludesCustomPermissionsAndRoles) {
  v1::PolicySet state = TwoOrgs();
  ASSERT_TRUE(google::protobuf::TextFormat::MergeFromString(
      R"pb(
        custom_permissions { name: "cloud.gpu.reserve" scope: SCOPE_TYPE_CLOUD }
        custom_roles {
          name: "gpu_reserver"
          grantable_at: SCOPE_TYPE_CLOUD
          permissions: [ "cloud.view", "cloud.gpu.reserve" ]
        }
        grants {
          id: "g_kim_gpu"
          principal_id: "usr_a_kim"
          role: "gpu_reserver"
          cloud_id: "cld_a"
        }
      )pb",
      &state));
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  EXPECT_EQ(engine->profile().roles_size(), BuiltinProfile().roles_size() + 1);
  EXPECT_EQ(engine->profile()
                .permissions(engine->profile().permissions_size() - 1)
                .name(),
            "cloud.gpu.reserve");
  ASSERT_NE(FindRole(engine->profile(), "gpu_reserver"), nullptr);
  EXPECT_THAT(CheckAt(*engine, "kim@acme.com", "cloud.gpu.reserve", "cld_a"),
              Decides(Reason::kGrant, "g_kim_gpu"));
  EXPECT_THAT(CheckAt(*engine, "usr_a_sam", "cloud.gpu.reserve", "cld_a"),
              Decides(Reason::kInsufficientRole, ""));
  // Org owners hold custom permissions too.
  EXPECT_THAT(
      CheckAt(*engine, "sam@example.com", "cloud.gpu.reserve", "prod", "org_b"),
      Decides(Reason::kOrgOwner, "g_b_sam_owner"));
}

TEST(ProfileTest, CustomBaseProfile) {
  auto profile = std::make_shared<v1::Profile>();
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "tiny"
        member_role: "member"
        permissions { name: "org.read" scope: SCOPE_TYPE_ORG }
        permissions { name: "org.admin" scope: SCOPE_TYPE_ORG }
        permissions { name: "project.run" scope: SCOPE_TYPE_PROJECT }
        roles {
          name: "member"
          grantable_at: SCOPE_TYPE_ORG
          permissions: "org.read"
        }
        roles {
          name: "runner"
          grantable_at: SCOPE_TYPE_CLOUD
          public_project_role: "run"
        }
        roles {
          name: "run"
          grantable_at: SCOPE_TYPE_PROJECT
          permissions: "project.run"
        }
      )pb",
      profile.get()));
  v1::PolicySet state;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        organizations { id: "o" }
        clouds { id: "c" org_id: "o" name: "c" }
        projects { id: "p" cloud_id: "c" name: "default" is_default: true }
        principals {
          id: "u"
          org_id: "o"
          kind: PRINCIPAL_KIND_USER
          email: "u@o.com"
        }
        grants { id: "g" principal_id: "u" role: "runner" cloud_id: "c" }
      )pb",
      &state));
  EngineOptions options;
  options.profile = profile;
  // The Anyscale options have no role to edit here and change nothing.
  options.cloud_owner_private_project_access = true;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state, options));
  EXPECT_EQ(engine->profile().name(), "tiny");
  EXPECT_THAT(CheckAt(*engine, "u", "project.run", "p"),
              Decides(Reason::kPublicProject, "g"));
  EXPECT_THAT(CheckAt(*engine, "u", "org.read", "o"),
              Decides(Reason::kOrgMember, ""));
  // No all_permissions role in this profile: an org permission nobody holds
  // is INSUFFICIENT_ROLE, not NEEDS_ORG_OWNER.
  EXPECT_THAT(CheckAt(*engine, "u", "org.admin", "o"),
              Decides(Reason::kInsufficientRole, ""));
  EXPECT_THAT(CheckAt(*engine, "u", "project.run", "o"),
              Decides(Reason::kPermissionNotApplicable, ""));
  // And the Anyscale permissions do not exist.
  EXPECT_THAT(CheckAt(*engine, "u", "org.view", "o"),
              Decides(Reason::kUnknownPermission, ""));
}

TEST(GrantInfoTest, DescribesEveryField) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(TwoOrgs()));
  EXPECT_EQ(engine->num_grants(), 9u);
  EXPECT_EQ(engine->num_principals(), 6u);
  EXPECT_EQ(engine->num_resources(), 9u);

  Decision d = CheckAt(*engine, "usr_a_kim", "cloud.members.manage", "cld_a");
  ASSERT_NE(d.grant_index, Decision::kNoGrant);
  GrantInfo info = engine->grant(d.grant_index);
  EXPECT_EQ(info.id, "g_kim_owner_until");
  EXPECT_EQ(info.subject_id, "usr_a_kim");
  EXPECT_FALSE(info.subject_is_group);
  EXPECT_EQ(info.role, "cloud_owner");
  EXPECT_EQ(info.scope_id, "cld_a");
  EXPECT_EQ(info.scope_type, v1::SCOPE_TYPE_CLOUD);
  EXPECT_EQ(info.source, GrantSource::kDirect);
  ASSERT_TRUE(info.expires_at.has_value());
  EXPECT_EQ(*info.expires_at, kExpiry);

  d = CheckAt(*engine, "lee@acme.com", "cloud.view", "cld_a");
  info = engine->grant(d.grant_index);
  EXPECT_EQ(info.id, "g_ml_prod");
  EXPECT_EQ(info.subject_id, "grp_a_ml");
  EXPECT_TRUE(info.subject_is_group);
  EXPECT_EQ(info.source, GrantSource::kGroup);
  EXPECT_EQ(d.source, GrantSource::kGroup);
  EXPECT_FALSE(info.expires_at.has_value());

  d = CheckAt(*engine, "sam@example.com", "org.view", "org_b", "org_b");
  info = engine->grant(d.grant_index);
  EXPECT_EQ(info.scope_type, v1::SCOPE_TYPE_ORG);
  EXPECT_EQ(info.scope_id, "org_b");

  // Every index describes a grant of the state, each exactly once.
  std::set<std::string> ids;
  for (uint32_t i = 0; i < engine->num_grants(); ++i) {
    ids.insert(std::string(engine->grant(i).id));
  }
  std::set<std::string> want;
  const v1::PolicySet state = TwoOrgs();
  for (const v1::Grant& g : state.grants()) want.insert(g.id());
  EXPECT_EQ(ids, want);
  // Out of range: an empty description.
  EXPECT_TRUE(engine->grant(engine->num_grants()).id.empty());
  EXPECT_TRUE(engine->grant(Decision::kNoGrant).id.empty());
}

// ---------------------------------------------------------------------------
// The grant scan. Check compares a subject's scopes with the request's path
// several at a time, reading past the end of short spans and masking the
// excess off; long spans are binary-searched.

// Users u1..u20 in one organization, each with a cloud grant and then n
// project grants on consecutive private projects: user n's span holds n + 1
// grants, so spans of every length up to the linear-scan limit and beyond
// are laid out back to back, each followed by the next user's grants (and
// the last by the padding).
v1::PolicySet ConsecutiveSpans(int users) {
  v1::PolicySet state;
  state.set_revision(1);
  v1::Organization* org = state.add_organizations();
  org->set_id("org");
  org->set_name("org");
  v1::Cloud* cloud = state.add_clouds();
  cloud->set_id("cld");
  cloud->set_org_id("org");
  cloud->set_name("cld");
  v1::Project* home = state.add_projects();
  home->set_id("prj_0999");
  home->set_cloud_id("cld");
  home->set_name("default");
  home->set_is_default(true);
  const int projects = users * (users + 1) / 2 + 1;
  for (int i = 0; i < projects; ++i) {
    v1::Project* p = state.add_projects();
    p->set_id(absl::StrCat("prj_", 1000 + i));  // ids sort like indices
    p->set_cloud_id("cld");
    p->set_name(absl::StrCat("p", i));
    p->set_visibility(v1::VISIBILITY_PRIVATE);
  }
  int next = 0;
  for (int n = 1; n <= users; ++n) {
    const std::string user = absl::StrCat("usr_", 100 + n);
    v1::Principal* u = state.add_principals();
    u->set_id(user);
    u->set_org_id("org");
    u->set_kind(v1::PRINCIPAL_KIND_USER);
    u->set_email(absl::StrCat(user, "@example.com"));
    v1::Grant* c = state.add_grants();
    c->set_id(absl::StrCat("g_", user, "_cloud"));
    c->set_principal_id(user);
    c->set_role("cloud_collaborator");
    c->set_cloud_id("cld");
    for (int j = 0; j < n; ++j, ++next) {
      v1::Grant* g = state.add_grants();
      g->set_id(absl::StrCat("g_", user, "_", 1000 + next));
      g->set_principal_id(user);
      g->set_role("project_readonly");
      g->set_project_id(absl::StrCat("prj_", 1000 + next));
    }
  }
  return state;
}

TEST(GrantScanTest, FindsEveryGrantOfEverySpanAndNoNeighbours) {
  constexpr int kUsers = 20;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(ConsecutiveSpans(kUsers)));
  const int projects = kUsers * (kUsers + 1) / 2 + 1;
  int first = 0;  // user n holds projects [first, first + n)
  for (int n = 1; n <= kUsers; ++n) {
    const std::string user = absl::StrCat("usr_", 100 + n);
    for (int p = 0; p < projects; ++p) {
      const std::string project = absl::StrCat("prj_", 1000 + p);
      const Decision d = CheckAt(*engine, user, "project.view", project);
      SCOPED_TRACE(absl::StrCat(user, " on ", project));
      if (p >= first && p < first + n) {
        EXPECT_EQ(d.reason, Reason::kGrant);
        EXPECT_EQ(d.grant_id, absl::StrCat("g_", user, "_", 1000 + p));
      } else {
        // Private projects: the cloud grant alone implies nothing, and a
        // neighbour's grant must never be read as this user's.
        EXPECT_EQ(d.reason, Reason::kNoProjectGrant);
      }
    }
    first += n;
  }
}

// ---------------------------------------------------------------------------
// Explain.

TEST(ExplainTest, DecisionAlwaysEqualsCheck) {
  v1::PolicySet state = RulesOrg();
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  std::vector<GridRequest> grid = Grid(state);
  // Plus requests that fail to resolve.
  grid.push_back({"nobody", "cloud.view", "cld_main"});
  grid.push_back({"usr_cw", "cloud.fly", "cld_main"});
  grid.push_back({"usr_cw", "cloud.view", "main/nope"});
  for (const GridRequest& g : grid) {
    for (Channel channel : {Channel::kApi, Channel::kConsole}) {
      AccessRequest r;
      r.principal = g.principal;
      r.permission = g.permission;
      r.resource = g.resource;
      r.context.channel = channel;
      r.context.now = absl::FromUnixSeconds(1767225600);
      const Decision check = engine->Check(r);
      const Explanation e = engine->Explain(r);
      ASSERT_EQ(e.decision, check)
          << g.principal << " " << g.permission << " " << g.resource << "\n"
          << e.ToString();
      ASSERT_FALSE(e.steps.empty());
      // The last step states the verdict.
      const bool unresolved = check.reason >= Reason::kUnknownPrincipal &&
                              check.reason <= Reason::kStaleReference;
      ASSERT_TRUE(unresolved ||
                  absl::StartsWith(e.steps.back(),
                                   check.allowed() ? "ALLOW: " : "DENY: "))
          << e.ToString();
      if (!check.grant_id.empty()) {
        ASSERT_THAT(e.steps.back(), HasSubstr(std::string(check.grant_id)))
            << e.ToString();
      }
    }
  }
}

Explanation ExplainRules(const Engine& engine, absl::string_view principal,
                         absl::string_view permission,
                         absl::string_view resource) {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.context.now = absl::FromUnixSeconds(1767225600);
  return engine.Explain(r);
}

class ExplainTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(engine_, Engine::Create(RulesOrg()));
  }
  std::unique_ptr<const Engine> engine_;
};

TEST_F(ExplainTextTest, NamesTheDecidingGrant) {
  Explanation e =
      ExplainRules(*engine_, "nested@acme.com", "project.view", "main/ml");
  EXPECT_THAT(e.decision, Decides(Reason::kGrant, "g_team_ml"));
  EXPECT_EQ(e.principal_id, "usr_nested");
  EXPECT_EQ(e.resource_id, "prj_priv");
  EXPECT_EQ(e.anchor_id, "prj_priv");
  EXPECT_THAT(e.groups, ElementsAre("grp_sub", "grp_team"));
  EXPECT_THAT(e.steps.back(),
              HasSubstr("grant g_team_ml (project_write on project prj_priv, "
                        "via group grp_team) holds the permission"));
  std::string text = e.ToString();
  EXPECT_THAT(text, HasSubstr("ALLOW GRANT (grant g_team_ml)"));
  bool decided = false;
  for (const ConsideredGrant& g : e.grants) {
    if (g.grant_id == "g_team_ml") {
      decided = true;
      EXPECT_TRUE(g.via_group);
      EXPECT_EQ(g.subject_id, "grp_team");
      EXPECT_EQ(g.scope_type, "project");
      EXPECT_TRUE(g.matches_permission);
      EXPECT_THAT(g.note, HasSubstr("decided"));
    }
  }
  EXPECT_TRUE(decided) << text;
}

TEST_F(ExplainTextTest, AnchorsAWorkloadAtItsProject) {
  Explanation e = ExplainRules(*engine_, "usr_pw", "project.workload.delete",
                               "main/ml/pw-job");
  EXPECT_THAT(e.decision, Decides(Reason::kOwnWorkload, "g_pw_ml"));
  EXPECT_EQ(e.resource_id, "wl_pw_job");
  EXPECT_EQ(e.anchor_id, "prj_priv");
  EXPECT_THAT(e.steps.back(), HasSubstr("created this workload"));
  EXPECT_THAT(e.ToString(),
              HasSubstr("only on workloads the principal created"));
}

TEST_F(ExplainTextTest, NamesTheSubtractingDenyRole) {
  Explanation e =
      ExplainRules(*engine_, "usr_crd", "cloud.projects.create", "cld_main");
  EXPECT_THAT(e.decision, Decides(Reason::kDenyRole, "g_crd_read_only"));
  EXPECT_THAT(
      e.steps.back(),
      HasSubstr("deny role: grant g_crd_read_only (cloud_read_only on "
                "cloud cld_main, to usr_crd) subtracts the permission"));
  bool deny = false;
  for (const ConsideredGrant& g : e.grants) {
    if (g.grant_id == "g_crd_read_only") {
      deny = true;
      EXPECT_TRUE(g.deny_role);
      EXPECT_TRUE(g.matches_permission);
    }
  }
  EXPECT_TRUE(deny);
  // The cap on implicit public-project access names the same grant.
  e = ExplainRules(*engine_, "usr_crd", "project.workload.create", "prj_pub");
  EXPECT_THAT(e.decision, Decides(Reason::kDenyRole, "g_crd_read_only"));
  EXPECT_THAT(
      e.steps.back(),
      HasSubstr("deny role: grant g_crd_read_only (cloud_read_only on "
                "cloud cld_main, to usr_crd) caps implied project roles "
                "at project_readonly, which lacks the permission"));
  EXPECT_THAT(e.ToString(), HasSubstr("caps implied project roles at "
                                      "project_readonly"));
  // An exempt deny grant says so.
  e = ExplainRules(*engine_, "usr_oo_ro", "cloud.projects.create", "cld_main");
  EXPECT_THAT(e.decision, Decides(Reason::kOrgOwner, "g_oo_ro_owner"));
  EXPECT_THAT(e.ToString(), HasSubstr("exempt"));
}

TEST_F(ExplainTextTest, NamesTheMissingPrerequisite) {
  Explanation e = ExplainRules(*engine_, "usr_oc", "project.view", "main/web");
  EXPECT_THAT(e.decision, Decides(Reason::kNoCloudGrant, ""));
  EXPECT_THAT(e.steps.back(),
              HasSubstr("missing prerequisite: no live grant on cloud "
                        "cld_main (main)"));
  e = ExplainRules(*engine_, "usr_expired", "project.view", "prj_priv");
  EXPECT_THAT(e.decision, Decides(Reason::kNoCloudGrant, ""));
  EXPECT_THAT(e.steps.back(), HasSubstr("missing prerequisite"));
  EXPECT_THAT(e.ToString(), HasSubstr("g_expired_main"));
  e = ExplainRules(*engine_, "usr_co", "project.view", "prj_priv");
  EXPECT_THAT(e.decision, Decides(Reason::kNoProjectGrant, ""));
  EXPECT_THAT(e.steps.back(), HasSubstr("private"));
}

TEST_F(ExplainTextTest, ExplainsUnresolvedRequests) {
  Explanation e = ExplainRules(*engine_, "ghost@acme.com", "cloud.view", "x");
  EXPECT_THAT(e.decision, Decides(Reason::kUnknownPrincipal, ""));
  EXPECT_THAT(e.ToString(), HasSubstr("ghost@acme.com"));
  e = ExplainRules(*engine_, "usr_cw", "cloud.fly", "cld_main");
  EXPECT_THAT(e.decision, Decides(Reason::kUnknownPermission, ""));
  EXPECT_THAT(e.ToString(), HasSubstr("cloud.fly"));
  e = ExplainRules(*engine_, "usr_cw", "cloud.view", "main/nope");
  EXPECT_THAT(e.decision, Decides(Reason::kUnknownResource, ""));
  EXPECT_THAT(e.ToString(), HasSubstr("main/nope"));
}

// ---------------------------------------------------------------------------
// Concurrency: one Engine, many threads, identical answers.

TEST(ConcurrencyTest, ThreadsGetIdenticalAnswers) {
  v1::PolicySet state = RulesOrg();
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  const std::vector<GridRequest> grid = Grid(state);
  std::vector<Decision> expected;
  expected.reserve(grid.size());
  for (const GridRequest& g : grid) expected.push_back(GridCheck(*engine, g));

  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread walks the grid from a different offset, by name and by
      // handle.
      for (size_t n = 0; n < grid.size(); ++n) {
        const size_t i = (n + t * grid.size() / kThreads) % grid.size();
        const GridRequest& g = grid[i];
        if (GridCheck(*engine, g) != expected[i]) ++mismatches[t];
        absl::optional<PrincipalRef> p = engine->FindPrincipal(g.principal);
        absl::optional<PermissionRef> k = engine->FindPermission(g.permission);
        absl::optional<ResourceRef> r = engine->FindResource(g.resource);
        RequestContext context;
        context.now = absl::FromUnixSeconds(1767225600);
        if (!p || !k || !r ||
            engine->Check(*p, *k, *r, context) != expected[i]) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << t;
}

// ---------------------------------------------------------------------------
// EngineHolder.

TEST(EngineHolderTest, EmptyHolderFailsClosed) {
  EngineHolder holder;
  EXPECT_EQ(holder.Get(), nullptr);
  AccessRequest r;
  r.principal = "usr_a_sam";
  r.permission = "cloud.view";
  r.resource = "cld_a";
  HeldDecision held = holder.Check(r);
  EXPECT_FALSE(held.allowed());
  EXPECT_EQ(held.decision.reason, Reason::kInternalError);
  EXPECT_EQ(held.engine, nullptr);
  EXPECT_THAT(holder.Publish(nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("null engine")));
  EXPECT_EQ(holder.Get(), nullptr);
}

TEST(EngineHolderTest, RefusesRevisionsThatAreNotNewer) {
  EngineHolder holder;
  v1::PolicySet with = TwoOrgs();  // revision 3: sam may view cld_a
  ASSERT_OK(holder.Update(with));
  v1::PolicySet revoked = TwoOrgs();
  revoked.set_revision(4);
  revoked.mutable_grants()->DeleteSubrange(0, 2);  // sam loses prod
  ASSERT_OK(holder.Update(revoked));
  std::shared_ptr<const Engine> current = holder.Get();

  AccessRequest r;
  r.principal = "usr_a_sam";
  r.permission = "cloud.view";
  r.resource = "cld_a";
  // A writer replaying the older, more permissive state cannot undo the
  // revocation, by Update or by Publish, nor can an equal revision replace
  // the current engine.
  for (uint64_t rev : {3u, 4u}) {
    with.set_revision(rev);
    EXPECT_THAT(holder.Update(with),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("not newer than the current revision 4")));
    auto engine = Engine::Create(with);
    ASSERT_OK(engine.status());
    EXPECT_THAT(holder.Publish(std::shared_ptr<const Engine>(std::move(*engine))),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not newer")));
    EXPECT_EQ(holder.Get(), current);
    EXPECT_FALSE(holder.Check(r).allowed());
  }
  with.set_revision(5);
  ASSERT_OK(holder.Update(with));
  EXPECT_TRUE(holder.Check(r).allowed());

  // A tool may go back when it asks to.
  EngineHolder tool(EngineHolder::Options{/*allow_rollback=*/true});
  ASSERT_OK(tool.Update(revoked));
  with.set_revision(3);
  ASSERT_OK(tool.Update(with));
  EXPECT_EQ(tool.Get()->revision(), 3u);
  EXPECT_TRUE(tool.Check(r).allowed());
}

TEST(EngineHolderTest, UpdateKeepsTheOldEngineOnAFailedCompile) {
  EngineHolder holder;
  ASSERT_OK(holder.Update(TwoOrgs()));
  std::shared_ptr<const Engine> first = holder.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->revision(), 3u);

  AccessRequest r;
  r.principal = "usr_a_sam";
  r.permission = "cloud.view";
  r.resource = "cld_a";
  EXPECT_THAT(holder.Check(r).decision,
              Decides(Reason::kGrant, "g_a_sam_prod"));

  v1::PolicySet broken = TwoOrgs();
  broken.set_revision(4);
  broken.mutable_grants(0)->set_role("superuser");
  EXPECT_THAT(holder.Update(broken),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown role \"superuser\"")));
  EXPECT_EQ(holder.Get(), first);
  EXPECT_EQ(holder.Check(r).decision.revision, 3u);

  v1::PolicySet next = TwoOrgs();
  next.set_revision(5);
  next.mutable_grants()->DeleteSubrange(0, 2);  // sam loses prod
  ASSERT_OK(holder.Update(next));
  EXPECT_EQ(holder.Get()->revision(), 5u);
  HeldDecision held = holder.Check(r);
  EXPECT_THAT(held.decision, Decides(Reason::kNoCloudGrant, ""));
  EXPECT_EQ(held.decision.revision, 5u);
  EXPECT_EQ(held.engine, holder.Get());
  // A reader holding the old engine keeps using it.
  EXPECT_THAT(first->Check(r), Decides(Reason::kGrant, "g_a_sam_prod"));
  // Handles of the old engine are stale in the new one.
  EXPECT_THAT(holder.Get()->Check(*first->FindPrincipal("usr_a_sam"),
                                  *first->FindPermission("cloud.view"),
                                  *first->FindResource("cld_a")),
              Decides(Reason::kStaleReference, ""));
}

TEST(EngineHolderTest, ReadersSeeWholeSnapshotsDuringUpdates) {
  v1::PolicySet with = TwoOrgs();
  v1::PolicySet without = TwoOrgs();
  without.mutable_grants()->DeleteSubrange(0, 2);
  EngineHolder holder;
  with.set_revision(0);
  ASSERT_OK(holder.Update(with));

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      AccessRequest r;
      r.principal = "usr_a_sam";
      r.permission = "cloud.view";
      r.resource = "cld_a";
      while (!stop.load()) {
        const Decision d = holder.Check(r).decision;
        // Even revisions grant, odd ones do not.
        if (d.allowed() != (d.revision % 2 == 0)) bad.fetch_add(1);
      }
    });
  }
  for (uint64_t rev = 1; rev <= 40; ++rev) {
    v1::PolicySet& s = rev % 2 == 0 ? with : without;
    s.set_revision(rev);
    ASSERT_OK(holder.Update(s));
  }
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(holder.Get()->revision(), 40u);
}

// ---------------------------------------------------------------------------
// Decision basics.

TEST(DecisionTest, ReasonNamesRoundTripAndImplyTheEffect) {
  for (int i = 0; i <= static_cast<int>(Reason::kInternalError); ++i) {
    const Reason reason = static_cast<Reason>(i);
    Reason parsed;
    ASSERT_TRUE(ParseReason(ReasonName(reason), &parsed)) << i;
    EXPECT_EQ(parsed, reason);
  }
  Reason parsed;
  EXPECT_FALSE(ParseReason("ALLOW", &parsed));
  EXPECT_EQ(EffectOf(Reason::kOwnWorkload), Effect::kAllow);
  EXPECT_EQ(EffectOf(Reason::kUnknownPrincipal), Effect::kDeny);
  EXPECT_EQ(EffectOf(Reason::kInternalError), Effect::kDeny);
  // A default Decision denies.
  EXPECT_FALSE(Decision().allowed());
}

}  // namespace
}  // namespace arbiter
