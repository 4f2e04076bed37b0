// Specification tests: every rule of access-model.md §4.1 and every row of
// the permission matrix §5.1-§5.5, against the built-in Anyscale profile.
//
// Each case names the persona, the permission and the resource, and asserts
// the effect, the reason (docs/semantics.md) and the deciding grant. Every
// case is also checked through Explain and through handles from Find*, which
// must agree with the by-name Check. Rows tagged [I] in the domain model are
// marked "inferred" here: the profile made the choice, not the docs.
//
// The fixture is tests/testdata/rules_org.textproto; its header comment lists
// the personas.

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "arbiter/policy_io.h"
#include "arbiter/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::StatusIs;
using ::testing::HasSubstr;

// All checks are judged at 2026-01-01T00:00:00Z.
const absl::Time kNow = absl::FromUnixSeconds(1767225600);

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

// The fixture engine, compiled once. Null (with the error printed) if the
// fixture does not load or compile.
const Engine* RulesEngine() {
  static const Engine* engine = []() -> const Engine* {
    absl::StatusOr<v1::PolicySet> state =
        LoadPolicySetFile(TestDataPath("rules_org.textproto"));
    if (!state.ok()) {
      ADD_FAILURE() << state.status();
      return nullptr;
    }
    absl::StatusOr<std::unique_ptr<const Engine>> engine =
        Engine::Create(*state);
    if (!engine.ok()) {
      ADD_FAILURE() << engine.status();
      return nullptr;
    }
    return engine->release();
  }();
  return engine;
}

struct Outcome {
  Effect effect;
  Reason reason;
  std::string grant_id;  // empty: no deciding grant
  absl::optional<GrantSource> source;
};

Outcome Allow(Reason reason, std::string grant_id = "",
              absl::optional<GrantSource> source = absl::nullopt) {
  return Outcome{Effect::kAllow, reason, std::move(grant_id), source};
}
Outcome Deny(Reason reason, std::string grant_id = "") {
  return Outcome{Effect::kDeny, reason, std::move(grant_id), absl::nullopt};
}

struct RuleCase {
  std::string name;
  std::string principal;
  std::string permission;
  std::string resource;
  Outcome want;
  Channel channel = Channel::kApi;
};

void PrintTo(const RuleCase& c, std::ostream* os) {
  *os << c.principal << " " << c.permission << " " << c.resource;
}

RuleCase Console(RuleCase c) {
  c.channel = Channel::kConsole;
  return c;
}

std::string CaseName(const ::testing::TestParamInfo<RuleCase>& info) {
  return info.param.name;
}

class RulesTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RulesTest, Decides) {
  const RuleCase& c = GetParam();
  const Engine* engine = RulesEngine();
  ASSERT_NE(engine, nullptr);

  AccessRequest request;
  request.principal = c.principal;
  request.permission = c.permission;
  request.resource = c.resource;
  request.context.channel = c.channel;
  request.context.now = kNow;
  const Decision d = engine->Check(request);

  SCOPED_TRACE(::testing::Message() << c.principal << " " << c.permission << " "
                                    << c.resource << " -> " << d);
  EXPECT_EQ(d.effect, c.want.effect);
  EXPECT_EQ(ReasonName(d.reason), ReasonName(c.want.reason));
  EXPECT_EQ(std::string(d.grant_id), c.want.grant_id);
  if (c.want.grant_id.empty()) {
    EXPECT_EQ(d.grant_index, Decision::kNoGrant);
    EXPECT_EQ(d.source, GrantSource::kNone);
  } else {
    ASSERT_LT(d.grant_index, engine->num_grants());
    EXPECT_EQ(std::string(engine->grant(d.grant_index).id), c.want.grant_id);
    EXPECT_EQ(engine->grant(d.grant_index).source, d.source);
  }
  if (c.want.source.has_value()) {
    EXPECT_EQ(GrantSourceName(d.source), GrantSourceName(*c.want.source));
  }
  EXPECT_EQ(d.revision, 42u);

  // Explain decides the same way.
  const Explanation e = engine->Explain(request);
  EXPECT_EQ(e.decision, d) << e.ToString();

  // So does the handle form.
  absl::optional<PrincipalRef> p = engine->FindPrincipal(c.principal);
  absl::optional<PermissionRef> k = engine->FindPermission(c.permission);
  absl::optional<ResourceRef> r = engine->FindResource(e.resource_id);
  ASSERT_TRUE(p.has_value() && k.has_value() && r.has_value());
  EXPECT_EQ(engine->Check(*p, *k, *r, request.context), d);
}

// ---------------------------------------------------------------------------
// §4.1 core rules.

// Rule 1: org boundary.
INSTANTIATE_TEST_SUITE_P(
    Rule1OrgBoundary, RulesTest,
    ::testing::Values(
        RuleCase{"OtherOrgOwnerOnCloudById", "usr_b_owner", "cloud.view",
                 "cld_main", Deny(Reason::kCrossOrg)},
        RuleCase{"OtherOrgOwnerOnWorkloadById", "usr_b_owner",
                 "project.workload.view", "wl_pw_job", Deny(Reason::kCrossOrg)},
        RuleCase{"OrgOwnerOnOtherOrgsProject", "usr_oo", "project.view",
                 "prj_b_ml", Deny(Reason::kCrossOrg)},
        RuleCase{"OrgOwnerOnOtherOrgItself", "usr_oo", "org.view", "org_b",
                 Deny(Reason::kCrossOrg)},
        RuleCase{"MemberPermissionOnOtherOrgsImage", "usr_oc", "org.images.use",
                 "img_base", Allow(Reason::kOrgMember)},
        RuleCase{"MemberPermissionAcrossOrgs", "usr_b_owner", "org.images.use",
                 "img_base", Deny(Reason::kCrossOrg)},
        // A path is resolved in the principal's organization: globex's owner
        // reaches globex's "main", never acme's cloud of the same name.
        RuleCase{"PathResolvesInPrincipalsOrg", "usr_b_owner", "cloud.view",
                 "main", Allow(Reason::kOrgOwner, "g_b_owner")},
        RuleCase{"SameNamedProjectPathInOwnOrg", "usr_b_owner",
                 "project.delete", "main/ml",
                 Allow(Reason::kOrgOwner, "g_b_owner")}),
    CaseName);

