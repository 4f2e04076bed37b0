// Every rejection of the policy compiler (src/compiler/*.cc), each asserting
// InvalidArgument and a message that starts with the field path of the
// object at fault; the limits of EngineOptions; and Engine::Validate, which
// lists every problem.
//
// Each case starts from kBase, a small valid PolicySet, appends textproto
// and/or edits the parsed proto, and expects the first problem reported by
// Engine::Create to contain `message`.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arbiter/engine.h"
#include "arbiter/engine_options.h"
#include "arbiter/policy_io.h"
#include "arbiter/profile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::IsOk;
using ::arbiter::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

// Index map of kBase, for reading the expected paths below:
//   organizations[0] org_a "acme"      organizations[1] org_b "globex"
//   clouds[0] cld_a (org_a) "main"     clouds[1] cld_b (org_b) "main"
//   projects[0] prj_a_default  projects[1] prj_a_ml  projects[2] prj_b_default
//   workloads[0] wl_a   compute_configs[0] cc_a   images[0] img_a
//   principals[0] usr_a  [1] usr_a2  [2] usr_b (org_b)  [3] sa_a
//   groups[0] grp_a (org_a, contains usr_a2)   groups[1] grp_b (org_b)
//   grants[0] g_base: usr_a cloud_collaborator on cld_a
// Appended objects therefore start at clouds[2], projects[3], workloads[1],
// compute_configs[1], images[1], principals[4], groups[2] and grants[1].
constexpr char kBase[] = R"pb(
  revision: 7
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
  workloads {
    id: "wl_a"
    project_id: "prj_a_ml"
    name: "job"
    type: WORKLOAD_TYPE_JOB
  }
  compute_configs { id: "cc_a" cloud_id: "cld_a" name: "cpu" }
  images { id: "img_a" org_id: "org_a" name: "base" kind: IMAGE_KIND_BASE }
  principals {
    id: "usr_a"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "a@acme.com"
  }
  principals {
    id: "usr_a2"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "a2@acme.com"
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
  groups { id: "grp_a" org_id: "org_a" name: "team" member_ids: "usr_a2" }
  groups { id: "grp_b" org_id: "org_b" name: "team" }
  grants {
    id: "g_base"
    principal_id: "usr_a"
    role: "cloud_collaborator"
    cloud_id: "cld_a"
  }
)pb";

v1::PolicySet Parse(absl::string_view text) {
  absl::StatusOr<v1::PolicySet> state =
      ParsePolicySet(text, PolicyFormat::kText, "test");
  EXPECT_THAT(state, IsOk());
  return state.ok() ? *std::move(state) : v1::PolicySet();
}

v1::PolicySet Base(absl::string_view extra = "") {
  return Parse(absl::StrCat(kBase, extra));
}

using Mutation = std::function<void(v1::PolicySet&)>;
using OptionsEdit = std::function<void(EngineOptions&)>;

struct Rejection {
  std::string name;
  std::string extra;  // textproto appended to kBase
  std::string message;
  Mutation mutate = nullptr;
  OptionsEdit options = nullptr;
};

void PrintTo(const Rejection& r, std::ostream* os) { *os << r.name; }

std::string RejectionName(const ::testing::TestParamInfo<Rejection>& info) {
  return info.param.name;
}

class RejectionTest : public ::testing::TestWithParam<Rejection> {};

TEST_P(RejectionTest, IsInvalidArgumentNamingTheField) {
  const Rejection& r = GetParam();
  v1::PolicySet state = Base(r.extra);
  if (r.mutate) r.mutate(state);
  EngineOptions options;
  if (r.options) r.options(options);

  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options);
  EXPECT_THAT(engine, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr(r.message)));
  // The message starts with the path (or the object) named by the case.
  const std::string path = r.message.substr(0, r.message.find(": "));
  EXPECT_THAT(std::string(engine.status().message()), StartsWith(path));

  // Validate reports the same problem, as InvalidArgument.
  std::vector<absl::Status> problems = Engine::Validate(state, options);
  ASSERT_FALSE(problems.empty());
  EXPECT_THAT(problems.front(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr(r.message)));
  for (const absl::Status& s : problems) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
}

// Helpers for edits the text format cannot express.
Mutation LongString(std::function<std::string*(v1::PolicySet&)> field,
                    size_t length, char fill = 'x') {
  return [field, length, fill](v1::PolicySet& s) {
    std::string* f = field(s);
    *f = std::string(length, fill);
  };
}

// The tables below keep one case per entry on as few lines as possible.
// clang-format off

// ---------------------------------------------------------------------------
// Ids: syntax, limits, uniqueness across every kind.

INSTANTIATE_TEST_SUITE_P(
    Ids, RejectionTest,
    ::testing::Values(
        Rejection{"MissingId",
                  R"pb(clouds { org_id: "org_a" name: "x" })pb",
                  "clouds[2].id: missing id"},
        Rejection{"IdWithSlash",
                  R"pb(images { id: "img/x" org_id: "org_a" name: "x" })pb",
                  "images[1].id: invalid id \"img/x\" (printable ASCII, no spaces, '/' or '@')"},
        Rejection{"IdWithAt",
                  R"pb(images { id: "img@x" org_id: "org_a" name: "x" })pb",
                  "images[1].id: invalid id \"img@x\" (printable ASCII, no spaces, '/' or '@')"},
        Rejection{"IdWithSpace",
                  R"pb(principals { id: "usr x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "x@acme.com" })pb",
                  "principals[4].id: invalid id \"usr x\""},
        Rejection{"IdWithNonAscii",
                  R"pb(groups { id: "grp_\303\251" org_id: "org_a" })pb",
                  "groups[2].id: invalid id \"grp_\\xc3\\xa9\""},
        Rejection{"IdTooLong", "",
                  "grants[0].id: id of 257 bytes exceeds the limit of 256 (EngineOptions::max_id_length)",
                  LongString([](v1::PolicySet& s) { return s.mutable_grants(0)->mutable_id(); }, 257)},
        Rejection{"IdLongerThanConfiguredLimit", "",
                  "organizations[0].id: id of 5 bytes exceeds the limit of 4 (EngineOptions::max_id_length)",
                  nullptr, [](EngineOptions& o) { o.max_id_length = 4; }},
        Rejection{"DuplicateIdSameKind",
                  R"pb(principals { id: "usr_a" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "other@acme.com" })pb",
                  "principals[4].id: duplicate id \"usr_a\" (also principals[0])"},
        Rejection{"DuplicateIdAcrossKinds",
                  R"pb(groups { id: "usr_a" org_id: "org_a" })pb",
                  "groups[2].id: duplicate id \"usr_a\" (also principals[0])"},
        Rejection{"DuplicateGrantId",
                  R"pb(grants { id: "g_base" principal_id: "usr_a" role: "cloud_readonly" cloud_id: "cld_a" })pb",
                  "grants[1].id: duplicate id \"g_base\" (also grants[0])"}),
    RejectionName);

// ---------------------------------------------------------------------------
// References between objects: missing, unknown, or of the wrong kind.

