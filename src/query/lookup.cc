// The Lookup facade: name resolution (as Check resolves names), the instant
// of a lookup, pages and cursors around the walks of resources.cc and
// subjects.cc; ListPermissions; PermissionSet.

#include "arbiter/lookup.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "arbiter/v1/principal.pb.h"
#include "src/engine/engine_friend_access.h"
#include "src/eval/evaluator.h"
#include "src/internal/time_util.h"
#include "src/query/cursor.h"
#include "src/query/decide_util.h"
#include "src/query/lookups.h"
#include "src/snapshot/lookup.h"

namespace arbiter {
namespace {

using internal::kNone;
using internal::Snapshot;

constexpr absl::string_view kKindNames[] = {
    "org", "cloud", "project", "workload", "compute_config", "image"};

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

absl::StatusOr<uint32_t> ResolveOrgField(const Snapshot& s,
                                         absl::string_view org) {
  if (org.empty()) return kNone;
  const uint32_t node = internal::ResolveOrg(s, org);
  if (node == kNone) {
    return absl::NotFoundError(absl::StrCat("org: no organization ", Quote(org),
                                            " (or its name is ambiguous)"));
  }
  return node;
}

// The node of a resource id, for settling an email shared by principals of
// several organizations (as Check does).
uint32_t NodeById(const Snapshot& s, absl::string_view id) {
  if (id.empty() || id.find('/') != absl::string_view::npos) return kNone;
  auto it = s.id_index->find(id);
  if (it == s.id_index->end() ||
      it->second.kind != internal::ObjectKind::kNode) {
    return kNone;
  }
  return it->second.index;
}

absl::StatusOr<uint32_t> ResolvePrincipalField(const Snapshot& s,
                                               absl::string_view principal,
                                               uint32_t org_node,
                                               absl::string_view hint) {
  uint32_t index;
  Reason failure;
  if (internal::ResolvePrincipal(s, principal, org_node, kNone, &index,
                                 &failure)) {
    return index;
  }
  if (failure == Reason::kAmbiguousPrincipal) {
    const uint32_t node = NodeById(s, hint);
    if (node != kNone &&
        internal::ResolvePrincipal(s, principal, kNone,
                                   s.nodes[node].path[internal::kOrgLevel],
                                   &index, &failure)) {
      return index;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("principal: ", Quote(principal),
                     " names principals of several organizations; set org"));
  }
  return absl::NotFoundError(
      absl::StrCat("principal: no principal ", Quote(principal)));
}

absl::StatusOr<uint32_t> ResolvePermissionField(const Snapshot& s,
                                                absl::string_view permission) {
  auto it = s.permission_index->find(permission);
  if (it == s.permission_index->end()) {
    return absl::NotFoundError(
        absl::StrCat("permission: no permission ", Quote(permission)));
  }
  return it->second;
}

absl::StatusOr<uint32_t> ResolveResourceField(const Snapshot& s,
                                              absl::string_view field,
                                              absl::string_view resource,
                                              uint32_t path_org,
                                              uint32_t bound_org) {
  const uint32_t node =
      internal::ResolveResource(s, resource, path_org, bound_org);
  if (node == kNone) {
    return absl::NotFoundError(absl::StrCat(
        field, ": no resource ", Quote(resource),
        resource.find('/') != absl::string_view::npos && path_org == kNone
            ? " (a path needs org: the snapshot has several "
              "organizations)"
            : ""));
  }
  return node;
}

absl::Status CheckPageSize(uint32_t page_size) {
  if (page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: ", page_size, " is above the maximum, ", kMaxPageSize));
  }
  return absl::OkStatus();
}

// Whether LookupSubjects returns principal `rec` under `filter`.
bool Wanted(PrincipalFilter filter, const internal::PrincipalRec& rec) {
  const bool sa = rec.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
  switch (filter) {
    case PrincipalFilter::kUsers:
      return !sa;
    case PrincipalFilter::kServiceAccounts:
      return sa;
    default:
      return true;
  }
}

// The pinned instant, in the form every page uses.
absl::Time Normalized(absl::Time t) {
  return absl::FromUnixNanos(internal::ToUnixNanosSaturated(t));
}

}  // namespace

absl::string_view ResourceKindName(ResourceKind kind) {
  const size_t i = static_cast<size_t>(kind);
  return i < 6 ? kKindNames[i] : absl::string_view("unknown");
}

bool ParseResourceKind(absl::string_view name, ResourceKind* kind) {
  for (size_t i = 0; i < 6; ++i) {
    if (name == kKindNames[i]) {
      *kind = static_cast<ResourceKind>(i);
      return true;
    }
  }
  return false;
}

// ---- PermissionSet ----

bool PermissionSet::Has(absl::string_view permission) const {
  if (snapshot_ == nullptr) return false;
  auto it = snapshot_->permission_index->find(permission);
  return it != snapshot_->permission_index->end() && Has(it->second);
}

size_t PermissionSet::size() const {
  size_t n = 0;
  for (uint64_t w : bits_) n += static_cast<size_t>(__builtin_popcountll(w));
  return n;
}

std::vector<absl::string_view> PermissionSet::Names() const {
  std::vector<absl::string_view> names;
  if (snapshot_ == nullptr) return names;
  for (size_t w = 0; w < bits_.size(); ++w) {
    for (uint64_t x = bits_[w]; x != 0; x &= x - 1) {
      names.push_back(snapshot_->permission_names.Get(
          static_cast<uint32_t>(w * 64 + __builtin_ctzll(x))));
    }
  }
  return names;
}

bool operator==(const PermissionSet& a, const PermissionSet& b) {
  const size_t n = std::max(a.bits_.size(), b.bits_.size());
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = i < a.bits_.size() ? a.bits_[i] : 0;
    const uint64_t y = i < b.bits_.size() ? b.bits_[i] : 0;
    if (x != y) return false;
  }
  return true;
}

