#include "src/eval/resolve.h"

#include "arbiter/v1/principal.pb.h"

namespace arbiter {
namespace internal {

uint32_t ResolveOrg(const CompiledState& s, absl::string_view org) {
  auto it = s.id_index.find(org);
  if (it != s.id_index.end() &&
      it->second.kind == CompiledState::ObjectKind::kNode &&
      s.nodes[it->second.index].kind == NodeKind::kOrg) {
    return it->second.index;
  }
  auto nit = s.org_by_name.find(org);
  return nit == s.org_by_name.end() ? kNone : nit->second;
}

bool ResolvePrincipal(const CompiledState& s, absl::string_view principal,
                      absl::string_view org, uint32_t* index, Reason* failure) {
  *failure = Reason::kUnknownPrincipal;
  // Ids never contain '@' and emails always do.
  if (principal.find('@') == absl::string_view::npos) {
    auto it = s.id_index.find(principal);
    if (it == s.id_index.end() ||
        it->second.kind != CompiledState::ObjectKind::kPrincipal) {
      return false;
    }
    *index = it->second.index;
    return true;
  }
  auto eit = s.email_index.find(principal);
  if (eit == s.email_index.end()) return false;
  // Principals sharing the email: at most one live (not deleted) one per
  // organization, plus deleted ones (earlier members, since re-invited).
  // The live one wins; with none, a single deleted one (which Check denies).
  // Two candidates of the same kind are ambiguous.
  const uint32_t org_node = org.empty() ? kNone : ResolveOrg(s, org);
  if (!org.empty() && org_node == kNone) return false;
  uint32_t live = kNone, deleted = kNone;
  int live_count = 0, deleted_count = 0;
  for (uint32_t p = eit->second; p != kNone; p = s.next_same_email[p]) {
    if (org_node != kNone && s.principals[p].org != org_node) continue;
    if (s.principals[p].state == v1::PRINCIPAL_STATE_DELETED) {
      deleted = p;
      ++deleted_count;
    } else {
      live = p;
      ++live_count;
    }
  }
  if (live_count + deleted_count == 0) return false;
  if (live_count > 1 || (live_count == 0 && deleted_count > 1)) {
    *failure = Reason::kAmbiguousPrincipal;
    return false;
  }
  *index = live_count == 1 ? live : deleted;
  return true;
}

uint32_t ResolveResource(const CompiledState& s, absl::string_view resource,
                         uint32_t org_node) {
  // Ids never contain '/': a path is looked up whole. A bare name is an id
  // first, then a cloud name.
  if (resource.find('/') == absl::string_view::npos) {
    auto it = s.id_index.find(resource);
    if (it != s.id_index.end()) {
      return it->second.kind == CompiledState::ObjectKind::kNode
                 ? it->second.index
                 : kNone;
    }
  }
  if (org_node == kNone || resource.empty()) return kNone;
  auto pit = s.path_index.find(ChildKey{org_node, resource});
  return pit == s.path_index.end() ? kNone : pit->second;
}

Resolved ResolveRequest(const CompiledState& s, const AccessRequest& request) {
  Resolved r;
  if (!ResolvePrincipal(s, request.principal, request.org, &r.principal,
                        &r.failure)) {
    return r;
  }
  auto pit = s.permission_index.find(request.permission);
  if (pit == s.permission_index.end()) {
    r.failure = Reason::kUnknownPermission;
    return r;
  }
  r.permission = pit->second;
  r.resource =
      ResolveResource(s, request.resource, s.principals[r.principal].org);
  if (r.resource == kNone) {
    r.failure = Reason::kUnknownResource;
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace internal
}  // namespace arbiter