INSTANTIATE_TEST_SUITE_P(
    References, RejectionTest,
    ::testing::Values(
        Rejection{"CloudWithoutOrg",
                  R"pb(clouds { id: "cld_x" name: "x" })pb",
                  "clouds[2].org_id: missing organization id"},
        Rejection{"CloudOfUnknownOrg",
                  R"pb(clouds { id: "cld_x" org_id: "org_zz" name: "x" })pb",
                  "clouds[2].org_id: unknown organization \"org_zz\""},
        Rejection{"CloudOrgIsACloud",
                  R"pb(clouds { id: "cld_x" org_id: "cld_a" name: "x" })pb",
                  "clouds[2].org_id: \"cld_a\" is a cloud, not an organization"},
        Rejection{"ProjectOfUnknownCloud",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_zz" name: "x" })pb",
                  "projects[3].cloud_id: unknown cloud \"cld_zz\""},
        Rejection{"ProjectCreatorUnknown",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_a" name: "x" creator_id: "usr_zz" })pb",
                  "projects[3].creator_id: unknown principal \"usr_zz\""},
        Rejection{"WorkloadOfUnknownProject",
                  R"pb(workloads { id: "wl_x" project_id: "prj_zz" type: WORKLOAD_TYPE_JOB })pb",
                  "workloads[1].project_id: unknown project \"prj_zz\""},
        Rejection{"WorkloadProjectIsACloud",
                  R"pb(workloads { id: "wl_x" project_id: "cld_a" type: WORKLOAD_TYPE_JOB })pb",
                  "workloads[1].project_id: \"cld_a\" is a cloud, not a project"},
        Rejection{"WorkloadProjectNotInItsCloud",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" cloud_id: "cld_b" type: WORKLOAD_TYPE_JOB })pb",
                  "workloads[1].cloud_id: project \"prj_a_ml\" is not in cloud \"cld_b\""},
        Rejection{"WorkloadOfUnknownCloud",
                  R"pb(workloads { id: "wl_x" cloud_id: "cld_zz" type: WORKLOAD_TYPE_JOB })pb",
                  "workloads[1].cloud_id: unknown cloud \"cld_zz\""},
        Rejection{"WorkloadWithoutProjectOrCloud",
                  R"pb(workloads { id: "wl_x" type: WORKLOAD_TYPE_JOB })pb",
                  "workloads[1]: needs a project_id or a cloud_id"},
        Rejection{"WorkloadCreatorUnknown",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" type: WORKLOAD_TYPE_JOB creator_id: "usr_zz" })pb",
                  "workloads[1].creator_id: unknown principal \"usr_zz\""},
        Rejection{"WorkloadCreatorIsAGroup",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" type: WORKLOAD_TYPE_JOB creator_id: "grp_a" })pb",
                  "workloads[1].creator_id: \"grp_a\" is a group, not a principal"},
        Rejection{"WorkloadCreatorOfAnotherOrg",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" type: WORKLOAD_TYPE_JOB creator_id: "usr_b" })pb",
                  "workloads[1].creator_id: user \"usr_b\" belongs to another organization"},
        Rejection{"ComputeConfigOfUnknownCloud",
                  R"pb(compute_configs { id: "cc_x" cloud_id: "cld_zz" name: "x" })pb",
                  "compute_configs[1].cloud_id: unknown cloud \"cld_zz\""},
        Rejection{"ImageOfUnknownOrg",
                  R"pb(images { id: "img_x" org_id: "org_zz" name: "x" })pb",
                  "images[1].org_id: unknown organization \"org_zz\""},
        Rejection{"ImageOrgIsAnImage",
                  R"pb(images { id: "img_x" org_id: "img_a" name: "x" })pb",
                  "images[1].org_id: \"img_a\" is an image, not an organization"},
        Rejection{"PrincipalOfUnknownOrg",
                  R"pb(principals { id: "usr_x" org_id: "org_zz" kind: PRINCIPAL_KIND_USER email: "x@acme.com" })pb",
                  "principals[4].org_id: unknown organization \"org_zz\""},
        Rejection{"GroupWithoutOrg",
                  R"pb(groups { id: "grp_x" })pb",
                  "groups[2].org_id: missing organization id"}),
    RejectionName);

// ---------------------------------------------------------------------------
// Names: syntax, limits, uniqueness among siblings.

INSTANTIATE_TEST_SUITE_P(
    Names, RejectionTest,
    ::testing::Values(
        Rejection{"CloudWithoutName",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" })pb",
                  "clouds[2].name: missing name"},
        Rejection{"ProjectWithoutName",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_a" })pb",
                  "projects[3].name: missing name"},
        Rejection{"ComputeConfigWithoutName",
                  R"pb(compute_configs { id: "cc_x" cloud_id: "cld_a" })pb",
                  "compute_configs[1].name: missing name"},
        Rejection{"ImageWithoutName",
                  R"pb(images { id: "img_x" org_id: "org_a" })pb",
                  "images[1].name: missing name"},
        Rejection{"OrgNameWithSlash",
                  R"pb(organizations { id: "org_x" name: "a/b" })pb",
                  "organizations[2].name: invalid name \"a/b\" (no '/', control, invisible or bidirectional-control characters; found U+002F)"},
        Rejection{"ProjectNameWithZeroWidthSpace",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_a" name: "ml\342\200\213" })pb",
                  "projects[3].name: invalid name \"ml\\xe2\\x80\\x8b\" (no '/', control, invisible or bidirectional-control characters; found U+200B)"},
        Rejection{"ProjectNameWithRightToLeftOverride",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_a" name: "\342\200\256lm" })pb",
                  "projects[3].name: invalid name \"\\xe2\\x80\\xaelm\" (no '/', control, invisible or bidirectional-control characters; found U+202E)"},
        Rejection{"CloudNameWithNextLine",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "a\302\205b" })pb",
                  "clouds[2].name: invalid name"},
        Rejection{"CloudNameWithByteOrderMark",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "\357\273\277prod" })pb",
                  "clouds[2].name: invalid name \"\\xef\\xbb\\xbfprod\" (no '/', control, invisible or bidirectional-control characters; found U+FEFF)"},
        Rejection{"CloudNameWithNewline",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "ma\nin" })pb",
                  "clouds[2].name: invalid name \"ma\\nin\""},
        Rejection{"CloudNameNotUtf8",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "\377" })pb",
                  "clouds[2].name: name \"\\xff\" is not valid UTF-8"},
        Rejection{"WorkloadNameWithSlash",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" name: "a/b" type: WORKLOAD_TYPE_JOB })pb",
                  "workloads[1].name: invalid name \"a/b\""},
        Rejection{"PrincipalNameWithControlCharacter",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "x@acme.com" name: "x\001" })pb",
                  "principals[4].name: invalid name \"x\\x01\""},
        Rejection{"GroupNameWithSlash",
                  R"pb(groups { id: "grp_x" org_id: "org_a" name: "a/b" })pb",
                  "groups[2].name: invalid name \"a/b\""},
        Rejection{"NameTooLong", "",
                  "projects[1].name: name of 1025 bytes exceeds the limit of 1024 (EngineOptions::max_name_length)",
                  LongString([](v1::PolicySet& s) { return s.mutable_projects(1)->mutable_name(); }, 1025)},
        Rejection{"NameLongerThanConfiguredLimit", "",
                  "organizations[1].name: name of 6 bytes exceeds the limit of 5 (EngineOptions::max_name_length)",
                  nullptr, [](EngineOptions& o) { o.max_name_length = 5; }},
        Rejection{"DuplicateCloudName",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "main" }
                       projects { id: "prj_x" cloud_id: "cld_x" name: "default" is_default: true })pb",
                  "clouds[2].name: duplicate cloud name \"main\" in organization \"org_a\" (also clouds[0])"},
        Rejection{"DuplicateProjectName",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_a" name: "ml" })pb",
                  "projects[3].name: duplicate project name \"ml\" in cloud \"cld_a\" (also projects[1])"},
        Rejection{"DuplicateWorkloadName",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" name: "job" type: WORKLOAD_TYPE_SERVICE })pb",
                  "workloads[1].name: duplicate workload name \"job\" in project \"prj_a_ml\" (also workloads[0])"},
        Rejection{"DuplicateComputeConfigName",
                  R"pb(compute_configs { id: "cc_x" cloud_id: "cld_a" name: "cpu" })pb",
                  "compute_configs[1].name: duplicate compute config name \"cpu\" in cloud \"cld_a\" (also compute_configs[0])"},
        Rejection{"DuplicateImageName",
                  R"pb(images { id: "img_x" org_id: "org_a" name: "base" kind: IMAGE_KIND_CUSTOM })pb",
                  "images[1].name: duplicate image name \"base\" in organization \"org_a\" (also images[0])"}),
    RejectionName);

