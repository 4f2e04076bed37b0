// Organization binding of the by-name API (src/snapshot/lookup.h): when a
// request names an organization, every name in it resolves within that
// organization only. A regression test for the cross-tenant ALLOW of
// issue 13, and a differential test of name resolution against a naive
// model written from the PolicySet proto: for random multi-org states and
// random requests (principals by id, by email in random case, unknown, or a
// group's id; organizations by id, by name, another tenant's, unknown or a
// cloud's id; resources by id or path of any organization, unknown), Check
// by name, Check on handles found with the same `org`, and Check on the
// handles of the model's resolution all agree. A failure prints the seed.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "arbiter/decision.h"
#include "arbiter/engine.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/random_policy.h"

namespace arbiter {
namespace {

using testing::GenerateRandomPolicy;
using testing::MixSeed;
using testing::RandomPolicy;
using testing::Rng;

v1::PolicySet ParseState(const std::string& text) {
  v1::PolicySet state;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &state));
  return state;
}

// Two tenants with the same cloud and project names; usr_b_owner owns beta.
constexpr char kTwoTenants[] = R"pb(
  revision: 1
  organizations { id: "org_a" name: "acme" }
  organizations { id: "org_b" name: "beta" }
  clouds { id: "cld_a" org_id: "org_a" name: "prod" }
  clouds { id: "cld_b" org_id: "org_b" name: "prod" }
  projects { id: "prj_a_def" cloud_id: "cld_a" name: "default" is_default: true }
  projects { id: "prj_b_def" cloud_id: "cld_b" name: "default" is_default: true }
  projects { id: "prj_a_ml" cloud_id: "cld_a" name: "ml-prod" }
  projects { id: "prj_b_ml" cloud_id: "cld_b" name: "ml-prod" }
  principals {
    id: "usr_a_owner" org_id: "org_a" kind: PRINCIPAL_KIND_USER
    email: "owner@a.io"
  }
  principals {
    id: "usr_b_owner" org_id: "org_b" kind: PRINCIPAL_KIND_USER
    email: "owner@b.io"
  }
  principals {
    id: "usr_a_both" org_id: "org_a" kind: PRINCIPAL_KIND_USER
    email: "both@x.io"
  }
  principals {
    id: "usr_b_both" org_id: "org_b" kind: PRINCIPAL_KIND_USER
    email: "both@x.io"
  }
  grants { id: "g_a" principal_id: "usr_a_owner" role: "org_owner" org_id: "org_a" }
  grants { id: "g_b" principal_id: "usr_b_owner" role: "org_owner" org_id: "org_b" }
  grants { id: "g_ab" principal_id: "usr_a_both" role: "org_owner" org_id: "org_a" }
  grants { id: "g_bb" principal_id: "usr_b_both" role: "org_owner" org_id: "org_b" }
)pb";

