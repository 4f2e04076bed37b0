// Cloud IAM mapping through the public API (Engine::ResolveIam and
// Engine::ExplainIam): every rule of access-model.md §6.3, the §6.6 worked
// example, compute-config precedence (§12 row 3), resolution failures and
// the RBAC permission that guards the configuration (§12 row 2).

#include "arbiter/iam_mapping.h"

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/iam/iam_test_state.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IamTestState;
using ::arbiter::testing::IamTestStateWithOtherOrg;
using ::arbiter::testing::SetIamRules;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

using Rules = std::vector<std::pair<std::string, std::string>>;

WorkloadAttributes Workload(absl::string_view cloud, v1::WorkloadType type,
                            absl::string_view project, absl::string_view user) {
  WorkloadAttributes w;
  w.cloud = cloud;
  w.type = type;
  w.project = project;
  w.user = user;
  return w;
}

constexpr auto kJob = v1::WORKLOAD_TYPE_JOB;
constexpr auto kService = v1::WORKLOAD_TYPE_SERVICE;
constexpr auto kWorkspace = v1::WORKLOAD_TYPE_WORKSPACE;
constexpr auto kCluster = v1::WORKLOAD_TYPE_CLUSTER;

// Checks outcome, reason, identity and rule index, and that ExplainIam
// agrees with ResolveIam.
void ExpectIam(const Engine& engine, const WorkloadAttributes& w,
               IamOutcome outcome, IamReason reason, absl::string_view identity,
               int rule_index) {
  const IamDecision d = engine.ResolveIam(w);
  EXPECT_EQ(d.outcome, outcome) << d;
  EXPECT_EQ(d.reason, reason) << d;
  EXPECT_EQ(d.identity, identity) << d;
  EXPECT_EQ(d.rule_index, rule_index) << d;
  EXPECT_EQ(d.revision, engine.revision());
  if (outcome == IamOutcome::kFail) {
    EXPECT_TRUE(d.identity.empty());
  }
  const IamExplanation e = engine.ExplainIam(w);
  EXPECT_EQ(e.decision, d) << e.ToString();
  if (reason == IamReason::kRuleMatched) {
    ASSERT_FALSE(e.rules.empty());
    EXPECT_TRUE(e.rules.back().matched);
    EXPECT_EQ(e.rules.back().rule_index, rule_index);
    EXPECT_EQ(static_cast<int>(e.rules.size()), rule_index + 1);
  }
}

void ExpectMapped(const Engine& engine, const WorkloadAttributes& w,
                  absl::string_view identity, int rule_index) {
  ExpectIam(engine, w, IamOutcome::kMapped, IamReason::kRuleMatched, identity,
            rule_index);
}

void ExpectCloudDefault(const Engine& engine, const WorkloadAttributes& w,
                        absl::string_view identity) {
  ExpectIam(engine, w, IamOutcome::kCloudDefault, IamReason::kNoRuleMatched,
            identity, -1);
}

void ExpectFail(const Engine& engine, const WorkloadAttributes& w,
                IamReason reason) {
  ExpectIam(engine, w, IamOutcome::kFail, reason, "", -1);
}

std::unique_ptr<const Engine> Compile(const v1::PolicySet& state,
                                      const EngineOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

std::unique_ptr<const Engine> CompileRules(
    const Rules& rules,
    v1::IamMapping::DefaultBehavior behavior = v1::IamMapping::CLOUD_DEFAULT,
    const EngineOptions& options = {}, bool other_org = false) {
  v1::PolicySet state = other_org ? IamTestStateWithOtherOrg() : IamTestState();
  SetIamRules(&state, "cld_a", rules, behavior);
  return Compile(state, options);
}

TEST(IamMappingTest, ResolveIsNoexcept) {
  static_assert(noexcept(std::declval<const Engine&>().ResolveIam(
                    std::declval<const WorkloadAttributes&>())),
                "ResolveIam must not throw");
}

// ---- access-model.md §6.6, on the demo organization's cloud "prod" ----

TEST(IamMappingTest, WorkedExampleOnTheDemo) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  ExpectMapped(*engine, Workload("prod", kJob, "ml-prod", "dave@acme.com"),
               "etl-role", 0);  // rule 1 comes first
  ExpectMapped(*engine,
               Workload("prod", kWorkspace, "ml-prod", "dave@acme.com"),
               "ml-role", 1);
  ExpectMapped(
      *engine,
      Workload("prod", kService, "web", "ci@org-123.serviceaccount.com"),
      "ci-role", 2);
  ExpectCloudDefault(*engine,
                     Workload("prod", kWorkspace, "web", "alice@acme.com"),
                     "cld_prod-cluster_node_role");
}

TEST(IamMappingTest, WorkedExampleWithDefaultFail) {
  v1::PolicySet state = DemoPolicySet();
  state.mutable_clouds(0)->mutable_iam_mapping()->set_default_behavior(
      v1::IamMapping::FAIL);
  auto engine = Compile(state);
  ASSERT_NE(engine, nullptr);
  ExpectFail(*engine, Workload("prod", kWorkspace, "web", "alice@acme.com"),
             IamReason::kNoRuleMatched);
  ExpectMapped(*engine, Workload("prod", kJob, "web", "alice@acme.com"),
               "etl-role", 0);
}

