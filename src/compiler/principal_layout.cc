#include "src/compiler/principal_layout.h"

#include <algorithm>
#include <iterator>
#include <tuple>
#include <vector>

#include "src/compiler/scope_summary.h"

namespace arbiter {
namespace internal {

GrantSpan LayOutPrincipal(const GrantSlots& slots, GrantSpan own,
                          const std::vector<GrantSpan>& groups, bool summarize,
                          PrincipalRec* rec, PrincipalLayoutOut& out) {
  rec->grants = own;
  rec->groups_begin =
      out.groups_base + static_cast<uint32_t>(out.groups->size());
  out.groups->insert(out.groups->end(), groups.begin(), groups.end());
  rec->groups_end = out.groups_base + static_cast<uint32_t>(out.groups->size());
  rec->flags = 0;

  // Every grant of the principal and its groups, in visiting order.
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> held;
  bool expiring = false;
  uint32_t position = 0;
  auto visit = [&](GrantSpan span) {
    for (uint32_t i = span.begin; i < span.end; ++i) {
      held.emplace_back(slots.grants[i].scope, position++, i);
      expiring |= (slots.grants[i].flags & kExpiring) != 0;
    }
  };
  visit(own);
  for (const GrantSpan& g : groups) visit(g);
  if (expiring) rec->flags |= kPrincipalHasExpiring;

  GrantSpan pairs{0, 0};
  if (expiring && out.expiring != nullptr) {
    const uint32_t begin =
        out.expiring_base + static_cast<uint32_t>(out.expiring->size());
    const size_t first = out.expiring->size();
    for (const auto& h : held) {
      const uint32_t i = std::get<2>(h);
      if (slots.grants[i].flags & kExpiring) {
        out.expiring->push_back({slots.grants[i].scope, slots.Expires(i)});
      }
    }
    std::sort(out.expiring->begin() + first, out.expiring->end());
    pairs = {begin,
             out.expiring_base + static_cast<uint32_t>(out.expiring->size())};
  }

  if (summarize && out.entries != nullptr) {
    SummarizeScopes(slots, held, rec, out);
  } else {
    rec->summary_begin =
        out.entries_base +
        static_cast<uint32_t>(out.entries != nullptr ? out.entries->size() : 0);
    rec->summary_size = kNoSummary;
    std::fill(std::begin(rec->tags), std::end(rec->tags), kNoTag);
  }
  return pairs;
}

}  // namespace internal
}  // namespace arbiter
