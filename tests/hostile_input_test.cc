// Hostile and broken policy input (issue 6, item 4). Every case ends in a
// clear error naming the object, field and limit, or in a documented limit
// (EngineOptions, LoadOptions) -- never a crash, a hang or an ALLOW, and
// never a half-applied policy: Engine::Create returns an error and an
// EngineHolder keeps serving its previous engine.
//
// "Bounded time" is asserted by construction, never with a timer: each case
// is sized so that an implementation that is quadratic where it should be
// linear (or linear where it should binary-search) would not finish.

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/decision.h"
#include "arbiter/demo.h"
#include "arbiter/engine.h"
#include "arbiter/engine_holder.h"
#include "arbiter/engine_options.h"
#include "arbiter/iam_mapping.h"
#include "arbiter/policy_io.h"
#include "arbiter/request.h"
#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Matcher;

// One organization with a cloud, its default project and a private project
// "ml"; alice collaborates on the cloud and owns "ml". A second organization
// has its own principal. Everything hostile below is added to (a copy of)
// this state.
constexpr absl::string_view kBaseState = R"pb(
  revision: 1
  organizations { id: "org_1" name: "acme" }
  organizations { id: "org_2" name: "other" }
  clouds { id: "cld_1" org_id: "org_1" name: "prod" }
  projects {
    id: "prj_default"
    cloud_id: "cld_1"
    name: "default"
    is_default: true
  }
  projects {
    id: "prj_ml"
    cloud_id: "cld_1"
    name: "ml"
    visibility: VISIBILITY_PRIVATE
  }
  principals {
    id: "usr_alice"
    org_id: "org_1"
    kind: PRINCIPAL_KIND_USER
    email: "alice@acme.com"
  }
  principals {
    id: "usr_bob"
    org_id: "org_1"
    kind: PRINCIPAL_KIND_USER
    email: "bob@acme.com"
  }
  principals {
    id: "usr_olga"
    org_id: "org_2"
    kind: PRINCIPAL_KIND_USER
    email: "olga@other.com"
  }
  grants {
    id: "g_alice_prod"
    principal_id: "usr_alice"
    role: "cloud_collaborator"
    cloud_id: "cld_1"
  }
  grants {
    id: "g_alice_ml"
    principal_id: "usr_alice"
    role: "project_owner"
    project_id: "prj_ml"
  }
)pb";

v1::PolicySet BaseState() {
  v1::PolicySet state;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      std::string(kBaseState), &state));
  return state;
}

AccessRequest Request(absl::string_view principal, absl::string_view permission,
                      absl::string_view resource) {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  r.context.now = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  return r;
}

// Adds a group `id` in org_1 whose members are `members`.
v1::Group* AddGroup(v1::PolicySet& state, const std::string& id,
                    std::vector<std::string> members = {}) {
  v1::Group* g = state.add_groups();
  g->set_id(id);
  g->set_org_id("org_1");
  for (std::string& m : members) g->add_member_ids(std::move(m));
  return g;
}

v1::Grant* AddGrant(v1::PolicySet& state, const std::string& id,
                    const std::string& principal, const std::string& role) {
  v1::Grant* g = state.add_grants();
  g->set_id(id);
  g->set_principal_id(principal);
  g->set_role(role);
  return g;
}

// Fixture: `holder_` serves the base state at revision 1. Every rejected
// input is also offered to the holder, which must keep that engine.
class HostileInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(holder_.Update(BaseState()));
    baseline_ = holder_.Get();
    ASSERT_NE(baseline_, nullptr);
  }

  // `bad` (at revision 2) is refused with `code` and a message matching
  // `message`, Validate agrees, and nothing changes: the holder keeps the
  // same engine, whose decisions are unchanged.
  void ExpectRejected(v1::PolicySet bad, absl::StatusCode code,
                      const Matcher<std::string>& message,
                      const EngineOptions& options = {}) {
    bad.set_revision(2);
    absl::StatusOr<std::unique_ptr<const Engine>> engine =
        Engine::Create(bad, options);
    EXPECT_THAT(engine, StatusIs(code, message));
    std::vector<absl::Status> problems = Engine::Validate(bad, options);
    ASSERT_FALSE(problems.empty());
    EXPECT_LE(problems.size(), options.max_errors);
    if (engine.ok()) return;
    // Create reports Validate's first problem.
    EXPECT_THAT(std::string(engine.status().message()),
                HasSubstr(std::string(problems.front().message())));

    EXPECT_THAT(holder_.Update(bad, options), StatusIs(code, message));
    std::shared_ptr<const Engine> current = holder_.Get();
    EXPECT_EQ(current, baseline_);
    Decision d = current->Check(
        Request("alice@acme.com", "project.workload.create", "prod/ml"));
    EXPECT_TRUE(d.allowed());
    EXPECT_EQ(d.grant_id, "g_alice_ml");
    EXPECT_EQ(d.revision, 1u);
  }

  EngineHolder holder_;
  std::shared_ptr<const Engine> baseline_;
};

// ---- Deep group nesting
// --------------------------------------------------------

// A chain of 10,000 groups, groups[i] containing groups[i + 1], with a
// principal at the bottom and a grant at the top. `descending_ids` numbers
// the chain from the bottom, so that the compiler's walk (in group id order)
// starts at the deepest group and has to go all the way up: a recursive
// walk would overflow the stack.
class DeepNestingTest : public HostileInputTest,
                        public ::testing::WithParamInterface<bool> {};

TEST_P(DeepNestingTest, TenThousandLevelsStopAtMaxGroupDepth) {
  const bool descending_ids = GetParam();
  constexpr int kLevels = 10000;
  auto id = [&](int level) {
    return absl::StrFormat("grp_%05d",
                           descending_ids ? kLevels - 1 - level : level);
  };
  v1::PolicySet state = BaseState();
  for (int level = 0; level < kLevels; ++level) {
    AddGroup(state, id(level),
             {level + 1 < kLevels ? id(level + 1) : std::string("usr_bob")});
  }
  v1::Grant* top = state.add_grants();
  top->set_id("g_top");
  top->set_group_id(id(0));
  top->set_role("cloud_collaborator");
  top->set_cloud_id("cld_1");

  // The first group past the limit is at level 64 (the top is level 0, at
  // depth 1), whatever order the compiler visits them in.
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("groups[64]: group \"" + id(64) + "\""),
                       HasSubstr("nested more than 64 levels deep"),
                       HasSubstr("EngineOptions::max_group_depth")));
}

