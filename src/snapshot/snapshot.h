// The compiled snapshot: flat, integer-indexed tables built once by the
// compiler (src/compiler/) and only read afterwards. Everything Check touches
// is here; the PolicySet proto is not kept.
//
// Index spaces:
//  * nodes: every resource (orgs, clouds, projects, workloads, compute
//    configs, images), each kind sorted by id;
//  * principals: sorted by id;
//  * groups: sorted by id;
//  * subjects: principals [0, P) then groups [P, P + G);
//  * grants: sorted by (subject, scope node, grant id), so the grants of one
//    subject at one scope are contiguous and in id order (docs/semantics.md
//    "Order of grants");
//  * permissions and roles: profile order, then custom ones.

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

inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
inline constexpr uint16_t kNoRole = std::numeric_limits<uint16_t>::max();
inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// Scope levels, also permission levels. Values index Node::path below.
enum Level : uint8_t { kOrgLevel = 0, kCloudLevel = 1, kProjectLevel = 2 };

enum class NodeKind : uint8_t {
  kOrg,
  kCloud,
  kProject,
  kWorkload,
  kComputeConfig,
  kImage,
};

enum NodeFlags : uint8_t {
  kPublic = 1,
  kDefaultProject = 2,
};

// 16 bytes: four to a cache line, none straddling two. A workload's creator
// is Snapshot::node_creator, which Check reads only when an
// own-workload permission could decide.
struct Node {
  // path[kOrgLevel], path[kCloudLevel], path[kProjectLevel]: the node's
  // ancestors (or itself) at each level, kNone where it has none.
  uint32_t path[3];
  NodeKind kind;
  uint8_t flags;
  // The NodeFlags of path[kProjectLevel] (0 if none), so that Check reads
  // one node, not two.
  uint8_t project_flags;
  uint8_t unused = 0;
};
static_assert(sizeof(Node) == 16, "Node is hot: keep it small");

// A subject's grants: [begin, end) in Snapshot::grants.
struct GrantSpan {
  uint32_t begin;
  uint32_t end;
};

// Role masks of one permission, for snapshots with at most 64 roles (bit r is
// role r). Check ORs the roles of the live grants on the path into one mask
// per level and decides with these, then looks up the deciding grant.
struct PermissionMasks {
  uint64_t allow = 0;                // allow roles whose permissions hold it
  uint64_t own = 0;                  // allow roles holding it on own workloads
  uint64_t implied[2] = {0, 0};      // [private, public]: cloud roles whose
                                     // implied project role holds it
  uint64_t implied_own[2] = {0, 0};  // ... as an own-workload permission
  uint64_t deny = 0;                 // deny roles that subtract it
  uint64_t cap_blocks = 0;           // deny roles whose cap role lacks it
  bool member_has = false;           // the member role holds it
};

// A principal's scope summary: one entry per scope on which the principal or
// one of its groups holds a grant, built when the snapshot has at most
// kMaxSummaryRoles roles and those grants are few (kMaxSummaryGrants grants
// on at most kMaxSummaryScopes scopes). Check then finds the roles a
// principal holds at each level of a request's path by comparing the
// summary's scope tags, which are in the principal's record (one cache line),
// with the path's, and usually reads no grant to decide.
inline constexpr uint8_t kNoSummary = 0xff;
inline constexpr uint32_t kMaxSummaryScopes = 16;
inline constexpr uint32_t kMaxSummaryGrants = 64;
inline constexpr size_t kMaxSummaryRoles = 32;

// A scope's tag is the low 16 bits of its node index (16 tags and the rest
// of the record fit in one line; 16 full indices alone fill one). The
// scopes of one summary have distinct tags (a principal whose scopes share a
// tag gets no summary), so a path scope matches at most one of them. While
// every org, cloud and project index is below kNoTag
// (Snapshot::exact_tags), a tag is its scope. In larger snapshots the
// entry holds the high 16 bits (ScopeEntry::scope_high) and Check confirms
// a match with them; it reads the entry anyway. kNoTag fills the unused
// tags; no scope whose high half is kNone's is summarized, so a kNone key (a
// level above the permission's) is never confirmed.
inline constexpr uint16_t kNoTag = 0xffff;
inline uint16_t ScopeTag(uint32_t scope) {
  return static_cast<uint16_t>(scope & 0xffff);
}
inline uint16_t ScopeHigh(uint32_t scope) {
  return static_cast<uint16_t>(scope >> 16);
}

enum ScopeEntryFlags : uint8_t {
  // Some grant at this scope expires, the first at
  // Snapshot::SummaryExpires(entry). Until then the entry holds; after
  // it Check evaluates the principal's grants one by one (EvaluateMasks).
  kEntryExpiring = 1,
};

// ScopeEntry::id_length of an id of kLongEntryId bytes or more: Check reads
// the grant's record instead.
inline constexpr uint8_t kLongEntryId = 0xff;

