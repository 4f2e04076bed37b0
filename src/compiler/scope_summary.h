// The scope-summary pass: an optimisation of the layout, in the shape of
// cel-cpp's optional program passes. A principal whose grants (its own and
// its groups') are few gets a summary: one entry per scope it holds grants
// on, with the roles held there and the least grant, and the scopes' 16-bit
// tags in its record (records.h, ScopeEntry), so that Check usually decides
// from one cache line and the matched entries, reading no grant. Without a
// summary Check scans the principal's grants: the answers are the same
// (tests/compiler/scope_summary_pass_test.cc), only slower.
//
// Switch: EngineOptions::scope_summaries (on by default). The pass runs
// only for snapshots of at most kMaxSummaryRoles roles (an entry holds
// their bits), from LayOutPrincipal (principal_layout.h), for a full
// compile and for every principal a delta lays out again.

#ifndef ARBITER_SRC_COMPILER_SCOPE_SUMMARY_H_
#define ARBITER_SRC_COMPILER_SCOPE_SUMMARY_H_

#include <cstdint>
#include <tuple>
#include <vector>

#include "src/compiler/principal_layout.h"
#include "src/snapshot/records.h"

namespace arbiter {
namespace internal {

// Summarizes principal `rec` when its grants are few enough (at most
// kMaxSummaryGrants grants on kMaxSummaryScopes scopes of distinct tags):
// appends its entries (and the first expiries of expiring ones) to `out`
// and sets its tags, summary_begin and summary_size; else marks it
// kNoSummary. `held` lists (scope, visiting position, slot) of its grants,
// its own first and then its groups' in group id order.
void SummarizeScopes(
    const GrantSlots& slots,
    std::vector<std::tuple<uint32_t, uint32_t, uint32_t>>& held,
    PrincipalRec* rec, PrincipalLayoutOut& out);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_COMPILER_SCOPE_SUMMARY_H_