TEST(IamMappingTest, DemoResearchCloud) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  ExpectMapped(*engine,
               Workload("research", kJob, "ml-research", "Grace@ACME.com"),
               "research-role", 0);
  ExpectMapped(*engine, Workload("research", kWorkspace, "", "grace@acme.com"),
               "notebook-role", 1);
  ExpectFail(*engine, Workload("research", kWorkspace, "", "mallory@acme.com"),
             IamReason::kNoRuleMatched);
  ExpectFail(*engine,
             Workload("research", kJob, "ml-research",
                      "ci@org-123.serviceaccount.com"),
             IamReason::kNoRuleMatched);
  // Not a member: no rule is consulted, whatever would match the email.
  ExpectFail(*engine, Workload("research", kJob, "ml-research", "eve@acme.com"),
             IamReason::kUnknownPrincipal);
  ExpectFail(*engine,
             Workload("research", kJob, "ml-research", "judy@acme.com"),
             IamReason::kPrincipalDeleted);
  ExpectFail(*engine,
             Workload("research", kJob, "ml-research", "ivan@acme.com"),
             IamReason::kPrincipalInvited);
}

// ---- Matching semantics (§6.3) ----

TEST(IamMappingTest, FirstMatchWinsInListOrder) {
  const WorkloadAttributes w = Workload("alpha", kJob, "web", "bob@acme.com");
  auto forward = CompileRules({{"project=ml-prod", "ml-role"},
                               {"workload-type=job", "job-role"},
                               {"user=bob@acme.com", "bob-role"}});
  ExpectMapped(*forward, w, "job-role", 1);
  auto reversed = CompileRules(
      {{"user=bob@acme.com", "bob-role"}, {"workload-type=job", "job-role"}});
  ExpectMapped(*reversed, w, "bob-role", 0);
}

TEST(IamMappingTest, NoMatchUsesDefaultBehavior) {
  const WorkloadAttributes w = Workload("alpha", kJob, "web", "bob@acme.com");
  ExpectCloudDefault(*CompileRules({{"project=ml-prod", "ml-role"}}), w,
                     "cld_a-cluster_node_role");
  ExpectFail(
      *CompileRules({{"project=ml-prod", "ml-role"}}, v1::IamMapping::FAIL), w,
      IamReason::kNoRuleMatched);
  // Unset default behaviour means CLOUD_DEFAULT.
  ExpectCloudDefault(
      *CompileRules({{"project=ml-prod", "ml-role"}},
                    v1::IamMapping::DEFAULT_BEHAVIOR_UNSPECIFIED),
      w, "cld_a-cluster_node_role");
}

TEST(IamMappingTest, CloudWithoutMappingUsesItsDefault) {
  auto engine = CompileRules({}, v1::IamMapping::CLOUD_DEFAULT, {},
                             /*other_org=*/true);
  ExpectCloudDefault(*engine, Workload("cld_a", kJob, "", "bob@acme.com"),
                     "cld_a-cluster_node_role");
  // cld_x records no default identity: CLOUD_DEFAULT with an empty identity.
  WorkloadAttributes w = Workload("cld_x", kJob, "", "zed@other.com");
  ExpectCloudDefault(*engine, w, "");
}

TEST(IamMappingTest, EmptySelectorMatchesEverything) {
  auto engine = CompileRules({{"", "catch-all"}}, v1::IamMapping::FAIL);
  for (v1::WorkloadType type : {kJob, kService, kWorkspace, kCluster}) {
    ExpectMapped(*engine, Workload("alpha", type, "web", "bob@acme.com"),
                 "catch-all", 0);
  }
  ExpectMapped(*CompileRules({{"   ", "catch-all"}}),
               Workload("alpha", kJob, "", "bob@acme.com"), "catch-all", 0);
}

TEST(IamMappingTest, CommasAndRequirements) {
  auto engine = CompileRules({{"workload-type=job,project=ml-prod", "both"},
                              {"workload-type=job", "job-only"}});
  ExpectMapped(*engine, Workload("alpha", kJob, "ml-prod", "bob@acme.com"),
               "both", 0);
  ExpectMapped(*engine, Workload("alpha", kJob, "web", "bob@acme.com"),
               "job-only", 1);
  ExpectCloudDefault(*engine,
                     Workload("alpha", kService, "ml-prod", "bob@acme.com"),
                     "cld_a-cluster_node_role");
  // Contradictory requirements never match.
  ExpectCloudDefault(*CompileRules({{"project=web,project=ml-prod", "never"}}),
                     Workload("alpha", kJob, "web", "bob@acme.com"),
                     "cld_a-cluster_node_role");
}

TEST(IamMappingTest, EveryOperator) {
  struct Case {
    const char* selector;
    bool matches_web_job;  // a job in "web" by bob
  };
  const Case cases[] = {
      {"project=web", true},
      {"project==web", true},
      {"project!=web", false},
      {"project!=ml-prod", true},
      {"project in (ml-prod, web)", true},
      {"project in (ml-prod)", false},
      {"project notin (ml-prod)", true},
      {"project notin (web,ml-prod)", false},
      {"project", true},
      {"!project", false},
      {"user", true},
      {"!user", false},
      {"workload-type", true},
      {"!workload-type", false},
      {"project~=w.b", true},
      {"project~=we", false},  // full match, not a substring
      {"user~=.*@acme\\.com", true},
      {"user~=.*@ACME\\.COM", true},  // user patterns ignore case
      {"user~=bob@acme\\.co", false},
      {"workload-type~=j.*", true},
      {"workload-type~=s.*", false},
      {"project~=(web|ml-prod),workload-type in (job,service)", true},
      {"project~=x{1,3}|web", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.selector);
    auto engine = CompileRules({{c.selector, "hit"}});
    ASSERT_NE(engine, nullptr);
    const IamDecision d =
        engine->ResolveIam(Workload("alpha", kJob, "web", "bob@acme.com"));
    EXPECT_EQ(d.outcome == IamOutcome::kMapped, c.matches_web_job) << d;
  }
}

