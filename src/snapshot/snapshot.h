// The sealed snapshot: flat, integer-indexed tables that Check, Explain, the
// lookups and the IAM index read, and nothing writes. Everything Check
// touches is here; the PolicySet proto is not kept.
//
// A snapshot is built only by sealing the tables a full compile laid out
// (SnapshotTables::Seal, below) or by applying a StateDelta to another
// snapshot (SnapshotBuilder, src/compiler/snapshot_builder.h). Snapshots
// built from one another form a lineage: they share every table through
// Column, StringColumn and Overlay (src/snapshot/column.h, overlay.h), so a
// derived snapshot costs what its delta changed, and handles stay valid
// along it (`lineage`).
//
// Index spaces:
//  * nodes: every resource (orgs, clouds, projects, workloads, compute
//    configs, images); a full compile sorts each kind by id, a derived
//    snapshot appends new ones. An index never changes along a lineage.
//  * principals and groups: the same.
//  * subjects: principals [0, P) then groups [P, P + G).
//  * grant slots: each subject's grants are a span, sorted by (scope node,
//    grant id), so its grants at one scope are contiguous and in id order
//    (docs/semantics.md "Order of grants"). A derived snapshot relocates
//    the span of a subject whose grants change to the end of the grant
//    columns; the old slots stay for the older snapshots. Slot order is
//    therefore not (subject rank, grant id) order across subjects: the
//    evaluation compares grants by the order it visits them in.
//  * permissions and roles: profile order, then custom ones; fixed for a
//    lineage.

#ifndef ARBITER_SRC_SNAPSHOT_SNAPSHOT_H_
#define ARBITER_SRC_SNAPSHOT_SNAPSHOT_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "arbiter/decision.h"
#include "arbiter/engine_options.h"
#include "arbiter/v1/role.pb.h"
#include "src/internal/hashing.h"
#include "src/internal/huge_page_allocator.h"
#include "src/internal/string_table.h"
#include "src/snapshot/column.h"
#include "src/snapshot/overlay.h"
#include "src/snapshot/records.h"
#include "src/snapshot/role_masks.h"
#include "src/snapshot/string_column.h"

namespace arbiter {
namespace internal {

class IamMappings;  // src/iam/iam_mappings.h

// A part of a snapshot that a layer above builds and reads (the cloud IAM
// index of src/iam): the snapshot owns it, shares it with the snapshots
// derived from it while it does not change, and counts its memory, without
// depending on its type.
class SnapshotExtension {
 public:
  virtual ~SnapshotExtension() = default;
  virtual size_t MemoryUsage() const = 0;
};

// Every object id -> kind and index.
enum class ObjectKind : uint8_t { kNode, kPrincipal, kGroup };
struct ObjectRef {
  ObjectKind kind;
  uint32_t index;
};

// Principals by (lower-cased) email, across organizations: the least live
// (not deleted) one, how many live ones there are (at most one per
// organization), and the least deleted one. Requests without an
// organization resolve emails here in constant time however many deleted
// principals share an email (see ResolvePrincipal).
struct EmailEntry {
  uint32_t live = kNone;
  uint32_t live_count = 0;
  uint32_t deleted = kNone;
};

using IdIndex = HugeHashMap<absl::string_view, ObjectRef>;
using EmailIndex = HugeHashMap<absl::string_view, EmailEntry,
                               CaseInsensitiveHash, CaseInsensitiveEq>;
using OrgEmailIndex = HugeHashMap<ChildKey, uint32_t, OrgEmailHash, OrgEmailEq>;
using PathIndex = HugeHashMap<ChildKey, uint32_t>;
using ChildIndex = absl::flat_hash_map<ChildKey, uint32_t>;
using NameIndex = absl::flat_hash_map<absl::string_view, uint32_t>;

struct Snapshot;

// The tables of a snapshot as a full compile lays them out, in plain
// containers (the compiler's output: src/compiler). Seal turns them into a
// Snapshot without copying them. The members mean what Snapshot's of the
// same name do.
struct SnapshotTables {
  EngineOptions options;
  v1::Profile profile;

  std::vector<PermissionRec> permissions;
  StringTable permission_names;
  NameIndex permission_index;
  std::vector<RoleRec> roles;
  StringTable role_names;
  size_t perm_words = 1;
  std::vector<uint64_t> role_perms;
  std::vector<uint64_t> role_own;
  uint16_t member_role = kNoRole;
  bool has_all_permissions_role = false;
  bool mask_path = false;
  std::vector<PermissionMasks> permission_masks;
  uint64_t deny_roles = 0;
  uint64_t bypass_roles = 0;
  uint64_t implying_roles[2] = {0, 0};
  std::vector<uint64_t> exempt_roles;
  WideRoleMasks wide_masks;

  bool RoleHas(uint16_t role, uint32_t perm) const {
    return (role_perms[role * perm_words + (perm >> 6)] >> (perm & 63)) & 1;
  }
  bool RoleHasOwn(uint16_t role, uint32_t perm) const {
    return (role_own[role * perm_words + (perm >> 6)] >> (perm & 63)) & 1;
  }

