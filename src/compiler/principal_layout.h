// The per-principal part of a snapshot's layout: from a principal's own
// grant span and its groups' spans, its record's span fields and flags, its
// list of group spans (Snapshot::principal_groups), its scope summary
// (summary_entries, summary_expires; the optional pass of
// src/compiler/scope_summary.h) and its expiring-grant pairs (valid_until).
//
// A full compile lays out every principal with it; a derived snapshot
// (snapshot_builder.h) lays out again only the principals whose grants, or
// whose groups' grants, changed, appending to the same tables. One function
// for both, so the two cannot disagree.

#ifndef ARBITER_SRC_COMPILER_PRINCIPAL_LAYOUT_H_
#define ARBITER_SRC_COMPILER_PRINCIPAL_LAYOUT_H_

#include <cstdint>
#include <vector>

#include "src/internal/huge_page_allocator.h"
#include "src/snapshot/records.h"

namespace arbiter {
namespace internal {

// Read access to grant slots: records and (where a record has kExpiring)
// expiries, by slot.
struct GrantSlots {
  const GrantRec* grants;
  const int64_t* expires;  // may be null when no grant expires
  int64_t Expires(uint32_t i) const {
    return (grants[i].flags & kExpiring) ? expires[i] : kNever;
  }
};

// What a principal's layout appends to. Each vector gets the new elements;
// `*_base` is the size of the table they will follow (0 in a full compile,
// where the vectors are the tables).
struct PrincipalLayoutOut {
  HugeVector<GrantSpan>* groups;
  uint32_t groups_base = 0;
  HugeVector<ScopeEntry>* entries;  // null: no summaries
  uint32_t entries_base = 0;
  std::vector<EntryExpiry>* entry_expiries;
  std::vector<ScopeExpiry>* expiring;  // null: no expiring index
  uint32_t expiring_base = 0;
};

// Lays out principal `rec` (whose org, kind and state are set) holding the
// grants `own` and those of `groups` (the spans of the groups containing it
// that hold grants, in group id order). Fills rec's grants, groups_begin,
// groups_end, flags, tags, summary_begin and summary_size; returns its
// expiring pairs' span in the expiring table (empty if none or no index).
GrantSpan LayOutPrincipal(const GrantSlots& slots, GrantSpan own,
                          const std::vector<GrantSpan>& groups, bool summarize,
                          PrincipalRec* rec, PrincipalLayoutOut& out);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_PRINCIPAL_LAYOUT_H_