INSTANTIATE_TEST_SUITE_P(IdOrder, DeepNestingTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "BottomFirst" : "TopFirst";
                         });

TEST_F(HostileInputTest, NestingExactlyAtMaxGroupDepthCompiles) {
  for (size_t levels : {size_t{64}, size_t{65}}) {
    SCOPED_TRACE(absl::StrCat(levels, " levels"));
    v1::PolicySet state = BaseState();
    for (size_t level = 0; level < levels; ++level) {
      AddGroup(state, absl::StrFormat("grp_%03d", level),
               {level + 1 < levels ? absl::StrFormat("grp_%03d", level + 1)
                                   : std::string("usr_bob")});
    }
    v1::Grant* g = state.add_grants();
    g->set_id("g_top");
    g->set_group_id("grp_000");
    g->set_role("cloud_collaborator");
    g->set_cloud_id("cld_1");

    EngineOptions options;
    ASSERT_EQ(options.max_group_depth, 64u);  // the documented default
    absl::StatusOr<std::unique_ptr<const Engine>> engine =
        Engine::Create(state, options);
    if (levels > options.max_group_depth) {
      EXPECT_THAT(engine, StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("max_group_depth")));
      // Raising the limit is the documented way to accept deeper nesting.
      options.max_group_depth = levels;
      engine = Engine::Create(state, options);
    }
    ASSERT_OK(engine);
    // bob, at the bottom, reaches the top group's cloud grant.
    Decision d =
        (*engine)->Check(Request("bob@acme.com", "cloud.view", "prod"));
    EXPECT_TRUE(d.allowed()) << d;
    EXPECT_EQ(d.reason, Reason::kGrant);
    EXPECT_EQ(d.grant_id, "g_top");
    EXPECT_EQ(d.source, GrantSource::kGroup);
  }
}

// ---- Group cycles
// ----------------------------------------------------------------

TEST_F(HostileInputTest, TwoGroupCycleIsRejected) {
  v1::PolicySet state = BaseState();
  AddGroup(state, "grp_a", {"grp_b", "usr_bob"});
  AddGroup(state, "grp_b", {"grp_a"});
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("member_ids"), HasSubstr("group cycle"),
                       HasSubstr("grp_a"), HasSubstr("grp_b")));
}

TEST_F(HostileInputTest, GroupContainingItselfIsRejected) {
  v1::PolicySet state = BaseState();
  AddGroup(state, "grp_a", {"usr_bob", "grp_a"});
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 HasSubstr("groups[0].member_ids[1]: group \"grp_a\" contains "
                           "itself"));
}

TEST_F(HostileInputTest, TenThousandGroupRingIsRejected) {
  constexpr int kGroups = 10000;
  v1::PolicySet state = BaseState();
  for (int i = 0; i < kGroups; ++i) {
    AddGroup(state, absl::StrFormat("grp_%05d", i),
             {absl::StrFormat("grp_%05d", (i + 1) % kGroups), "usr_bob"});
  }
  // The cycle is found (not the depth limit), and the message stays short:
  // it is one status, not 10,000 lines.
  EngineOptions options;
  options.max_group_depth = 2 * kGroups;
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("group cycle"), HasSubstr("grp_00000")),
                 options);
}

// Issue 13: 1,000 users and 60 layers of 60 groups, each layer's groups
// containing all of the previous layer's, with grants on the last layer.
// Within the other limits, the transitive memberships number in the hundreds
// of millions (18 s and 1.5 GiB to compile before the limit existed); the
// compiler now stops at EngineOptions::max_membership_closure.
v1::PolicySet GroupLattice(int users, int layers, int width) {
  v1::PolicySet state = BaseState();
  std::vector<std::string> users_ids;
  for (int u = 0; u < users; ++u) {
    v1::Principal* p = state.add_principals();
    p->set_id(absl::StrFormat("usr_l%04d", u));
    p->set_org_id("org_1");
    p->set_kind(v1::PRINCIPAL_KIND_USER);
    p->set_email(absl::StrFormat("l%04d@acme.com", u));
    users_ids.push_back(p->id());
  }
  std::vector<std::string> previous = users_ids;
  for (int l = 0; l < layers; ++l) {
    std::vector<std::string> layer;
    for (int w = 0; w < width; ++w) {
      const std::string id = absl::StrFormat("grp_l%02d_%02d", l, w);
      AddGroup(state, id, previous);
      layer.push_back(id);
    }
    previous = layer;
  }
  for (const std::string& g : previous) {
    v1::Grant* grant = state.add_grants();
    grant->set_id("g_" + g);
    grant->set_group_id(g);
    grant->set_role("cloud_collaborator");
    grant->set_cloud_id("cld_1");
  }
  return state;
}

TEST_F(HostileInputTest, GroupLatticeExceedsTheMembershipClosureLimit) {
  ExpectRejected(GroupLattice(1000, 60, 60), absl::StatusCode::kInvalidArgument,
                 HasSubstr("EngineOptions::max_membership_closure"));
}