  HugeVector<Node> nodes;
  std::vector<uint32_t> node_creator;
  StringTable node_ids;
  StringTable node_names;
  ChildIndex child_by_name;
  StringTable node_paths;
  PathIndex path_index;
  NameIndex org_by_name;
  std::vector<uint32_t> org_nodes;

  HugeVector<PrincipalRec> principals;
  StringTable principal_ids;
  StringTable principal_emails;
  EmailIndex email_index;
  OrgEmailIndex org_email_index;
  HugeVector<GrantSpan> principal_groups;
  HugeVector<ScopeEntry> summary_entries;
  bool exact_tags = false;
  std::vector<EntryExpiry> summary_expires;
  StringTable group_ids;
  std::vector<GrantSpan> group_spans;
  std::vector<uint32_t> parents_begin;
  std::vector<uint32_t> parents;
  std::vector<uint32_t> group_members_begin;
  std::vector<uint32_t> group_members;
  IdIndex id_index;

  HugeVector<GrantRec> grants;
  HugeVector<uint32_t> grant_scopes;
  std::vector<uint32_t> grant_subjects;
  StringTable grant_ids;
  std::vector<int64_t> grant_expires;
  std::vector<GrantSpan> principal_expiring_spans;
  std::vector<ScopeExpiry> principal_expiring;
  size_t num_grants = 0;

  std::vector<absl::Status> warnings;

  // The sealed snapshot of these tables, which are moved into it; the
  // snapshot starts a new lineage.
  static std::unique_ptr<Snapshot> Seal(SnapshotTables&& tables);
};

// The sealed snapshot. Read through `const Snapshot&`; its tables have no
// mutating operation.
struct Snapshot {
  EngineOptions options;
  std::shared_ptr<const v1::Profile> profile;  // effective, for printing

  // ---- Lineage ----
  // Handles of snapshots of one lineage are valid in each other (as long
  // as their object exists); 0 is never a lineage.
  uint32_t lineage = 0;
  // Deltas applied since the lineage's last full layout (compaction
  // policy, src/compiler/snapshot_builder.h).
  uint32_t generation = 0;

  // ---- Permissions and roles: fixed for a lineage ----
  Column<PermissionRec> permissions;
  StringColumn permission_names;
  std::shared_ptr<const NameIndex> permission_index;
  Column<RoleRec> roles;
  StringColumn role_names;
  size_t perm_words = 1;        // 64-bit words per permission bitset
  Column<uint64_t> role_perms;  // roles.size() * perm_words
  Column<uint64_t> role_own;    // own_workload_permissions, same shape
  uint16_t member_role = kNoRole;
  bool has_all_permissions_role = false;

  // Role masks (valid when mask_path): see PermissionMasks.
  bool mask_path = false;
  Column<PermissionMasks> permission_masks;
  uint64_t deny_roles = 0;              // every deny role
  uint64_t bypass_roles = 0;            // every all_permissions role
  uint64_t implying_roles[2] = {0, 0};  // [private, public]: cloud roles with
                                        // an implied project role
  Column<uint64_t> exempt_roles;        // per deny role: its exempt roles
  // The same masks for any number of roles (src/snapshot/role_masks.h):
  // what the decision core uses when there are more than 64.
  std::shared_ptr<const WideRoleMasks> wide_masks;

  bool RoleHas(uint16_t role, uint32_t perm) const {
    return (role_perms[role * perm_words + (perm >> 6)] >> (perm & 63)) & 1;
  }
  bool RoleHasOwn(uint16_t role, uint32_t perm) const {
    return (role_own[role * perm_words + (perm >> 6)] >> (perm & 63)) & 1;
  }

  // ---- Resources ----
  Column<Node> nodes;
  Column<uint32_t> node_creator;  // same index as nodes: workloads'
                                  // creating principal, else kNone
  StringColumn node_ids;          // same index as nodes
  StringColumn node_names;        // same index as nodes
  std::shared_ptr<const ChildIndex> child_by_name;
  // (org node, "cloud[/project[/workload]]") -> node, for by-name checks.
  StringColumn node_paths;
  std::shared_ptr<const PathIndex> path_index;
  std::shared_ptr<const NameIndex> org_by_name;
  Column<uint32_t> org_nodes;  // node index of every organization