std::unique_ptr<const Engine> TwoTenants() {
  auto engine = Engine::Create(ParseState(kTwoTenants));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

Decision CheckByName(const Engine& e, absl::string_view principal,
                     absl::string_view resource, absl::string_view org) {
  AccessRequest r;
  r.principal = principal;
  r.permission = "project.delete";
  r.resource = resource;
  r.org = org;
  return e.Check(r);
}

TEST(OrgBindingTest, AnotherTenantsPrincipalIdIsUnknownInThisOrg) {
  auto e = TwoTenants();
  ASSERT_NE(e, nullptr);
  // The issue's request: beta's owner, by id, with --org acme.
  for (absl::string_view org : {"acme", "org_a"}) {
    Decision d = CheckByName(*e, "usr_b_owner", "prod/ml-prod", org);
    EXPECT_FALSE(d.allowed()) << org;
    EXPECT_EQ(d.reason, Reason::kUnknownPrincipal) << org;
    // By email: the same answer.
    d = CheckByName(*e, "owner@b.io", "prod/ml-prod", org);
    EXPECT_EQ(d.reason, Reason::kUnknownPrincipal) << org;
    EXPECT_FALSE(e->FindPrincipal("usr_b_owner", org).has_value());
    EXPECT_FALSE(e->FindPrincipal("owner@b.io", org).has_value());
  }
  // Without an org the id is global and the path is in its own org: beta's
  // owner may delete beta's project; that is no cross-tenant answer.
  Decision d = CheckByName(*e, "usr_b_owner", "prod/ml-prod", "");
  EXPECT_TRUE(d.allowed());
  d = CheckByName(*e, "usr_b_owner", "prj_a_ml", "");
  EXPECT_EQ(d.reason, Reason::kCrossOrg);
}

TEST(OrgBindingTest, UnknownOrgDenies) {
  auto e = TwoTenants();
  ASSERT_NE(e, nullptr);
  for (absl::string_view org : {"gamma", "cld_a", "usr_a_owner", "ACME"}) {
    Decision d = CheckByName(*e, "usr_b_owner", "prod/ml-prod", org);
    EXPECT_FALSE(d.allowed()) << org;
    EXPECT_EQ(d.reason, Reason::kUnknownOrg) << org;
    EXPECT_EQ(ReasonName(d.reason), "UNKNOWN_ORG");
    EXPECT_FALSE(e->FindPrincipal("usr_b_owner", org).has_value()) << org;
    EXPECT_FALSE(e->FindResource("prj_b_ml", org).has_value()) << org;
  }
}

TEST(OrgBindingTest, AnotherTenantsResourceIdIsUnknownInThisOrg) {
  auto e = TwoTenants();
  ASSERT_NE(e, nullptr);
  Decision d = CheckByName(*e, "usr_b_owner", "prj_a_ml", "beta");
  EXPECT_EQ(d.reason, Reason::kUnknownResource);
  EXPECT_FALSE(e->FindResource("prj_a_ml", "beta").has_value());
  EXPECT_TRUE(e->FindResource("prj_b_ml", "beta").has_value());
  d = CheckByName(*e, "usr_b_owner", "prj_b_ml", "beta");
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.reason, Reason::kOrgOwner);
}

TEST(OrgBindingTest, AResourceIdSettlesAnEmailSharedByTwoOrgs) {
  auto e = TwoTenants();
  ASSERT_NE(e, nullptr);
  // A path cannot say which tenant is meant...
  EXPECT_EQ(CheckByName(*e, "both@x.io", "prod/ml-prod", "").reason,
            Reason::kAmbiguousPrincipal);
  EXPECT_FALSE(e->FindPrincipal("both@x.io").has_value());
  // ...a resource id can.
  Decision d = CheckByName(*e, "BOTH@x.io", "prj_b_ml", "");
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.grant_id, "g_bb");  // beta's, not acme's
  Explanation x = e->Explain(AccessRequest{"both@x.io", "project.delete",
                                           "prj_b_ml", "", {}});
  EXPECT_EQ(x.principal_id, "usr_b_both");
  EXPECT_EQ(CheckByName(*e, "both@x.io", "prod/ml-prod", "acme").reason,
            Reason::kOrgOwner);
}

TEST(OrgBindingTest, ManyDeletedPrincipalsSharingAnEmail) {
  // Deleted principals sharing an email are off the request path: the live
  // one answers, and with the org given, so does a deleted one when no live
  // one remains.
  v1::PolicySet state = ParseState(kTwoTenants);
  for (int i = 0; i < 5000; ++i) {
    v1::Principal* p = state.add_principals();
    p->set_id(absl::StrCat("usr_old_", i));
    p->set_org_id(i % 2 ? "org_a" : "org_b");
    p->set_kind(v1::PRINCIPAL_KIND_USER);
    p->set_email(i % 3 ? "owner@a.io" : "gone@a.io");
    p->set_state(v1::PRINCIPAL_STATE_DELETED);
  }
  auto engine = Engine::Create(state);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const Engine& e = **engine;
  EXPECT_EQ(CheckByName(e, "owner@a.io", "prod/ml-prod", "").reason,
            Reason::kOrgOwner);
  EXPECT_EQ(CheckByName(e, "owner@a.io", "prod/ml-prod", "acme").reason,
            Reason::kOrgOwner);
  // beta has only deleted principals with this email.
  EXPECT_EQ(CheckByName(e, "owner@a.io", "prod/ml-prod", "beta").reason,
            Reason::kPrincipalDeleted);
  EXPECT_EQ(CheckByName(e, "gone@a.io", "prod/ml-prod", "").reason,
            Reason::kPrincipalDeleted);
}