// ---------------------------------------------------------------------------
// Resources: enums, default projects, workload types.

INSTANTIATE_TEST_SUITE_P(
    Resources, RejectionTest,
    ::testing::Values(
        Rejection{"UnknownVisibility", "",
                  "projects[1].visibility: unknown visibility",
                  [](v1::PolicySet& s) { s.mutable_projects(1)->set_visibility(static_cast<v1::Visibility>(9)); }},
        Rejection{"PrivateDefaultProject",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "x" }
                       projects { id: "prj_x" cloud_id: "cld_x" name: "default" is_default: true visibility: VISIBILITY_PRIVATE })pb",
                  "projects[3].visibility: the default project of cloud \"cld_x\" must be public"},
        Rejection{"SecondDefaultProject",
                  R"pb(projects { id: "prj_x" cloud_id: "cld_a" name: "x" is_default: true })pb",
                  "projects[3].is_default: cloud \"cld_a\" already has a default project, project \"prj_a_default\""},
        Rejection{"CloudWithoutDefaultProject",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "x" })pb",
                  "clouds[2]: cloud \"cld_x\" has no default project (exactly one project per cloud sets is_default)"},
        Rejection{"WorkloadWithoutType",
                  R"pb(workloads { id: "wl_x" project_id: "prj_a_ml" })pb",
                  "workloads[1].type: missing or unknown workload type"},
        Rejection{"WorkloadOfUnknownType", "",
                  "workloads[0].type: missing or unknown workload type",
                  [](v1::PolicySet& s) { s.mutable_workloads(0)->set_type(static_cast<v1::WorkloadType>(77)); }},
        Rejection{"ImageOfUnknownKind", "",
                  "images[0].kind: unknown image kind",
                  [](v1::PolicySet& s) { s.mutable_images(0)->set_kind(static_cast<v1::ImageKind>(9)); }}),
    RejectionName);

// ---------------------------------------------------------------------------
// Principals and groups.

INSTANTIATE_TEST_SUITE_P(
    Principals, RejectionTest,
    ::testing::Values(
        Rejection{"MissingKind",
                  R"pb(principals { id: "usr_x" org_id: "org_a" email: "x@acme.com" })pb",
                  "principals[4].kind: missing or unknown principal kind (USER or SERVICE_ACCOUNT)"},
        Rejection{"UnknownKind", "",
                  "principals[1].kind: missing or unknown principal kind",
                  [](v1::PolicySet& s) { s.mutable_principals(1)->set_kind(static_cast<v1::PrincipalKind>(5)); }},
        Rejection{"UnknownState", "",
                  "principals[1].state: unknown principal state",
                  [](v1::PolicySet& s) { s.mutable_principals(1)->set_state(static_cast<v1::PrincipalState>(8)); }},
        Rejection{"MissingEmail",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER })pb",
                  "principals[4].email: missing email"},
        Rejection{"EmailWithoutAt",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "x.acme.com" })pb",
                  "principals[4].email: invalid email \"x.acme.com\""},
        Rejection{"EmailWithTwoAts",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "x@y@acme.com" })pb",
                  "principals[4].email: invalid email \"x@y@acme.com\""},
        Rejection{"EmailWithSpace",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "x y@acme.com" })pb",
                  "principals[4].email: invalid email \"x y@acme.com\""},
        Rejection{"EmailWithoutDomain",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "x@" })pb",
                  "principals[4].email: invalid email \"x@\""},
        Rejection{"EmailTooLong", "",
                  "principals[0].email: email of 1025 bytes exceeds the limit of 1024 (EngineOptions::max_name_length)",
                  [](v1::PolicySet& s) { s.mutable_principals(0)->set_email(std::string(1016, 'x') + "@acme.com"); }},
        Rejection{"DuplicateEmailIgnoringCase",
                  R"pb(principals { id: "usr_x" org_id: "org_a" kind: PRINCIPAL_KIND_USER email: "A@ACME.com" })pb",
                  "principals[4].email: duplicate email \"A@ACME.com\" in organization \"org_a\" (also principals[0]; emails compare case-insensitively; only deleted principals may share one)"},
        Rejection{"UnknownMember",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: "usr_zz" })pb",
                  "groups[2].member_ids[0]: unknown principal or group \"usr_zz\""},
        Rejection{"MemberIsACloud",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: ["usr_a", "cld_a"] })pb",
                  "groups[2].member_ids[1]: \"cld_a\" is a cloud, not a principal or group"},
        Rejection{"GroupContainsItself",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: "grp_x" })pb",
                  "groups[2].member_ids[0]: group \"grp_x\" contains itself"},
        Rejection{"MemberOfAnotherOrg",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: "usr_b" })pb",
                  "groups[2].member_ids[0]: user \"usr_b\" belongs to another organization"},
        Rejection{"NestedGroupOfAnotherOrg",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: "grp_b" })pb",
                  "groups[2].member_ids[0]: group \"grp_b\" belongs to another organization"},
        Rejection{"GroupCycle",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: "grp_y" }
                       groups { id: "grp_y" org_id: "org_a" member_ids: "grp_z" }
                       groups { id: "grp_z" org_id: "org_a" member_ids: "grp_x" })pb",
                  "groups[2].member_ids: group cycle: grp_x contains grp_y contains grp_z contains grp_x"},
        Rejection{"GroupsNestedTooDeep",
                  R"pb(groups { id: "grp_1" org_id: "org_a" member_ids: "usr_a" }
                       groups { id: "grp_2" org_id: "org_a" member_ids: "grp_1" }
                       groups { id: "grp_3" org_id: "org_a" member_ids: "grp_2" })pb",
                  "groups[2]: group \"grp_1\" is nested more than 2 levels deep (EngineOptions::max_group_depth)",
                  nullptr, [](EngineOptions& o) { o.max_group_depth = 2; }},
        Rejection{"TooManyGroupsPerPrincipal",
                  R"pb(groups { id: "grp_x" org_id: "org_a" member_ids: "grp_y" }
                       groups { id: "grp_y" org_id: "org_a" member_ids: "usr_a2" })pb",
                  "principals[1]: user \"usr_a2\" belongs to 3 groups, more than 2 (EngineOptions::max_groups_per_principal)",
                  nullptr, [](EngineOptions& o) { o.max_groups_per_principal = 2; }}),
    RejectionName);