TEST_F(HostileInputTest, SmallGroupLatticeCompilesAndResolves) {
  // The same shape, small: every user reaches the last layer's grants.
  v1::PolicySet state = GroupLattice(20, 6, 4);
  state.set_revision(2);
  auto engine = Engine::Create(state);
  ASSERT_OK(engine.status());
  Decision d = (*engine)->Check(Request("usr_l0007", "cloud.view", "cld_1"));
  EXPECT_TRUE(d.allowed()) << d;
  EngineOptions tight;
  tight.max_membership_closure = 100;
  EXPECT_THAT(Engine::Create(state, tight).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 100 transitive memberships")));
}

// ---- A million grants to one principal -------------------------------------

// ARBITER_HOSTILE_GRANTS overrides the number of grants (default 1,000,000);
// the sanitizer builds use fewer, since a Debug build with AddressSanitizer
// compiles a million grants in about half a minute.
int NumHostileGrants() {
  const char* value = std::getenv("ARBITER_HOSTILE_GRANTS");
  const int n = value == nullptr ? 0 : std::atoi(value);
  return n >= 100 ? n : 1000000;
}

TEST_F(HostileInputTest, AMillionGrantsToOnePrincipal) {
  constexpr int kGrantsPerProject = 100;
  const int kProjects = NumHostileGrants() / kGrantsPerProject;
  constexpr int kWriteGrant = 57;  // the one project_write grant per project
  // The state lives on an arena: a million small messages, freed at once.
  google::protobuf::Arena arena;
  v1::PolicySet* state =
      google::protobuf::Arena::CreateMessage<v1::PolicySet>(&arena);
  *state = BaseState();
  AddGrant(*state, "g_bob_prod", "usr_bob", "cloud_collaborator")
      ->set_cloud_id("cld_1");
  for (int p = 0; p < kProjects; ++p) {
    v1::Project* project = state->add_projects();
    project->set_id(absl::StrFormat("prj_%05d", p));
    project->set_cloud_id("cld_1");
    project->set_name(absl::StrFormat("p%05d", p));
    project->set_visibility(v1::VISIBILITY_PRIVATE);
  }
  // Grants in an order the compiler has to sort: by grant number first.
  for (int j = 0; j < kGrantsPerProject; ++j) {
    for (int p = 0; p < kProjects; ++p) {
      AddGrant(*state, absl::StrFormat("g_%05d_%02d", p, j), "usr_bob",
               j == kWriteGrant ? "project_write" : "project_readonly")
          ->set_project_id(absl::StrFormat("prj_%05d", p));
    }
  }
  ASSERT_EQ(state->grants_size(), 3 + kProjects * kGrantsPerProject);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<const Engine> engine,
                       Engine::Create(*state));
  EXPECT_EQ(engine->num_grants(), 3u + kProjects * kGrantsPerProject);

  absl::optional<PrincipalRef> bob = engine->FindPrincipal("bob@acme.com");
  absl::optional<PermissionRef> view = engine->FindPermission("project.view");
  absl::optional<PermissionRef> create =
      engine->FindPermission("project.workload.create");
  absl::optional<PermissionRef> remove =
      engine->FindPermission("project.delete");
  ASSERT_TRUE(bob && view && create && remove);

  // Three checks on bob per project: 30,000 for a million grants. If Check
  // scanned all of a subject's grants, this loop alone would take 3 * 10^10
  // steps; binary search keeps it to a few million.
  for (int p = 0; p < kProjects; ++p) {
    const std::string project = absl::StrFormat("prj_%05d", p);
    absl::optional<ResourceRef> resource = engine->FindResource(project);
    ASSERT_TRUE(resource.has_value()) << project;
    RequestContext context;
    context.now = absl::FromUnixSeconds(1767225600);

    // The least grant id holding the permission decides.
    Decision d = engine->Check(*bob, *view, *resource, context);
    ASSERT_EQ(d.reason, Reason::kGrant) << project << ": " << d;
    ASSERT_EQ(d.grant_id, absl::StrFormat("g_%05d_00", p));
    d = engine->Check(*bob, *create, *resource, context);
    ASSERT_EQ(d.reason, Reason::kGrant) << project << ": " << d;
    ASSERT_EQ(d.grant_id, absl::StrFormat("g_%05d_%02d", p, kWriteGrant));
    ASSERT_EQ(engine->grant(d.grant_index).id, d.grant_id);
    d = engine->Check(*bob, *remove, *resource, context);
    ASSERT_FALSE(d.allowed()) << project << ": " << d;
    ASSERT_EQ(d.reason, Reason::kInsufficientRole);
  }
  // None of those grants reaches the project bob has no grant on.
  Decision d =
      engine->Check(Request("bob@acme.com", "project.view", "prod/ml"));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kNoProjectGrant);
  // Nor another principal.
  d = engine->Check(Request("alice@acme.com", "project.view", "prj_00000"));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kNoProjectGrant);
}

// ---- 100,000-character names and ids ---------------------------------------

TEST_F(HostileInputTest, HundredThousandCharacterFieldsHitTheLengthLimits) {
  const std::string huge(100000, 'x');
  struct Case {
    const char* what;
    std::function<void(v1::PolicySet&)> mutate;
    const char* path;
    const char* limit;
  };
  const std::vector<Case> cases = {
      {"cloud name",
       [&](v1::PolicySet& s) { s.mutable_clouds(0)->set_name(huge); },
       "clouds[0].name: name of 100000 bytes",
       "EngineOptions::max_name_length"},
      {"project name",
       [&](v1::PolicySet& s) { s.mutable_projects(1)->set_name(huge); },
       "projects[1].name: name of 100000 bytes",
       "EngineOptions::max_name_length"},
      {"principal name",
       [&](v1::PolicySet& s) { s.mutable_principals(1)->set_name(huge); },
       "principals[1].name: name of 100000 bytes",
       "EngineOptions::max_name_length"},
      {"email",
       [&](v1::PolicySet& s) {
         s.mutable_principals(1)->set_email(huge + "@acme.com");
       },
       "principals[1].email: email of 100009 bytes",
       "EngineOptions::max_name_length"},
      {"group name",
       [&](v1::PolicySet& s) { AddGroup(s, "grp_1")->set_name(huge); },
       "groups[0].name: name of 100000 bytes",
       "EngineOptions::max_name_length"},
      {"org name",
       [&](v1::PolicySet& s) { s.mutable_organizations(1)->set_name(huge); },
       "organizations[1].name: name of 100000 bytes",
       "EngineOptions::max_name_length"},
      {"principal id",
       [&](v1::PolicySet& s) { s.mutable_principals(2)->set_id(huge); },
       "principals[2].id: id of 100000 bytes", "EngineOptions::max_id_length"},
      {"grant id", [&](v1::PolicySet& s) { s.mutable_grants(1)->set_id(huge); },
       "grants[1].id: id of 100000 bytes", "EngineOptions::max_id_length"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::PolicySet state = BaseState();
    c.mutate(state);
    ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                   AllOf(HasSubstr(c.path), HasSubstr(c.limit)));
  }
}