// Rule 2: liveness.
INSTANTIATE_TEST_SUITE_P(
    Rule2Liveness, RulesTest,
    ::testing::Values(
        RuleCase{"DeletedPrincipalHoldsNothing", "usr_deleted", "cloud.view",
                 "cld_main", Deny(Reason::kPrincipalDeleted)},
        RuleCase{"DeletedPrincipalByEmail", "Deleted@Acme.com", "cloud.view",
                 "cld_main", Deny(Reason::kPrincipalDeleted)},
        RuleCase{"DeletedPrincipalLosesMemberRights", "usr_deleted",
                 "org.images.use", "org_a", Deny(Reason::kPrincipalDeleted)},
        RuleCase{"InvitedPrincipalHoldsNothing", "usr_invited",
                 "project.workload.create", "prj_main_default",
                 Deny(Reason::kPrincipalInvited)},
        RuleCase{"InvitedPrincipalHasNoMemberRights", "usr_invited",
                 "org.api_keys.manage_own", "org_a",
                 Deny(Reason::kPrincipalInvited)}),
    CaseName);

// Rule 3: console vs API channel.
INSTANTIATE_TEST_SUITE_P(
    Rule3Channel, RulesTest,
    ::testing::Values(
        Console(RuleCase{"ServiceAccountNeverUsesConsole", "sa_ci",
                         "cloud.view", "cld_main",
                         Deny(Reason::kServiceAccountConsole)}),
        Console(RuleCase{"ServiceAccountConsoleEvenForMemberPermission",
                         "sa_ci", "org.images.use", "org_a",
                         Deny(Reason::kServiceAccountConsole)}),
        RuleCase{"ServiceAccountUsesTheApi", "sa_ci", "cloud.view", "cld_main",
                 Allow(Reason::kGrant, "g_ci_main", GrantSource::kDirect)},
        Console(RuleCase{"UserUsesTheConsole", "usr_cw", "cloud.view",
                         "cld_main", Allow(Reason::kGrant, "g_cw_main")})),
    CaseName);

// Rule 4: strict tree prerequisites (the compile-time half is in
// Rule4Prerequisites below and in validation_test.cc).
INSTANTIATE_TEST_SUITE_P(
    Rule4TreePrerequisites, RulesTest,
    ::testing::Values(
        RuleCase{"CloudPermissionNeedsCloudGrant", "usr_oc", "cloud.view",
                 "cld_main", Deny(Reason::kNoCloudGrant)},
        RuleCase{"EvenThePublicDefaultProjectNeedsCloudGrant", "usr_oc",
                 "project.view", "prj_main_default",
                 Deny(Reason::kNoCloudGrant)},
        RuleCase{"GrantOnAnotherCloudDoesNotCount", "usr_cw", "cloud.view",
                 "cld_second", Deny(Reason::kNoCloudGrant)},
        // The parent grant expired: the live project-owner grant under it no
        // longer applies (the runtime form of the revocation cascade).
        RuleCase{"ExpiredCloudGrantDisablesProjectGrant", "usr_expired",
                 "project.view", "prj_priv", Deny(Reason::kNoCloudGrant)},
        RuleCase{"ExpiredCloudGrantDisablesProjectOwnerOnWorkload",
                 "usr_expired", "project.workload.delete", "wl_po_notebook",
                 Deny(Reason::kNoCloudGrant)}),
    CaseName);

// Rule 5: no downward inheritance for non-owners.
INSTANTIATE_TEST_SUITE_P(
    Rule5NoDownwardInheritance, RulesTest,
    ::testing::Values(
        RuleCase{"CloudOwnerNotInPrivateProject", "usr_co", "project.view",
                 "prj_priv", Deny(Reason::kNoProjectGrant)},
        RuleCase{"CloudOwnerNotOnPrivateWorkload", "usr_co",
                 "project.workload.delete", "wl_po_notebook",
                 Deny(Reason::kNoProjectGrant)},
        RuleCase{"CloudCollaboratorNotInPrivateProject", "usr_cw",
                 "project.view", "main/ml", Deny(Reason::kNoProjectGrant)},
        RuleCase{"CloudCollaboratorWritesPublicProject", "usr_cw",
                 "project.workload.create", "prj_pub",
                 Allow(Reason::kPublicProject, "g_cw_main")},
        RuleCase{"CloudCollaboratorWritesDefaultProject", "usr_cw",
                 "project.workload.create", "prj_main_default",
                 Allow(Reason::kPublicProject, "g_cw_main")},
        RuleCase{"WorkloadWithoutProjectLandsInDefaultProject", "usr_co",
                 "project.workload.update", "main/default/scratch",
                 Allow(Reason::kPublicProject, "g_co_main")},
        RuleCase{"ImplicitWriteDoesNotDeleteTheProject", "usr_cw",
                 "project.delete", "prj_pub", Deny(Reason::kInsufficientRole)},
        RuleCase{"ImplicitWriteDoesNotShareTheProject", "usr_cw",
                 "project.members.manage", "prj_pub",
                 Deny(Reason::kInsufficientRole)},
        RuleCase{"CloudGrantUsesComputeConfigs", "usr_cw",
                 "cloud.compute_configs.use", "cc_main_cpu",
                 Allow(Reason::kGrant, "g_cw_main")}),
    CaseName);

// Rule 6: org owner bypass, and its exceptions.
INSTANTIATE_TEST_SUITE_P(
    Rule6OrgOwner, RulesTest,
    ::testing::Values(
        RuleCase{"OwnsPrivateProjectWithoutGrant", "usr_oo", "project.delete",
                 "prj_priv", Allow(Reason::kOrgOwner, "g_oo_owner")},
        RuleCase{"OwnsWorkloadsOfPrivateProject", "usr_oo",
                 "project.workload.delete", "wl_pw_job",
                 Allow(Reason::kOrgOwner, "g_oo_owner")},
        RuleCase{"OwnsCloudWithoutCloudGrant", "usr_oo", "cloud.delete",
                 "cld_second", Allow(Reason::kOrgOwner, "g_oo_owner")},
        RuleCase{"OrgOwnerGrantDecidesOverExplicitCloudOwner", "usr_oo",
                 "cloud.members.manage", "cld_main",
                 Allow(Reason::kOrgOwner, "g_oo_owner")},
        RuleCase{
            "OrgOwnerThroughGroup", "gowner@acme.com", "project.delete",
            "prj_priv",
            Allow(Reason::kOrgOwner, "g_admins_owner", GrantSource::kGroup)},
        RuleCase{"OrgDenyRoleStillRestrictsOwner", "usr_oo_img",
                 "org.images.create", "org_a",
                 Deny(Reason::kDenyRole, "g_oo_img_reader")},
        RuleCase{"CloudDenyRoleDoesNotRestrictOwner", "usr_oo_ro",
                 "cloud.projects.create", "cld_main",
                 Allow(Reason::kOrgOwner, "g_oo_ro_owner")},
        RuleCase{"DefaultProjectStaysUndeletableForOwner", "usr_oo",
                 "project.delete", "prj_main_default",
                 Deny(Reason::kProtectedResource)}),
    CaseName);