// ---------------------------------------------------------------------------
// Grants, one field at a time.

INSTANTIATE_TEST_SUITE_P(
    Grants, RejectionTest,
    ::testing::Values(
        Rejection{"MissingSubject",
                  R"pb(grants { id: "g1" role: "cloud_readonly" cloud_id: "cld_a" })pb",
                  "grants[1].subject: missing subject (set principal_id or group_id)"},
        Rejection{"UnknownPrincipal",
                  R"pb(grants { id: "g1" principal_id: "usr_zz" role: "cloud_readonly" cloud_id: "cld_a" })pb",
                  "grants[1].subject: unknown principal \"usr_zz\""},
        Rejection{"PrincipalIsAGroup",
                  R"pb(grants { id: "g1" principal_id: "grp_a" role: "cloud_readonly" cloud_id: "cld_a" })pb",
                  "grants[1].subject: \"grp_a\" is a group, not a principal"},
        Rejection{"UnknownGroup",
                  R"pb(grants { id: "g1" group_id: "grp_zz" role: "cloud_readonly" cloud_id: "cld_a" })pb",
                  "grants[1].subject: unknown group \"grp_zz\""},
        Rejection{"MissingScope",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "cloud_readonly" })pb",
                  "grants[1].scope: missing scope (set org_id, cloud_id or project_id)"},
        Rejection{"UnknownProject",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "project_write" project_id: "prj_9" })pb",
                  "grants[1].scope: unknown project \"prj_9\""},
        Rejection{"EmptyScopeId",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "cloud_owner" cloud_id: "" })pb",
                  "grants[1].scope: missing cloud id"},
        Rejection{"ScopeIsAWorkload",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "project_write" project_id: "wl_a" })pb",
                  "grants[1].scope: \"wl_a\" is a workload, not a project"},
        Rejection{"MissingRole",
                  R"pb(grants { id: "g1" principal_id: "usr_a" cloud_id: "cld_a" })pb",
                  "grants[1].role: missing role"},
        Rejection{"UnknownRole",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "superuser" cloud_id: "cld_a" })pb",
                  "grants[1].role: unknown role \"superuser\""},
        Rejection{"ProjectRoleOnACloud",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "project_owner" cloud_id: "cld_a" })pb",
                  "grants[1].role: role \"project_owner\" cannot be granted at the cloud scope (grantable at: project)"},
        Rejection{"OrgRoleOnAProject",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "org_owner" project_id: "prj_a_ml" })pb",
                  "grants[1].role: role \"org_owner\" cannot be granted at the project scope (grantable at: org)"},
        Rejection{"CloudRoleOnTheOrg",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "cloud_owner" org_id: "org_a" })pb",
                  "grants[1].role: role \"cloud_owner\" cannot be granted at the org scope (grantable at: cloud)"},
        Rejection{"CloudDenyRoleOnTheOrg",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "cloud_read_only" org_id: "org_a" })pb",
                  "grants[1].role: role \"cloud_read_only\" cannot be granted at the org scope (grantable at: cloud)"},
        Rejection{"ImpliedOnlyRole",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "project_workload_operator" project_id: "prj_a_ml" })pb",
                  "grants[1].role: role \"project_workload_operator\" is implied only and cannot be granted"},
        // §4.3: a group policy naming a role outside its scope's vocabulary.
        Rejection{"GroupPolicyOutsideVocabulary",
                  R"pb(grants { id: "g1" group_id: "grp_a" role: "cloud_project_viewer" cloud_id: "cld_a" })pb",
                  "grants[1].subject: role \"cloud_project_viewer\" cannot be granted to group \"grp_a\""},
        Rejection{"OrgDenyRoleToAGroup",
                  R"pb(grants { id: "g1" group_id: "grp_a" role: "image_reader" org_id: "org_a" })pb",
                  "grants[1].subject: role \"image_reader\" cannot be granted to group \"grp_a\""},
        Rejection{"PrincipalOfAnotherOrg",
                  R"pb(grants { id: "g1" principal_id: "usr_b" role: "cloud_collaborator" cloud_id: "cld_a" })pb",
                  "grants[1].scope: cloud \"cld_a\" and user \"usr_b\" belong to different organizations"},
        Rejection{"GroupOfAnotherOrg",
                  R"pb(grants { id: "g1" group_id: "grp_b" role: "org_collaborator" org_id: "org_a" })pb",
                  "grants[1].scope: organization \"org_a\" and group \"grp_b\" belong to different organizations"},
        Rejection{"GroupSourceOnAPrincipal",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "cloud_readonly" cloud_id: "cld_a" source: GRANT_SOURCE_GROUP })pb",
                  "grants[1].source: GRANT_SOURCE_GROUP needs a group subject"},
        Rejection{"DirectSourceOnAGroup",
                  R"pb(grants { id: "g1" group_id: "grp_a" role: "cloud_readonly" cloud_id: "cld_a" source: GRANT_SOURCE_DIRECT })pb",
                  "grants[1].source: a group grant has source GRANT_SOURCE_GROUP"},
        Rejection{"AutoAddOfAnotherRole",
                  R"pb(grants { id: "g1" principal_id: "usr_a2" role: "cloud_owner" cloud_id: "cld_a" source: GRANT_SOURCE_AUTO_ADD })pb",
                  "grants[1].source: an auto-add grant gives a principal \"cloud_collaborator\" on a cloud"},
        Rejection{"AutoAddToAGroup",
                  R"pb(grants { id: "g1" group_id: "grp_a" role: "cloud_collaborator" cloud_id: "cld_a" source: GRANT_SOURCE_AUTO_ADD })pb",
                  "grants[1].source: an auto-add grant gives a principal"},
        Rejection{"AutoAddOnAProject",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "project_write" project_id: "prj_a_ml" source: GRANT_SOURCE_AUTO_ADD })pb",
                  "grants[1].source: an auto-add grant gives a principal"},
        Rejection{"UnknownSource", "",
                  "grants[0].source: unknown grant source",
                  [](v1::PolicySet& s) { s.mutable_grants(0)->set_source(static_cast<v1::GrantSource>(9)); }},
        Rejection{"ExpiryAfterYear9999",
                  R"pb(grants { id: "g1" principal_id: "usr_a2" role: "cloud_readonly" cloud_id: "cld_a" expires_at { seconds: 253402300800 } })pb",
                  "grants[1].expires_at: timestamp out of range (seconds 253402300800, nanos 0)"},
        Rejection{"ExpiryBeforeYear1",
                  R"pb(grants { id: "g1" principal_id: "usr_a2" role: "cloud_readonly" cloud_id: "cld_a" expires_at { seconds: -62135596801 } })pb",
                  "grants[1].expires_at: timestamp out of range"},
        Rejection{"ExpiryWithNegativeNanos",
                  R"pb(grants { id: "g1" principal_id: "usr_a2" role: "cloud_readonly" cloud_id: "cld_a" expires_at { seconds: 1 nanos: -1 } })pb",
                  "grants[1].expires_at: timestamp out of range (seconds 1, nanos -1)"}),
    RejectionName);

