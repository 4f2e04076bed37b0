// QueryIndex: the reverse indexes the lookups (arbiter/lookup.h) read,
// built once per snapshot by a Lookup. The snapshot answers "what does this
// principal hold at this scope?" (its grant spans); the lookups also need
// "what lies under this scope?", "which grants are at this scope?", "whom do
// a group's grants reach?" and "who holds a grant at this cloud, and with
// which roles?". Everything here is derived from the snapshot's documented
// accessors (Principal(p), SubjectSpan, GroupSpan, principal_groups): no
// assumption on grant slot order across subjects, and nothing valid for any
// other snapshot, a derived one included.
//
// Cost: one pass over the nodes, one over every subject's grant span, one
// over every principal's group list (src/query/query_index.cc); memory a few
// words per node, grant and membership (MemoryUsage).
//
// Thread safety: immutable after Build; the digest is computed once, on
// first use, under absl::call_once.

#ifndef ARBITER_SRC_QUERY_QUERY_INDEX_H_
#define ARBITER_SRC_QUERY_QUERY_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/types/span.h"
#include "src/snapshot/snapshot.h"

namespace arbiter {
namespace internal {

// Compressed rows: row r is items[begin[r], begin[r + 1]).
template <typename T>
struct Rows {
  std::vector<uint32_t> begin{0};
  std::vector<T> items;

  absl::Span<const T> operator[](size_t r) const {
    if (r + 1 >= begin.size()) return {};
    return absl::Span<const T>(items.data() + begin[r],
                               begin[r + 1] - begin[r]);
  }
  size_t rows() const { return begin.size() - 1; }
  size_t MemoryUsage() const {
    return begin.capacity() * sizeof(uint32_t) + items.capacity() * sizeof(T);
  }
};

// Builds rows of `rows` rows from (row, item) pairs, keeping their order
// within a row (a counting sort).
template <typename T>
Rows<T> BuildRows(size_t rows, const std::vector<uint32_t>& row_of,
                  std::vector<T>&& items) {
  Rows<T> out;
  out.begin.assign(rows + 1, 0);
  for (uint32_t r : row_of) ++out.begin[r + 1];
  for (size_t r = 0; r < rows; ++r) out.begin[r + 1] += out.begin[r];
  std::vector<uint32_t> at(out.begin.begin(), out.begin.end() - 1);
  out.items.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out.items[at[row_of[i]]++] = std::move(items[i]);
  }
  return out;
}

// The roles a principal holds, its own grants and its groups', at its
// organization (at0) and at one cloud (at1), whatever their expiry: for a
// principal none of whose grants there expires, what Check gathers at
// those levels.
struct RoleSig {
  uint64_t at0 = 0;
  uint64_t at1 = 0;
};

inline constexpr uint32_t kIrregular = 0xffffffffu;

// One principal of a member table.
struct MemberEntry {
  uint32_t rank;       // the principal's rank (id order): the table's order
  uint32_t principal;  // index
  // Index into the table row's signatures, or kIrregular: the principal has
  // an expiring grant at the organization or cloud (or the snapshot has more
  // than 64 roles), so its decisions are made one by one.
  uint32_t sig;
  uint32_t least_org;    // its first grant at the org in Check's visiting
                         // order (own grants, then groups'), kNone if none
  uint32_t least_cloud;  // the same at the cloud (cloud tables)
  bool service_account;
};

// Principals grouped by the roles they hold (per organization or per
// cloud): a lookup decides once per signature, not once per principal.
struct MemberTable {
  Rows<MemberEntry> entries;  // by node (org or cloud), by rank
  Rows<RoleSig> sigs;         // by node: the distinct signatures of the row
  // By signature (its index in sigs.items): the positions in its row of
  // the entries holding it, ascending (so by rank). A lookup whose allowed
  // signatures hold few members visits only those.
  Rows<uint32_t> members_of_sig;
  // By node: the positions of the row's irregular entries, ascending.
  Rows<uint32_t> irregular;
  // By principal: (row, position) of each of its entries.
  struct Place {
    uint32_t row;
    uint32_t position;
  };
  Rows<Place> places;
  // The entry of principal `p` in row `row`, or nullptr.
  const MemberEntry* Find(uint32_t p, uint32_t row) const {
    for (const Place& place : places[p]) {
      if (place.row == row) return &entries[row][place.position];
    }
    return nullptr;
  }
  size_t MemoryUsage() const {
    return entries.MemoryUsage() + sigs.MemoryUsage() +
           members_of_sig.MemoryUsage() + irregular.MemoryUsage() +
           places.MemoryUsage();
  }
};

struct QueryIndex {
  // Builds the index of `s`, which must outlive it.
  static std::unique_ptr<const QueryIndex> Build(const Snapshot& s);

