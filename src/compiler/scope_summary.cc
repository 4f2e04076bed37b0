#include "src/compiler/scope_summary.h"

#include <algorithm>
#include <iterator>

namespace arbiter {
namespace internal {

void SummarizeScopes(
    const GrantSlots& slots,
    std::vector<std::tuple<uint32_t, uint32_t, uint32_t>>& held,
    PrincipalRec* rec, PrincipalLayoutOut& out) {
  rec->summary_begin =
      out.entries_base + static_cast<uint32_t>(out.entries->size());
  rec->summary_size = kNoSummary;
  std::fill(std::begin(rec->tags), std::end(rec->tags), kNoTag);
  if (held.size() > kMaxSummaryGrants) return;
  // By scope, then in the order Check visits them (subject rank, then grant
  // id): the first of each scope's run is its least grant.
  std::sort(held.begin(), held.end());
  // The scopes' tags must be distinct, and no scope's high half may be
  // kNone's (Check's key above a permission's level).
  uint16_t tags[kMaxSummaryScopes];
  uint32_t num_tags = 0;
  for (size_t j = 0; j < held.size(); ++j) {
    const uint32_t scope = std::get<0>(held[j]);
    if (j > 0 && scope == std::get<0>(held[j - 1])) continue;
    if (num_tags == kMaxSummaryScopes || ScopeHigh(scope) == ScopeHigh(kNone)) {
      return;
    }
    tags[num_tags++] = ScopeTag(scope);
  }
  std::sort(tags, tags + num_tags);
  if (std::adjacent_find(tags, tags + num_tags) != tags + num_tags) return;
  uint32_t size = 0;
  for (size_t j = 0; j < held.size(); ++j) {
    const uint32_t i = std::get<2>(held[j]);
    const GrantRec& g = slots.grants[i];
    if (j == 0 || std::get<0>(held[j]) != std::get<0>(held[j - 1])) {
      rec->tags[size++] = ScopeTag(g.scope);
      ScopeEntry e{};
      e.least = i;
      e.id_offset = g.id_offset;
      e.scope_high = ScopeHigh(g.scope);
      e.id_length = g.id_length < kLongEntryId
                        ? static_cast<uint8_t>(g.id_length)
                        : kLongEntryId;
      e.source = g.source;
      out.entries->push_back(e);
    }
    ScopeEntry& e = out.entries->back();
    e.roles |= uint32_t{1} << g.role;
    if (g.flags & kExpiring) {
      const uint32_t entry =
          out.entries_base + static_cast<uint32_t>(out.entries->size() - 1);
      if ((e.flags & kEntryExpiring) == 0) {
        e.flags |= kEntryExpiring;
        out.entry_expiries->push_back({entry, kNever});
      }
      int64_t& first = out.entry_expiries->back().expires;
      first = std::min(first, slots.Expires(i));
    }
  }
  rec->summary_size = static_cast<uint8_t>(size);
}

}  // namespace internal
}  // namespace arbiter