TEST(IamMappingTest, UsersCompareCaseInsensitively) {
  auto engine =
      CompileRules({{"user=CI@Org-Acme.ServiceAccount.com", "ci-role"},
                    {"user in (ALICE@acme.COM)", "alice-role"},
                    {"user notin (bob@ACME.com)", "not-bob"}});
  ExpectMapped(*engine,
               Workload("alpha", kJob, "", "ci@org-acme.serviceaccount.com"),
               "ci-role", 0);
  ExpectMapped(*engine,
               Workload("alpha", kJob, "", "CI@ORG-ACME.SERVICEACCOUNT.COM"),
               "ci-role", 0);
  ExpectMapped(*engine, Workload("alpha", kJob, "", "alice@ACME.com"),
               "alice-role", 1);
  ExpectCloudDefault(*engine, Workload("alpha", kJob, "", "Bob@Acme.Com"),
                     "cld_a-cluster_node_role");
  ExpectMapped(*engine, Workload("alpha", kJob, "", "carol@acme.com"),
               "not-bob", 2);
}

TEST(IamMappingTest, UserGivenAsPrincipalIdUsesItsEmail) {
  auto engine = CompileRules(
      {{"user=alice@acme.com", "alice-role"}, {"user~=ci@.*", "ci-role"}});
  ExpectMapped(*engine, Workload("alpha", kJob, "", "usr_alice"), "alice-role",
               0);
  ExpectMapped(*engine, Workload("alpha", kJob, "", "sa_ci"), "ci-role", 1);
  const IamExplanation e =
      engine->ExplainIam(Workload("alpha", kJob, "", "usr_alice"));
  EXPECT_EQ(e.user, "alice@acme.com");
  // A re-invited user: the live principal's email is the one that counts,
  // and the deleted account cannot launch.
  ExpectMapped(*CompileRules({{"user=bob@acme.com", "bob-role"}}),
               Workload("alpha", kJob, "", "usr_bob"), "bob-role", 0);
  ExpectFail(*CompileRules({{"user=bob@acme.com", "bob-role"}}),
             Workload("alpha", kJob, "", "usr_bob_old"),
             IamReason::kPrincipalDeleted);
}

TEST(IamMappingTest, InvalidUsersFail) {
  auto engine = CompileRules({{"user notin (mallory@acme.com)", "not-mallory"}},
                             v1::IamMapping::CLOUD_DEFAULT, {},
                             /*other_org=*/true);
  for (absl::string_view user :
       {absl::string_view(""), absl::string_view("mallory"),
        absl::string_view("usr_nobody"), absl::string_view("mallory@acme.com "),
        absl::string_view(" mallory@acme.com"), absl::string_view("a@b@c"),
        absl::string_view("@acme.com"), absl::string_view("mallory@"),
        absl::string_view("mal\nlory@acme.com"),
        // An id that is not a principal.
        absl::string_view("prj_a_web")}) {
    SCOPED_TRACE(user);
    ExpectFail(*engine, Workload("cld_a", kJob, "", user),
               IamReason::kInvalidUser);
  }
  // Malformed users fail before the option that matches unknown emails.
  EngineOptions options;
  options.iam_match_unknown_users = true;
  auto lenient =
      CompileRules({{"user notin (mallory@acme.com)", "not-mallory"}},
                   v1::IamMapping::CLOUD_DEFAULT, options);
  ExpectFail(*lenient, Workload("cld_a", kJob, "", "mallory@acme.com "),
             IamReason::kInvalidUser);
  ExpectFail(*lenient, Workload("cld_a", kJob, "", "usr_nobody"),
             IamReason::kInvalidUser);
  ExpectCloudDefault(*lenient, Workload("cld_a", kJob, "", "Mallory@Acme.com"),
                     "cld_a-cluster_node_role");
}

// ---- The user must be a live member of the cloud's organization ----