TEST_F(HostileInputTest, RaisedLengthLimitsAcceptHugeNames) {
  const std::string huge_name(100000, 'n');
  const std::string huge_id = "prj_" + std::string(100000, 'i');
  v1::PolicySet state = BaseState();
  state.mutable_projects(1)->set_name(huge_name);
  state.mutable_projects(1)->set_id(huge_id);
  state.mutable_grants(1)->set_project_id(huge_id);
  // Grant ids longer than 65,534 bytes do not fit the grant record's inline
  // length (src/snapshot/snapshot.h); Check still returns them whole.
  const std::string huge_grant_id = "g_" + std::string(100000, 'g');
  state.mutable_grants(1)->set_id(huge_grant_id);
  EngineOptions options;
  options.max_name_length = 100000;
  options.max_id_length = 100004;
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state, options));
  const std::string path = "prod/" + huge_name;
  for (absl::string_view resource :
       {absl::string_view(path), absl::string_view(huge_id)}) {
    Decision d = engine->Check(
        Request("alice@acme.com", "project.workload.create", resource));
    EXPECT_TRUE(d.allowed()) << d;
    EXPECT_EQ(d.grant_id, huge_grant_id);
    EXPECT_EQ(engine->grant(d.grant_index).id, huge_grant_id);
  }
  // One byte off is another, unknown, resource.
  const std::string near_miss = "prod/" + huge_name + "n";
  EXPECT_EQ(engine->Check(Request("alice@acme.com", "project.view", near_miss))
                .reason,
            Reason::kUnknownResource);
}

TEST_F(HostileInputTest, HugeRequestStringsDeny) {
  const std::string huge(100000, 'a');
  const std::string slashes(100000, '/');
  std::string segments;
  for (int i = 0; i < 20000; ++i) segments += "prod/";
  const Engine& engine = *baseline_;
  EXPECT_EQ(engine.Check(Request(huge, "project.view", "prod/ml")).reason,
            Reason::kUnknownPrincipal);
  EXPECT_EQ(engine.Check(Request("alice@acme.com", huge, "prod/ml")).reason,
            Reason::kUnknownPermission);
  for (const std::string& resource : {huge, slashes, segments}) {
    Decision d =
        engine.Check(Request("alice@acme.com", "project.view", resource));
    EXPECT_FALSE(d.allowed());
    EXPECT_EQ(d.reason, Reason::kUnknownResource);
  }
  AccessRequest r = Request("alice@acme.com", "project.view", "prod/ml");
  r.org = huge;
  EXPECT_EQ(engine.Check(r).reason, Reason::kUnknownOrg);
  EXPECT_FALSE(engine.FindPrincipal(huge).has_value());
  EXPECT_FALSE(engine.FindResource(segments).has_value());
}

// ---- Invalid UTF-8
// -------------------------------------------------------------

TEST_F(HostileInputTest, InvalidUtf8NamesAreRejected) {
  const std::vector<std::string> bad = {
      "\xff",              // never valid
      "ab\xc3",            // truncated sequence
      "\xc0\xaf",          // overlong '/'
      "\xed\xa0\x80",      // UTF-16 surrogate
      "\xf4\x90\x80\x80",  // past U+10FFFF
  };
  for (const std::string& name : bad) {
    SCOPED_TRACE(absl::CHexEscape(name));
    v1::PolicySet state = BaseState();
    state.mutable_projects(1)->set_name(name);
    ExpectRejected(
        state, absl::StatusCode::kInvalidArgument,
        AllOf(HasSubstr("projects[1].name"), HasSubstr("not valid UTF-8")));
  }
  // Valid multi-byte names are fine and resolve by path.
  v1::PolicySet state = BaseState();
  state.mutable_projects(1)->set_name(
      "m\xc3\xa4rz-\xe6\x97\xa5\xf0\x9f\x98\x80");
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  EXPECT_TRUE(
      engine
          ->Check(Request("alice@acme.com", "project.view",
                          "prod/m\xc3\xa4rz-\xe6\x97\xa5\xf0\x9f\x98\x80"))
          .allowed());
}

TEST_F(HostileInputTest, NonAsciiIdsAndEmailsAreRejected) {
  v1::PolicySet state = BaseState();
  state.mutable_principals(1)->set_id("usr_b\xc3\xb6");
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("principals[1].id: invalid id"),
                       HasSubstr("printable ASCII")));
  state = BaseState();
  state.mutable_principals(1)->set_email("b\xffob@acme.com");
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 HasSubstr("principals[1].email: invalid email"));
}

