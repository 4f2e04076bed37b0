// Engine::Explain and expired grants: a grant that has expired but that,
// live, would have changed the decision is in the account (a step with its
// expiry instant, before the verdict, and ConsideredGrant::expires_at and
// expired_would_apply), whether it would have held the permission, met the
// cloud prerequisite, implied a project role or subtracted the permission.

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "arbiter/engine.h"
#include "arbiter/explanation.h"
#include "arbiter/request.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Every expiring grant stops applying at 2027-01-01T00:00:00Z.
const absl::Time kExpiry = absl::FromUnixSeconds(1798761600);
const absl::Time kBefore = kExpiry - absl::Hours(24);
const absl::Time kAfter = kExpiry + absl::Hours(24);

constexpr char kState[] = R"pb(
  revision: 4
  organizations { id: "org_1" name: "acme" }
  clouds { id: "cld_prod" org_id: "org_1" name: "prod" }
  projects {
    id: "prj_default"
    cloud_id: "cld_prod"
    name: "default"
    is_default: true
  }
  projects {
    id: "prj_ml"
    cloud_id: "cld_prod"
    name: "ml"
    visibility: VISIBILITY_PRIVATE
  }
  principals {
    id: "usr_bob"
    org_id: "org_1"
    kind: PRINCIPAL_KIND_USER
    email: "bob@acme.com"
  }
  principals {
    id: "usr_eve"
    org_id: "org_1"
    kind: PRINCIPAL_KIND_USER
    email: "eve@acme.com"
  }
  principals {
    id: "usr_ann"
    org_id: "org_1"
    kind: PRINCIPAL_KIND_USER
    email: "ann@acme.com"
  }
  # bob: his only cloud grant expires; his project grant does not.
  grants {
    id: "g_bob_cloud"
    principal_id: "usr_bob"
    role: "cloud_collaborator"
    cloud_id: "cld_prod"
    expires_at { seconds: 1798761600 }
  }
  grants {
    id: "g_bob_ml"
    principal_id: "usr_bob"
    role: "project_write"
    project_id: "prj_ml"
  }
  # eve: a live cloud grant, and an expiring project grant.
  grants {
    id: "g_eve_cloud"
    principal_id: "usr_eve"
    role: "cloud_readonly"
    cloud_id: "cld_prod"
  }
  grants {
    id: "g_eve_ml"
    principal_id: "usr_eve"
    role: "project_owner"
    project_id: "prj_ml"
    expires_at { seconds: 1798761600 }
  }
  # ann: a live cloud grant, and an expiring deny role.
  grants {
    id: "g_ann_cloud"
    principal_id: "usr_ann"
    role: "cloud_collaborator"
    cloud_id: "cld_prod"
  }
  grants {
    id: "g_ann_read_only"
    principal_id: "usr_ann"
    role: "cloud_read_only"
    cloud_id: "cld_prod"
    expires_at { seconds: 1798761600 }
  }
)pb";

class ExplainExpiryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::PolicySet state;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kState, &state));
    absl::StatusOr<std::unique_ptr<const Engine>> engine =
        Engine::Create(state);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = *std::move(engine);
  }

  Explanation Explain(const char* principal, const char* permission,
                      const char* resource, absl::Time at) const {
    AccessRequest r;
    r.principal = principal;
    r.permission = permission;
    r.resource = resource;
    r.context.now = at;
    return engine_->Explain(r);
  }

  static const ConsideredGrant* Find(const Explanation& e,
                                     const std::string& id) {
    for (const ConsideredGrant& g : e.grants) {
      if (g.grant_id == id) return &g;
    }
    return nullptr;
  }

  std::unique_ptr<const Engine> engine_;
};

TEST_F(ExplainExpiryTest, ExpiredCloudGrantIsTheMissingPrerequisite) {
  const Explanation e =
      Explain("bob@acme.com", "project.view", "prod/ml", kAfter);
  EXPECT_EQ(e.decision.reason, Reason::kNoCloudGrant);
  ASSERT_GE(e.steps.size(), 2u);
  // The verdict stays last; the expired grant comes right before it.
  EXPECT_THAT(e.steps.back(), HasSubstr("missing prerequisite"));
  EXPECT_EQ(e.steps[e.steps.size() - 2],
            "grant g_bob_cloud (cloud_collaborator on cloud cld_prod, to "
            "usr_bob) expired at 2027-01-01T00:00:00Z; live, it would meet "
            "the cloud prerequisite");
  const ConsideredGrant* g = Find(e, "g_bob_cloud");
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->live);
  EXPECT_TRUE(g->expired_would_apply);
  ASSERT_TRUE(g->expires_at.has_value());
  EXPECT_EQ(*g->expires_at, kExpiry);
  // The live project grant has no expiry and is not "expired".
  const ConsideredGrant* p = Find(e, "g_bob_ml");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(p->expires_at.has_value());
  EXPECT_FALSE(p->expired_would_apply);
}

TEST_F(ExplainExpiryTest, ExpiredProjectGrantWouldHoldThePermission) {
  const Explanation e =
      Explain("eve@acme.com", "project.delete", "prod/ml", kAfter);
  EXPECT_FALSE(e.decision.allowed());
  EXPECT_THAT(e.steps,
              Contains("grant g_eve_ml (project_owner on project prj_ml, to "
                       "usr_eve) expired at 2027-01-01T00:00:00Z; live, it "
                       "would hold the permission"));
  // The live cloud grant that lacks the permission is not listed as such.
  for (const std::string& step : e.steps) {
    EXPECT_THAT(step, Not(HasSubstr("g_eve_cloud"))) << step;
  }
}

TEST_F(ExplainExpiryTest, ExpiredDenyRoleWouldHaveSubtracted) {
  const Explanation e =
      Explain("ann@acme.com", "cloud.projects.create", "prod", kAfter);
  EXPECT_TRUE(e.decision.allowed());
  EXPECT_THAT(e.steps,
              Contains("grant g_ann_read_only (cloud_read_only on cloud "
                       "cld_prod, to usr_ann) expired at "
                       "2027-01-01T00:00:00Z; live, it would subtract the "
                       "permission"));
  EXPECT_THAT(e.steps.back(), HasSubstr("ALLOW"));
}

TEST_F(ExplainExpiryTest, NothingExpiredNothingSaid) {
  for (const char* who : {"bob@acme.com", "eve@acme.com", "ann@acme.com"}) {
    const Explanation e = Explain(who, "project.view", "prod/ml", kBefore);
    for (const std::string& step : e.steps) {
      EXPECT_THAT(step, Not(HasSubstr("expired"))) << who;
    }
    for (const ConsideredGrant& g : e.grants) {
      EXPECT_TRUE(g.live) << g.grant_id;
      EXPECT_FALSE(g.expired_would_apply) << g.grant_id;
    }
  }
}

// An expired grant that would not have changed the decision is listed among
// the grants (with its note) but not in the account.
TEST_F(ExplainExpiryTest, IrrelevantExpiredGrantIsNotInTheAccount) {
  // ann's expired cloud_read_only neither lists project.view nor caps her
  // implied project_write below it on the public default project.
  const Explanation e =
      Explain("ann@acme.com", "project.view", "prod/default", kAfter);
  EXPECT_EQ(e.decision.reason, Reason::kPublicProject);
  for (const std::string& step : e.steps) {
    EXPECT_THAT(step, Not(HasSubstr("expired"))) << step;
  }
  const ConsideredGrant* g = Find(e, "g_ann_read_only");
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->live);
  EXPECT_FALSE(g->expired_would_apply);
  EXPECT_THAT(g->note, HasSubstr("expired at 2027-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace arbiter