// A pattern that selects a domain, as an admin would write it for CI.
std::unique_ptr<const Engine> CiDeployerEngine(EngineOptions options = {}) {
  v1::PolicySet state = IamTestStateWithOtherOrg();
  const struct {
    const char* id;
    const char* org;
    const char* email;
    v1::PrincipalState state;
  } kCi[] = {
      {"sa_deploy", "org_acme", "deploy@ci.nimbus.io",
       v1::PRINCIPAL_STATE_ACTIVE},
      {"sa_gone", "org_acme", "gone@ci.nimbus.io", v1::PRINCIPAL_STATE_DELETED},
      {"sa_new", "org_acme", "new@ci.nimbus.io", v1::PRINCIPAL_STATE_INVITED},
      // Deleted in acme, live in the other organization.
      {"sa_moved", "org_acme", "moved@ci.nimbus.io",
       v1::PRINCIPAL_STATE_DELETED},
      {"sa_moved_other", "org_other", "moved@ci.nimbus.io",
       v1::PRINCIPAL_STATE_ACTIVE},
      {"sa_ops_other", "org_other", "ops@ci.nimbus.io",
       v1::PRINCIPAL_STATE_ACTIVE},
  };
  for (const auto& c : kCi) {
    v1::Principal* p = state.add_principals();
    p->set_id(c.id);
    p->set_org_id(c.org);
    p->set_kind(v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
    p->set_email(c.email);
    p->set_state(c.state);
  }
  SetIamRules(&state, "cld_a", {{"user~=.*@ci\\.nimbus\\.io", "ci-deployer"}});
  SetIamRules(&state, "cld_x", {{"user~=.*@ci\\.nimbus\\.io", "x-deployer"}});
  return Compile(state, options);
}

TEST(IamMappingTest, UnknownUserFailsEvenWhenAPatternMatches) {
  auto engine = CiDeployerEngine();
  ASSERT_NE(engine, nullptr);
  ExpectMapped(*engine, Workload("cld_a", kJob, "", "deploy@ci.nimbus.io"),
               "ci-deployer", 0);
  ExpectMapped(*engine, Workload("cld_a", kJob, "", "sa_deploy"), "ci-deployer",
               0);
  const WorkloadAttributes evil =
      Workload("cld_a", kJob, "", "Evil@CI.nimbus.io");
  ExpectFail(*engine, evil, IamReason::kUnknownPrincipal);
  const IamExplanation e = engine->ExplainIam(evil);
  EXPECT_EQ(e.user, "evil@ci.nimbus.io");
  EXPECT_TRUE(e.rules.empty());
  EXPECT_THAT(e.ToString(), HasSubstr("FAIL (UNKNOWN_PRINCIPAL"));
  EXPECT_THAT(e.ToString(), HasSubstr("no principal has this email"));
  // Also when the cloud would hand out its default identity.
  ExpectFail(*engine, Workload("cld_b", kJob, "", "evil@ci.nimbus.io"),
             IamReason::kUnknownPrincipal);
}

TEST(IamMappingTest, DeletedAndInvitedPrincipalsFail) {
  auto engine = CiDeployerEngine();
  ASSERT_NE(engine, nullptr);
  for (absl::string_view user : {"gone@ci.nimbus.io", "GONE@ci.nimbus.io",
                                 "sa_gone", "moved@ci.nimbus.io", "sa_moved"}) {
    SCOPED_TRACE(user);
    ExpectFail(*engine, Workload("cld_a", kJob, "", user),
               IamReason::kPrincipalDeleted);
  }
  for (absl::string_view user : {"new@ci.nimbus.io", "sa_new"}) {
    SCOPED_TRACE(user);
    ExpectFail(*engine, Workload("cld_a", kJob, "", user),
               IamReason::kPrincipalInvited);
  }
  const IamExplanation e =
      engine->ExplainIam(Workload("cld_a", kJob, "", "sa_gone"));
  EXPECT_EQ(e.user, "gone@ci.nimbus.io");
  EXPECT_THAT(e.ToString(), HasSubstr("FAIL (PRINCIPAL_DELETED"));
  EXPECT_THAT(e.ToString(), HasSubstr("deleted principal"));
}

TEST(IamMappingTest, UsersOfAnotherOrganizationFail) {
  auto engine = CiDeployerEngine();
  ASSERT_NE(engine, nullptr);
  for (absl::string_view user :
       {"ops@ci.nimbus.io", "sa_ops_other", "sa_moved_other", "usr_zed",
        "zed@other.com", "usr_alice_other"}) {
    SCOPED_TRACE(user);
    ExpectFail(*engine, Workload("cld_a", kJob, "", user),
               IamReason::kCrossOrg);
  }
  EXPECT_THAT(
      engine->ExplainIam(Workload("cld_a", kJob, "", "ops@ci.nimbus.io"))
          .ToString(),
      HasSubstr("principal of another organization"));
  // In their own organization's cloud they launch.
  for (absl::string_view user : {"ops@ci.nimbus.io", "sa_ops_other",
                                 "moved@ci.nimbus.io", "sa_moved_other"}) {
    SCOPED_TRACE(user);
    ExpectMapped(*engine, Workload("cld_x", kJob, "", user), "x-deployer", 0);
  }
  // An email of members of both organizations is each one's own principal.
  ExpectCloudDefault(*engine, Workload("cld_x", kJob, "", "alice@acme.com"),
                     "");
  ExpectCloudDefault(*engine, Workload("cld_a", kJob, "", "alice@acme.com"),
                     "cld_a-cluster_node_role");
  ExpectFail(*engine, Workload("cld_x", kJob, "", "usr_alice"),
             IamReason::kCrossOrg);
  ExpectFail(*engine, Workload("cld_x", kJob, "", "deploy@ci.nimbus.io"),
             IamReason::kCrossOrg);
}

TEST(IamMappingTest, MatchUnknownUsersOptionMatchesEmailsNoPrincipalHolds) {
  EngineOptions options;
  options.iam_match_unknown_users = true;
  auto engine = CiDeployerEngine(options);
  ASSERT_NE(engine, nullptr);
  ExpectMapped(*engine, Workload("cld_a", kJob, "", "Evil@CI.nimbus.io"),
               "ci-deployer", 0);
  ExpectCloudDefault(*engine, Workload("cld_b", kJob, "", "evil@ci.nimbus.io"),
                     "cld_b-cluster_node_role");
  // What the snapshot knows still decides: deleted, invited and other
  // organizations' principals fail, and ids must be principals.
  ExpectFail(*engine, Workload("cld_a", kJob, "", "gone@ci.nimbus.io"),
             IamReason::kPrincipalDeleted);
  ExpectFail(*engine, Workload("cld_a", kJob, "", "new@ci.nimbus.io"),
             IamReason::kPrincipalInvited);
  ExpectFail(*engine, Workload("cld_a", kJob, "", "ops@ci.nimbus.io"),
             IamReason::kCrossOrg);
  ExpectFail(*engine, Workload("cld_a", kJob, "", "usr_zed"),
             IamReason::kCrossOrg);
  ExpectFail(*engine, Workload("cld_a", kJob, "", "sa_nobody"),
             IamReason::kInvalidUser);
}

TEST(IamMappingTest, ProjectsMatchByExactCaseSensitiveName) {
  auto engine = CompileRules({{"project=ml-prod", "ml-role"}});
  ExpectMapped(*engine, Workload("alpha", kJob, "ml-prod", "bob@acme.com"),
               "ml-role", 0);
  ExpectMapped(*engine, Workload("alpha", kJob, "prj_a_ml", "bob@acme.com"),
               "ml-role", 0);  // by id
  ExpectCloudDefault(*engine,
                     Workload("alpha", kJob, "ML-Prod", "bob@acme.com"),
                     "cld_a-cluster_node_role");
  ExpectFail(*engine, Workload("alpha", kJob, "ml-prod2", "bob@acme.com"),
             IamReason::kUnknownProject);
}

TEST(IamMappingTest, IdsWinOverEqualNames) {
  v1::PolicySet state = IamTestState();
  // A project of alpha named like the id of its sibling ml-prod, and cloud
  // beta renamed to the id of alpha.
  v1::Project* odd = state.add_projects();
  odd->set_id("prj_a_odd");
  odd->set_cloud_id("cld_a");
  odd->set_name("prj_a_ml");
  state.mutable_clouds(1)->set_name("cld_a");
  SetIamRules(
      &state, "cld_a",
      {{"project=ml-prod", "ml-role"}, {"project=prj_a_ml", "odd-role"}});
  auto engine = Compile(state);
  ASSERT_NE(engine, nullptr);
  ExpectMapped(*engine, Workload("cld_a", kJob, "prj_a_ml", "bob@acme.com"),
               "ml-role", 0);
  ExpectMapped(*engine, Workload("cld_a", kJob, "prj_a_odd", "bob@acme.com"),
               "odd-role", 1);
  WorkloadAttributes w = Workload("cld_a", kJob, "prj_a_ml", "bob@acme.com");
  w.org = "acme";  // the slow path agrees
  ExpectMapped(*engine, w, "ml-role", 0);
  // Beta is still reachable by its id; its name now means alpha.
  ExpectCloudDefault(*engine, Workload("cld_b", kJob, "", "bob@acme.com"),
                     "cld_b-cluster_node_role");
  ExpectFail(*engine, Workload("beta", kJob, "", "bob@acme.com"),
             IamReason::kUnknownCloud);
}

TEST(IamMappingTest, WorkloadWithoutProjectIsInTheDefaultProject) {
  auto engine = CompileRules({{"project=default", "default-role"},
                              {"project=sandbox", "sandbox-role"}});
  ExpectMapped(*engine, Workload("alpha", kJob, "", "bob@acme.com"),
               "default-role", 0);
  ExpectMapped(*engine, Workload("alpha", kJob, "default", "bob@acme.com"),
               "default-role", 0);
  const IamExplanation e =
      engine->ExplainIam(Workload("alpha", kJob, "", "bob@acme.com"));
  EXPECT_EQ(e.project_name, "default");
  // Cloud beta's default project is called "sandbox"; beta has no rules.
  v1::PolicySet state = IamTestState();
  SetIamRules(&state, "cld_b", {{"project=sandbox", "sandbox-role"}});
  auto beta = Compile(state);
  ExpectMapped(*beta, Workload("beta", kService, "", "bob@acme.com"),
               "sandbox-role", 0);
}

TEST(IamMappingTest, RulesNeverCrossClouds) {
  v1::PolicySet state = IamTestState();
  SetIamRules(&state, "cld_a", {{"project=ml-prod", "a-ml-role"}});
  SetIamRules(&state, "cld_b", {{"project=web", "b-web-role"}},
              v1::IamMapping::FAIL);
  auto engine = Compile(state);
  ASSERT_NE(engine, nullptr);
  ExpectMapped(*engine, Workload("alpha", kJob, "ml-prod", "bob@acme.com"),
               "a-ml-role", 0);
  ExpectCloudDefault(*engine, Workload("alpha", kJob, "web", "bob@acme.com"),
                     "cld_a-cluster_node_role");
  ExpectFail(*engine, Workload("beta", kJob, "ml-prod", "bob@acme.com"),
             IamReason::kNoRuleMatched);
  ExpectMapped(*engine, Workload("cld_b", kJob, "web", "bob@acme.com"),
               "b-web-role", 0);
  // A project of another cloud, named by id, is not in this cloud.
  ExpectFail(*engine, Workload("beta", kJob, "prj_a_ml", "bob@acme.com"),
             IamReason::kUnknownProject);
  ExpectFail(*engine, Workload("alpha", kJob, "prj_b_web", "bob@acme.com"),
             IamReason::kUnknownProject);
}

TEST(IamMappingTest, ClustersNeverMatchWorkloadTypeRequirements) {
  auto engine = CompileRules({{"workload-type!=job", "not-job"},
                              {"workload-type notin (job,service)", "notin"},
                              {"!workload-type", "no-type"},
                              {"workload-type~=.*", "any-type"},
                              {"workload-type", "has-type"},
                              {"project=web", "web-role"}});
  ExpectMapped(*engine, Workload("alpha", kCluster, "web", "bob@acme.com"),
               "web-role", 5);
  ExpectCloudDefault(*engine,
                     Workload("alpha", kCluster, "ml-prod", "bob@acme.com"),
                     "cld_a-cluster_node_role");
  ExpectMapped(*engine, Workload("alpha", kService, "web", "bob@acme.com"),
               "not-job", 0);
  ExpectMapped(*engine, Workload("alpha", kJob, "web", "bob@acme.com"),
               "any-type", 3);
  const IamExplanation e =
      engine->ExplainIam(Workload("alpha", kCluster, "web", "bob@acme.com"));
  ASSERT_EQ(e.rules.size(), 6u);
  EXPECT_THAT(e.rules[0].failed_requirement,
              HasSubstr("a cluster has no workload-type"));
  EXPECT_EQ(e.workload_type, "cluster");
}

TEST(IamMappingTest, ResolutionFailures) {
  auto engine = CompileRules({{"", "catch-all"}});
  ExpectFail(*engine, Workload("gamma", kJob, "", "bob@acme.com"),
             IamReason::kUnknownCloud);
  ExpectFail(*engine, Workload("", kJob, "", "bob@acme.com"),
             IamReason::kUnknownCloud);
  ExpectFail(*engine, Workload("prj_a_web", kJob, "", "bob@acme.com"),
             IamReason::kUnknownCloud);
  ExpectFail(
      *engine,
      Workload("alpha", v1::WORKLOAD_TYPE_UNSPECIFIED, "", "bob@acme.com"),
      IamReason::kInvalidWorkloadType);
  ExpectFail(
      *engine,
      Workload("alpha", static_cast<v1::WorkloadType>(99), "", "bob@acme.com"),
      IamReason::kInvalidWorkloadType);
  ExpectFail(*engine, Workload("alpha", kJob, "nope", "bob@acme.com"),
             IamReason::kUnknownProject);
  WorkloadAttributes w = Workload("alpha", kJob, "", "bob@acme.com");
  w.compute_config = "cc_b_gpu";  // belongs to cloud beta
  ExpectFail(*engine, w, IamReason::kUnknownComputeConfig);
  w.compute_config = "nope";
  ExpectFail(*engine, w, IamReason::kUnknownComputeConfig);
}

TEST(IamMappingTest, CloudNamesNeedTheOrgWhenSeveralExist) {
  v1::PolicySet state = IamTestStateWithOtherOrg();
  SetIamRules(&state, "cld_a", {{"", "catch-all"}});
  auto engine = Compile(state);
  ASSERT_NE(engine, nullptr);
  WorkloadAttributes w = Workload("alpha", kJob, "", "bob@acme.com");
  ExpectFail(*engine, w, IamReason::kUnknownCloud);  // ambiguous: two orgs
  w.org = "acme";
  ExpectMapped(*engine, w, "catch-all", 0);
  w.org = "org_acme";
  ExpectMapped(*engine, w, "catch-all", 0);
  w.org = "other";  // cloud "alpha" of org "other" has no rules
  w.user = "zed@other.com";
  ExpectCloudDefault(*engine, w, "");
  w.cloud = "cld_a";  // an id of another organization's cloud
  ExpectFail(*engine, w, IamReason::kUnknownCloud);
  w.org = "nope";
  ExpectFail(*engine, w, IamReason::kUnknownCloud);
}

// ---- Compute-config IAM identity vs the mapping (§12 row 3) ----

struct PrecedenceCase {
  const char* name;
  IamOverridePrecedence precedence;
  const char* project;  // "ml-prod" matches the rule, "web" does not
  v1::IamMapping::DefaultBehavior behavior;
  IamOutcome outcome;
  IamReason reason;
  const char* identity;
};

class IamPrecedenceTest : public ::testing::TestWithParam<PrecedenceCase> {};

TEST_P(IamPrecedenceTest, ComputeConfigIdentity) {
  const PrecedenceCase& c = GetParam();
  EngineOptions options;
  options.iam_override_precedence = c.precedence;
  auto engine =
      CompileRules({{"project=ml-prod", "ml-role"}}, c.behavior, options);
  ASSERT_NE(engine, nullptr);
  WorkloadAttributes w = Workload("alpha", kJob, c.project, "bob@acme.com");
  w.compute_config = "gpu";  // by name; iam_identity gpu-role
  const IamDecision d = engine->ResolveIam(w);
  EXPECT_EQ(d.outcome, c.outcome) << d;
  EXPECT_EQ(d.reason, c.reason) << d;
  EXPECT_EQ(d.identity, c.identity) << d;
  EXPECT_EQ(engine->ExplainIam(w).decision, d);
  // A compute config without an identity never changes anything.
  w.compute_config = "cc_plain";
  WorkloadAttributes without = w;
  without.compute_config = {};
  EXPECT_EQ(engine->ResolveIam(w), engine->ResolveIam(without));
}

INSTANTIATE_TEST_SUITE_P(
    Precedence, IamPrecedenceTest,
    ::testing::Values(
        PrecedenceCase{"MappingWinsRuleMatches",
                       IamOverridePrecedence::kMappingWins, "ml-prod",
                       v1::IamMapping::CLOUD_DEFAULT, IamOutcome::kMapped,
                       IamReason::kRuleMatched, "ml-role"},
        PrecedenceCase{"MappingWinsOverridesCloudDefault",
                       IamOverridePrecedence::kMappingWins, "web",
                       v1::IamMapping::CLOUD_DEFAULT, IamOutcome::kMapped,
                       IamReason::kComputeConfigOverride, "gpu-role"},
        PrecedenceCase{"MappingWinsFailStaysFail",
                       IamOverridePrecedence::kMappingWins, "web",
                       v1::IamMapping::FAIL, IamOutcome::kFail,
                       IamReason::kNoRuleMatched, ""},
        PrecedenceCase{"ComputeConfigWinsOverRule",
                       IamOverridePrecedence::kComputeConfigWins, "ml-prod",
                       v1::IamMapping::CLOUD_DEFAULT, IamOutcome::kMapped,
                       IamReason::kComputeConfigOverride, "gpu-role"},
        PrecedenceCase{"ComputeConfigWinsOverFail",
                       IamOverridePrecedence::kComputeConfigWins, "web",
                       v1::IamMapping::FAIL, IamOutcome::kMapped,
                       IamReason::kComputeConfigOverride, "gpu-role"}),
    [](const ::testing::TestParamInfo<PrecedenceCase>& info) {
      return std::string(info.param.name);
    });

TEST(IamMappingTest, ComputeConfigWinsStillNeedsAResolvableWorkload) {
  EngineOptions options;
  options.iam_override_precedence = IamOverridePrecedence::kComputeConfigWins;
  auto engine = CompileRules({}, v1::IamMapping::FAIL, options);
  WorkloadAttributes w = Workload("alpha", kJob, "nope", "bob@acme.com");
  w.compute_config = "cc_gpu";
  ExpectFail(*engine, w, IamReason::kUnknownProject);
  w.project = "";
  w.user = "not an email";
  ExpectFail(*engine, w, IamReason::kInvalidUser);
  w.user = "bob@acme.com";
  const IamExplanation e = engine->ExplainIam(w);
  EXPECT_EQ(e.decision.reason, IamReason::kComputeConfigOverride);
  EXPECT_EQ(e.compute_config_id, "cc_gpu");
  EXPECT_EQ(e.compute_config_identity, "gpu-role");
}

// ---- Explanations ----

TEST(IamMappingTest, ExplanationNamesTheFirstFailingRequirement) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  WorkloadAttributes w =
      Workload("prod", kService, "web", "CI@org-123.serviceaccount.com");
  const IamExplanation e = engine->ExplainIam(w);
  EXPECT_EQ(e.cloud_id, "cld_prod");
  EXPECT_EQ(e.project_name, "web");
  EXPECT_EQ(e.user, "ci@org-123.serviceaccount.com");
  EXPECT_EQ(e.workload_type, "service");
  EXPECT_THAT(
      e.rules,
      ElementsAre(AllOf(Field(&IamRuleTrace::rule_index, 0),
                        Field(&IamRuleTrace::matched, false),
                        Field(&IamRuleTrace::selector, "workload-type=job"),
                        Field(&IamRuleTrace::identity, "etl-role"),
                        Field(&IamRuleTrace::failed_requirement,
                              "workload-type=job: workload-type is service")),
                  AllOf(Field(&IamRuleTrace::matched, false),
                        Field(&IamRuleTrace::failed_requirement,
                              "project=ml-prod: project is web")),
                  AllOf(Field(&IamRuleTrace::matched, true),
                        Field(&IamRuleTrace::failed_requirement, ""))));
  const std::string text = e.ToString();
  EXPECT_THAT(text, HasSubstr("MAPPED ci-role (RULE_MATCHED, rule 2"));
  EXPECT_THAT(text, HasSubstr("project=ml-prod: project is web"));
}