// ------------------------------------------------ differential against a model

// Name resolution written naively from the proto: linear scans, no indexes.
class NaiveResolver {
 public:
  explicit NaiveResolver(const v1::PolicySet& s) : s_(s) {
    std::map<std::string, std::string> cloud_org, default_project;
    for (const v1::Organization& o : s.organizations()) node_org_[o.id()] = o.id();
    for (const v1::Image& i : s.images()) node_org_[i.id()] = i.org_id();
    for (const v1::Cloud& c : s.clouds()) {
      node_org_[c.id()] = c.org_id();
      path_of_[c.id()] = c.name();
    }
    for (const v1::ComputeConfig& c : s.compute_configs()) {
      node_org_[c.id()] = node_org_[c.cloud_id()];
    }
    for (const v1::Project& p : s.projects()) {
      node_org_[p.id()] = node_org_[p.cloud_id()];
      path_of_[p.id()] = path_of_[p.cloud_id()] + "/" + p.name();
      if (p.is_default()) default_project[p.cloud_id()] = p.id();
    }
    for (const v1::Workload& w : s.workloads()) {
      const std::string project =
          w.project_id().empty() ? default_project[w.cloud_id()] : w.project_id();
      node_org_[w.id()] = node_org_[project];
      if (!w.name().empty()) path_of_[w.id()] = path_of_[project] + "/" + w.name();
    }
  }

  struct Result {
    Reason failure = Reason::kInternalError;  // kInternalError: resolved
    std::string principal_id;
    std::string resource_id;
  };

  Result Resolve(const std::string& principal, const std::string& resource,
                 const std::string& org) const {
    Result r;
    std::string o;
    if (!org.empty()) {
      o = Org(org);
      if (o.empty()) return Fail(Reason::kUnknownOrg);
    }
    const v1::Principal* p = Principal(principal, resource, o, &r.failure);
    if (p == nullptr) return r;
    r.principal_id = p->id();
    r.resource_id = Resource(resource, o.empty() ? p->org_id() : o, o);
    return r;
  }

  // The org a request's org string names, or "".
  std::string Org(const std::string& org) const {
    for (const v1::Organization& o : s_.organizations()) {
      if (o.id() == org) return o.id();
    }
    std::string found;
    int n = 0;
    for (const v1::Organization& o : s_.organizations()) {
      if (!o.name().empty() && o.name() == org) {
        found = o.id();
        ++n;
      }
    }
    return n == 1 ? found : "";
  }