// Rule 7: effective access = maximum over direct, group, auto-add and
// implicit sources.
INSTANTIATE_TEST_SUITE_P(
    Rule7MaxOverSources, RulesTest,
    ::testing::Values(
        RuleCase{"GroupGrant", "usr_grp", "cloud.projects.create", "cld_main",
                 Allow(Reason::kGrant, "g_team_main", GrantSource::kGroup)},
        RuleCase{"NestedGroupGrant", "usr_nested", "project.workload.create",
                 "prj_priv",
                 Allow(Reason::kGrant, "g_team_ml", GrantSource::kGroup)},
        RuleCase{"AutoAddGrant", "usr_auto", "cloud.view", "cld_main",
                 Allow(Reason::kGrant, "g_auto_main", GrantSource::kAutoAdd)},
        RuleCase{"AutoAddGrantReachesPublicProjects", "usr_auto",
                 "project.workload.create", "prj_pub",
                 Allow(Reason::kPublicProject, "g_auto_main",
                       GrantSource::kAutoAdd)},
        // An explicit readonly on a public project still acts with write.
        RuleCase{"ImplicitWriteBeatsExplicitReadonly", "usr_pubro",
                 "project.workload.create", "prj_pub",
                 Allow(Reason::kPublicProject, "g_pubro_main")},
        RuleCase{"ExplicitGrantDecidesWhenItHolds", "usr_pubro", "project.view",
                 "prj_pub", Allow(Reason::kGrant, "g_pubro_web")},
        RuleCase{"GroupWriteBeatsDirectReadonly", "usr_max",
                 "project.workload.create", "prj_priv",
                 Allow(Reason::kGrant, "g_writers_ml", GrantSource::kGroup)},
        RuleCase{"DirectGrantDecidesBeforeGroupGrant", "usr_max",
                 "project.view", "prj_priv",
                 Allow(Reason::kGrant, "g_max_ml_ro", GrantSource::kDirect)}),
    CaseName);

// Rule 8: deny roles subtract after the maximum.
INSTANTIATE_TEST_SUITE_P(
    Rule8DenyRoles, RulesTest,
    ::testing::Values(
        RuleCase{"OrgDenyRoleRestrictsCollaborator", "usr_oc_img",
                 "org.images.create", "org_a",
                 Deny(Reason::kDenyRole, "g_oc_img_reader")},
        RuleCase{"ImageReaderLeavesBaseImages", "usr_oc_img",
                 "org.images.deploy_base", "img_base",
                 Allow(Reason::kOrgMember)},
        RuleCase{"NoBaseImagesBlocksBaseImages", "usr_oc_nobase",
                 "org.images.deploy_base", "img_base",
                 Deny(Reason::kDenyRole, "g_oc_nobase_reader")},
        RuleCase{"CloudReadOnlyKeepsReads", "usr_crd", "cloud.view", "cld_main",
                 Allow(Reason::kGrant, "g_crd_main")},
        RuleCase{"CloudReadOnlySubtractsWrites", "usr_crd",
                 "cloud.projects.create", "cld_main",
                 Deny(Reason::kDenyRole, "g_crd_read_only")},
        RuleCase{"CloudReadOnlyKeepsComputeConfigUse", "usr_crd",
                 "cloud.compute_configs.use", "cc_main_cpu",
                 Allow(Reason::kGrant, "g_crd_main")},
        RuleCase{"CloudReadOnlySubtractsComputeConfigManage", "usr_crd",
                 "cloud.compute_configs.manage", "cc_main_cpu",
                 Deny(Reason::kDenyRole, "g_crd_read_only")},
        // Inferred ([I] in rule 8): the cap on implicit public-project write.
        RuleCase{"CloudReadOnlyCapsPublicProjectWrite", "usr_crd",
                 "project.workload.create", "prj_pub",
                 Deny(Reason::kDenyRole, "g_crd_read_only")},
        RuleCase{"CloudReadOnlyKeepsPublicProjectRead", "usr_crd",
                 "project.view", "prj_pub",
                 Allow(Reason::kPublicProject, "g_crd_main")},
        RuleCase{"CloudReadOnlyDoesNotRestrictOrgOwnerInProjects", "usr_oo_ro",
                 "project.workload.create", "prj_pub",
                 Allow(Reason::kOrgOwner, "g_oo_ro_owner")},
        RuleCase{"CloudReadOnlyDoesNotRestrictProjectOwner", "usr_crd_po",
                 "project.delete", "prj_priv",
                 Allow(Reason::kGrant, "g_ml_owners_ml", GrantSource::kGroup)},
        RuleCase{"ProjectOwnerExemptionStopsAtItsProject", "usr_crd_po",
                 "project.workload.create", "prj_pub",
                 Deny(Reason::kDenyRole, "g_crd_po_read_only")},
        RuleCase{"ProjectOwnerExemptionDoesNotReachTheCloud", "usr_crd_po",
                 "cloud.projects.create", "cld_main",
                 Deny(Reason::kDenyRole, "g_crd_po_read_only")}),
    CaseName);