// 16 bytes: four to a cache line.
struct ScopeEntry {
  uint32_t roles;  // bit r: some grant at this scope has role r
  // The least grant at this scope (by subject rank, then grant id: the least
  // index), which decides whenever every role of `roles` qualifies; and what
  // a decision shows of it (GrantRec::id_offset, the id's length, or
  // kLongEntryId, and GrantRec::source), so that Check reads no grant record
  // then.
  uint32_t least;
  uint32_t id_offset;
  uint16_t scope_high;  // ScopeHigh(scope): confirms a tag's match
  uint8_t id_length;
  uint8_t source : 4;  // arbiter::GrantSource
  uint8_t flags : 4;   // ScopeEntryFlags
};
static_assert(sizeof(ScopeEntry) == 16, "ScopeEntry is hot: keep it small");

// 64 bytes, one cache line, scope summary included: for a principal with a
// summary, Check reads this line and the request's node, then the matching
// entries.
struct alignas(64) PrincipalRec {
  // The principal's scope summary (see ScopeEntry): the first summary_size
  // tags (kNoTag past them) and entries
  // [summary_begin, summary_begin + summary_size) of
  // Snapshot::summary_entries, or none if summary_size is kNoSummary.
  uint16_t tags[kMaxSummaryScopes];
  uint32_t org;      // node index
  GrantSpan grants;  // the principal's own grants
  uint32_t summary_begin;
  // The grants of the principal's groups that hold grants:
  // [groups_begin, groups_end) in Snapshot::principal_groups.
  uint32_t groups_begin;
  uint32_t groups_end;
  uint8_t kind;   // v1::PrincipalKind
  uint8_t state;  // v1::PrincipalState (UNSPECIFIED normalized to ACTIVE)
  uint8_t summary_size;
  uint8_t flags;  // PrincipalFlags
};
static_assert(sizeof(PrincipalRec) == 64, "PrincipalRec is one cache line");

enum PrincipalFlags : uint8_t {
  // Some grant of the principal or of one of its groups expires: Check then
  // works out Decision::valid_until (ValidUntil in src/eval/evaluator.cc).
  kPrincipalHasExpiring = 1,
};

enum GrantFlags : uint8_t {
  kExpiring = 1,  // the expiry is Snapshot::grant_expires[i]
};

// 16 bytes: four to a cache line. Check reads nothing else to return a grant:
// the id's bytes are located by id_offset/id_length without touching them or
// the id table's offsets (one dependent cache miss fewer per decision). The
// expiry lives in a side table, read only for grants that have one. Grant i's
// subject is the row of subject_grants_begin that holds i.
struct GrantRec {
  uint32_t scope;      // node index
  uint32_t id_offset;  // grant_ids.Offset(i)
  uint16_t role;
  // grant_ids.Get(i).size(), or kLongGrantId for ids of 65,535 bytes or
  // more (possible only with a raised EngineOptions::max_id_length); then
  // GrantId reads the table.
  uint16_t id_length;
  uint8_t level;   // Level of the scope
  uint8_t source;  // arbiter::GrantSource
  uint8_t flags;   // GrantFlags
  uint8_t unused = 0;
};
// Entries of Snapshot::grant_scopes past the last grant, so that a
// four-wide read starting at any grant stays inside the array.
inline constexpr size_t kScopePadding = 3;
inline constexpr uint16_t kLongGrantId = std::numeric_limits<uint16_t>::max();
static_assert(sizeof(GrantRec) == 16, "GrantRec is hot: keep it small");

struct PermissionRec {
  uint8_t level;
  bool forbidden_on_default_project;
};

struct RoleRec {
  bool deny = false;
  bool all_permissions = false;
  uint16_t public_project_role = kNoRole;
  uint16_t private_project_role = kNoRole;
  uint16_t cap_role = kNoRole;  // deny roles: implied_project_role_cap
  // This role's bit among the roles that appear in some exempt_roles list
  // (0 if it appears in none).
  uint64_t exempt_bit = 0;
  // Deny roles: the exempt_bit of every exempt role.
  uint64_t exempt_mask = 0;
};

struct Snapshot {
  EngineOptions options;
  v1::Profile profile;  // effective profile, for printing

  // ---- Permissions and roles ----
  std::vector<PermissionRec> permissions;
  StringTable permission_names;
  absl::flat_hash_map<absl::string_view, uint32_t> permission_index;
  std::vector<RoleRec> roles;
  StringTable role_names;
  size_t perm_words = 1;             // 64-bit words per permission bitset
  std::vector<uint64_t> role_perms;  // roles.size() * perm_words
  std::vector<uint64_t> role_own;    // own_workload_permissions, same shape
  uint16_t member_role = kNoRole;
  bool has_all_permissions_role = false;