  // The principal named, or nullptr with *failure set.
  const v1::Principal* Principal(const std::string& name,
                                 const std::string& resource,
                                 const std::string& org, Reason* failure) const {
    *failure = Reason::kUnknownPrincipal;
    if (name.find('@') == std::string::npos) {
      for (const v1::Principal& p : s_.principals()) {
        if (p.id() == name) {
          if (!org.empty() && p.org_id() != org) return nullptr;
          *failure = Reason::kInternalError;
          return &p;
        }
      }
      return nullptr;
    }
    // Candidates, least id first.
    std::vector<const v1::Principal*> live, deleted;
    for (const v1::Principal& p : s_.principals()) {
      if (absl::AsciiStrToLower(p.email()) != absl::AsciiStrToLower(name)) continue;
      if (!org.empty() && p.org_id() != org) continue;
      (p.state() == v1::PRINCIPAL_STATE_DELETED ? deleted : live).push_back(&p);
    }
    auto by_id = [](const v1::Principal* a, const v1::Principal* b) {
      return a->id() < b->id();
    };
    std::sort(live.begin(), live.end(), by_id);
    std::sort(deleted.begin(), deleted.end(), by_id);
    const v1::Principal* out = nullptr;
    if (live.size() == 1) {
      out = live[0];
    } else if (live.size() > 1) {
      // Only without an org (with one, at most one is live). A resource
      // id settles it.
      auto it = resource.find('/') == std::string::npos
                    ? node_org_.find(resource)
                    : node_org_.end();
      if (it != node_org_.end()) {
        for (const v1::Principal* p : live) {
          if (p->org_id() == it->second) out = p;
        }
      }
      if (out == nullptr) *failure = Reason::kAmbiguousPrincipal;
    } else if (!deleted.empty()) {
      out = deleted[0];
    }
    if (out != nullptr) *failure = Reason::kInternalError;
    return out;
  }

  // The resource named, or "". `path_org` resolves paths; `bound_org`, when
  // set, must be the resource's org.
  std::string Resource(const std::string& name, const std::string& path_org,
                       const std::string& bound_org) const {
    std::string found;
    if (name.find('/') == std::string::npos) {
      if (node_org_.count(name)) {
        found = name;
      } else if (IsOtherObject(name)) {
        return "";
      }
    }
    if (found.empty() && !path_org.empty()) {
      for (const auto& [id, path] : path_of_) {
        if (path == name && node_org_.at(id) == path_org) found = id;
      }
    }
    if (!found.empty() && !bound_org.empty() && node_org_.at(found) != bound_org) {
      return "";
    }
    return found;
  }

  const std::map<std::string, std::string>& node_org() const { return node_org_; }
  const std::map<std::string, std::string>& path_of() const { return path_of_; }

 private:
  static Result Fail(Reason reason) {
    Result r;
    r.failure = reason;
    return r;
  }
  bool IsOtherObject(const std::string& id) const {
    for (const v1::Principal& p : s_.principals()) {
      if (p.id() == id) return true;
    }
    for (const v1::Group& g : s_.groups()) {
      if (g.id() == id) return true;
    }
    return false;
  }

  const v1::PolicySet& s_;
  std::map<std::string, std::string> node_org_;  // node id -> org id
  std::map<std::string, std::string> path_of_;   // node id -> path
};

std::string RandomCase(Rng& rng, const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (rng.Chance(0.5)) c = absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return out;
}