// The order of docs/semantics.md picks one reason when several apply.
INSTANTIATE_TEST_SUITE_P(
    ReasonPrecedence, RulesTest,
    ::testing::Values(
        RuleCase{"CrossOrgBeforeDeleted", "usr_b_gone", "cloud.view",
                 "cld_main", Deny(Reason::kCrossOrg)},
        RuleCase{"DeletedBeforeNotApplicable", "usr_deleted", "project.view",
                 "cld_main", Deny(Reason::kPrincipalDeleted)},
        Console(RuleCase{"ConsoleBeforeNotApplicable", "sa_ci", "project.view",
                         "cld_main", Deny(Reason::kServiceAccountConsole)}),
        RuleCase{"NotApplicableBeforeOrgOwner", "usr_oo", "project.view",
                 "cld_main", Deny(Reason::kPermissionNotApplicable)},
        RuleCase{"ProtectedBeforeNoCloudGrant", "usr_oc", "project.delete",
                 "prj_main_default", Deny(Reason::kProtectedResource)},
        RuleCase{"NoCloudGrantBeforeNoProjectGrant", "usr_oc", "project.view",
                 "prj_priv", Deny(Reason::kNoCloudGrant)},
        RuleCase{"CloudPermissionOnOrg", "usr_cw", "cloud.view", "org_a",
                 Deny(Reason::kPermissionNotApplicable)},
        RuleCase{"CloudPermissionOnImage", "usr_cw", "cloud.view", "img_base",
                 Deny(Reason::kPermissionNotApplicable)},
        RuleCase{"ProjectPermissionOnComputeConfig", "usr_cw", "project.view",
                 "cc_main_cpu", Deny(Reason::kPermissionNotApplicable)},
        RuleCase{"OrgPermissionOnWorkloadIsAnchoredAtOrg", "usr_oc",
                 "org.images.use", "wl_pw_job", Allow(Reason::kOrgMember)},
        RuleCase{"CloudPermissionOnProjectIsAnchoredAtCloud", "usr_cw",
                 "cloud.view", "prj_priv", Allow(Reason::kGrant, "g_cw_main")}),
    CaseName);

// ---------------------------------------------------------------------------
// §5.1 organization-scope actions: OO (usr_oo) and OC (usr_oc).

struct OrgRow {
  std::string name;
  std::string permission;
  Outcome collaborator;  // OC; OO always allows through g_oo_owner
};

std::vector<RuleCase> OrgMatrix() {
  const std::vector<OrgRow> rows = {
      {"ViewOrgSettings", "org.view", Deny(Reason::kNeedsOrgOwner)},
      {"InviteUsers", "org.invitations.manage", Deny(Reason::kNeedsOrgOwner)},
      {"RemoveUsers", "org.users.remove", Deny(Reason::kNeedsOrgOwner)},
      {"ChangeOrgRoles", "org.roles.manage", Deny(Reason::kNeedsOrgOwner)},
      {"AdminBatchCreateUsers", "org.users.batch_create",
       Deny(Reason::kNeedsOrgOwner)},
      // Inferred: "~" for OC in the matrix; the profile keeps it to owners.
      {"ListUsersInferred", "org.users.list", Deny(Reason::kNeedsOrgOwner)},
      {"CreateCloud", "org.clouds.create", Deny(Reason::kNeedsOrgOwner)},
      {"SetDefaultCloud", "org.default_cloud.set",
       Deny(Reason::kNeedsOrgOwner)},
      {"Billing", "org.billing.view", Deny(Reason::kNeedsOrgOwner)},
      // Inferred: a billing feature.
      {"UsageDashboardInferred", "org.usage.view",
       Deny(Reason::kNeedsOrgOwner)},
      {"Budgets", "org.budgets.manage", Deny(Reason::kNeedsOrgOwner)},
      {"ResourceQuotas", "org.quotas.manage", Deny(Reason::kNeedsOrgOwner)},
      {"ConfigureSso", "org.sso.configure", Deny(Reason::kNeedsOrgOwner)},
      {"ServiceAccounts", "org.service_accounts.manage",
       Deny(Reason::kNeedsOrgOwner)},
      {"OwnApiKey", "org.api_keys.manage_own", Allow(Reason::kOrgMember)},
      // Inferred from TF-DEC's 403 for non-admins.
      {"SetGroupPoliciesInferred", "org.policies.set",
       Deny(Reason::kNeedsOrgOwner)},
      // Inferred: "~" for OC; the profile keeps it to owners.
      {"ReadGroupsInferred", "org.groups.read", Deny(Reason::kNeedsOrgOwner)},
      {"AuditLogExport", "org.audit_logs.configure",
       Deny(Reason::kNeedsOrgOwner)},
      {"SupportAccess", "org.support_access.manage",
       Deny(Reason::kNeedsOrgOwner)},
      {"MachinePools", "org.machine_pools.manage",
       Deny(Reason::kNeedsOrgOwner)},
      {"UseImage", "org.images.use", Allow(Reason::kOrgMember)},
      {"CreateCustomImage", "org.images.create", Allow(Reason::kOrgMember)},
      {"RegisterExternalImage", "org.images.register_external",
       Allow(Reason::kOrgMember)},
      {"DeployBaseImage", "org.images.deploy_base", Allow(Reason::kOrgMember)},
  };
  std::vector<RuleCase> cases;
  for (const OrgRow& row : rows) {
    cases.push_back({row.name + "_OO", "usr_oo", row.permission, "org_a",
                     Allow(Reason::kOrgOwner, "g_oo_owner")});
    cases.push_back({row.name + "_OC", "usr_oc", row.permission, "org_a",
                     row.collaborator});
  }
  // The asterisks: org deny roles, which restrict owners too.
  const std::vector<RuleCase> deny_roles = {
      {"CreateCustomImage_OOWithImageReader", "usr_oo_img", "org.images.create",
       "img_custom", Deny(Reason::kDenyRole, "g_oo_img_reader")},
      {"CreateCustomImage_OCWithImageReader", "usr_oc_img", "org.images.create",
       "org_a", Deny(Reason::kDenyRole, "g_oc_img_reader")},
      {"RegisterExternalImage_OOWithImageReader", "usr_oo_img",
       "org.images.register_external", "org_a",
       Deny(Reason::kDenyRole, "g_oo_img_reader")},
      {"RegisterExternalImage_OCWithNoBaseImages", "usr_oc_nobase",
       "org.images.register_external", "org_a",
       Deny(Reason::kDenyRole, "g_oc_nobase_reader")},
      {"DeployBaseImage_OOWithImageReader", "usr_oo_img",
       "org.images.deploy_base", "img_base",
       Allow(Reason::kOrgOwner, "g_oo_img_owner")},
      {"DeployBaseImage_OOWithNoBaseImages", "usr_oo_nobase",
       "org.images.deploy_base", "img_base",
       Deny(Reason::kDenyRole, "g_oo_nobase_reader")},
      {"DeployBaseImage_OCWithNoBaseImages", "usr_oc_nobase",
       "org.images.deploy_base", "img_base",
       Deny(Reason::kDenyRole, "g_oc_nobase_reader")},
      {"UseImage_OCWithNoBaseImages", "usr_oc_nobase", "org.images.use",
       "img_custom", Allow(Reason::kOrgMember)},
      {"UseImage_OOWithNoBaseImages", "usr_oo_nobase", "org.images.use",
       "img_base", Allow(Reason::kOrgOwner, "g_oo_nobase_owner")},
  };
  cases.insert(cases.end(), deny_roles.begin(), deny_roles.end());
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Matrix51Org, RulesTest,
                         ::testing::ValuesIn(OrgMatrix()), CaseName);