// ---- Lookup ----

Lookup::Lookup(std::shared_ptr<const Snapshot> snapshot, uint64_t revision)
    : snapshot_(std::move(snapshot)),
      index_(internal::QueryIndex::Build(*snapshot_)),
      revision_(revision) {}

Lookup::~Lookup() = default;

std::unique_ptr<const Lookup> Lookup::Create(const Engine& engine) {
  return std::unique_ptr<const Lookup>(
      new Lookup(EngineFriendAccess::SharedState(engine), engine.revision()));
}

size_t Lookup::MemoryUsage() const { return index_->MemoryUsage(); }

absl::StatusOr<ResourcePage> Lookup::LookupResources(
    const LookupResourcesRequest& request) const {
  const Snapshot& s = *snapshot_;
  absl::StatusOr<uint32_t> org = ResolveOrgField(s, request.org);
  if (!org.ok()) return org.status();
  absl::StatusOr<uint32_t> principal =
      ResolvePrincipalField(s, request.principal, *org, request.within);
  if (!principal.ok()) return principal.status();
  absl::StatusOr<uint32_t> permission =
      ResolvePermissionField(s, request.permission);
  if (!permission.ok()) return permission.status();
  const uint32_t principal_org = s.Principal(*principal).org;
  uint32_t within = principal_org;
  if (!request.within.empty()) {
    absl::StatusOr<uint32_t> w =
        ResolveResourceField(s, "within", request.within,
                             *org != kNone ? *org : principal_org, *org);
    if (!w.ok()) return w.status();
    const internal::NodeKind kind = s.nodes[*w].kind;
    if (kind != internal::NodeKind::kOrg &&
        kind != internal::NodeKind::kCloud &&
        kind != internal::NodeKind::kProject) {
      return absl::InvalidArgumentError(
          absl::StrCat("within: ", Quote(request.within), " is a ",
                       ResourceKindName(static_cast<ResourceKind>(kind)),
                       "; give an organization, a cloud or a project"));
    }
    within = *w;
  }
  if (absl::Status st = CheckPageSize(request.page_size); !st.ok()) return st;
  const uint32_t page_size =
      request.page_size == 0 ? kDefaultPageSize : request.page_size;

  internal::CursorBinding binding;
  binding.revision = revision_;
  binding.lineage = s.lineage;
  binding.query = v1::LookupCursor::RESOURCES;
  binding.principal = *principal;
  binding.permission = *permission;
  binding.kind = static_cast<uint32_t>(request.kind);
  binding.scope = within;
  binding.channel = static_cast<uint32_t>(request.context.channel);

  internal::ResourcesQuery q;
  q.principal = *principal;
  q.permission = *permission;
  q.kind = static_cast<internal::NodeKind>(request.kind);
  q.within = within;
  q.revision = revision_;
  q.limit = size_t{page_size} + 1;
  absl::Time at;
  if (!request.cursor.empty()) {
    absl::StatusOr<v1::LookupCursor> c = internal::DecodeCursor(request.cursor);
    if (!c.ok()) return c.status();
    binding.digest = index_->digest();
    if (absl::Status st = internal::CheckCursor(*c, binding); !st.ok()) {
      return st;
    }
    at = absl::FromUnixNanos(c->at_unix_nanos());
    q.context = internal::AtInstant(request.context, at);
    // The position must be a result of this lookup.
    const uint32_t last = c->last();
    if (last >= s.nodes.size() || s.nodes[last].kind != q.kind ||
        s.nodes[last].path[internal::Depth(s.nodes[within])] != within ||
        internal::IdHash(s.node_ids.Get(last)) != c->last_id_hash() ||
        !internal::Evaluate(s, q.principal, q.permission, last, q.context,
                            revision_)
             .allowed()) {
      return absl::InvalidArgumentError(
          "cursor: names no result of this lookup");
    }
    q.resume = true;
    q.after = last;
  } else {
    at = Normalized(internal::LookupInstant(s, request.context));
    q.context = internal::AtInstant(request.context, at);
  }

  ResourcePage page;
  page.revision = revision_;
  page.at = at;
  std::vector<uint32_t> nodes;
  page.resources.reserve(std::min<size_t>(q.limit, 1024));
  nodes.reserve(page.resources.capacity());
  internal::FindResources(*index_, q, &page.resources, &nodes);
  if (page.resources.size() > page_size) {
    page.resources.resize(page_size);
    page.complete = false;
    const uint32_t last = nodes[page_size - 1];
    binding.digest = index_->digest();
    page.next_cursor = internal::EncodeCursor(
        internal::MakeCursor(binding, internal::ToUnixNanosSaturated(at), last,
                             s.node_ids.Get(last)));
  }
  return page;
}