// ---------------------------------------------------------------------------
// Grant-time rules (access-model §4.3): warnings on load, errors with
// EngineOptions::strict_grant_rules.

class GrantRuleTest : public ::testing::TestWithParam<Rejection> {};

TEST_P(GrantRuleTest, LoadsWithAWarningAndIsAnErrorWhenStrict) {
  const Rejection& r = GetParam();
  v1::PolicySet state = Base(r.extra);
  EngineOptions options;
  absl::StatusOr<std::unique_ptr<const Engine>> engine =
      Engine::Create(state, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_FALSE((*engine)->warnings().empty());
  EXPECT_THAT((*engine)->warnings().front(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(r.message)));
  std::vector<absl::Status> warnings;
  EXPECT_TRUE(Engine::Validate(state, options, &warnings).empty());
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings.front(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr(r.message)));

  options.strict_grant_rules = true;
  engine = Engine::Create(state, options);
  EXPECT_THAT(engine, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr(r.message)));
  const std::string path = r.message.substr(0, r.message.find(": "));
  EXPECT_THAT(std::string(engine.status().message()), StartsWith(path));
  std::vector<absl::Status> problems = Engine::Validate(state, options, &warnings);
  ASSERT_FALSE(problems.empty());
  EXPECT_THAT(problems.front(), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr(r.message)));
  EXPECT_TRUE(warnings.empty());
}

INSTANTIATE_TEST_SUITE_P(
    GrantRules, GrantRuleTest,
    ::testing::Values(
        Rejection{"ProjectGrantWithoutCloudGrant",
                  R"pb(grants { id: "g1" principal_id: "usr_a2" role: "project_readonly" project_id: "prj_a_ml" })pb",
                  "grants[1].scope: user \"usr_a2\" has no grant on cloud \"cld_a\", which a grant on project \"prj_a_ml\" requires"},
        Rejection{"GroupProjectGrantWithoutCloudGrant",
                  R"pb(grants { id: "g1" group_id: "grp_a" role: "project_write" project_id: "prj_a_ml" })pb",
                  "grants[1].scope: group \"grp_a\" has no grant on cloud \"cld_a\""},
        Rejection{"ProjectGrantWithCloudGrantOfAnotherCloud",
                  R"pb(clouds { id: "cld_x" org_id: "org_a" name: "x" }
                       projects { id: "prj_x_default" cloud_id: "cld_x" name: "default" is_default: true }
                       grants { id: "g1" principal_id: "usr_a" role: "project_write" project_id: "prj_x_default" })pb",
                  "grants[1].scope: user \"usr_a\" has no grant on cloud \"cld_x\""},
        Rejection{"OwnerWithCloudReadOnly",
                  R"pb(grants { id: "g1" principal_id: "usr_a2" role: "cloud_owner" cloud_id: "cld_a" }
                       grants { id: "g2" principal_id: "usr_a2" role: "cloud_read_only" cloud_id: "cld_a" })pb",
                  "grants[2].role: \"cloud_read_only\" cannot be held together with \"cloud_owner\" by user \"usr_a2\" on cloud \"cld_a\" (grants[1])"},
        Rejection{"ProjectWriteWithCloudReadOnly",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "cloud_read_only" cloud_id: "cld_a" }
                       grants { id: "g2" principal_id: "usr_a" role: "project_write" project_id: "prj_a_ml" })pb",
                  "grants[2].role: \"project_write\" exceeds \"project_readonly\", the most user \"usr_a\" may hold on projects of cloud \"cld_a\" while holding \"cloud_read_only\" (grants[1])"},
        Rejection{"ProjectOwnerWithCloudReadOnly",
                  R"pb(grants { id: "g1" principal_id: "usr_a" role: "project_owner" project_id: "prj_a_default" }
                       grants { id: "g2" principal_id: "usr_a" role: "cloud_read_only" cloud_id: "cld_a" })pb",
                  "grants[1].role: \"project_owner\" exceeds \"project_readonly\""}),
    RejectionName);

// A grant-time rule can be switched off in a custom profile.
TEST(GrantRuleTest, ProfileMayDropTheCloudGrantPrerequisite) {
  v1::PolicySet state = Base(
      R"pb(grants { id: "g1" principal_id: "usr_a2" role: "project_readonly" project_id: "prj_a_ml" })pb");
  EngineOptions options;
  options.strict_grant_rules = true;
  EXPECT_FALSE(Engine::Create(state, options).ok());
  auto profile = std::make_shared<v1::Profile>(BuiltinProfile());
  profile->set_project_grant_requires_cloud_grant(false);
  options.profile = profile;
  auto engine = Engine::Create(state, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE((*engine)->warnings().empty());
}

// ---------------------------------------------------------------------------
// Rules across grants that are not grant-time rules: always errors.

INSTANTIATE_TEST_SUITE_P(
    GrantInvariants, RejectionTest,
    ::testing::Values(
        Rejection{"ServiceAccountOrgOwner",
                  R"pb(grants { id: "g1" principal_id: "sa_a" role: "org_owner" org_id: "org_a" })pb",
                  "grants[1].subject: service account \"sa_a\" cannot hold \"org_owner\" (EngineOptions::allow_service_account_org_owner)"},
        Rejection{"ServiceAccountOrgOwnerThroughNestedGroup",
                  R"pb(groups { id: "grp_owners" org_id: "org_a" member_ids: "grp_inner" }
                       groups { id: "grp_inner" org_id: "org_a" member_ids: "sa_a" }
                       grants { id: "g1" group_id: "grp_owners" role: "org_owner" org_id: "org_a" })pb",
                  "grants[1].subject: group \"grp_owners\" holds \"org_owner\" and contains service account \"sa_a\" (EngineOptions::allow_service_account_org_owner)"}),
    RejectionName);

// ---------------------------------------------------------------------------
// The profile: custom permissions and roles of the PolicySet, and a custom
// base profile in EngineOptions.

std::shared_ptr<v1::Profile> EditedBuiltinProfile(
    const std::function<void(v1::Profile&)>& edit) {
  auto p = std::make_shared<v1::Profile>(BuiltinProfile());
  edit(*p);
  return p;
}

