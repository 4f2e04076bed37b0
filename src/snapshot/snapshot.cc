#include "src/snapshot/snapshot.h"

#include <algorithm>
#include <atomic>
#include <utility>

namespace arbiter {
namespace internal {
namespace {

template <typename Map>
size_t MapBytes(const Map* m) {
  // Slots plus one control byte each (Swiss tables).
  return m == nullptr ? 0
                      : m->capacity() * (sizeof(typename Map::slot_type) + 1);
}

// Lineages are numbered from 1: handles of 0 are default-constructed ones.
uint32_t NextLineage() {
  static std::atomic<uint32_t> next{1};
  uint32_t id = next.fetch_add(1, std::memory_order_relaxed);
  if (id == 0) id = next.fetch_add(1, std::memory_order_relaxed);
  return id;
}

template <typename Map>
std::shared_ptr<const Map> Share(Map&& map) {
  return std::make_shared<const Map>(std::move(map));
}

}  // namespace

std::unique_ptr<Snapshot> SnapshotTables::Seal(SnapshotTables&& t) {
  auto s = std::make_unique<Snapshot>();
  s->options = std::move(t.options);
  s->profile = std::make_shared<const v1::Profile>(std::move(t.profile));
  s->lineage = NextLineage();

  s->permissions = Column<PermissionRec>::Adopt(std::move(t.permissions));
  s->permission_names = StringColumn(std::move(t.permission_names));
  s->permission_index = Share(std::move(t.permission_index));
  s->roles = Column<RoleRec>::Adopt(std::move(t.roles));
  s->role_names = StringColumn(std::move(t.role_names));
  s->perm_words = t.perm_words;
  s->role_perms = Column<uint64_t>::Adopt(std::move(t.role_perms));
  s->role_own = Column<uint64_t>::Adopt(std::move(t.role_own));
  s->member_role = t.member_role;
  s->has_all_permissions_role = t.has_all_permissions_role;
  s->mask_path = t.mask_path;
  s->permission_masks =
      Column<PermissionMasks>::Adopt(std::move(t.permission_masks));
  s->deny_roles = t.deny_roles;
  s->bypass_roles = t.bypass_roles;
  s->implying_roles[0] = t.implying_roles[0];
  s->implying_roles[1] = t.implying_roles[1];
  s->exempt_roles = Column<uint64_t>::Adopt(std::move(t.exempt_roles));
  s->wide_masks = Share(std::move(t.wide_masks));

  s->nodes = Column<Node>::Adopt(std::move(t.nodes));
  s->node_creator = Column<uint32_t>::Adopt(std::move(t.node_creator));
  s->node_ids = StringColumn(std::move(t.node_ids));
  s->node_names = StringColumn(std::move(t.node_names));
  s->child_by_name = Share(std::move(t.child_by_name));
  s->node_paths = StringColumn(std::move(t.node_paths));
  s->path_index = Share(std::move(t.path_index));
  s->org_by_name = Share(std::move(t.org_by_name));
  s->org_nodes = Column<uint32_t>::Adopt(std::move(t.org_nodes));

  s->principals = Column<PrincipalRec>::Adopt(std::move(t.principals));
  s->principal_ids = StringColumn(std::move(t.principal_ids));
  s->principal_emails = StringColumn(std::move(t.principal_emails));
  s->email_index = Share(std::move(t.email_index));
  s->org_email_index = Share(std::move(t.org_email_index));
  s->principal_groups = Column<GrantSpan>::Adopt(std::move(t.principal_groups));
  s->summary_entries = Column<ScopeEntry>::Adopt(std::move(t.summary_entries));
  s->exact_tags = t.exact_tags;
  s->summary_expires = Column<EntryExpiry>::Adopt(std::move(t.summary_expires));

  s->group_ids = StringColumn(std::move(t.group_ids));
  s->group_spans = Column<GrantSpan>::Adopt(std::move(t.group_spans));
  s->parents_begin = Column<uint32_t>::Adopt(std::move(t.parents_begin));
  s->parents = Column<uint32_t>::Adopt(std::move(t.parents));
  s->group_members_begin =
      Column<uint32_t>::Adopt(std::move(t.group_members_begin));
  s->group_members = Column<uint32_t>::Adopt(std::move(t.group_members));
  s->id_index = Share(std::move(t.id_index));

  s->num_grants = t.num_grants;
  s->grants = Column<GrantRec>::Adopt(std::move(t.grants));
  s->grant_scopes = Column<uint32_t>::Adopt(std::move(t.grant_scopes));
  s->grant_subjects = Column<uint32_t>::Adopt(std::move(t.grant_subjects));
  s->grant_ids = StringColumn(std::move(t.grant_ids));
  s->grant_expires = Column<int64_t>::Adopt(std::move(t.grant_expires));
  s->principal_expiring_spans =
      Column<GrantSpan>::Adopt(std::move(t.principal_expiring_spans));
  s->principal_expiring =
      Column<ScopeExpiry>::Adopt(std::move(t.principal_expiring));

  s->warnings =
      std::make_shared<const std::vector<absl::Status>>(std::move(t.warnings));
  return s;
}

int64_t Snapshot::SummaryExpires(uint32_t e) const {
  const EntryExpiry* it = std::lower_bound(
      summary_expires.begin(), summary_expires.end(), e,
      [](const EntryExpiry& x, uint32_t v) { return x.entry < v; });
  // Every entry with kEntryExpiring is listed; fail closed all the same.
  return it != summary_expires.end() && it->entry == e
             ? it->expires
             : std::numeric_limits<int64_t>::min();
}

size_t Snapshot::MemoryUsage() const {
  size_t bytes = sizeof(*this);
  if (profile != nullptr) bytes += profile->SpaceUsedLong();
  bytes += permissions.MemoryUsage() + permission_names.MemoryUsage() +
           MapBytes(permission_index.get());
  bytes += roles.MemoryUsage() + role_names.MemoryUsage() +
           role_perms.MemoryUsage() + role_own.MemoryUsage() +
           permission_masks.MemoryUsage() + exempt_roles.MemoryUsage();
  if (wide_masks != nullptr) bytes += wide_masks->MemoryUsage();
  bytes += nodes.MemoryUsage() + node_creator.MemoryUsage() +
           node_ids.MemoryUsage() + node_names.MemoryUsage() +
           MapBytes(child_by_name.get()) + node_paths.MemoryUsage() +
           MapBytes(path_index.get()) + MapBytes(org_by_name.get()) +
           org_nodes.MemoryUsage();
  bytes += principals.MemoryUsage() + principal_overlay.MemoryUsage() +
           principal_ids.MemoryUsage() + principal_emails.MemoryUsage() +
           MapBytes(email_index.get()) + MapBytes(org_email_index.get()) +
           principal_groups.MemoryUsage() + summary_entries.MemoryUsage() +
           summary_expires.MemoryUsage();
  bytes += group_ids.MemoryUsage() + group_spans.MemoryUsage() +
           group_span_overlay.MemoryUsage() + parents_begin.MemoryUsage() +
           parents.MemoryUsage() + group_members_begin.MemoryUsage() +
           group_members.MemoryUsage() + MapBytes(id_index.get());
  bytes += grants.MemoryUsage() + grant_scopes.MemoryUsage() +
           grant_subjects.MemoryUsage() + grant_ids.MemoryUsage() +
           grant_expires.MemoryUsage() +
           principal_expiring_spans.MemoryUsage() +
           expiring_overlay.MemoryUsage() + principal_expiring.MemoryUsage();
  if (warnings != nullptr) {
    bytes += warnings->capacity() * sizeof(absl::Status);
  }
  for (const auto& extension : extensions) bytes += extension->MemoryUsage();
  return bytes;
}

}  // namespace internal
}  // namespace arbiter