// ---------------------------------------------------------------------------
// §5.2 cloud-scope actions on cloud main. Columns: OO, CO, CW, CR (legacy
// cloud_readonly), CRd (RBAC form: cloud_collaborator + cloud_read_only), OC.

struct CloudRow {
  std::string name;
  std::string permission;
  std::string resource;
  Outcome oo, co, cw, cr, crd, oc;
};

std::vector<RuleCase> CloudMatrix() {
  const Outcome kOO = Allow(Reason::kOrgOwner, "g_oo_owner");
  const Outcome kNoCloud = Deny(Reason::kNoCloudGrant);
  const Outcome kInsufficient = Deny(Reason::kInsufficientRole);
  const std::vector<CloudRow> rows = {
      // [D] for CW; inferred for CR.
      {"SeeCloud", "cloud.view", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), Allow(Reason::kGrant, "g_cw_main"),
       Allow(Reason::kGrant, "g_cr_main"), Allow(Reason::kGrant, "g_crd_main"),
       kNoCloud},
      // [D] for OO and CO; inferred for CW and CR.
      {"ManageCloudMembers", "cloud.members.manage", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), kInsufficient, kInsufficient,
       kInsufficient, kNoCloud},
      {"AutoAddUsers", "cloud.auto_add.manage", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), kInsufficient, kInsufficient,
       kInsufficient, kNoCloud},
      // Inferred.
      {"UpdateCloudConfigInferred", "cloud.config.update", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), kInsufficient, kInsufficient,
       kInsufficient, kNoCloud},
      // Inferred; CO per EngineOptions::cloud_owner_deletes_cloud (default
      // true, §12 row 14).
      {"DeleteCloudInferred", "cloud.delete", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), kInsufficient, kInsufficient,
       kInsufficient, kNoCloud},
      // [X]: org owners only by default (§12 row 2).
      {"ConfigureIamMapping", "cloud.iam_mapping.configure", "cld_main", kOO,
       kInsufficient, kInsufficient, kInsufficient, kInsufficient, kNoCloud},
      // [D] for CW; inferred for CO and CR.
      {"CreateProject", "cloud.projects.create", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), Allow(Reason::kGrant, "g_cw_main"),
       kInsufficient, Deny(Reason::kDenyRole, "g_crd_read_only"), kNoCloud},
      // [D]; the "own + public" filtering is the caller's, per project.
      {"ListProjects", "cloud.projects.list", "cld_main", kOO,
       Allow(Reason::kGrant, "g_co_main"), Allow(Reason::kGrant, "g_cw_main"),
       Allow(Reason::kGrant, "g_cr_main"), Allow(Reason::kGrant, "g_crd_main"),
       kNoCloud},
      // [D]; inferred for CR (use is not launch). Checked on the compute
      // config itself: a cloud permission is anchored at its cloud.
      {"UseComputeConfigs", "cloud.compute_configs.use", "cc_main_cpu", kOO,
       Allow(Reason::kGrant, "g_co_main"), Allow(Reason::kGrant, "g_cw_main"),
       Allow(Reason::kGrant, "g_cr_main"), Allow(Reason::kGrant, "g_crd_main"),
       kNoCloud},
      // Inferred.
      {"ManageComputeConfigsInferred", "cloud.compute_configs.manage",
       "cc_main_cpu", kOO, Allow(Reason::kGrant, "g_co_main"),
       Allow(Reason::kGrant, "g_cw_main"), kInsufficient,
       Deny(Reason::kDenyRole, "g_crd_read_only"), kNoCloud},
      // [D] implicit write on public projects; inferred for CR (rule 8 cap).
      {"LaunchInDefaultProject", "project.workload.create", "main/default", kOO,
       Allow(Reason::kPublicProject, "g_co_main"),
       Allow(Reason::kPublicProject, "g_cw_main"), kInsufficient,
       Deny(Reason::kDenyRole, "g_crd_read_only"), kNoCloud},
      // Inferred; "~" for CO: the profile keeps it to org owners.
      {"TerminateSystemClusterInferred", "cloud.system_cluster.terminate",
       "cld_main", kOO, kInsufficient, kInsufficient, kInsufficient,
       kInsufficient, kNoCloud},
  };
  std::vector<RuleCase> cases;
  for (const CloudRow& row : rows) {
    cases.push_back(
        {row.name + "_OO", "usr_oo", row.permission, row.resource, row.oo});
    cases.push_back(
        {row.name + "_CO", "usr_co", row.permission, row.resource, row.co});
    cases.push_back(
        {row.name + "_CW", "usr_cw", row.permission, row.resource, row.cw});
    cases.push_back(
        {row.name + "_CR", "usr_cr", row.permission, row.resource, row.cr});
    cases.push_back(
        {row.name + "_CRd", "usr_crd", row.permission, row.resource, row.crd});
    cases.push_back(
        {row.name + "_OC", "usr_oc", row.permission, row.resource, row.oc});
  }
  // "Grant cloud access to someone outside the org": nobody from another
  // org acts on this cloud (the grant itself is rejected at compile time,
  // see CloudGrantAcrossOrgsIsRejected).
  cases.push_back({"GrantCloudAccessOutsideOrg_OtherOrgOwner", "usr_b_owner",
                   "cloud.members.manage", "cld_main",
                   Deny(Reason::kCrossOrg)});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Matrix52Cloud, RulesTest,
                         ::testing::ValuesIn(CloudMatrix()), CaseName);

// ---------------------------------------------------------------------------
// §5.3 project-scope actions on the private project main/ml. Columns: OO,
// PO, PW, PR, and a cloud member with no grant on the project (usr_cw).

struct ProjectRow {
  std::string name;
  std::string permission;
  std::string resource;
  Outcome oo, po, pw, pr, none;
};

std::vector<RuleCase> ProjectMatrix(const std::vector<ProjectRow>& rows) {
  std::vector<RuleCase> cases;
  for (const ProjectRow& row : rows) {
    cases.push_back(
        {row.name + "_OO", "usr_oo", row.permission, row.resource, row.oo});
    cases.push_back(
        {row.name + "_PO", "usr_po", row.permission, row.resource, row.po});
    cases.push_back(
        {row.name + "_PW", "usr_pw", row.permission, row.resource, row.pw});
    cases.push_back(
        {row.name + "_PR", "usr_pr", row.permission, row.resource, row.pr});
    cases.push_back({row.name + "_CloudMemberNoGrant", "usr_cw", row.permission,
                     row.resource, row.none});
  }
  return cases;
}