  const Snapshot* s = nullptr;

  // ---- Order ----
  // Each node's position among the nodes of its kind sorted by id, and each
  // principal's among the principals sorted by id: every answer's order.
  std::vector<uint32_t> node_rank;
  std::vector<uint32_t> principal_rank;
  // Each principal's organization node if it is active (neither deleted
  // nor invited), else kNone; and whether it is a service account. Dense
  // copies of what the lookups check for many principals.
  std::vector<uint32_t> active_org;
  std::vector<uint8_t> service_account;

  // ---- The tree, each row by rank ----
  Rows<uint32_t> clouds_of_org;      // by org node
  Rows<uint32_t> images_of_org;      // by org node
  Rows<uint32_t> projects_of_cloud;  // by cloud node
  // The class (project_flags & 3) of each project of projects_of_cloud,
  // in the same rows.
  Rows<uint8_t> project_classes;
  // Projects of a cloud by class: row cloud * 4 + (project_flags & 3)
  // (kPublic, kDefaultProject). Projects of one class of one cloud decide
  // alike for a principal without a grant on them.
  Rows<uint32_t> class_projects;
  // The clouds of an organization that have projects of a class: row
  // org * 4 + class, by rank.
  Rows<uint32_t> class_clouds;
  Rows<uint32_t> configs_of_cloud;      // by cloud node
  Rows<uint32_t> workloads_of_project;  // by project node
  // Workloads each principal created, in tree order (cloud rank, project
  // rank, rank).
  Rows<uint32_t> created_by;

  // ---- Reverse grants ----
  Rows<uint32_t> grants_at;  // by scope node: the live grant slots there
  // By group: the active principals whose Check gathers the group's
  // grants (its members, transitively), by rank.
  Rows<uint32_t> reach_of_group;

  // ---- Subjects ----
  MemberTable org_members;    // by org: every active principal (at1 = 0)
  MemberTable org_holders;    // by org: those with an org-scope grant
  MemberTable cloud_members;  // by cloud: active principals with a grant
                              // (own or a group's) at the cloud
  // By org: active principals reached by an org-scope grant of an
  // all_permissions role (the candidates for ORG_OWNER), by rank.
  Rows<uint32_t> bypass_holders;
  // The same principals' org member entries (sig: kIrregular or 0) and the
  // roles they hold at the org: what deciding them on a cloud where they
  // hold nothing takes.
  struct OwnerEntry {
    MemberEntry entry;
    RoleSig sig;
  };
  Rows<OwnerEntry> bypass_entries;
  // By org: every active principal, by rank.
  Rows<uint32_t> principals_of_org;

  // The tree key of a node: (cloud rank, project rank, own rank), kNone
  // where the node has no such ancestor.
  struct Key {
    uint32_t cloud, project, leaf;
  };
  Key KeyOf(uint32_t node) const;

  // A 64-bit digest of the snapshot's content (what cursors bind to beyond
  // the revision): equal for two snapshots laid out alike from the same
  // state, in any process of the same build.
  uint64_t digest() const;

  size_t MemoryUsage() const;

 private:
  mutable absl::once_flag digest_once_;
  mutable uint64_t digest_ = 0;
};

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_QUERY_QUERY_INDEX_H_