  // Role masks (valid when mask_path): see PermissionMasks.
  bool mask_path = false;
  std::vector<PermissionMasks> permission_masks;
  uint64_t deny_roles = 0;              // every deny role
  uint64_t bypass_roles = 0;            // every all_permissions role
  uint64_t implying_roles[2] = {0, 0};  // [private, public]: cloud roles with
                                        // an implied project role
  std::vector<uint64_t> exempt_roles;   // per deny role: its exempt roles

  bool RoleHas(uint16_t role, uint32_t perm) const {
    return (role_perms[role * perm_words + (perm >> 6)] >> (perm & 63)) & 1;
  }
  bool RoleHasOwn(uint16_t role, uint32_t perm) const {
    return (role_own[role * perm_words + (perm >> 6)] >> (perm & 63)) & 1;
  }

  // ---- Resources ----
  HugeVector<Node> nodes;
  std::vector<uint32_t> node_creator;  // same index as nodes: workloads'
                                       // creating principal, else kNone
  StringTable node_ids;                // same index as nodes
  StringTable node_names;              // same index as nodes
  absl::flat_hash_map<ChildKey, uint32_t> child_by_name;
  // (org node, "cloud[/project[/workload]]") -> node, for by-name checks.
  StringTable node_paths;
  HugeHashMap<ChildKey, uint32_t> path_index;
  absl::flat_hash_map<absl::string_view, uint32_t> org_by_name;
  std::vector<uint32_t> org_nodes;  // node index of every organization

  // ---- Principals, groups, subjects ----
  HugeVector<PrincipalRec> principals;
  StringTable principal_ids;     // same index as principals
  StringTable principal_emails;  // ASCII-lowercased
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
  HugeHashMap<absl::string_view, EmailEntry, CaseInsensitiveHash,
              CaseInsensitiveEq>
      email_index;
  // (organization node, email) -> that organization's live principal with
  // the email, else its least deleted one.
  HugeHashMap<ChildKey, uint32_t, OrgEmailHash, OrgEmailEq> org_email_index;
  // The grants of each principal's groups that hold grants, transitive, in
  // group id order.
  HugeVector<GrantSpan> principal_groups;
  // Scope summaries (see ScopeEntry): the entries of every principal in
  // turn.
  HugeVector<ScopeEntry> summary_entries;
  // True when no org, cloud or project has a node index of kNoTag or more:
  // a tag then is its scope, and Check need not confirm a match.
  bool exact_tags = false;
  // (entry, Unix nanoseconds of the first expiry among its grants) for the
  // entries with kEntryExpiring, by entry.
  std::vector<std::pair<uint32_t, int64_t>> summary_expires;

  // The first expiry among the grants of summary entry e (kEntryExpiring).
  int64_t SummaryExpires(uint32_t e) const;
  StringTable group_ids;  // group g is subject principals.size() + g
  // Direct parents of each subject (groups containing it), for Explain.
  std::vector<uint32_t> parents_begin;  // subjects + 1
  std::vector<uint32_t> parents;

  // Every object id -> kind and index.
  enum class ObjectKind : uint8_t { kNode, kPrincipal, kGroup };
  struct ObjectRef {
    ObjectKind kind;
    uint32_t index;
  };
  HugeHashMap<absl::string_view, ObjectRef> id_index;

  // ---- Grants ----
  HugeVector<GrantRec> grants;
  // grants[i].scope for every grant, then kScopePadding entries of kNone:
  // Check compares a subject's scopes with the request's path four at a
  // time (ScopeMatches in src/eval/evaluator.cc) and reads a grant's record
  // only when its scope is on the path.
  HugeVector<uint32_t> grant_scopes;
  std::vector<uint32_t> subject_grants_begin;  // subjects + 1
  StringTable grant_ids;  // grant i's id is grant_ids.Get(i)
  // Unix nanoseconds (src/internal/time_util.h) of grant i's expiry where
  // grants[i] has kExpiring; empty when no grant expires.
  std::vector<int64_t> grant_expires;

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
  uint32_t SubjectOfGrant(uint32_t i) const;

  // For Decision::valid_until: the (scope, expiry) pairs of the expiring
  // grants of each principal and of its groups, sorted, principal p's at
  // [principal_expiring_begin[p], principal_expiring_begin[p + 1]). Empty
  // when the pairs would outgrow the grants (groups with many expiring
  // grants and many members); Check then searches the grant spans.
  std::vector<uint32_t> principal_expiring_begin;
  std::vector<std::pair<uint32_t, int64_t>> principal_expiring;

  // Breaches of the grant-time rules found while compiling (Diagnostics).
  std::vector<absl::Status> warnings;

  // ---- Extensions ----
  // The cloud IAM index (src/iam), attached by the engine after compiling;
  // owned by `extensions`.
  const IamMappings* iam = nullptr;
  std::vector<std::shared_ptr<const SnapshotExtension>> extensions;

  uint32_t num_subjects() const {
    return static_cast<uint32_t>(subject_grants_begin.size() - 1);
  }

  Snapshot();
  ~Snapshot();
  size_t MemoryUsage() const;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_SNAPSHOT_H_
