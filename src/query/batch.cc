// CheckBatch: Check over many requests in one call.
//
// Resolution follows internal::ResolveRequest (src/snapshot/lookup.cc) step
// by step, with the same failures in the same order, and every decision is
// internal::Evaluate's, Check's own. What a batch saves:
//  * a name equal to the previous request's (one user's many resources,
//    one resource's many users, one permission) is not resolved again;
//  * the index entries of the request kAhead places on are prefetched, so
//    that in a large snapshot, whose indexes do not fit in cache, the
//    misses of several requests overlap instead of following each other.
// Distinct names are resolved by the snapshot's own hash indexes: a table of
// the names seen would cost as much as they do (measured: slower on M).

#include <utility>
#include <vector>

#include "arbiter/lookup.h"
#include "src/engine/engine_friend_access.h"
#include "src/eval/evaluator.h"
#include "src/snapshot/lookup.h"

namespace arbiter {
namespace internal {
namespace {

// The node of a resource id (as ResolveRequest settles an email several
// organizations share).
uint32_t NodeById(const Snapshot& s, absl::string_view id) {
  if (id.empty() || id.find('/') != absl::string_view::npos) return kNone;
  auto it = s.id_index->find(id);
  if (it == s.id_index->end() || it->second.kind != ObjectKind::kNode) {
    return kNone;
  }
  return it->second.index;
}

// Starts loading the index entries `request`'s names resolve through (as
// ResolveRequest does for one request), so that their cache misses overlap
// with the evaluation of the requests before it.
void Prefetch(const Snapshot& s, const AccessRequest& request) {
  if (!request.org.empty()) return;  // resolved in the organization first
  const absl::string_view principal = request.principal;
  const absl::string_view resource = request.resource;
  if (principal.find('@') == absl::string_view::npos) {
    s.id_index->prefetch(principal);
  } else {
    s.email_index->prefetch(principal);
  }
  if (resource.find('/') == absl::string_view::npos) {
    s.id_index->prefetch(resource);
  } else if (s.org_nodes.size() == 1) {
    s.path_index->prefetch(ChildKey{s.org_nodes[0], resource});
  }
}

class BatchResolver {
 public:
  explicit BatchResolver(const Snapshot& s) : s_(s) {}

  // What ResolveRequest(s_, request) returns.
  Resolved Resolve(const AccessRequest& request) {
    Resolved r;
    uint32_t org_node = kNone;
    if (!request.org.empty()) {
      if (!has_org_ || request.org != org_name_) {
        org_ = ResolveOrg(s_, request.org);
        org_name_ = request.org;
        has_org_ = true;
      }
      org_node = org_;
      if (org_node == kNone) {
        r.failure = Reason::kUnknownOrg;
        return r;
      }
    }
    if (!has_principal_ || principal_org_ != org_node ||
        request.principal != principal_name_) {
      principal_ok_ = ResolvePrincipal(s_, request.principal, org_node, kNone,
                                       &principal_, &principal_failure_);
      principal_name_ = request.principal;
      principal_org_ = org_node;
      has_principal_ = true;
    }
    if (principal_ok_) {
      r.principal = principal_;
    } else {
      r.failure = principal_failure_;
      if (principal_failure_ != Reason::kAmbiguousPrincipal ||
          request.resource.find('/') != absl::string_view::npos) {
        return r;
      }
      const uint32_t node = NodeById(s_, request.resource);
      if (node == kNone || !ResolvePrincipal(s_, request.principal, kNone,
                                             s_.nodes[node].path[kOrgLevel],
                                             &r.principal, &r.failure)) {
        return r;
      }
    }
    if (!has_permission_ || request.permission != permission_name_) {
      auto it = s_.permission_index->find(request.permission);
      permission_ = it == s_.permission_index->end() ? kNone : it->second;
      permission_name_ = request.permission;
      has_permission_ = true;
    }
    if (permission_ == kNone) {
      r.failure = Reason::kUnknownPermission;
      return r;
    }
    r.permission = permission_;
    const uint32_t path_org =
        org_node != kNone ? org_node : s_.Principal(r.principal).org;
    if (!has_resource_ || resource_path_org_ != path_org ||
        resource_bound_org_ != org_node || request.resource != resource_name_) {
      resource_ = ResolveResource(s_, request.resource, path_org, org_node);
      resource_name_ = request.resource;
      resource_path_org_ = path_org;
      resource_bound_org_ = org_node;
      has_resource_ = true;
    }
    r.resource = resource_;
    if (r.resource == kNone) {
      r.failure = Reason::kUnknownResource;
      return r;
    }
    r.ok = true;
    return r;
  }

 private:
  const Snapshot& s_;
  // The previous request's names and what they resolved to.
  bool has_org_ = false, has_principal_ = false, has_permission_ = false,
       has_resource_ = false;
  absl::string_view org_name_, principal_name_, permission_name_,
      resource_name_;
  uint32_t org_ = kNone;
  uint32_t principal_org_ = kNone, principal_ = kNone;
  bool principal_ok_ = false;
  Reason principal_failure_ = Reason::kInternalError;
  uint32_t permission_ = kNone;
  uint32_t resource_path_org_ = kNone, resource_bound_org_ = kNone,
           resource_ = kNone;
};

}  // namespace
}  // namespace internal

void CheckBatch(const Engine& engine, absl::Span<const AccessRequest> requests,
                std::vector<Decision>* decisions) {
  const internal::Snapshot& s = EngineFriendAccess::State(engine);
  const uint64_t revision = engine.revision();
  decisions->resize(requests.size());
  internal::BatchResolver resolver(s);
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < kAhead && i < requests.size(); ++i) {
    internal::Prefetch(s, requests[i]);
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    if (i + kAhead < requests.size()) {
      internal::Prefetch(s, requests[i + kAhead]);
    }
    const AccessRequest& request = requests[i];
    const internal::Resolved r = resolver.Resolve(request);
    (*decisions)[i] =
        r.ok ? internal::Evaluate(s, r.principal, r.permission, r.resource,
                                  request.context, revision)
             : internal::MakeDecision(r.failure, revision);
  }
}

}  // namespace arbiter