INSTANTIATE_TEST_SUITE_P(
    Profile, RejectionTest,
    ::testing::Values(
        Rejection{"InvalidPermissionName",
                  R"pb(custom_permissions { name: "Org.Thing" scope: SCOPE_TYPE_ORG })pb",
                  "custom_permissions[0].name: invalid permission name \"Org.Thing\" (lower-case letters, digits, '_' and '.')"},
        Rejection{"PermissionNameEndsWithDot",
                  R"pb(custom_permissions { name: "org.thing." scope: SCOPE_TYPE_ORG })pb",
                  "custom_permissions[0].name: invalid permission name"},
        Rejection{"PermissionWithoutScope",
                  R"pb(custom_permissions { name: "org.thing" })pb",
                  "custom_permissions[0].scope: permission \"org.thing\" has no scope"},
        Rejection{"ForbiddenOnDefaultProjectOutsideProjects",
                  R"pb(custom_permissions { name: "cloud.thing" scope: SCOPE_TYPE_CLOUD forbidden_on_default_project: true })pb",
                  "custom_permissions[0].forbidden_on_default_project: permission \"cloud.thing\" is not a project permission"},
        Rejection{"PermissionClashesWithProfile",
                  R"pb(custom_permissions { name: "org.view" scope: SCOPE_TYPE_ORG })pb",
                  "custom_permissions[0].name: duplicate permission \"org.view\""},
        Rejection{"InvalidRoleName",
                  R"pb(custom_roles { name: "Admin" grantable_at: SCOPE_TYPE_ORG })pb",
                  "custom_roles[0].name: invalid role name \"Admin\" (lower-case letters, digits and '_')"},
        Rejection{"RoleClashesWithProfile",
                  R"pb(custom_roles { name: "org_owner" grantable_at: SCOPE_TYPE_ORG })pb",
                  "custom_roles[0].name: duplicate role \"org_owner\""},
        Rejection{"UnknownEffect",
                  R"pb(custom_roles { name: "r" })pb",
                  "custom_roles[0].effect: unknown effect",
                  [](v1::PolicySet& s) { s.mutable_custom_roles(0)->set_effect(static_cast<v1::RoleEffect>(7)); }},
        Rejection{"UnspecifiedGrantableScope",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_UNSPECIFIED })pb",
                  "custom_roles[0].grantable_at[0]: unknown scope type"},
        Rejection{"UnknownGrantableScope",
                  R"pb(custom_roles { name: "r" })pb",
                  "custom_roles[0].grantable_at[0]: unknown scope type",
                  [](v1::PolicySet& s) { s.mutable_custom_roles(0)->add_grantable_at(static_cast<v1::ScopeType>(12)); }},
        Rejection{"UnspecifiedSubjectKind",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_ORG subject_kinds: SUBJECT_KIND_UNSPECIFIED })pb",
                  "custom_roles[0].subject_kinds[0]: unknown subject kind"},
        Rejection{"UnknownSubjectKind",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_ORG })pb",
                  "custom_roles[0].subject_kinds[0]: unknown subject kind",
                  [](v1::PolicySet& s) { s.mutable_custom_roles(0)->add_subject_kinds(static_cast<v1::SubjectKind>(9)); }},
        Rejection{"RoleWithUnknownPermission",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD permissions: ["cloud.view", "cloud.fly"] })pb",
                  "custom_roles[0].permissions[1]: unknown permission \"cloud.fly\""},
        Rejection{"RolePermissionAboveItsScope",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD permissions: "org.view" })pb",
                  "custom_roles[0].permissions[0]: permission \"org.view\" is above the scopes the role is granted at"},
        Rejection{"DenyRoleWithAllowFields",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD public_project_role: "project_write" })pb",
                  "custom_roles[0]: deny role \"r\" sets allow-only fields"},
        Rejection{"DenyRoleCapUnknown",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD implied_project_role_cap: "nope" })pb",
                  "custom_roles[0].implied_project_role_cap: unknown role \"nope\""},
        Rejection{"DenyRoleCapNotAProjectRole",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD implied_project_role_cap: "cloud_owner" })pb",
                  "custom_roles[0].implied_project_role_cap: role \"cloud_owner\" is not an allow role of project permissions"},
        Rejection{"DenyRoleExemptUnknown",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD exempt_roles: ["org_owner", "nope"] })pb",
                  "custom_roles[0].exempt_roles[1]: unknown role \"nope\""},
        Rejection{"DenyRoleIncompatibleUnknown",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD incompatible_roles: "nope" })pb",
                  "custom_roles[0].incompatible_roles[0]: unknown role \"nope\""},
        Rejection{"DenyRoleLimitUnknown",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD project_role_limit: "nope" })pb",
                  "custom_roles[0].project_role_limit: unknown role \"nope\""},
        Rejection{"DenyRoleLimitIsADenyRole",
                  R"pb(custom_roles { name: "r" effect: ROLE_EFFECT_DENY grantable_at: SCOPE_TYPE_CLOUD project_role_limit: "cloud_read_only" })pb",
                  "custom_roles[0].project_role_limit: role \"cloud_read_only\" is not an allow role of project permissions"},
        Rejection{"AllowRoleWithDenyFields",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD exempt_roles: "org_owner" })pb",
                  "custom_roles[0]: allow role \"r\" sets deny-only fields"},
        Rejection{"AllPermissionsBelowTheOrg",
                  R"pb(custom_roles { name: "r" grantable_at: [SCOPE_TYPE_ORG, SCOPE_TYPE_CLOUD] all_permissions: true })pb",
                  "custom_roles[0].all_permissions: an all_permissions role must be grantable at the org scope only"},
        Rejection{"OwnWorkloadPermissionUnknown",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_PROJECT own_workload_permissions: "project.fly" })pb",
                  "custom_roles[0].own_workload_permissions[0]: unknown permission \"project.fly\""},
        Rejection{"OwnWorkloadPermissionNotAProjectPermission",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD own_workload_permissions: "cloud.view" })pb",
                  "custom_roles[0].own_workload_permissions[0]: permission \"cloud.view\" is above the scopes the role is granted at"},
        Rejection{"ProjectRoleImpliesProjectRoles",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_PROJECT public_project_role: "project_readonly" })pb",
                  "custom_roles[0]: role \"r\" implies project roles but is not a cloud role"},
        Rejection{"PublicProjectRoleUnknown",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD public_project_role: "nope" })pb",
                  "custom_roles[0].public_project_role: unknown role \"nope\""},
        Rejection{"PublicProjectRoleNotAProjectRole",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD public_project_role: "cloud_owner" })pb",
                  "custom_roles[0].public_project_role: role \"cloud_owner\" is not an allow role of project permissions"},
        Rejection{"PrivateProjectRoleIsAllPermissions",
                  R"pb(custom_roles { name: "r" grantable_at: SCOPE_TYPE_CLOUD private_project_role: "org_owner" })pb",
                  "custom_roles[0].private_project_role: role \"org_owner\" is not an allow role of project permissions"},
        // Quoted, escaped and cut to 64 bytes.
        Rejection{"HostileNameIsQuotedAndCut", "",
                  absl::StrCat("custom_permissions[0].name: invalid permission name \"\\n", std::string(63, 'x'), "...\" (100000 bytes)"),
                  [](v1::PolicySet& s) {
                    v1::Permission* p = s.add_custom_permissions();
                    p->set_name("\n" + std::string(99999, 'x'));
                    p->set_scope(v1::SCOPE_TYPE_ORG);
                  }},
        Rejection{"BadMemberRoleInBaseProfile", "",
                  "profile.member_role: \"cloud_owner\" is not an allow role grantable at SCOPE_TYPE_ORG",
                  nullptr, [](EngineOptions& o) {
                    o.profile = EditedBuiltinProfile([](v1::Profile& p) { p.set_member_role("cloud_owner"); });
                  }},
        Rejection{"BadAutoAddRoleInBaseProfile", "",
                  "profile.auto_add_role: \"org_owner\" is not an allow role grantable at SCOPE_TYPE_CLOUD",
                  nullptr, [](EngineOptions& o) {
                    o.profile = EditedBuiltinProfile([](v1::Profile& p) { p.set_auto_add_role("org_owner"); });
                  }},
        Rejection{"BadPermissionInBaseProfile", "",
                  "profile.permissions[0].scope: permission \"org.view\" has no scope",
                  nullptr, [](EngineOptions& o) {
                    o.profile = EditedBuiltinProfile([](v1::Profile& p) { p.mutable_permissions(0)->set_scope(v1::SCOPE_TYPE_UNSPECIFIED); });
                  }}),
    RejectionName);