TEST(OrgBindingTest, ByNameByIdAndByHandleAgreeWithTheModel) {
  const int kStates = 60, kQueries = 3000;
  for (int i = 0; i < kStates; ++i) {
    const uint64_t seed = MixSeed(0x0B1D, i);
    testing::RandomPolicyConfig config;
    config.min_orgs = 2;
    config.max_orgs = 4;
    RandomPolicy policy = GenerateRandomPolicy(seed, config);
    // Same names in several tenants: copy org 0's first cloud name into every
    // cloud of org 1 sometimes, and reuse emails across orgs (the generator
    // already does now and then).
    auto created = Engine::Create(policy.state, policy.options);
    ASSERT_TRUE(created.ok()) << "seed " << seed << ": " << created.status();
    const Engine& e = **created;
    NaiveResolver model(policy.state);
    const v1::PolicySet& s = policy.state;

    std::vector<std::string> orgs{"", "", "org_nope", "Nobody"};
    for (const v1::Organization& o : s.organizations()) {
      orgs.push_back(o.id());
      if (!o.name().empty()) orgs.push_back(o.name());
    }
    if (s.clouds_size() > 0) orgs.push_back(s.clouds(0).id());
    std::vector<std::string> resources{"", "nope", "a/b", "/"};
    for (const auto& [id, org] : model.node_org()) resources.push_back(id);
    for (const auto& [id, path] : model.path_of()) resources.push_back(path);
    if (s.principals_size() > 0) resources.push_back(s.principals(0).id());
    std::vector<std::string> permissions;
    for (const v1::Permission& p : e.profile().permissions()) {
      permissions.push_back(p.name());
    }
    Rng rng(MixSeed(seed, 1));
    for (int q = 0; q < kQueries; ++q) {
      std::string principal;
      const int pick = rng.Between(0, 9);
      if (pick == 0) {
        principal = "usr_nobody";
      } else if (pick == 1 && s.groups_size() > 0) {
        principal = s.groups(rng.Below(s.groups_size())).id();
      } else if (pick == 2) {
        principal = "nobody@nowhere.io";
      } else {
        const v1::Principal& p = s.principals(rng.Below(s.principals_size()));
        principal = pick < 6 ? p.id() : RandomCase(rng, p.email());
      }
      const std::string& org = rng.Pick(orgs);
      const std::string& resource = rng.Pick(resources);
      const std::string& permission = rng.Pick(permissions);
      const std::string where = absl::StrCat(
          "seed ", seed, " principal=", principal, " permission=", permission,
          " resource=", resource, " org=", org);

      AccessRequest request;
      request.principal = principal;
      request.permission = permission;
      request.resource = resource;
      request.org = org;
      const Decision by_name = e.Check(request);

      // The model's resolution, then Check on handles of the resolved ids.
      NaiveResolver::Result m = model.Resolve(principal, resource, org);
      Decision expected;
      if (m.failure != Reason::kInternalError) {
        expected.reason = m.failure;
      } else if (m.resource_id.empty()) {
        expected.reason = Reason::kUnknownResource;
      } else {
        auto p = e.FindPrincipal(m.principal_id);
        auto k = e.FindPermission(permission);
        auto r = e.FindResource(m.resource_id);
        ASSERT_TRUE(p && k && r) << where;
        expected = e.Check(*p, *k, *r);
      }
      if (expected.reason == Reason::kUnknownResource ||
          expected.reason == Reason::kUnknownPrincipal ||
          expected.reason == Reason::kAmbiguousPrincipal ||
          expected.reason == Reason::kUnknownOrg) {
        expected.revision = s.revision();
      }
      ASSERT_EQ(by_name, expected) << where << "\n got " << by_name
                                   << "\n want " << expected;

      // By id strings: the same decision as by name when the model resolved.
      if (m.failure == Reason::kInternalError && !m.resource_id.empty()) {
        AccessRequest by_id = request;
        by_id.principal = m.principal_id;
        by_id.resource = m.resource_id;
        ASSERT_EQ(e.Check(by_id), by_name) << where << " (by ids)";
      }

      // By handles found with the same org: where both are found, the same
      // decision; and the principal is found exactly when the model resolves
      // it without a resource's help.
      auto hp = e.FindPrincipal(principal, org);
      auto hk = e.FindPermission(permission);
      auto hr = e.FindResource(resource, org);
      Reason failure;
      std::string bound = org.empty() ? "" : model.Org(org);
      const v1::Principal* mp =
          (!org.empty() && bound.empty())
              ? nullptr
              : model.Principal(principal, "/", bound, &failure);
      ASSERT_EQ(hp.has_value(), mp != nullptr) << where << " (FindPrincipal)";
      if (mp != nullptr) {
        auto want = e.FindPrincipal(mp->id());
        ASSERT_TRUE(want.has_value());
        ASSERT_EQ(hp->index(), want->index()) << where;
      }
      if (hp && hk && hr) {
        ASSERT_EQ(e.Check(*hp, *hk, *hr), by_name) << where << " (handles)";
      }
    }
  }
}

}  // namespace
}  // namespace arbiter