TEST_F(HostileInputTest, InvalidUtf8InEachEncoding) {
  v1::PolicySet state = BaseState();
  state.mutable_projects(1)->set_name("bad\xff");
  // Binary: protobuf refuses proto3 strings that are not UTF-8.
  std::string binary;
  ASSERT_TRUE(state.SerializeToString(&binary));
  EXPECT_THAT(ParsePolicySet(binary, PolicyFormat::kBinary, "p.binpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("p.binpb: not a PolicySet in binary")));
  // JSON: the strict scanner refuses it, at its position.
  std::string json = R"({"organizations": [{"id": "o", "name": "bad)";
  json += "\xff\"}]}";
  EXPECT_THAT(ParsePolicySet(json, PolicyFormat::kJson, "p.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("p.json:1:44: invalid JSON: invalid UTF-8")));
  // Text format accepts the bytes (raw or escaped); the compiler refuses
  // them.
  for (absl::string_view name : {"bad\xff", "bad\\377"}) {
    std::string text = absl::StrCat(kBaseState);
    text +=
        absl::StrCat("\nprojects { id: \"prj_x\" cloud_id: \"cld_1\" name: \"",
                     name, "\" }\n");
    ASSERT_OK_AND_ASSIGN(v1::PolicySet parsed,
                         ParsePolicySet(text, PolicyFormat::kText, "p.txtpb"));
    ExpectRejected(
        parsed, absl::StatusCode::kInvalidArgument,
        AllOf(HasSubstr("projects[2].name"), HasSubstr("not valid UTF-8")));
  }
}

TEST_F(HostileInputTest, InvalidUtf8RequestsDeny) {
  const Engine& engine = *baseline_;
  EXPECT_EQ(
      engine.Check(Request("alice@acme.com\xff", "project.view", "prod/ml"))
          .reason,
      Reason::kUnknownPrincipal);
  EXPECT_EQ(
      engine.Check(Request("alice@acme.com", "project.view\xc3", "prod/ml"))
          .reason,
      Reason::kUnknownPermission);
  EXPECT_EQ(
      engine.Check(Request("alice@acme.com", "project.view", "prod/m\xff"))
          .reason,
      Reason::kUnknownResource);
  // An embedded NUL is part of the string, not its end.
  const std::string with_nul("alice@acme.com\0x", 16);
  EXPECT_EQ(engine.Check(Request(with_nul, "project.view", "prod/ml")).reason,
            Reason::kUnknownPrincipal);
}

// ---- Duplicate ids
// ---------------------------------------------------------------

TEST_F(HostileInputTest, DuplicateIdsAreRejected) {
  struct Case {
    const char* what;
    std::function<void(v1::PolicySet&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"two principals",
       [](v1::PolicySet& s) { s.mutable_principals(1)->set_id("usr_alice"); },
       "principals[1].id: duplicate id \"usr_alice\" (also principals[0])"},
      {"a project and a cloud",
       [](v1::PolicySet& s) { s.mutable_projects(1)->set_id("cld_1"); },
       "projects[1].id: duplicate id \"cld_1\" (also clouds[0])"},
      {"two grants",
       [](v1::PolicySet& s) { s.mutable_grants(1)->set_id("g_alice_prod"); },
       "grants[1].id: duplicate id \"g_alice_prod\" (also grants[0])"},
      {"a group and a principal",
       [](v1::PolicySet& s) { AddGroup(s, "usr_bob"); },
       "groups[0].id: duplicate id \"usr_bob\" (also principals[1])"},
      {"two organizations",
       [](v1::PolicySet& s) { s.mutable_organizations(1)->set_id("org_1"); },
       "organizations[1].id: duplicate id \"org_1\" (also organizations[0])"},
      {"emails differing in case",
       [](v1::PolicySet& s) {
         s.mutable_principals(1)->set_email("ALICE@acme.com");
       },
       "principals[1].email: duplicate email \"ALICE@acme.com\""},
      {"sibling project names",
       [](v1::PolicySet& s) { s.mutable_projects(1)->set_name("default"); },
       "projects[1].name: duplicate project name \"default\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::PolicySet state = BaseState();
    c.mutate(state);
    ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                   HasSubstr(c.message));
  }
}

TEST_F(HostileInputTest, TwentyThousandProblemsAreCappedAtMaxErrors) {
  v1::PolicySet state = BaseState();
  for (int i = 0; i < 20000; ++i) {
    AddGrant(state, absl::StrCat("g_bad_", i), "usr_bob", "no_such_role")
        ->set_cloud_id("cld_1");
  }
  EngineOptions options;
  EXPECT_EQ(options.max_errors, 100u);  // the documented default
  std::vector<absl::Status> problems = Engine::Validate(state, options);
  ASSERT_EQ(problems.size(), 100u);
  EXPECT_THAT(std::string(problems[0].message()),
              HasSubstr("grants[2].role: unknown role \"no_such_role\""));
  EXPECT_THAT(std::string(problems[99].message()),
              HasSubstr("grants[101].role"));
  ExpectRejected(state, absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("grants[2].role: unknown role"),
                       HasSubstr("(and 19999 more problems)")),
                 options);
}

// ---- Unknown enum values (open proto3 enums)
// ----------------------------------

TEST_F(HostileInputTest, UnknownEnumValuesAreRejected) {
  struct Case {
    const char* what;
    std::function<void(v1::PolicySet&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"principal kind",
       [](v1::PolicySet& s) {
         s.mutable_principals(1)->set_kind(static_cast<v1::PrincipalKind>(99));
       },
       "principals[1].kind"},
      {"principal state",
       [](v1::PolicySet& s) {
         s.mutable_principals(0)->set_state(
             static_cast<v1::PrincipalState>(-7));
       },
       "principals[0].state: unknown principal state"},
      {"project visibility",
       [](v1::PolicySet& s) {
         s.mutable_projects(1)->set_visibility(static_cast<v1::Visibility>(42));
       },
       "projects[1].visibility: unknown visibility"},
      {"grant source",
       [](v1::PolicySet& s) {
         s.mutable_grants(0)->set_source(static_cast<v1::GrantSource>(1000));
       },
       "grants[0].source: unknown grant source"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::PolicySet state = BaseState();
    c.mutate(state);
    // Through the binary encoding too: the value survives parsing.
    std::string binary;
    ASSERT_TRUE(state.SerializeToString(&binary));
    ASSERT_OK_AND_ASSIGN(v1::PolicySet parsed,
                         ParsePolicySet(binary, PolicyFormat::kBinary));
    ExpectRejected(parsed, absl::StatusCode::kInvalidArgument,
                   HasSubstr(c.message));
  }
}

// ---- Pathological regular expressions in IAM selectors ---------------------

v1::PolicySet WithSelectors(const std::vector<std::string>& selectors) {
  v1::PolicySet state = BaseState();
  v1::IamMapping* mapping = state.mutable_clouds(0)->mutable_iam_mapping();
  for (size_t i = 0; i < selectors.size(); ++i) {
    v1::IamMappingRule* rule = mapping->add_rules();
    rule->set_selector(selectors[i]);
    rule->set_identity(absl::StrCat("role-", i));
  }
  mapping->set_default_behavior(v1::IamMapping::FAIL);
  mapping->set_default_identity("cld_1-node-role");
  return state;
}

TEST_F(HostileInputTest, BacktrackingRegexRunsInLinearTime) {
  // (a+)+$ is exponential for a backtracking engine on "aaaa...a!"; RE2 is
  // linear, so this pattern is accepted and a 1,000-byte user is cheap.
  const std::string local(990, 'a');
  v1::PolicySet state =
      WithSelectors({"user~=(a+)+$", "user~=(a+)+@acme\\.com"});
  v1::Principal* p = state.add_principals();
  p->set_id("usr_aaa");
  p->set_org_id("org_1");
  p->set_kind(v1::PRINCIPAL_KIND_USER);
  p->set_email(local + "@acme.com");
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));

  const std::string user = local + "@acme.com";
  WorkloadAttributes w;
  w.cloud = "prod";
  w.org = "acme";
  w.type = v1::WORKLOAD_TYPE_JOB;
  w.user = user;
  for (int i = 0; i < 1000; ++i) {
    IamDecision d = engine->ResolveIam(w);
    ASSERT_EQ(d.outcome, IamOutcome::kMapped) << d;
    ASSERT_EQ(d.rule_index, 1);
    ASSERT_EQ(d.identity, "role-1");
  }
}

TEST_F(HostileInputTest, HugeRegexProgramHitsMaxRegexProgramSize) {
  EngineOptions options;
  ASSERT_EQ(options.max_regex_program_size, 1000);  // the documented default
  // At least 1,004 RE2 instructions: over the default.
  ExpectRejected(WithSelectors({"project=ml", "user~=[a-z]{1000}"}),
                 absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("clouds[0].iam_mapping.rules[1].selector"),
                       HasSubstr("max_regex_program_size")),
                 options);
  // RE2's own repetition limit: a clear error, not a huge program.
  ExpectRejected(WithSelectors({"user~=((a{100}){100}){100}"}),
                 absl::StatusCode::kInvalidArgument,
                 HasSubstr("clouds[0].iam_mapping.rules[0].selector"), options);
  // Raising the limit accepts the same pattern. (Its compiled program is
  // several times the naive count: user patterns match case-insensitively.)
  options.max_regex_program_size = 1 << 16;
  EXPECT_OK(Engine::Create(WithSelectors({"user~=[a-z]{1000}"}), options));
}

