// The deterministic workload generator (tests/testing/workload.h): the same
// spec gives the same PolicySet, the standard sizes have the documented
// shape, the generated states compile, and every generated query gets the
// decision the generator predicts, at sizes S, M and L.

#include "tests/testing/workload.h"

#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "arbiter/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace arbiter {
namespace {

using ::arbiter::testing::GenerateWorkload;
using ::arbiter::testing::kAllQueryKinds;
using ::arbiter::testing::MakeMixedQueries;
using ::arbiter::testing::MakeQueries;
using ::arbiter::testing::ParseWorkloadSize;
using ::arbiter::testing::Query;
using ::arbiter::testing::QueryKind;
using ::arbiter::testing::QueryKindName;
using ::arbiter::testing::SpecFor;
using ::arbiter::testing::Workload;
using ::arbiter::testing::WorkloadEngineOptions;
using ::arbiter::testing::WorkloadFingerprint;
using ::arbiter::testing::WorkloadSize;
using ::arbiter::testing::WorkloadSizeName;
using ::arbiter::testing::WorkloadSpec;
using ::testing::Ge;
using ::testing::Le;

TEST(WorkloadTest, SameSpecSameState) {
  const Workload a = GenerateWorkload(SpecFor(WorkloadSize::kS));
  const Workload b = GenerateWorkload(SpecFor(WorkloadSize::kS));
  EXPECT_EQ(a.policy.SerializeAsString(), b.policy.SerializeAsString());
  EXPECT_EQ(WorkloadFingerprint(a.policy), WorkloadFingerprint(b.policy));

  WorkloadSpec other = SpecFor(WorkloadSize::kS);
  other.seed = 2;
  const Workload c = GenerateWorkload(other);
  EXPECT_NE(WorkloadFingerprint(a.policy), WorkloadFingerprint(c.policy));
}

// The generator draws from its own splitmix64 stream with its own range
// reduction, so the standard states are the same on every platform and
// standard library. These fingerprints change only when the generator does;
// BENCHMARKS.md quotes them so results are compared on equal workloads.
TEST(WorkloadTest, FingerprintsArePinned) {
  EXPECT_EQ(
      WorkloadFingerprint(GenerateWorkload(SpecFor(WorkloadSize::kS)).policy),
      2401925911296379545u);
  EXPECT_EQ(
      WorkloadFingerprint(GenerateWorkload(SpecFor(WorkloadSize::kM)).policy),
      182095138664245770u);
}

TEST(WorkloadTest, QueriesAreDeterministic) {
  const Workload w = GenerateWorkload(SpecFor(WorkloadSize::kS));
  for (QueryKind kind : kAllQueryKinds) {
    std::vector<Query> a = MakeQueries(w, kind, 200, 7);
    std::vector<Query> b = MakeQueries(w, kind, 200, 7);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].principal_id, b[i].principal_id);
      EXPECT_EQ(a[i].permission, b[i].permission);
      EXPECT_EQ(a[i].resource_id, b[i].resource_id);
    }
  }
}

TEST(WorkloadTest, SizeNames) {
  for (WorkloadSize s : {WorkloadSize::kS, WorkloadSize::kM, WorkloadSize::kL,
                         WorkloadSize::kXL}) {
    WorkloadSize parsed;
    ASSERT_TRUE(ParseWorkloadSize(WorkloadSizeName(s), &parsed));
    EXPECT_EQ(parsed, s);
  }
  WorkloadSize parsed;
  EXPECT_TRUE(ParseWorkloadSize("xl", &parsed));
  EXPECT_EQ(parsed, WorkloadSize::kXL);
  EXPECT_FALSE(ParseWorkloadSize("XXL", &parsed));
}