absl::StatusOr<SubjectPage> Lookup::LookupSubjects(
    const LookupSubjectsRequest& request) const {
  const Snapshot& s = *snapshot_;
  absl::StatusOr<uint32_t> org = ResolveOrgField(s, request.org);
  if (!org.ok()) return org.status();
  absl::StatusOr<uint32_t> permission =
      ResolvePermissionField(s, request.permission);
  if (!permission.ok()) return permission.status();
  const uint32_t path_org = *org != kNone             ? *org
                            : s.org_nodes.size() == 1 ? s.org_nodes[0]
                                                      : kNone;
  absl::StatusOr<uint32_t> resource =
      ResolveResourceField(s, "resource", request.resource, path_org, *org);
  if (!resource.ok()) return resource.status();
  if (absl::Status st = CheckPageSize(request.page_size); !st.ok()) return st;
  const uint32_t page_size =
      request.page_size == 0 ? kDefaultPageSize : request.page_size;

  internal::CursorBinding binding;
  binding.revision = revision_;
  binding.lineage = s.lineage;
  binding.query = v1::LookupCursor::SUBJECTS;
  binding.permission = *permission;
  binding.kind = static_cast<uint32_t>(request.principals);
  binding.scope = *resource;
  binding.channel = static_cast<uint32_t>(request.context.channel);

  internal::SubjectsQuery q;
  q.permission = *permission;
  q.resource = *resource;
  q.filter = request.principals;
  q.revision = revision_;
  q.limit = size_t{page_size} + 1;
  absl::Time at;
  if (!request.cursor.empty()) {
    absl::StatusOr<v1::LookupCursor> c = internal::DecodeCursor(request.cursor);
    if (!c.ok()) return c.status();
    binding.digest = index_->digest();
    if (absl::Status st = internal::CheckCursor(*c, binding); !st.ok()) {
      return st;
    }
    at = absl::FromUnixNanos(c->at_unix_nanos());
    q.context = internal::AtInstant(request.context, at);
    const uint32_t last = c->last();
    if (last >= s.principals.size() ||
        !Wanted(request.principals, s.Principal(last)) ||
        internal::IdHash(s.principal_ids.Get(last)) != c->last_id_hash() ||
        !internal::Evaluate(s, last, q.permission, q.resource, q.context,
                            revision_)
             .allowed()) {
      return absl::InvalidArgumentError(
          "cursor: names no result of this lookup");
    }
    q.resume = true;
    q.after_rank = index_->principal_rank[last];
  } else {
    at = Normalized(internal::LookupInstant(s, request.context));
    q.context = internal::AtInstant(request.context, at);
  }

  SubjectPage page;
  page.revision = revision_;
  page.at = at;
  std::vector<uint32_t> principals;
  page.subjects.reserve(std::min<size_t>(q.limit, 1024));
  principals.reserve(page.subjects.capacity());
  internal::FindSubjects(*index_, q, &page.subjects, &principals);
  if (page.subjects.size() > page_size) {
    page.subjects.resize(page_size);
    page.complete = false;
    const uint32_t last = principals[page_size - 1];
    binding.digest = index_->digest();
    page.next_cursor = internal::EncodeCursor(
        internal::MakeCursor(binding, internal::ToUnixNanosSaturated(at), last,
                             s.principal_ids.Get(last)));
  }
  return page;
}

absl::StatusOr<PermissionSet> Lookup::ListPermissions(
    absl::string_view principal, absl::string_view resource,
    absl::string_view org, const RequestContext& context) const {
  const Snapshot& s = *snapshot_;
  absl::StatusOr<uint32_t> org_node = ResolveOrgField(s, org);
  if (!org_node.ok()) return org_node.status();
  absl::StatusOr<uint32_t> p =
      ResolvePrincipalField(s, principal, *org_node, resource);
  if (!p.ok()) return p.status();
  absl::StatusOr<uint32_t> r = ResolveResourceField(
      s, "resource", resource,
      *org_node != kNone ? *org_node : s.Principal(*p).org, *org_node);
  if (!r.ok()) return r.status();
  PermissionSet set = LookupFriend::MakeSet(s);
  const RequestContext at =
      internal::AtInstant(context, internal::LookupInstant(s, context));
  internal::PermissionBits(s, *p, *r, at, revision_, -1,
                           LookupFriend::Bits(&set), nullptr);
  return set;
}

}  // namespace arbiter