TEST_F(HostileInputTest, RegexMemoryBudgetIsEnforced) {
  // Twenty 1,000-fold repetitions: ~20,000 instructions, over what a 64 KiB
  // budget can hold even with the program-size limit out of the way.
  std::string pattern;
  for (char c = 'a'; c < 'a' + 20; ++c)
    absl::StrAppend(&pattern, std::string(1, c), "{1000}");
  EngineOptions options;
  options.max_regex_program_size = std::numeric_limits<int>::max();
  options.max_regex_memory = 64 << 10;
  ExpectRejected(WithSelectors({"user~=" + pattern}),
                 absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("clouds[0].iam_mapping.rules[0].selector"),
                       HasSubstr("max_regex_memory")),
                 options);
}

TEST_F(HostileInputTest, SelectorAndRuleCountLimits) {
  EngineOptions options;
  ASSERT_EQ(options.max_selector_length, 4096u);
  ASSERT_EQ(options.max_iam_rules_per_cloud, 10000u);
  ExpectRejected(WithSelectors({"project=" + std::string(100000, 'p')}),
                 absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("clouds[0].iam_mapping.rules[0].selector"),
                       HasSubstr("max_selector_length")),
                 options);
  std::vector<std::string> selectors;
  for (int i = 0; i <= 10000; ++i)
    selectors.push_back(absl::StrCat("project=p", i));
  ExpectRejected(WithSelectors(selectors), absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("clouds[0].iam_mapping"),
                       HasSubstr("max_iam_rules_per_cloud")),
                 options);
}

// ---- Truncated binary files
// ---------------------------------------------------

// Protobuf's binary encoding has no end marker: a file cut exactly between
// two top-level fields is a valid, smaller PolicySet. Every other cut is an
// error. This test pins both halves down for every prefix of the demo
// state; SECURITY.md explains why binary policy files must be written
// atomically (and why text and JSON are safer to hand-edit).
TEST_F(HostileInputTest, EveryTruncationOfABinaryFileIsAnErrorOrABoundary) {
  const v1::PolicySet& demo = DemoPolicySet();
  std::string binary;
  ASSERT_TRUE(demo.SerializeToString(&binary));

  // The top-level boundaries: the encoding of a PolicySet holding the first
  // k top-level values, in serialization (field number) order.
  std::vector<size_t> boundaries = {0};
  std::vector<v1::PolicySet> prefixes = {v1::PolicySet()};
  {
    const google::protobuf::Reflection* r = demo.GetReflection();
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    r->ListFields(demo, &fields);  // in field number order
    v1::PolicySet partial;
    const google::protobuf::Reflection* pr = partial.GetReflection();
    for (const google::protobuf::FieldDescriptor* f : fields) {
      const int n = f->is_repeated() ? r->FieldSize(demo, f) : 1;
      for (int i = 0; i < n; ++i) {
        if (f->is_repeated()) {
          pr->AddMessage(&partial, f)
              ->CopyFrom(r->GetRepeatedMessage(demo, f, i));
        } else {
          ASSERT_EQ(f->cpp_type(),
                    google::protobuf::FieldDescriptor::CPPTYPE_UINT64);
          pr->SetUInt64(&partial, f, r->GetUInt64(demo, f));
        }
        boundaries.push_back(partial.ByteSizeLong());
        prefixes.push_back(partial);
      }
    }
  }
  ASSERT_EQ(boundaries.back(), binary.size());

  size_t next_boundary = 0;
  int parsed_prefixes = 0;
  for (size_t len = 0; len <= binary.size(); ++len) {
    absl::StatusOr<v1::PolicySet> state =
        ParsePolicySet(absl::string_view(binary).substr(0, len),
                       PolicyFormat::kBinary, "p.binpb");
    const bool at_boundary = boundaries[next_boundary] == len;
    if (at_boundary) {
      ASSERT_OK(state) << "prefix of " << len << " bytes";
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          *state, prefixes[next_boundary]))
          << "prefix of " << len << " bytes";
      ++next_boundary;
      ++parsed_prefixes;
    } else {
      EXPECT_THAT(state,
                  StatusIs(absl::StatusCode::kInvalidArgument,
                           HasSubstr("p.binpb: not a PolicySet in binary")))
          << "prefix of " << len << " bytes";
    }
  }
  EXPECT_EQ(parsed_prefixes, static_cast<int>(boundaries.size()));
}

TEST_F(HostileInputTest, TruncatedTextAndJsonFilesAreErrors) {
  const v1::PolicySet& demo = DemoPolicySet();
  ASSERT_OK_AND_ASSIGN(std::string json,
                       SerializePolicySet(demo, PolicyFormat::kJson));
  absl::StripTrailingAsciiWhitespace(&json);
  // JSON closes its braces last: every proper prefix is an error. (Step by
  // 7 bytes to keep the test quick; the fuzzers cover the rest.)
  for (size_t len = 0; len < json.size(); len += 7) {
    EXPECT_THAT(
        ParsePolicySet(absl::string_view(json).substr(0, len),
                       PolicyFormat::kJson, "p.json"),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("p.json")))
        << "prefix of " << len << " bytes";
  }
  // Text format: a cut inside a message is an error with a position.
  ASSERT_OK_AND_ASSIGN(std::string text,
                       SerializePolicySet(demo, PolicyFormat::kText));
  const size_t cut = text.find("name: \"acme\"") + 8;
  EXPECT_THAT(
      ParsePolicySet(absl::string_view(text).substr(0, cut),
                     PolicyFormat::kText, "p.txtpb"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("p.txtpb:")));
}

