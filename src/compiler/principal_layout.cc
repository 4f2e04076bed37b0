#include "src/compiler/principal_layout.h"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace arbiter {
namespace internal {
namespace {

// The scope summary of one principal (see ScopeEntry in records.h): one
// entry per scope it or its groups hold grants on, when they are few (at
// most kMaxSummaryGrants grants on kMaxSummaryScopes scopes whose tags are
// distinct). `held` lists (scope, visiting position, slot) of its grants.
void Summarize(const GrantSlots& slots,
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

}  // namespace

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
    Summarize(slots, held, rec, out);
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