// clang-format on

// ---------------------------------------------------------------------------
// Tests that need more than one edit.

TEST(ValidationTest, BaseStateIsValid) {
  EXPECT_THAT(Engine::Validate(Base()), ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(Base()));
  EXPECT_EQ(engine->revision(), 7u);
}

TEST(ValidationTest, AcceptedNearMisses) {
  // Each of these is one step away from a rejection above.
  const char* const kAccepted[] = {
      // Names are unique among siblings only.
      R"pb(clouds { id: "cld_x" org_id: "org_a" name: "x" }
           projects {
             id: "prj_x"
             cloud_id: "cld_x"
             name: "ml"
             is_default: true
           })pb",
      // Compute configs and projects are separate namespaces.
      R"pb(compute_configs { id: "cc_x" cloud_id: "cld_a" name: "ml" })pb",
      // The same email in another organization is another principal.
      R"pb(principals {
             id: "usr_x"
             org_id: "org_b"
             kind: PRINCIPAL_KIND_USER
             email: "A@acme.com"
           })pb",
      // A project grant is fine with a cloud grant through a group...
      R"pb(grants {
             id: "g1"
             group_id: "grp_a"
             role: "cloud_readonly"
             cloud_id: "cld_a"
           }
           grants {
             id: "g2"
             principal_id: "usr_a2"
             role: "project_owner"
             project_id: "prj_a_ml"
           })pb",
      // ... or as an org owner, who needs no cloud grant.
      R"pb(grants {
             id: "g1"
             principal_id: "usr_a2"
             role: "org_owner"
             org_id: "org_a"
           }
           grants {
             id: "g2"
             principal_id: "usr_a2"
             role: "project_owner"
             project_id: "prj_a_ml"
           })pb",
      // cloud_read_only with a project readonly, and with a base role.
      R"pb(grants {
             id: "g1"
             principal_id: "usr_a"
             role: "cloud_read_only"
             cloud_id: "cld_a"
           }
           grants {
             id: "g2"
             principal_id: "usr_a"
             role: "project_readonly"
             project_id: "prj_a_ml"
           })pb",
      // Expiry at the edges of the timestamp range.
      R"pb(grants {
             id: "g1"
             principal_id: "usr_a2"
             role: "cloud_readonly"
             cloud_id: "cld_a"
             expires_at { seconds: 253402300799 nanos: 999999999 }
           }
           grants {
             id: "g2"
             principal_id: "usr_a2"
             role: "cloud_writer"
             cloud_id: "cld_a"
             expires_at { seconds: -62135596800 }
           })pb",
      // Explicit sources matching the subject.
      R"pb(grants {
             id: "g1"
             group_id: "grp_a"
             role: "cloud_readonly"
             cloud_id: "cld_a"
             source: GRANT_SOURCE_GROUP
           }
           grants {
             id: "g2"
             principal_id: "usr_a2"
             role: "cloud_collaborator"
             cloud_id: "cld_a"
             source: GRANT_SOURCE_AUTO_ADD
           })pb",
      // A workload without a project lands in its cloud's default project.
      R"pb(workloads {
             id: "wl_x"
             cloud_id: "cld_a"
             type: WORKLOAD_TYPE_SERVICE
           })pb",
      // Groups nested exactly max_group_depth (64) deep are fine; see
      // GroupDepthLimitIsInclusive for the limit itself.
  };
  for (const char* extra : kAccepted) {
    EXPECT_THAT(Engine::Create(Base(extra)), IsOk()) << extra;
  }
}

TEST(ValidationTest, GroupDepthLimitIsInclusive) {
  // grp_1 inside grp_2: two levels.
  v1::PolicySet state = Base(R"pb(
    groups { id: "grp_1" org_id: "org_a" member_ids: "usr_a" }
    groups { id: "grp_2" org_id: "org_a" member_ids: "grp_1" }
  )pb");
  EngineOptions options;
  options.max_group_depth = 2;
  EXPECT_THAT(Engine::Create(state, options), IsOk());
  options.max_group_depth = 1;
  EXPECT_THAT(Engine::Create(state, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("group \"grp_1\" is nested more than 1 "
                                 "levels deep")));
}

TEST(ValidationTest, DeepGroupChainsDoNotOverflowTheStack) {
  v1::PolicySet state = Base();
  // Deep enough to overflow a recursive walk; the default depth limit
  // rejects it.
  constexpr int kDepth = 20000;
  for (int i = 0; i < kDepth; ++i) {
    v1::Group* g = state.add_groups();
    g->set_id(absl::StrCat("grp_chain_", i));
    g->set_org_id("org_a");
    g->add_member_ids(i == 0 ? std::string("usr_a")
                             : absl::StrCat("grp_chain_", i - 1));
  }
  EXPECT_THAT(Engine::Create(state),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is nested more than 64 levels deep")));
  // With the limits raised, a long chain compiles (kept to 2000 groups:
  // every group stores its ancestors).
  state.mutable_groups()->DeleteSubrange(2 + 2000, kDepth - 2000);
  EngineOptions options;
  options.max_group_depth = 2000;
  options.max_groups_per_principal = 2000;
  EXPECT_THAT(Engine::Create(state, options), IsOk());
  options.max_group_depth = 1999;
  EXPECT_THAT(Engine::Create(state, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("group \"grp_chain_0\" is nested more than "
                                 "1999 levels deep")));
}

TEST(ValidationTest, TooManyRoles) {
  v1::PolicySet state = Base();
  const int builtin = BuiltinProfile().roles_size();
  for (int i = builtin; i < 65535; ++i) {
    state.add_custom_roles()->set_name(absl::StrCat("r", i));
  }
  EXPECT_THAT(Engine::Create(state),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("custom_roles: too many roles (65535; "
                                 "EngineOptions::max_roles is 4096")));
}

TEST(ValidationTest, MaxRolesIsALimit) {
  v1::PolicySet state = Base();
  const int builtin = BuiltinProfile().roles_size();
  for (int i = builtin; i < 4096; ++i) {
    v1::Role* r = state.add_custom_roles();
    r->set_name(absl::StrCat("r", i));
    r->add_grantable_at(v1::SCOPE_TYPE_CLOUD);
  }
  EXPECT_TRUE(Engine::Create(state).ok());  // exactly the default limit
  state.add_custom_roles()->set_name("one_more");
  EXPECT_THAT(Engine::Create(state),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("too many roles (4097")));
  EngineOptions options;
  options.max_roles = 100;
  state.mutable_custom_roles()->DeleteSubrange(100, 4097 - 100 - builtin);
  EXPECT_THAT(Engine::Create(state, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("EngineOptions::max_roles is 100")));
}