TEST(IamMappingTest, ExplanationOfAMultiRequirementRule) {
  EngineOptions options;
  options.iam_match_unknown_users = true;  // bob@acme.org is no principal
  auto engine = CompileRules(
      {{" workload-type in (job, service) , user~=.*@acme\\.com ,project!=web",
        "r"}},
      v1::IamMapping::CLOUD_DEFAULT, options);
  const IamExplanation e =
      engine->ExplainIam(Workload("alpha", kJob, "web", "Bob@acme.com"));
  ASSERT_EQ(e.rules.size(), 1u);
  EXPECT_EQ(e.rules[0].failed_requirement, "project!=web: project is web");
  const IamExplanation e2 =
      engine->ExplainIam(Workload("alpha", kJob, "ml-prod", "Bob@ACME.org"));
  ASSERT_EQ(e2.rules.size(), 1u);
  EXPECT_EQ(e2.rules[0].failed_requirement,
            "user~=.*@acme\\.com: user is bob@acme.org");
  EXPECT_EQ(e2.decision.outcome, IamOutcome::kCloudDefault);
  EXPECT_THAT(e2.ToString(), HasSubstr("no rule matched"));
}

TEST(IamMappingTest, ExplanationOfAnUnresolvedWorkload) {
  auto engine = CompileRules({{"", "catch-all"}});
  const IamExplanation e =
      engine->ExplainIam(Workload("alpha", kJob, "nope", "bob@acme.com"));
  EXPECT_EQ(e.decision.reason, IamReason::kUnknownProject);
  EXPECT_EQ(e.cloud_id, "cld_a");
  EXPECT_TRUE(e.project_name.empty());
  EXPECT_TRUE(e.rules.empty());
  EXPECT_THAT(e.ToString(), HasSubstr("FAIL (UNKNOWN_PROJECT"));
}