// Counts and mix of a generated state, checked against its spec.
void ExpectShape(const Workload& w) {
  const WorkloadSpec& spec = w.spec;
  const v1::PolicySet& p = w.policy;
  EXPECT_EQ(p.organizations_size(), 1);
  EXPECT_EQ(p.clouds_size(), spec.clouds);
  EXPECT_EQ(p.projects_size(), spec.clouds * spec.projects_per_cloud);
  EXPECT_EQ(p.workloads_size(), spec.workloads);
  EXPECT_EQ(p.principals_size(), spec.users + spec.service_accounts);
  EXPECT_EQ(p.groups_size(), spec.groups);

  int defaults = 0, public_projects = 0;
  for (const v1::Project& pr : p.projects()) {
    defaults += pr.is_default();
    public_projects += pr.visibility() == v1::VISIBILITY_PUBLIC;
  }
  EXPECT_EQ(defaults, spec.clouds);
  EXPECT_EQ(
      public_projects,
      spec.clouds *
          ((spec.projects_per_cloud * spec.public_per_mille + 500) / 1000));

  std::map<std::string, int> roles;
  int expiring = 0, expired = 0, auto_add = 0, group_grants = 0;
  int project_grants = 0;
  for (const v1::Grant& g : p.grants()) {
    ++roles[g.role()];
    group_grants += g.has_group_id();
    auto_add += g.source() == v1::GRANT_SOURCE_AUTO_ADD;
    project_grants += g.has_project_id() && g.has_principal_id();
    if (g.has_expires_at()) {
      ++expiring;
      expired += g.expires_at().seconds() <=
                 absl::ToUnixSeconds(testing::WorkloadNow());
    }
  }
  EXPECT_EQ(roles["org_owner"], spec.org_owners);
  EXPECT_EQ(roles["cloud_owner"], spec.clouds * spec.cloud_owners_per_cloud);
  for (const char* role :
       {"cloud_collaborator", "cloud_readonly", "cloud_read_only",
        "image_reader", "project_owner", "project_write", "project_readonly"}) {
    EXPECT_GT(roles[role], 0) << role;
  }
  EXPECT_GT(auto_add, 0);
  EXPECT_GT(expired, 0);
  EXPECT_GT(expiring - expired, 0);
  EXPECT_GE(group_grants, spec.groups);
  // On average (min + max) / 2 project grants per user, plus second clouds.
  const double per_user = static_cast<double>(project_grants) / spec.users;
  EXPECT_THAT(
      per_user,
      Ge(0.9 * (spec.min_project_grants + spec.max_project_grants) / 2));
  EXPECT_THAT(
      per_user,
      Le(1.2 * (spec.min_project_grants + spec.max_project_grants) / 2));

  absl::flat_hash_set<std::string> ids;
  for (const v1::Grant& g : p.grants()) EXPECT_TRUE(ids.insert(g.id()).second);
}

// Every query of every kind gets exactly the predicted decision, by names and
// by ids; the by-handle form agrees.
void ExpectQueriesHold(const Workload& w, const Engine& engine, size_t count) {
  for (QueryKind kind : kAllQueryKinds) {
    SCOPED_TRACE(std::string(QueryKindName(kind)));
    std::vector<Query> queries = MakeQueries(w, kind, count, 1);
    ASSERT_EQ(queries.size(), count);
    std::set<std::string> distinct;
    for (const Query& q : queries) {
      SCOPED_TRACE(q.principal_id + " " + q.permission + " " + q.resource_id);
      distinct.insert(q.principal_id + q.permission + q.resource_id);
      EXPECT_EQ(q.kind, kind);
      AccessRequest by_name;
      by_name.principal = q.principal_email;
      by_name.permission = q.permission;
      by_name.resource = q.resource_path;
      const Decision d = engine.Check(by_name);
      EXPECT_EQ(d.reason, q.expected_reason) << ReasonName(d.reason);
      EXPECT_EQ(d.source, q.expected_source) << GrantSourceName(d.source);

      AccessRequest by_id;
      by_id.principal = q.principal_id;
      by_id.permission = q.permission;
      by_id.resource = q.resource_id;
      EXPECT_EQ(engine.Check(by_id), d);

      if (kind == QueryKind::kUnknownPrincipal) {
        EXPECT_FALSE(engine.FindPrincipal(q.principal_id).has_value());
        continue;
      }
      auto p = engine.FindPrincipal(q.principal_id);
      auto k = engine.FindPermission(q.permission);
      auto r = engine.FindResource(q.resource_id);
      ASSERT_TRUE(p.has_value() && k.has_value() && r.has_value());
      EXPECT_EQ(engine.Check(*p, *k, *r), d);
    }
    // Queries spread over many requests, so benchmarks cycling through them
    // do not replay one cached request.
    EXPECT_GT(distinct.size(), count / 4);
  }
  for (const Query& q : MakeMixedQueries(w, count, 3)) {
    EXPECT_NE(q.kind, QueryKind::kUnknownPrincipal);
  }
}