TEST(ValidationTest, TooManyExemptRoles) {
  v1::PolicySet state = Base();
  // The built-in profile exempts org_owner and project_owner: 63 more make
  // 65 distinct exempt roles, one past the limit of 64.
  v1::Role deny;
  deny.set_name("deny_all");
  deny.set_effect(v1::ROLE_EFFECT_DENY);
  deny.add_grantable_at(v1::SCOPE_TYPE_CLOUD);
  for (int i = 0; i < 63; ++i) {
    v1::Role* r = state.add_custom_roles();
    r->set_name(absl::StrCat("allow_", i));
    r->add_grantable_at(v1::SCOPE_TYPE_CLOUD);
    deny.add_exempt_roles(r->name());
  }
  *state.add_custom_roles() = deny;
  EXPECT_THAT(Engine::Create(state),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("custom_roles[63].exempt_roles: more than 64 "
                                 "distinct roles are used as exemptions")));
  // 64 are fine.
  state.mutable_custom_roles(63)->mutable_exempt_roles()->RemoveLast();
  EXPECT_THAT(Engine::Create(state), IsOk());
}

TEST(ValidationTest, ServiceAccountOrgOwnerAllowedByOption) {
  v1::PolicySet state = Base(R"pb(
    groups { id: "grp_owners" org_id: "org_a" member_ids: "sa_a" }
    grants { id: "g1" principal_id: "sa_a" role: "org_owner" org_id: "org_a" }
    grants { id: "g2" group_id: "grp_owners" role: "org_owner" org_id: "org_a" }
  )pb");
  EXPECT_THAT(Engine::Validate(state), SizeIs(2));
  EngineOptions options;
  options.allow_service_account_org_owner = true;
  EXPECT_THAT(Engine::Create(state, options), IsOk());
}

// ---------------------------------------------------------------------------
// Validate lists every problem; Create names the first and counts the rest.

// Three problems found by three different passes of the compiler: ids,
// principals, grants.
constexpr char kThreeProblems[] = R"pb(
  images { id: "img_a" org_id: "org_a" name: "dup" }
  principals {
    id: "usr_x"
    org_id: "org_a"
    kind: PRINCIPAL_KIND_USER
    email: "nope"
  }
  grants { id: "g1" principal_id: "usr_a" role: "superuser" cloud_id: "cld_a" }
)pb";

TEST(ValidateTest, ReturnsEveryProblemInOrder) {
  std::vector<absl::Status> problems = Engine::Validate(Base(kThreeProblems));
  ASSERT_THAT(problems, SizeIs(3));
  EXPECT_THAT(
      problems[0],
      StatusIs(absl::StatusCode::kInvalidArgument,
               "images[1].id: duplicate id \"img_a\" (also images[0])"));
  EXPECT_THAT(problems[1], StatusIs(absl::StatusCode::kInvalidArgument,
                                    "principals[4].email: invalid email "
                                    "\"nope\""));
  EXPECT_THAT(problems[2],
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "grants[1].role: unknown role \"superuser\""));
}

TEST(ValidateTest, OneGrantReportsEachBrokenReference) {
  std::vector<absl::Status> problems = Engine::Validate(Base(R"pb(
    grants {
      id: "g1"
      principal_id: "nobody"
      role: "no_such_role"
      cloud_id: "cld_zz"
    }
  )pb"));
  ASSERT_THAT(problems, SizeIs(3));
  EXPECT_THAT(
      problems[0],
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("grants[1].subject: unknown principal \"nobody\"")));
  EXPECT_THAT(problems[1],
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("grants[1].scope: unknown cloud \"cld_zz\"")));
  EXPECT_THAT(problems[2],
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "grants[1].role: unknown role \"no_such_role\""));
}

TEST(ValidateTest, CreateNamesTheFirstProblemAndCountsTheRest) {
  EXPECT_THAT(
      Engine::Create(Base(kThreeProblems)),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "images[1].id: duplicate id \"img_a\" (also images[0]) (and 2 "
               "more problems)"));
  // Singular for one more.
  EXPECT_THAT(Engine::Create(Base(R"pb(
                images { id: "img_a" org_id: "org_a" name: "dup" }
                grants {
                  id: "g1"
                  principal_id: "usr_a"
                  role: "superuser"
                  cloud_id: "cld_a"
                }
              )pb")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       EndsWith("(also images[0]) (and 1 more problem)")));
  // No suffix for exactly one.
  EXPECT_THAT(Engine::Create(Base(R"pb(
                grants {
                  id: "g1"
                  principal_id: "usr_a"
                  role: "superuser"
                  cloud_id: "cld_a"
                }
              )pb")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "grants[1].role: unknown role \"superuser\""));
}

TEST(ValidateTest, StopsAtMaxErrorsButCountsThemAll) {
  std::string extra;
  for (int i = 0; i < 10; ++i) {
    absl::StrAppend(&extra, "grants { id: \"g", i,
                    "\" principal_id: \"usr_a\" role: \"nope\" cloud_id: "
                    "\"cld_a\" }\n");
  }
  v1::PolicySet state = Base(extra);
  EngineOptions options;
  options.max_errors = 3;
  std::vector<absl::Status> problems = Engine::Validate(state, options);
  ASSERT_THAT(problems, SizeIs(3));
  EXPECT_THAT(problems[2], StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("grants[3].role")));
  EXPECT_THAT(Engine::Create(state, options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "grants[1].role: unknown role \"nope\" (and 9 more "
                       "problems)"));
  // Unlimited by default (100).
  EXPECT_THAT(Engine::Validate(state), SizeIs(10));
}

TEST(ValidateTest, ProfileProblemsComeAlone) {
  // A broken vocabulary makes every grant meaningless: the compiler reports
  // the profile's problems and stops there.
  v1::PolicySet state = Base(R"pb(
    custom_roles { name: "Bad" }
    grants {
      id: "g1"
      principal_id: "usr_a"
      role: "superuser"
      cloud_id: "cld_a"
    }
  )pb");
  std::vector<absl::Status> problems = Engine::Validate(state);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0], StatusIs(absl::StatusCode::kInvalidArgument,
                                    StartsWith("custom_roles[0].name")));
}

TEST(ValidateTest, HostileIdsMakeShortMessages) {
  v1::PolicySet state = Base();
  state.mutable_organizations(0)->set_id(std::string(100000, ' '));
  std::vector<absl::Status> problems = Engine::Validate(state);
  ASSERT_FALSE(problems.empty());
  for (const absl::Status& s : problems) {
    EXPECT_LT(s.message().size(), 400u) << s.message().substr(0, 400);
  }
}

TEST(ValidateTest, ValidStateHasNoProblemsWithAnyLimit) {
  EngineOptions options;
  options.max_errors = 0;  // treated as 1
  EXPECT_THAT(Engine::Validate(Base(), options), ::testing::IsEmpty());
  std::vector<absl::Status> problems =
      Engine::Validate(Base(kThreeProblems), options);
  EXPECT_THAT(problems, SizeIs(1));
}

}  // namespace
}  // namespace arbiter
