#include "src/snapshot/lookup.h"

#include "arbiter/v1/principal.pb.h"

namespace arbiter {
namespace internal {
namespace {

// The node with id `id`, or kNone (no object, or not a resource).
uint32_t NodeById(const Snapshot& s, absl::string_view id) {
  auto it = s.id_index->find(id);
  if (it == s.id_index->end() || it->second.kind != ObjectKind::kNode) {
    return kNone;
  }
  return it->second.index;
}

}  // namespace

uint32_t ResolveOrg(const Snapshot& s, absl::string_view org) {
  const uint32_t by_id = NodeById(s, org);
  if (by_id != kNone && s.nodes[by_id].kind == NodeKind::kOrg) return by_id;
  auto nit = s.org_by_name->find(org);
  return nit == s.org_by_name->end() ? kNone : nit->second;
}

bool ResolvePrincipal(const Snapshot& s, absl::string_view principal,
                      uint32_t org_node, uint32_t hint_org, uint32_t* index,
                      Reason* failure) {
  *failure = Reason::kUnknownPrincipal;
  // Ids never contain '@' and emails always do.
  if (principal.find('@') == absl::string_view::npos) {
    auto it = s.id_index->find(principal);
    if (it == s.id_index->end() || it->second.kind != ObjectKind::kPrincipal) {
      return false;
    }
    // Another tenant's principal is unknown in this organization.
    if (org_node != kNone && s.Principal(it->second.index).org != org_node) {
      return false;
    }
    *index = it->second.index;
    return true;
  }
  if (org_node != kNone) {
    auto it = s.org_email_index->find(ChildKey{org_node, principal});
    if (it == s.org_email_index->end()) return false;
    *index = it->second;
    return true;
  }
  auto eit = s.email_index->find(principal);
  if (eit == s.email_index->end()) return false;
  const EmailEntry& e = eit->second;
  if (e.live_count == 1) {
    *index = e.live;
    return true;
  }
  if (e.live_count > 1) {
    if (hint_org != kNone) {
      auto it = s.org_email_index->find(ChildKey{hint_org, principal});
      if (it != s.org_email_index->end() &&
          s.Principal(it->second).state != v1::PRINCIPAL_STATE_DELETED) {
        *index = it->second;
        return true;
      }
    }
    *failure = Reason::kAmbiguousPrincipal;
    return false;
  }
  if (e.deleted == kNone) return false;  // unreachable: an entry has one
  *index = e.deleted;
  return true;
}

uint32_t ResolveResource(const Snapshot& s, absl::string_view resource,
                         uint32_t path_org, uint32_t bound_org) {
  uint32_t node = kNone;
  // Ids never contain '/': a path is looked up whole. A bare name is an id
  // first, then a cloud name.
  if (resource.find('/') == absl::string_view::npos) {
    auto it = s.id_index->find(resource);
    if (it != s.id_index->end()) {
      if (it->second.kind != ObjectKind::kNode) return kNone;
      node = it->second.index;
    }
  }
  if (node == kNone) {
    if (path_org == kNone || resource.empty()) return kNone;
    auto pit = s.path_index->find(ChildKey{path_org, resource});
    if (pit == s.path_index->end()) return kNone;
    node = pit->second;
  }
  // Another tenant's resource is unknown in this organization.
  if (bound_org != kNone && s.nodes[node].path[kOrgLevel] != bound_org) {
    return kNone;
  }
  return node;
}

Resolved ResolveRequest(const Snapshot& s, const AccessRequest& request) {
  Resolved r;
  uint32_t org_node = kNone;
  if (!request.org.empty()) {
    org_node = ResolveOrg(s, request.org);
    if (org_node == kNone) {
      r.failure = Reason::kUnknownOrg;
      return r;
    }
  }
  // In a large snapshot each lookup below misses the cache: start the
  // principal's and, where its table is known before the principal is, the
  // resource's together, so that their misses overlap.
  const absl::string_view principal = request.principal;
  const absl::string_view resource = request.resource;
  if (principal.find('@') == absl::string_view::npos) {
    s.id_index->prefetch(principal);
  } else if (org_node == kNone) {
    s.email_index->prefetch(principal);
  } else {
    s.org_email_index->prefetch(ChildKey{org_node, principal});
  }
  if (resource.find('/') == absl::string_view::npos) {
    s.id_index->prefetch(resource);
  } else if (org_node != kNone || s.org_nodes.size() == 1) {
    s.path_index->prefetch(
        ChildKey{org_node != kNone ? org_node : s.org_nodes[0], resource});
  }
  if (!ResolvePrincipal(s, request.principal, org_node, kNone, &r.principal,
                        &r.failure)) {
    // Without an organization, a resource id may settle which
    // organization's principal an email shared across organizations means.
    if (r.failure != Reason::kAmbiguousPrincipal ||
        request.resource.find('/') != absl::string_view::npos) {
      return r;
    }
    const uint32_t node = NodeById(s, request.resource);
    if (node == kNone || !ResolvePrincipal(s, request.principal, kNone,
                                           s.nodes[node].path[kOrgLevel],
                                           &r.principal, &r.failure)) {
      return r;
    }
  }
  // Evaluation reads the principal's record first.
  __builtin_prefetch(&s.principals[r.principal]);
  auto pit = s.permission_index->find(request.permission);
  if (pit == s.permission_index->end()) {
    r.failure = Reason::kUnknownPermission;
    return r;
  }
  r.permission = pit->second;
  r.resource = ResolveResource(
      s, request.resource,
      org_node != kNone ? org_node : s.Principal(r.principal).org, org_node);
  if (r.resource == kNone) {
    r.failure = Reason::kUnknownResource;
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace internal
}  // namespace arbiter
