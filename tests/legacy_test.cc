// Legacy permission levels <-> RBAC roles (access-model §3.1, §12 row 13).

#include "arbiter/legacy.h"

#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(LegacyTest, CloudLevelsMapToRbac) {
  ASSERT_OK_AND_ASSIGN(RbacRoles owner, FromLegacyCloudLevel("owner"));
  EXPECT_EQ(owner.base_role, "cloud_owner");
  EXPECT_THAT(owner.deny_roles, IsEmpty());
  ASSERT_OK_AND_ASSIGN(RbacRoles write, FromLegacyCloudLevel("Write"));
  EXPECT_EQ(write.base_role, "cloud_collaborator");
  ASSERT_OK_AND_ASSIGN(RbacRoles console, FromLegacyCloudLevel("collaborator"));
  EXPECT_EQ(console.base_role, "cloud_collaborator");
  ASSERT_OK_AND_ASSIGN(RbacRoles ro, FromLegacyCloudLevel("read-only"));
  EXPECT_EQ(ro.base_role, "cloud_collaborator");
  EXPECT_THAT(ro.deny_roles, ElementsAre("cloud_read_only"));
  EXPECT_THAT(FromLegacyCloudLevel("admin"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown legacy cloud level \"admin\"")));
}

TEST(LegacyTest, CloudLevelsRoundTrip) {
  for (const char* level : {"owner", "write", "readonly"}) {
    ASSERT_OK_AND_ASSIGN(RbacRoles roles, FromLegacyCloudLevel(level));
    ASSERT_OK_AND_ASSIGN(std::string back, ToLegacyCloudLevel(roles));
    EXPECT_EQ(back, level);
  }
  ASSERT_OK_AND_ASSIGN(std::string ro,
                       ToLegacyCloudLevel({"cloud_readonly", {}}));
  EXPECT_EQ(ro, "readonly");
  EXPECT_THAT(ToLegacyCloudLevel({"cloud_project_viewer", {}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has no legacy cloud level")));
  EXPECT_THAT(ToLegacyCloudLevel({"cloud_owner", {"cloud_read_only"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("with cloud_read_only")));
}

TEST(LegacyTest, ProjectAndOrgLevels) {
  EXPECT_EQ(*FromLegacyProjectLevel("owner"), "project_owner");
  EXPECT_EQ(*FromLegacyProjectLevel("collaborator"), "project_write");
  EXPECT_EQ(*FromLegacyProjectLevel("readonly"), "project_readonly");
  // The backend answers 422 for "writer" on projects.
  EXPECT_THAT(FromLegacyProjectLevel("writer"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown legacy project level \"writer\"")));
  EXPECT_EQ(*ToLegacyProjectLevel("project_write"), "write");
  EXPECT_FALSE(ToLegacyProjectLevel("cloud_owner").ok());
  EXPECT_EQ(*FromLegacyOrgLevel("Owner"), "org_owner");
  EXPECT_EQ(*FromLegacyOrgLevel("collaborator"), "org_collaborator");
  EXPECT_FALSE(FromLegacyOrgLevel("write").ok());
}

// The legacy "readonly" conversion and the built-in cloud_readonly role allow
// exactly the same things.
TEST(LegacyTest, ReadonlyConversionMatchesTheCloudReadonlyRole) {
  ASSERT_OK_AND_ASSIGN(RbacRoles ro, FromLegacyCloudLevel("readonly"));
  v1::PolicySet state;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        organizations { id: "org" name: "o" }
        clouds { id: "cld" org_id: "org" name: "c" }
        projects {
          id: "prj_d"
          cloud_id: "cld"
          name: "default"
          is_default: true
        }
        projects {
          id: "prj_p"
          cloud_id: "cld"
          name: "pub"
          visibility: VISIBILITY_PUBLIC
        }
        projects { id: "prj_x" cloud_id: "cld" name: "priv" }
        principals {
          id: "usr_a"
          org_id: "org"
          kind: PRINCIPAL_KIND_USER
          email: "a@x.com"
        }
        principals {
          id: "usr_b"
          org_id: "org"
          kind: PRINCIPAL_KIND_USER
          email: "b@x.com"
        }
        grants {
          id: "g_a"
          principal_id: "usr_a"
          role: "cloud_readonly"
          cloud_id: "cld"
        }
      )pb",
      &state));
  v1::Grant* base = state.add_grants();
  base->set_id("g_b");
  base->set_principal_id("usr_b");
  base->set_role(ro.base_role);
  base->set_cloud_id("cld");
  for (const std::string& deny : ro.deny_roles) {
    v1::Grant* g = state.add_grants();
    g->set_id("g_b_" + deny);
    g->set_principal_id("usr_b");
    g->set_role(deny);
    g->set_cloud_id("cld");
  }
  ASSERT_OK_AND_ASSIGN(auto engine, Engine::Create(state));
  int compared = 0;
  for (const v1::Permission& p : engine->profile().permissions()) {
    for (const char* resource : {"cld", "prj_d", "prj_p", "prj_x"}) {
      AccessRequest a{"usr_a", p.name(), resource};
      AccessRequest b{"usr_b", p.name(), resource};
      EXPECT_EQ(engine->Check(a).allowed(), engine->Check(b).allowed())
          << p.name() << " on " << resource;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100);
}

}  // namespace
}  // namespace arbiter
