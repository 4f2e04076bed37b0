#include "src/snapshot/snapshot.h"

#include <algorithm>


namespace arbiter {
namespace internal {
namespace {

template <typename T, typename A>
size_t VectorBytes(const std::vector<T, A>& v) {
  return v.capacity() * sizeof(T);
}

template <typename Map>
size_t MapBytes(const Map& m) {
  // Slots plus one control byte each (Swiss tables).
  return m.capacity() * (sizeof(typename Map::slot_type) + 1);
}

}  // namespace

Snapshot::Snapshot() = default;

uint32_t Snapshot::SubjectOfGrant(uint32_t i) const {
  auto it = std::upper_bound(subject_grants_begin.begin(),
                             subject_grants_begin.end(), i);
  return static_cast<uint32_t>(it - subject_grants_begin.begin()) - 1;
}
Snapshot::~Snapshot() = default;

int64_t Snapshot::SummaryExpires(uint32_t e) const {
  const auto it =
      std::lower_bound(summary_expires.begin(), summary_expires.end(), e,
                       [](const std::pair<uint32_t, int64_t>& x, uint32_t v) {
                         return x.first < v;
                       });
  // Every entry with kEntryExpiring is listed; fail closed all the same.
  return it != summary_expires.end() && it->first == e
             ? it->second
             : std::numeric_limits<int64_t>::min();
}

size_t Snapshot::MemoryUsage() const {
  size_t bytes = sizeof(*this);
  bytes += profile.SpaceUsedLong();
  bytes += VectorBytes(permissions) + permission_names.MemoryUsage() +
           MapBytes(permission_index);
  bytes += VectorBytes(roles) + role_names.MemoryUsage() +
           VectorBytes(role_perms) + VectorBytes(role_own) +
           VectorBytes(permission_masks) + VectorBytes(exempt_roles);
  bytes += VectorBytes(nodes) + VectorBytes(node_creator) +
           node_ids.MemoryUsage() + node_names.MemoryUsage() +
           MapBytes(child_by_name) + node_paths.MemoryUsage() +
           MapBytes(path_index) + MapBytes(org_by_name) +
           VectorBytes(org_nodes);
  bytes += VectorBytes(principals) + principal_ids.MemoryUsage() +
           principal_emails.MemoryUsage() + MapBytes(email_index) +
           MapBytes(org_email_index) + VectorBytes(principal_groups) +
           VectorBytes(summary_entries) + VectorBytes(summary_expires) +
           group_ids.MemoryUsage() + VectorBytes(parents_begin) +
           VectorBytes(parents) + MapBytes(id_index);
  bytes += VectorBytes(grants) + VectorBytes(grant_scopes) +
           VectorBytes(subject_grants_begin) + grant_ids.MemoryUsage() +
           VectorBytes(grant_expires) + VectorBytes(principal_expiring_begin) +
           VectorBytes(principal_expiring);
  for (const auto& extension : extensions) bytes += extension->MemoryUsage();
  return bytes;
}

}  // namespace internal
}  // namespace arbiter