TEST_F(HostileInputTest, DeeplyNestedInputIsAnError) {
  // JSON: the scanner stops at depth 100 with a position.
  EXPECT_THAT(
      ParsePolicySet(std::string(1000000, '['), PolicyFormat::kJson, "p.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("nested too deeply")));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_THAT(ParsePolicySet(objects, PolicyFormat::kJson, "p.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("nested too deeply")));
  // Binary: 100,000 nested unknown groups (field 100, wire type 3) stop at
  // protobuf's recursion limit.
  std::string groups;
  for (int i = 0; i < 100000; ++i) groups += "\xa3\x06";
  EXPECT_THAT(ParsePolicySet(groups, PolicyFormat::kBinary, "p.binpb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("p.binpb: not a PolicySet in binary")));
}

TEST_F(HostileInputTest, OversizedInputHitsLoadOptionsMaxBytes) {
  LoadOptions options;
  EXPECT_EQ(options.max_bytes, size_t{256} << 20);  // the documented default
  options.max_bytes = 1000;
  const std::string data(1001, ' ');
  for (PolicyFormat format : {PolicyFormat::kText, PolicyFormat::kJson,
                              PolicyFormat::kBinary, PolicyFormat::kAuto}) {
    EXPECT_THAT(ParsePolicySet(data, format, "big", options),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         AllOf(HasSubstr("big: 1001 bytes"),
                               HasSubstr("LoadOptions::max_bytes"))));
  }
}

// Elements that are almost nothing on the wire but a whole message in
// memory: refused from an estimate made before parsing, for binary and
// JSON, unless the ratio check is turned off. (A 20 MB binary of empty
// principals took 864 MB to parse.)
TEST_F(HostileInputTest, InputsThatWouldBlowUpInMemoryAreRefusedBeforeParsing) {
  LoadOptions options;
  EXPECT_EQ(options.max_memory_ratio, 16);  // the documented default
  std::string binary;
  for (int i = 0; i < 1000000; ++i) binary += std::string("\x42\x00", 2);
  EXPECT_THAT(ParsePolicySet(binary, PolicyFormat::kBinary, "p.binpb"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("p.binpb: parsing would take an "
                                       "estimated"),
                             HasSubstr("for 2000000 bytes of input"),
                             HasSubstr("LoadOptions::max_memory_ratio"))));
  std::string json = "{\"principals\": [{}";
  for (int i = 1; i < 700000; ++i) json += ",{}";
  json += "]}";
  EXPECT_THAT(ParsePolicySet(json, PolicyFormat::kJson, "p.json"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("LoadOptions::max_memory_ratio")));
  // The check is an option: off, the same inputs parse.
  options.max_memory_ratio = 0;
  absl::StatusOr<v1::PolicySet> parsed =
      ParsePolicySet(binary, PolicyFormat::kBinary, "p.binpb", options);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->principals_size(), 1000000);
  EXPECT_TRUE(
      ParsePolicySet(json, PolicyFormat::kJson, "p.json", options).ok());
}

TEST_F(HostileInputTest, SmallInputsAreNeverRefusedForTheirMemoryRatio) {
  // 1,000 empty principals: 2,000 bytes, an estimate far below 1 MiB.
  std::string binary;
  for (int i = 0; i < 1000; ++i) binary += std::string("\x42\x00", 2);
  absl::StatusOr<v1::PolicySet> parsed =
      ParsePolicySet(binary, PolicyFormat::kBinary, "p.binpb");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->principals_size(), 1000);
}

// ---- Unknown fields
// ---------------------------------------------------------------

TEST_F(HostileInputTest, JsonUnknownFieldsAreErrorsNamingTheField) {
  EXPECT_THAT(ParsePolicySet(R"({"revision": 3, "grantz": []})",
                             PolicyFormat::kJson, "p.json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("p.json"), HasSubstr("grantz"))));
  // Nested: the message locates the object.
  const std::string nested = R"({"principals": [{"id": "usr_1",
      "org_id": "org_1", "kind": "PRINCIPAL_KIND_USER", "email": "a@b.c",
      "is_admin": true}]})";
  EXPECT_THAT(
      ParsePolicySet(nested, PolicyFormat::kJson, "p.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("principals[0]"), HasSubstr("is_admin"))));
  // An unknown enum name is an error too.
  EXPECT_THAT(
      ParsePolicySet(R"({"principals": [{"kind": "PRINCIPAL_KIND_ROBOT"}]})",
                     PolicyFormat::kJson, "p.json"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("PRINCIPAL_KIND_ROBOT")));
  // Opting in to ignoring them (LoadOptions::ignore_unknown_json_fields).
  LoadOptions lenient;
  lenient.ignore_unknown_json_fields = true;
  ASSERT_OK_AND_ASSIGN(
      v1::PolicySet state,
      ParsePolicySet(nested, PolicyFormat::kJson, "p.json", lenient));
  ASSERT_EQ(state.principals_size(), 1);
  EXPECT_EQ(state.principals(0).id(), "usr_1");
}

TEST_F(HostileInputTest, TextUnknownFieldsAreErrorsWithAPosition) {
  EXPECT_THAT(
      ParsePolicySet("revision: 1\norganizations { id: \"o\" owner: \"x\" }\n",
                     PolicyFormat::kText, "p.txtpb"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("p.txtpb:2:"), HasSubstr("owner"))));
}

TEST_F(HostileInputTest, BinaryUnknownFieldsAreIgnoredAndGrantNothing) {
  // Binary input may come from a newer writer: unknown fields are kept as
  // unknown and play no part in any decision (documented in SECURITY.md).
  v1::PolicySet state = BaseState();
  std::string binary;
  ASSERT_TRUE(state.SerializeToString(&binary));
  // Field 100 (varint 1), and an unknown field inside bob.
  v1::PolicySet with_unknown;
  ASSERT_TRUE(with_unknown.ParseFromString(binary + "\xa0\x06\x01"));
  v1::Principal* bob = with_unknown.mutable_principals(1);
  bob->GetReflection()->MutableUnknownFields(bob)->AddVarint(99, 1);
  ASSERT_TRUE(with_unknown.SerializeToString(&binary));
  ASSERT_OK_AND_ASSIGN(v1::PolicySet parsed,
                       ParsePolicySet(binary, PolicyFormat::kBinary));
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(parsed));
  // Every decision equals the one without unknown fields.
  for (absl::string_view principal :
       {"alice@acme.com", "bob@acme.com", "olga@other.com"}) {
    for (absl::string_view permission :
         {"project.view", "project.delete", "cloud.view", "org.users.list"}) {
      for (absl::string_view resource : {"prod", "prod/ml", "prj_default"}) {
        const AccessRequest r = Request(principal, permission, resource);
        EXPECT_EQ(engine->Check(r), baseline_->Check(r))
            << principal << " " << permission << " " << resource;
      }
    }
  }
}