std::vector<RuleCase> ProjectScopeMatrix() {
  const Outcome kOO = Allow(Reason::kOrgOwner, "g_oo_owner");
  const Outcome kPO = Allow(Reason::kGrant, "g_po_ml");
  const Outcome kInsufficient = Deny(Reason::kInsufficientRole);
  const Outcome kNoProject = Deny(Reason::kNoProjectGrant);
  const Outcome kProtected = Deny(Reason::kProtectedResource);
  return ProjectMatrix({
      {"SeeProject", "project.view", "prj_priv", kOO, kPO,
       Allow(Reason::kGrant, "g_pw_ml"), Allow(Reason::kGrant, "g_pr_ml"),
       kNoProject},
      // [D] for PO; inferred for PW.
      {"ShareProject", "project.members.manage", "prj_priv", kOO, kPO,
       kInsufficient, kInsufficient, kNoProject},
      // [D] OWNER is a valid level; inferred who may grant it.
      {"GrantProjectOwner", "project.owner.grant", "prj_priv", kOO, kPO,
       kInsufficient, kInsufficient, kNoProject},
      // Inferred.
      {"ChangeVisibilityInferred", "project.visibility.change", "prj_priv", kOO,
       kPO, kInsufficient, kInsufficient, kNoProject},
      // Inferred.
      {"DeleteProjectInferred", "project.delete", "prj_priv", kOO, kPO,
       kInsufficient, kInsufficient, kNoProject},
      // Inferred: nobody deletes a default project, its owner (usr_po owns
      // main/default) and org owners included.
      {"DeleteDefaultProjectInferred", "project.delete", "prj_main_default",
       kProtected, kProtected, kProtected, kProtected, kProtected},
  });
}

INSTANTIATE_TEST_SUITE_P(Matrix53Project, RulesTest,
                         ::testing::ValuesIn(ProjectScopeMatrix()), CaseName);

// ---------------------------------------------------------------------------
// §5.4 workload actions inside the private project main/ml (workloads
// pw-job, created by usr_pw, and po-notebook, created by usr_po).

std::vector<RuleCase> WorkloadMatrix() {
  const Outcome kOO = Allow(Reason::kOrgOwner, "g_oo_owner");
  const Outcome kPO = Allow(Reason::kGrant, "g_po_ml");
  const Outcome kPW = Allow(Reason::kGrant, "g_pw_ml");
  const Outcome kInsufficient = Deny(Reason::kInsufficientRole);
  const Outcome kNoProject = Deny(Reason::kNoProjectGrant);
  std::vector<RuleCase> cases = ProjectMatrix({
      {"CreateWorkload", "project.workload.create", "prj_priv", kOO, kPO, kPW,
       kInsufficient, kNoProject},
      {"ViewWorkload", "project.workload.view", "main/ml/po-notebook", kOO, kPO,
       kPW, Allow(Reason::kGrant, "g_pr_ml"), kNoProject},
      {"UpdateWorkload", "project.workload.update", "wl_po_notebook", kOO, kPO,
       kPW, kInsufficient, kNoProject},
      // Inferred (treated as update).
      {"TerminateWorkloadInferred", "project.workload.terminate",
       "wl_po_notebook", kOO, kPO, kPW, kInsufficient, kNoProject},
      // "~" for PW: only workloads it created (§12 row 7, default
      // kOwnWorkloads). po-notebook was created by usr_po.
      {"DeleteOthersWorkload", "project.workload.delete", "wl_po_notebook", kOO,
       kPO, Deny(Reason::kNotWorkloadCreator), kInsufficient, kNoProject},
      // [D] for OO; inferred ("~") for PO: the profile keeps it to org owners.
      {"TroubleshootWithAdminAccess", "project.workload.admin_access",
       "wl_pw_job", kOO, kInsufficient, kInsufficient, kInsufficient,
       kNoProject},
  });
  cases.push_back({"DeleteOwnWorkload_PW", "usr_pw", "project.workload.delete",
                   "main/ml/pw-job", Allow(Reason::kOwnWorkload, "g_pw_ml")});

  // The implicit write of a cloud role on a public project deletes the
  // member's own workloads like an explicit project_write (§12 row 7), and
  // stays capped by cloud_read_only.
  const std::vector<RuleCase> implicit_write = {
      {"DeleteOwnWorkloadInDefaultProject_CW", "usr_cw",
       "project.workload.delete", "main/default/scratch",
       Allow(Reason::kOwnWorkload, "g_cw_main")},
      {"DeleteOwnWorkloadInPublicProject_CW", "usr_cw",
       "project.workload.delete", "wl_web_service",
       Allow(Reason::kOwnWorkload, "g_cw_main")},
      {"DeleteOthersWorkloadInPublicProject_CW", "usr_auto",
       "project.workload.delete", "wl_web_service",
       Deny(Reason::kNotWorkloadCreator)},
      {"DeleteWorkloadInPublicProject_CRd", "usr_crd",
       "project.workload.delete", "wl_web_service",
       Deny(Reason::kDenyRole, "g_crd_read_only")},
      {"DeleteWorkloadInPublicProject_CR", "usr_cr", "project.workload.delete",
       "wl_web_service", Deny(Reason::kInsufficientRole)},
  };
  cases.insert(cases.end(), implicit_write.begin(), implicit_write.end());
  // Access a workload in another cloud's project of the same name: the
  // project grants on main/ml do not reach second/ml.
  for (const char* who : {"usr_po", "usr_pw", "usr_pr"}) {
    cases.push_back({absl::StrCat("SameNamedProjectInOtherCloud_",
                                  std::string(who).substr(4)),
                     who, "project.workload.view", "second/ml/etl",
                     Deny(Reason::kNoCloudGrant)});
  }
  // The matrix's ✘ for OO holds across organizations; within its own org an
  // org owner owns every cloud's projects (rule 6).
  cases.push_back({"SameNamedProjectInOtherOrg_OO", "usr_oo",
                   "project.workload.view", "wl_b_etl",
                   Deny(Reason::kCrossOrg)});
  cases.push_back({"SameNamedProjectInOtherCloudOfOwnOrg_OO", "usr_oo",
                   "project.workload.view", "second/ml/etl", kOO});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Matrix54Workload, RulesTest,
                         ::testing::ValuesIn(WorkloadMatrix()), CaseName);

