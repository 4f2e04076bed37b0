// The records of a snapshot's tables, each laid out for Check (sizes are
// asserted: they are what a decision reads), with the constants they use.
// The tables themselves (src/snapshot/snapshot.h) state their invariants.

#ifndef ARBITER_SRC_SNAPSHOT_RECORDS_H_
#define ARBITER_SRC_SNAPSHOT_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <limits>

namespace arbiter {
namespace internal {

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
  // Set (atomically, never cleared) when a derived snapshot overrides this
  // record (src/snapshot/overlay.h).
  uint8_t overridden = 0;
};
static_assert(sizeof(Node) == 16, "Node is hot: keep it small");

// A subject's grants: [begin, end) in Snapshot::grants.
struct GrantSpan {
  uint32_t begin;
  uint32_t end;
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
  // Set (atomically, never cleared) when a derived snapshot overrides this
  // record (src/snapshot/overlay.h).
  uint8_t overridden = 0;
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

// The first expiry among the grants of summary entry `entry`.
struct EntryExpiry {
  uint32_t entry;
  int64_t expires;  // Unix nanoseconds
};

// A (scope, expiry) pair of a principal's expiring grants (valid_until).
struct ScopeExpiry {
  uint32_t scope;
  int64_t expires;  // Unix nanoseconds
  friend bool operator<(const ScopeExpiry& a, const ScopeExpiry& b) {
    return a.scope != b.scope ? a.scope < b.scope : a.expires < b.expires;
  }
};

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

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_SNAPSHOT_RECORDS_H_