  // ---- Principals ----
  // principals[p], or the version a derived snapshot overrides it with.
  Column<PrincipalRec> principals;
  Overlay<PrincipalRec> principal_overlay;
  // On every Check: inlined, the overlay's lookup (rare) out of line.
  __attribute__((always_inline)) const PrincipalRec& Principal(
      uint32_t p) const {
    const PrincipalRec& rec = principals[p];
    if (__builtin_expect(IsOverridden(rec.overridden), 0)) {
      return OverriddenPrincipal(p, rec);
    }
    return rec;
  }
  __attribute__((noinline)) const PrincipalRec& OverriddenPrincipal(
      uint32_t p, const PrincipalRec& rec) const {
    const PrincipalRec* o = principal_overlay.Find(p);
    return o != nullptr ? *o : rec;
  }
  StringColumn principal_ids;     // same index as principals
  StringColumn principal_emails;  // ASCII-lowercased
  std::shared_ptr<const EmailIndex> email_index;
  // (organization node, email) -> that organization's live principal with
  // the email, else its least deleted one.
  std::shared_ptr<const OrgEmailIndex> org_email_index;
  // The grant spans of each principal's groups that hold grants,
  // transitive, in group id order: principal p's are
  // [Principal(p).groups_begin, .groups_end). A principal whose groups'
  // grants change gets a new list at the end.
  Column<GrantSpan> principal_groups;
  // Scope summaries (see ScopeEntry): each principal's entries, contiguous;
  // a principal whose grants change gets new ones at the end.
  Column<ScopeEntry> summary_entries;
  // True when no org, cloud or project has a node index of kNoTag or more:
  // a tag then is its scope, and Check need not confirm a match.
  bool exact_tags = false;
  // The entries with kEntryExpiring and the first expiry among their
  // grants, by entry (appended entries have larger indices: still sorted).
  Column<EntryExpiry> summary_expires;
  // The first expiry among the grants of summary entry e (kEntryExpiring).
  int64_t SummaryExpires(uint32_t e) const;

  // ---- Groups ----
  StringColumn group_ids;  // group g is subject principals.size() + g
  // Each group's grant span (a principal's is in its record).
  Column<GrantSpan> group_spans;
  Overlay<GrantSpan> group_span_overlay;
  GrantSpan GroupSpan(uint32_t g) const {
    if (!group_span_overlay.empty()) {
      if (const GrantSpan* o = group_span_overlay.Find(g)) return *o;
    }
    return group_spans[g];
  }
  // The grant span of subject `subject` (a principal or principals + g).
  GrantSpan SubjectSpan(uint32_t subject) const {
    return subject < principals.size()
               ? Principal(subject).grants
               : GroupSpan(subject - static_cast<uint32_t>(principals.size()));
  }
  // Direct parents of each subject (groups containing it), for Explain.
  Column<uint32_t> parents_begin;  // subjects + 1
  Column<uint32_t> parents;
  // The reverse, for deltas: group g's direct members (subjects),
  // ascending, [group_members_begin[g], group_members_begin[g + 1]).
  Column<uint32_t> group_members_begin;  // groups + 1
  Column<uint32_t> group_members;

  std::shared_ptr<const IdIndex> id_index;

  // ---- Grants: slots ----
  // Slot i: its record, its scope (grants[i].scope; Check compares a
  // subject's scopes with the request's path four at a time, ScopeMatches
  // in src/eval/path_scan.h, and reads a record only when its scope is on
  // the path), its subject, its id and its expiry. Each span is followed by
  // kScopePadding slots of scope kNone, so that a four-wide read from any
  // span stays in memory that never changes.
  Column<GrantRec> grants;
  Column<uint32_t> grant_scopes;
  Column<uint32_t> grant_subjects;
  StringColumn grant_ids;  // grant i's id is grant_ids.Get(i)
  // Unix nanoseconds (src/internal/time_util.h) of grant i's expiry where
  // grants[i] has kExpiring; empty when no grant expires.
  Column<int64_t> grant_expires;
  // Grants held (live slots; the others are relocated spans' old copies).
  size_t num_grants = 0;

  // Grant i's expiry, kNever if none.
  int64_t GrantExpires(uint32_t i) const {
    return (grants[i].flags & kExpiring) ? grant_expires[i] : kNever;
  }
  // Grant i's id, from its record alone.
  absl::string_view GrantId(uint32_t i) const {
    const GrantRec& g = grants[i];
    if (g.id_length == kLongGrantId) return grant_ids.Get(i);
    return absl::string_view(grant_ids.data() + g.id_offset, g.id_length);
  }
  // The subject holding grant i.
  uint32_t SubjectOfGrant(uint32_t i) const { return grant_subjects[i]; }

  // For Decision::valid_until: the (scope, expiry) pairs of the expiring
  // grants of each principal and of its groups, sorted, principal p's at
  // ExpiringSpan(p). Empty when the pairs would outgrow the grants (groups
  // with many expiring grants and many members); Check then searches the
  // grant spans.
  Column<GrantSpan> principal_expiring_spans;
  Overlay<GrantSpan> expiring_overlay;
  Column<ScopeExpiry> principal_expiring;
  GrantSpan ExpiringSpan(uint32_t p) const {
    if (!expiring_overlay.empty()) {
      if (const GrantSpan* o = expiring_overlay.Find(p)) return *o;
    }
    return principal_expiring_spans[p];
  }

  // Breaches of the grant-time rules found while compiling (Diagnostics).
  std::shared_ptr<const std::vector<absl::Status>> warnings;

  // ---- Extensions ----
  // The cloud IAM index (src/iam), attached by the engine after compiling;
  // owned by `extensions`.
  const IamMappings* iam = nullptr;
  std::vector<std::shared_ptr<const SnapshotExtension>> extensions;

  uint32_t num_subjects() const {
    return static_cast<uint32_t>(principals.size() + group_spans.size());
  }

  // Heap bytes of every table (shared tables counted in full).
  size_t MemoryUsage() const;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_SNAPSHOT_H_