// ---------------------------------------------------------------------------
// §5.5 service-account rows (sa_ci: cloud collaborator of main, write on
// main/ml). The org-owner row is ServiceAccountOrgOwner below.

INSTANTIATE_TEST_SUITE_P(
    Matrix55ServiceAccount, RulesTest,
    ::testing::Values(Console(RuleCase{"AuthenticateToConsole", "sa_ci",
                                       "project.workload.view", "wl_pw_job",
                                       Deny(Reason::kServiceAccountConsole)}),
                      RuleCase{"UseTheApi", "ci@org-a.serviceaccount.com",
                               "project.workload.view", "wl_pw_job",
                               Allow(Reason::kGrant, "g_ci_ml")},
                      RuleCase{"ReceivesCloudGrants", "sa_ci",
                               "cloud.projects.create", "cld_main",
                               Allow(Reason::kGrant, "g_ci_main")},
                      RuleCase{"ReceivesProjectGrants", "sa_ci",
                               "project.workload.create", "prj_priv",
                               Allow(Reason::kGrant, "g_ci_ml")},
                      RuleCase{"ReachesPublicProjectsLikeAUser", "sa_ci",
                               "project.workload.create", "prj_pub",
                               Allow(Reason::kPublicProject, "g_ci_main")},
                      RuleCase{"CannotManageServiceAccounts", "sa_ci",
                               "org.service_accounts.manage", "org_a",
                               Deny(Reason::kNeedsOrgOwner)}),
    CaseName);

// ---------------------------------------------------------------------------
// Inferred: the RBAC base roles whose permissions no document defines
// (§3.1, §12 row 6). The profile's reading of their names.

INSTANTIATE_TEST_SUITE_P(
    InferredCloudBaseRoles, RulesTest,
    ::testing::Values(
        RuleCase{"WriterCreatesProjects", "usr_writer", "cloud.projects.create",
                 "cld_main", Allow(Reason::kGrant, "g_writer_main")},
        RuleCase{"WriterDoesNotManageMembers", "usr_writer",
                 "cloud.members.manage", "cld_main",
                 Deny(Reason::kInsufficientRole)},
        RuleCase{"WriterWritesPublicProjects", "usr_writer",
                 "project.workload.create", "prj_pub",
                 Allow(Reason::kPublicProject, "g_writer_main")},
        RuleCase{"ProjectViewerListsProjects", "usr_pv", "cloud.projects.list",
                 "cld_main", Allow(Reason::kGrant, "g_pv_main")},
        RuleCase{"ProjectViewerDoesNotUseComputeConfigs", "usr_pv",
                 "cloud.compute_configs.use", "cc_main_cpu",
                 Deny(Reason::kInsufficientRole)},
        RuleCase{"ProjectViewerReadsPublicProjects", "usr_pv", "project.view",
                 "prj_pub", Allow(Reason::kPublicProject, "g_pv_main")},
        RuleCase{"ProjectViewerDoesNotWritePublicProjects", "usr_pv",
                 "project.workload.create", "prj_pub",
                 Deny(Reason::kInsufficientRole)},
        RuleCase{"ProjectViewerNotInPrivateProjects", "usr_pv", "project.view",
                 "prj_priv", Deny(Reason::kNoProjectGrant)},
        RuleCase{"ComputeConfigViewerSeesComputeConfigs", "usr_ccv",
                 "cloud.compute_configs.view", "cc_main_cpu",
                 Allow(Reason::kGrant, "g_ccv_main")},
        RuleCase{"ComputeConfigViewerDoesNotUseThem", "usr_ccv",
                 "cloud.compute_configs.use", "cc_main_cpu",
                 Deny(Reason::kInsufficientRole)},
        RuleCase{"ComputeConfigViewerHasNoProjectAccess", "usr_ccv",
                 "project.view", "prj_pub", Deny(Reason::kNoProjectGrant)},
        RuleCase{"WorkloadOperatorUpdatesPublicWorkloads", "usr_wo",
                 "project.workload.update", "wl_web_service",
                 Allow(Reason::kPublicProject, "g_wo_main")},
        RuleCase{"WorkloadOperatorStopsDefaultProjectWorkloads", "usr_wo",
                 "project.workload.terminate", "wl_scratch",
                 Allow(Reason::kPublicProject, "g_wo_main")},
        RuleCase{"WorkloadOperatorDoesNotCreate", "usr_wo",
                 "project.workload.create", "prj_pub",
                 Deny(Reason::kInsufficientRole)},
        RuleCase{"LegacyReadonlyReadsPublicProjects", "usr_cr",
                 "project.workload.view", "wl_web_service",
                 Allow(Reason::kPublicProject, "g_cr_main")}),
    CaseName);

// ---------------------------------------------------------------------------
// Compile-time halves of the rules (validation_test.cc lists every
// rejection; these tie them to the rule they enforce).

constexpr char kTinyOrg[] = R"pb(
  organizations { id: "org_a" name: "acme" }
  organizations { id: "org_b" name: "globex" }
  clouds { id: "cld_a" org_id: "org_a" name: "main" }
  clouds { id: "cld_b" org_id: "org_b" name: "main" }
  projects {
    id: "prj_a_default"
    cloud_id: "cld_a"
    name: "default"
    is_default: true
  }
  projects { id: "prj_a_ml" cloud_id: "cld_a" name: "ml" }
  projects {
    id: "prj_b_default"
    cloud_id: "cld_b"
    name: "default"
    is_default: true
  }
  principals {
    id: "usr_a"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "a@acme.com"
  }
  principals {
    id: "usr_b"
    org_id: "org_b"
    kind: PRINCIPAL_KIND_USER
    email: "b@globex.com"
  }
  principals {
    id: "sa_a"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_SERVICE_ACCOUNT
    email: "sa@org-a.serviceaccount.com"
  }
  groups { id: "grp_admins" org_id: "org_a" member_ids: "sa_a" }
)pb";

v1::PolicySet TinyOrg(absl::string_view extra_grants) {
  absl::StatusOr<v1::PolicySet> state = ParsePolicySet(
      absl::StrCat(kTinyOrg, extra_grants), PolicyFormat::kText, "tiny");
  EXPECT_TRUE(state.ok()) << state.status();
  return state.ok() ? *state : v1::PolicySet();
}

