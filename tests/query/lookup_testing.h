// Shared by the lookup tests (tests/query): what a random state holds, read
// from its proto alone (no engine indexes), so that brute force over it is
// independent of the code under test.

#ifndef ARBITER_TESTS_QUERY_LOOKUP_TESTING_H_
#define ARBITER_TESTS_QUERY_LOOKUP_TESTING_H_

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "arbiter/lookup.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/role.pb.h"
#include "gtest/gtest.h"

namespace arbiter {
namespace lookup_testing {

struct ResourceInfo {
  std::string id;
  ResourceKind kind = ResourceKind::kOrg;
  std::string org, cloud, project;  // ancestors (or itself), "" if none
  std::string creator;              // workloads
};

struct PrincipalInfo {
  std::string id;
  std::string org;
  bool service_account = false;
};

struct StateIndex {
  std::vector<ResourceInfo> resources;
  std::vector<PrincipalInfo> principals;
  std::vector<std::string> permissions;
  std::map<std::string, size_t> by_id;  // resources
};

inline StateIndex IndexState(const v1::PolicySet& state,
                             const v1::Profile& profile) {
  StateIndex ix;
  std::map<std::string, std::string> cloud_org, default_project, project_cloud;
  for (const auto& o : state.organizations()) {
    ix.resources.push_back({o.id(), ResourceKind::kOrg, o.id(), "", "", ""});
  }
  for (const auto& c : state.clouds()) {
    cloud_org[c.id()] = c.org_id();
    ix.resources.push_back(
        {c.id(), ResourceKind::kCloud, c.org_id(), c.id(), "", ""});
  }
  for (const auto& p : state.projects()) {
    project_cloud[p.id()] = p.cloud_id();
    if (p.is_default()) default_project[p.cloud_id()] = p.id();
    ix.resources.push_back({p.id(), ResourceKind::kProject,
                            cloud_org[p.cloud_id()], p.cloud_id(), p.id(), ""});
  }
  for (const auto& w : state.workloads()) {
    const std::string project =
        w.project_id().empty() ? default_project[w.cloud_id()] : w.project_id();
    const std::string cloud = project_cloud[project];
    ix.resources.push_back({w.id(), ResourceKind::kWorkload, cloud_org[cloud],
                            cloud, project, w.creator_id()});
  }
  for (const auto& c : state.compute_configs()) {
    ix.resources.push_back({c.id(), ResourceKind::kComputeConfig,
                            cloud_org[c.cloud_id()], c.cloud_id(), "", ""});
  }
  for (const auto& i : state.images()) {
    ix.resources.push_back(
        {i.id(), ResourceKind::kImage, i.org_id(), "", "", ""});
  }
  for (size_t i = 0; i < ix.resources.size(); ++i) {
    ix.by_id[ix.resources[i].id] = i;
  }
  for (const auto& p : state.principals()) {
    ix.principals.push_back(
        {p.id(), p.org_id(), p.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT});
  }
  for (const auto& p : profile.permissions())
    ix.permissions.push_back(p.name());
  return ix;
}

// Whether `r` is `within` or lies under it.
inline bool Under(const ResourceInfo& r, const ResourceInfo& within) {
  switch (within.kind) {
    case ResourceKind::kOrg:
      return r.org == within.id;
    case ResourceKind::kCloud:
      return r.cloud == within.id;
    case ResourceKind::kProject:
      return r.project == within.id;
    default:
      return r.id == within.id;
  }
}

// The documented order of LookupResources: cloud id, project id, own id.
inline std::tuple<std::string, std::string, std::string> TreeKey(
    const ResourceInfo& r) {
  const bool has_cloud = r.kind != ResourceKind::kOrg &&
                         r.kind != ResourceKind::kImage &&
                         r.kind != ResourceKind::kCloud;
  const bool has_project = r.kind == ResourceKind::kWorkload;
  return {has_cloud ? r.cloud : "", has_project ? r.project : "", r.id};
}

inline int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int n = 0;
  if (v == nullptr || !absl::SimpleAtoi(v, &n)) return fallback;
  return n;
}

inline bool EnvUint64(const char* name, uint64_t* out) {
  const char* v = std::getenv(name);
  return v != nullptr && absl::SimpleAtoi(v, out);
}

// Every page of a lookup, concatenated (page_size 0: one page of at most
// kMaxPageSize, which must be complete).
template <typename Request, typename Page, typename Fn>
bool AllPages(const Request& request, Fn&& call, std::vector<Page>* pages,
              std::string* error) {
  Request r = request;
  std::string cursor;
  for (int i = 0; i < 100000; ++i) {
    absl::StatusOr<Page> page = call(r);
    if (!page.ok()) {
      *error = page.status().ToString();
      return false;
    }
    pages->push_back(*page);
    if (page->complete) {
      if (!page->next_cursor.empty()) {
        *error = "a complete page carries a cursor";
        return false;
      }
      return true;
    }
    if (page->next_cursor.empty()) {
      *error = "an incomplete page carries no cursor";
      return false;
    }
    cursor = page->next_cursor;
    r.cursor = cursor;
  }
  *error = "too many pages";
  return false;
}

}  // namespace lookup_testing
}  // namespace arbiter

#endif  // ARBITER_TESTS_QUERY_LOOKUP_TESTING_H_