TEST(IamMappingTest, DecisionPrintsAndNames) {
  IamDecision d;
  d.outcome = IamOutcome::kMapped;
  d.reason = IamReason::kRuleMatched;
  d.identity = "etl-role";
  d.rule_index = 0;
  d.revision = 3;
  std::ostringstream os;
  os << d;
  EXPECT_EQ(os.str(), "MAPPED etl-role RULE_MATCHED rule=0 revision=3");
  EXPECT_EQ(IamReasonName(IamReason::kInvalidUser), "INVALID_USER");
  EXPECT_EQ(IamReasonName(IamReason::kUnknownPrincipal), "UNKNOWN_PRINCIPAL");
  EXPECT_EQ(IamReasonName(IamReason::kPrincipalDeleted), "PRINCIPAL_DELETED");
  EXPECT_EQ(IamReasonName(IamReason::kPrincipalInvited), "PRINCIPAL_INVITED");
  EXPECT_EQ(IamReasonName(IamReason::kCrossOrg), "CROSS_ORG");
  EXPECT_EQ(IamReasonName(IamReason::kInternalError), "INTERNAL_ERROR");
  EXPECT_EQ(IamOutcomeName(IamOutcome::kCloudDefault), "CLOUD_DEFAULT");
  v1::WorkloadType t;
  ASSERT_TRUE(ParseWorkloadTypeLabel("workspace", &t));
  EXPECT_EQ(t, kWorkspace);
  EXPECT_FALSE(ParseWorkloadTypeLabel("Job", &t));
  EXPECT_EQ(WorkloadTypeLabel(kCluster), "cluster");
}