TEST(Rule4Prerequisites, ProjectGrantWithoutCloudGrantIsAWarningAndDenies) {
  const v1::PolicySet state = TinyOrg(R"pb(
    grants {
      id: "g1"
      principal_id: "usr_a"
      role: "project_write"
      project_id: "prj_a_ml"
    }
  )pb");
  EngineOptions strict;
  strict.strict_grant_rules = true;
  EXPECT_THAT(
      Engine::Create(state, strict),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("grants[0].scope: user \"usr_a\" has no grant on "
                         "cloud \"cld_a\"")));
  // It loads (a revocation can leave such a state), and the project grant
  // gives nothing without a live cloud grant: rule 4 holds at Check.
  absl::StatusOr<std::unique_ptr<const Engine>> engine = Engine::Create(state);
  ASSERT_OK(engine.status());
  ASSERT_EQ((*engine)->warnings().size(), 1u);
  EXPECT_THAT((*engine)->warnings()[0],
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("grants[0].scope: user \"usr_a\"")));
  for (absl::string_view permission :
       {"project.view", "project.workload.create", "project.workload.view"}) {
    AccessRequest r;
    r.principal = "usr_a";
    r.permission = permission;
    r.resource = "prj_a_ml";
    EXPECT_EQ((*engine)->Check(r).reason, Reason::kNoCloudGrant) << permission;
  }
  // With the cloud grant it compiles.
  EXPECT_OK(Engine::Create(TinyOrg(R"pb(
    grants {
      id: "g1"
      principal_id: "usr_a"
      role: "project_write"
      project_id: "prj_a_ml"
    }
    grants {
      id: "g2"
      principal_id: "usr_a"
      role: "cloud_readonly"
      cloud_id: "cld_a"
    }
  )pb")));
}

TEST(Rule4Prerequisites, CloudGrantAcrossOrgsIsRejected) {
  // §5.2 "Grant cloud access to someone outside the org".
  EXPECT_THAT(
      Engine::Create(TinyOrg(R"pb(
        grants {
          id: "g1"
          principal_id: "usr_b"
          role: "cloud_collaborator"
          cloud_id: "cld_a"
        }
      )pb")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("grants[0].scope: cloud \"cld_a\" and user \"usr_b\" "
                         "belong to different organizations")));
}

TEST(Rule6OrgOwner, OwnerNeedsNoCloudGrantAndCloudGrantsAreOptional) {
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(TinyOrg(R"pb(
                         grants {
                           id: "g1"
                           principal_id: "usr_a"
                           role: "org_owner"
                           org_id: "org_a"
                         }
                       )pb")));
  AccessRequest r;
  r.principal = "usr_a";
  r.permission = "project.workload.admin_access";
  r.resource = "main/ml";
  Decision d = engine->Check(r);
  EXPECT_EQ(d.reason, Reason::kOrgOwner) << d;
  EXPECT_EQ(d.grant_id, "g1");
}

// §5.5 "Hold the org owner role" [X]: rejected by default (§12 row 4),
// allowed by EngineOptions::allow_service_account_org_owner.
TEST(ServiceAccountOrgOwner, RejectedByDefaultDirectly) {
  EXPECT_THAT(
      Engine::Create(TinyOrg(R"pb(
        grants {
          id: "g1"
          principal_id: "sa_a"
          role: "org_owner"
          org_id: "org_a"
        }
      )pb")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("grants[0].subject: service account \"sa_a\" cannot "
                         "hold \"org_owner\" "
                         "(EngineOptions::allow_service_account_org_owner)")));
}

TEST(ServiceAccountOrgOwner, RejectedByDefaultThroughAGroup) {
  EXPECT_THAT(
      Engine::Create(TinyOrg(R"pb(
        grants {
          id: "g1"
          group_id: "grp_admins"
          role: "org_owner"
          org_id: "org_a"
        }
      )pb")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("grants[0].subject: group \"grp_admins\" holds "
                         "\"org_owner\" and contains service account "
                         "\"sa_a\"")));
}

TEST(ServiceAccountOrgOwner, AllowedByOption) {
  EngineOptions options;
  options.allow_service_account_org_owner = true;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(TinyOrg(R"pb(
                                                     grants {
                                                       id: "g1"
                                                       principal_id: "sa_a"
                                                       role: "org_owner"
                                                       org_id: "org_a"
                                                     }
                                                   )pb"),
                                                   options));
  AccessRequest r;
  r.principal = "sa_a";
  r.permission = "org.service_accounts.manage";
  r.resource = "org_a";
  Decision d = engine->Check(r);
  EXPECT_EQ(d.reason, Reason::kOrgOwner) << d;
  EXPECT_EQ(d.grant_id, "g1");
  // Still never through the console (rule 3 comes first).
  r.context.channel = Channel::kConsole;
  EXPECT_EQ(engine->Check(r).reason, Reason::kServiceAccountConsole);
}

// Rule 9: non-RBAC gates are separate from Check. A cloud whose IAM mapping
// would refuse every workload still gets an RBAC ALLOW; the gate is
// Engine::ResolveIam.
TEST(Rule9NonRbacGates, CheckIgnoresIamMapping) {
  absl::StatusOr<v1::PolicySet> state = ParsePolicySet(
      R"pb(
        organizations { id: "org_a" name: "acme" }
        clouds {
          id: "cld_a"
          org_id: "org_a"
          name: "main"
          iam_mapping {
            rules { selector: "workload-type=job" identity: "etl-role" }
            default_behavior: FAIL
            default_identity: "cld_a-cluster_node_role"
          }
        }
        projects {
          id: "prj_a_default"
          cloud_id: "cld_a"
          name: "default"
          is_default: true
        }
        principals {
          id: "usr_a"
          org_id: "org_a"
          kind: PRINCIPAL_KIND_USER
          email: "a@acme.com"
        }
        grants {
          id: "g1"
          principal_id: "usr_a"
          role: "cloud_collaborator"
          cloud_id: "cld_a"
        }
      )pb",
      PolicyFormat::kText);
  ASSERT_OK(state);
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(*state));
  AccessRequest r;
  r.principal = "a@acme.com";
  r.permission = "project.workload.create";
  r.resource = "main/default";
  Decision d = engine->Check(r);
  EXPECT_TRUE(d.allowed()) << d;
  EXPECT_EQ(d.reason, Reason::kPublicProject);

  WorkloadAttributes w;
  w.cloud = "cld_a";
  w.type = v1::WORKLOAD_TYPE_WORKSPACE;
  w.user = "a@acme.com";
  EXPECT_EQ(engine->ResolveIam(w).outcome, IamOutcome::kFail);
}

}  // namespace
}  // namespace arbiter