TEST(WorkloadTest, SmallCompilesAndQueriesHold) {
  const Workload w = GenerateWorkload(SpecFor(WorkloadSize::kS));
  ExpectShape(w);
  ASSERT_OK_AND_ASSIGN(auto engine,
                       Engine::Create(w.policy, WorkloadEngineOptions()));
  EXPECT_EQ(engine->num_grants(), static_cast<size_t>(w.policy.grants_size()));
  ExpectQueriesHold(w, *engine, 200);
}

TEST(WorkloadTest, OrgScaleCompilesAndQueriesHold) {
  const Workload w = GenerateWorkload(SpecFor(WorkloadSize::kM));
  ExpectShape(w);
  // The core issue's org-scale organization: about 60,000 grants.
  EXPECT_GE(w.policy.grants_size(), 55000);
  EXPECT_LE(w.policy.grants_size(), 70000);
  ASSERT_OK_AND_ASSIGN(auto engine,
                       Engine::Create(w.policy, WorkloadEngineOptions()));
  EXPECT_EQ(engine->num_principals(), 10100u);
  ExpectQueriesHold(w, *engine, 2000);
}

// Size L (626,626 grants) takes about two seconds.
TEST(WorkloadTest, LargeCompilesAndQueriesHold) {
  const Workload w = GenerateWorkload(SpecFor(WorkloadSize::kL));
  ExpectShape(w);
  ASSERT_OK_AND_ASSIGN(auto engine,
                       Engine::Create(w.policy, WorkloadEngineOptions()));
  ExpectQueriesHold(w, *engine, 2000);
}

TEST(WorkloadTest, SizesGrowAsSpecified) {
  const WorkloadSpec m = SpecFor(WorkloadSize::kM);
  EXPECT_EQ(m.clouds, 10);
  EXPECT_EQ(m.clouds * m.projects_per_cloud, 1000);
  EXPECT_EQ(m.workloads, 10000);
  EXPECT_EQ(m.users, 10000);
  EXPECT_EQ(m.groups, 100);
  EXPECT_EQ(m.group_size, 50);
  EXPECT_EQ(m.org_owners, 10);
  const WorkloadSpec l = SpecFor(WorkloadSize::kL);
  EXPECT_EQ(l.clouds, 100);
  EXPECT_EQ(l.clouds * l.projects_per_cloud, 10000);
  EXPECT_EQ(l.users, 100000);
  EXPECT_EQ(l.groups, 1000);
  const WorkloadSpec xl = SpecFor(WorkloadSize::kXL);
  EXPECT_EQ(xl.users, 1000000);
  const WorkloadSpec s = SpecFor(WorkloadSize::kS);
  EXPECT_EQ(s.clouds, 1);
  EXPECT_EQ(s.clouds * s.projects_per_cloud, 10);
  EXPECT_EQ(s.workloads, 100);
  EXPECT_EQ(s.users, 100);
}

}  // namespace
}  // namespace arbiter
