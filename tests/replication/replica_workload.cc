#include "tests/replication/replica_workload.h"

#include "absl/strings/str_cat.h"

namespace arbiter {
namespace testing {
namespace {

const char* const kUsers[] = {
    "bob@acme.com", "carol@acme.com", "dave@acme.com",  "erin@acme.com",
    "kim@acme.com", "frank@acme.com", "grace@acme.com", "mallory@acme.com"};
const char* const kProjects[] = {"prod/ml-prod", "prod/web",
                                 "research/ml-research"};
const char* const kClouds[] = {"prod", "research"};
const char* const kProjectRoles[] = {"project_owner", "project_write",
                                     "project_readonly"};
const char* const kCloudRoles[] = {"cloud_collaborator", "cloud_readonly"};

template <typename T, size_t N>
const T& PickOf(Rng& rng, const T (&items)[N]) {
  return items[rng.Below(N)];
}

}  // namespace

std::string TagOf(int writer, int n) {
  return absl::StrCat("10.", writer, ".", n / 250, ".", n % 250 + 1);
}

v1::Transaction RandomDemoTransaction(Rng& rng, int writer, int n) {
  v1::Transaction txn;
  txn.set_actor("alice@acme.com");
  txn.mutable_metadata()->set_source_ip(TagOf(writer, n));
  // 2024-01-01 plus one second per (writer, n): deterministic audit records.
  txn.mutable_metadata()->mutable_time()->set_seconds(1704067200 +
                                                      writer * 100000 + n);
  const int mutations = rng.Chance(0.6) ? 1 : rng.Between(2, 3);
  for (int i = 0; i < mutations; ++i) {
    v1::Mutation* m = txn.add_mutations();
    switch (rng.Below(5)) {
      case 0:
      case 1: {
        auto* x = m->mutable_set_project_member();
        x->set_project(PickOf(rng, kProjects));
        x->set_principal(PickOf(rng, kUsers));
        x->set_role(PickOf(rng, kProjectRoles));
        break;
      }
      case 2: {
        auto* x = m->mutable_remove_project_member();
        x->set_project(PickOf(rng, kProjects));
        x->set_principal(PickOf(rng, kUsers));
        break;
      }
      case 3: {
        auto* x = m->mutable_set_cloud_member();
        x->set_cloud(PickOf(rng, kClouds));
        x->set_principal(PickOf(rng, kUsers));
        x->set_role(PickOf(rng, kCloudRoles));
        break;
      }
      default: {
        // prod adds every member automatically: removals there are refused.
        auto* x = m->mutable_remove_cloud_member();
        x->set_cloud("research");
        x->set_principal(PickOf(rng, kUsers));
        break;
      }
    }
  }
  return txn;
}

std::map<uint64_t, std::vector<std::string>> TagsByRevision(
    const std::vector<v1::AuditRecord>& chain) {
  std::map<uint64_t, std::vector<std::string>> out;
  for (const v1::AuditRecord& r : chain) {
    if (r.has_checkpoint()) continue;
    std::vector<std::string>& tags = out[r.revision()];
    if (tags.empty() || tags.back() != r.source_ip()) {
      tags.push_back(r.source_ip());
    }
  }
  return out;
}

AccessRequest DemoQuery::ToRequest() const {
  AccessRequest r;
  r.principal = principal;
  r.permission = permission;
  r.resource = resource;
  return r;
}

std::vector<DemoQuery> DemoQueries() {
  static const char* const kPrincipals[] = {"alice@acme.com",
                                            "bob@acme.com",
                                            "carol@acme.com",
                                            "dave@acme.com",
                                            "erin@acme.com",
                                            "kim@acme.com",
                                            "frank@acme.com",
                                            "grace@acme.com",
                                            "heidi@acme.com",
                                            "ivan@acme.com",
                                            "judy@acme.com",
                                            "mallory@acme.com",
                                            "ci@org-123.serviceaccount.com"};
  static const char* const kProjectPermissions[] = {
      "project.view", "project.members.manage", "project.workload.create",
      "project.workload.delete"};
  static const char* const kCloudPermissions[] = {
      "cloud.view", "cloud.members.manage", "cloud.projects.create"};
  static const char* const kResources[] = {
      "prod/ml-prod", "prod/web", "prod/default", "research/ml-research",
      "research/default"};
  std::vector<DemoQuery> out;
  for (const char* p : kPrincipals) {
    for (const char* r : kResources) {
      for (const char* perm : kProjectPermissions) out.push_back({p, perm, r});
    }
    for (const char* c : kClouds) {
      for (const char* perm : kCloudPermissions) out.push_back({p, perm, c});
    }
  }
  return out;
}

}  // namespace testing
}  // namespace arbiter