TEST(IamMappingTest, IdentityOutlivesTheCallWhileTheEngineLives) {
  auto engine = CompileRules({{"project=web", "web-role"}});
  IamDecision d;
  {
    std::string project = "web";
    std::string user = "bob@acme.com";
    d = engine->ResolveIam(Workload("alpha", kJob, project, user));
  }
  EXPECT_EQ(d.identity, "web-role");
}

TEST(IamMappingTest, ConcurrentResolutionsAgree) {
  // Every thread uses its own scratch for RE2::Set results: resolutions on
  // several threads (two clouds, user patterns) match the sequential ones.
  v1::PolicySet state = IamTestState();
  SetIamRules(&state, "cld_a",
              {{"user~=(alice|bob)@.*,workload-type=job", "a1"},
               {"user~=.*@acme\\.com,project~=ml-.*", "a2"},
               {"user~=ci@.*", "a3"}},
              v1::IamMapping::FAIL);
  SetIamRules(&state, "cld_b",
              {{"user~=.*@org-acme\\.serviceaccount\\.com", "b1"},
               {"user~=bob@.*,project in (web)", "b2"}});
  auto engine = Compile(state);
  ASSERT_NE(engine, nullptr);
  std::vector<WorkloadAttributes> workloads;
  for (const char* cloud : {"alpha", "beta"}) {
    for (v1::WorkloadType type : {kJob, kService, kWorkspace, kCluster}) {
      for (const char* project : {"", "web", "ml-prod"}) {
        for (const char* user :
             {"alice@acme.com", "bob@acme.com", "sa_ci", "eve@evil.com"}) {
          workloads.push_back(Workload(cloud, type, project, user));
        }
      }
    }
  }
  std::vector<IamDecision> expected;
  for (const WorkloadAttributes& w : workloads) {
    expected.push_back(engine->ResolveIam(w));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        for (size_t i = 0; i < workloads.size(); ++i) {
          const size_t j = (i + t * 7) % workloads.size();
          if (engine->ResolveIam(workloads[j]) != expected[j]) ++mismatches;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  // The answers themselves are the documented ones.
  EXPECT_EQ(expected[0].identity, "a1");  // alpha, job, default, alice
  EXPECT_EQ(expected[3].reason, IamReason::kUnknownPrincipal);  // eve
}

// ---- Who may configure the mapping (§12 row 2) ----

TEST(IamMappingTest, ConfiguringTheMappingIsAnRbacPermission) {
  AccessRequest r;
  r.permission = "cloud.iam_mapping.configure";
  r.resource = "prod";
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(DemoPolicySet()));
  r.principal = "alice@acme.com";  // org owner
  EXPECT_TRUE(engine->Check(r).allowed());
  r.principal = "bob@acme.com";  // cloud owner of prod
  EXPECT_FALSE(engine->Check(r).allowed());
  r.principal = "carol@acme.com";  // collaborator
  EXPECT_FALSE(engine->Check(r).allowed());

  EngineOptions options;
  options.cloud_owner_configures_iam_mapping = true;
  ASSERT_OK_AND_ASSIGN(auto lenient, Engine::Create(DemoPolicySet(), options));
  r.principal = "alice@acme.com";
  EXPECT_TRUE(lenient->Check(r).allowed());
  r.principal = "bob@acme.com";
  EXPECT_TRUE(lenient->Check(r).allowed());
  r.principal = "carol@acme.com";
  EXPECT_FALSE(lenient->Check(r).allowed());
  r.principal = "bob@acme.com";  // bob owns prod only
  r.resource = "research";
  EXPECT_FALSE(lenient->Check(r).allowed());
}

}  // namespace
}  // namespace arbiter