// ---- Expiry times at and past the limits
// ---------------------------------------

TEST_F(HostileInputTest, OutOfRangeExpiryTimesAreRejected) {
  struct Case {
    int64_t seconds;
    int32_t nanos;
  };
  const std::vector<Case> cases = {
      {std::numeric_limits<int64_t>::max(), 0},
      {std::numeric_limits<int64_t>::min(), 0},
      {253402300800, 0},  // 10000-01-01
      {-62135596801, 0},  // just before 0001-01-01
      {0, -1},
      {0, 1000000000},
      {1767225600, std::numeric_limits<int32_t>::min()},
      {std::numeric_limits<int64_t>::max() / 1000000 + 1,
       0},  // micros overflow
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.seconds, "s ", c.nanos, "ns"));
    v1::PolicySet state = BaseState();
    v1::Grant* g = state.mutable_grants(1);
    g->mutable_expires_at()->set_seconds(c.seconds);
    g->mutable_expires_at()->set_nanos(c.nanos);
    ExpectRejected(
        state, absl::StatusCode::kInvalidArgument,
        AllOf(HasSubstr("grants[1].expires_at"), HasSubstr("out of range")));
  }
}

// Expiry is exact to the nanosecond for decision times in the years
// 1677-2262 (int64 nanoseconds); outside that range every error is on the
// side of denial: an expiry before 1677 has always passed, and after 2262
// every expiring grant has expired. Nothing wraps around into an ALLOW.
TEST_F(HostileInputTest, ExpiryAtTheEdgesOfTimeNeverOverflowsIntoAnAllow) {
  const int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59
  const int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00
  const int64_t k2100 = 4102444800;          // 2100-01-01T00:00:00
  v1::PolicySet state = BaseState();
  // alice: project_owner of ml until the last instant of year 9999.
  v1::Grant* latest = state.mutable_grants(1);
  latest->mutable_expires_at()->set_seconds(kMaxSeconds);
  latest->mutable_expires_at()->set_nanos(999999999);
  // bob: until the first instant of year 1.
  AddGrant(state, "g_bob_prod", "usr_bob", "cloud_collaborator")
      ->set_cloud_id("cld_1");
  v1::Grant* earliest = AddGrant(state, "g_bob_ml", "usr_bob", "project_owner");
  earliest->set_project_id("prj_ml");
  earliest->mutable_expires_at()->set_seconds(kMinSeconds);
  // carol: until 2100-01-01T00:00:00.000000001.
  v1::Principal* carol = state.add_principals();
  carol->set_id("usr_carol");
  carol->set_org_id("org_1");
  carol->set_kind(v1::PRINCIPAL_KIND_USER);
  carol->set_email("carol@acme.com");
  AddGrant(state, "g_carol_prod", "usr_carol", "cloud_collaborator")
      ->set_cloud_id("cld_1");
  v1::Grant* exact =
      AddGrant(state, "g_carol_ml", "usr_carol", "project_owner");
  exact->set_project_id("prj_ml");
  exact->mutable_expires_at()->set_seconds(k2100);
  exact->mutable_expires_at()->set_nanos(1);
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));

  const absl::Time carol_expiry =
      absl::FromUnixSeconds(k2100) + absl::Nanoseconds(1);
  struct Case {
    const char* what;
    absl::Time now;
    bool alice, bob, carol;  // whose project_owner grant is live
  };
  const std::vector<Case> cases = {
      {"today", absl::FromUnixSeconds(1767225600), true, false, true},
      {"1ns before carol's expiry", carol_expiry - absl::Nanoseconds(1), true,
       false, true},
      {"carol's expiry", carol_expiry, true, false, false},
      {"1ns after carol's expiry", carol_expiry + absl::Nanoseconds(1), true,
       false, false},
      {"infinite past", absl::InfinitePast(), true, false, true},
      {"-int64 seconds",
       absl::FromUnixSeconds(std::numeric_limits<int64_t>::min()), true, false,
       true},
      {"the first instant of year 1", absl::FromUnixSeconds(kMinSeconds), true,
       false, true},
      {"year 9999, before alice's expiry",
       absl::FromUnixSeconds(kMaxSeconds) + absl::Microseconds(999998), false,
       false, false},
      {"alice's expiry",
       absl::FromUnixSeconds(kMaxSeconds) + absl::Nanoseconds(999999999), false,
       false, false},
      {"int64 seconds",
       absl::FromUnixSeconds(std::numeric_limits<int64_t>::max()), false, false,
       false},
      {"infinite future", absl::InfiniteFuture(), false, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    for (const auto& [who, live] :
         {std::make_pair("alice@acme.com", c.alice),
          std::make_pair("bob@acme.com", c.bob),
          std::make_pair("carol@acme.com", c.carol)}) {
      AccessRequest r = Request(who, "project.delete", "prod/ml");
      r.context.now = c.now;
      const Decision d = engine->Check(r);
      EXPECT_EQ(d.allowed(), live) << who << ": " << d;
      // A cloud grant alone reaches no private project.
      if (!live) {
        EXPECT_EQ(d.reason, Reason::kNoProjectGrant) << who;
      }
    }
  }
}

// ---- Requests that do not belong to the snapshot ---------------------------

TEST_F(HostileInputTest, ForeignAndDefaultHandlesDeny) {
  const Engine& engine = *baseline_;
  ASSERT_OK_AND_ASSIGN(auto other, Engine::Create(BaseState()));
  absl::optional<PrincipalRef> alice = other->FindPrincipal("alice@acme.com");
  absl::optional<PermissionRef> view = other->FindPermission("project.view");
  absl::optional<ResourceRef> ml = other->FindResource("prj_ml");
  ASSERT_TRUE(alice && view && ml);
  ASSERT_TRUE(other->Check(*alice, *view, *ml).allowed());
  // The same handles on another engine of the same state: stale.
  Decision d = engine.Check(*alice, *view, *ml);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kStaleReference);
  d = engine.Check(PrincipalRef(), PermissionRef(), ResourceRef());
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kStaleReference);
  EXPECT_EQ(engine.Check(Request("", "", "")).reason,
            Reason::kUnknownPrincipal);
  // A principal of another organization.
  EXPECT_EQ(
      engine.Check(Request("olga@other.com", "project.view", "prj_ml")).reason,
      Reason::kCrossOrg);
}

}  // namespace
}  // namespace arbiter
