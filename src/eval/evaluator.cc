#include "src/eval/evaluator.h"

#include <algorithm>
#include <cstddef>
#include <limits>

// ARBITER_PORTABLE_SCAN (CMake option of the same name) selects the portable
// scan on x86 too, so that the sanitizer builds test the path other
// architectures take.
#if defined(__SSE2__) && !defined(ARBITER_PORTABLE_SCAN)
#define ARBITER_SSE2_SCAN 1
#include <emmintrin.h>
#endif

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/engine.h"
#include "arbiter/v1/principal.pb.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {
namespace {

// The scan helpers below run for every subject span of every Check; GCC
// otherwise keeps the span visitor out of line (it has three call sites).
#if defined(__GNUC__)
#define ARBITER_ALWAYS_INLINE __attribute__((always_inline))
#else
#define ARBITER_ALWAYS_INLINE
#endif

// Subjects with few grants are scanned linearly (one or two cache lines);
// larger ones are binary-searched per scope, so a principal holding a
// million grants costs ~60 comparisons, not a million.
constexpr uint32_t kLinearScanLimit = 16;

// The clock is read lazily: most grants never expire, and most checks never
// touch one that does.
class LazyNow {
 public:
  LazyNow(const RequestContext& context, const Clock* clock)
      : context_(context), clock_(clock) {}

  // Whether grant i of `s` is live now.
  bool Live(const Snapshot& s, uint32_t i) {
    if ((s.grants[i].flags & kExpiring) == 0) return true;
    return Before(s.grant_expires[i]);
  }

  // Whether now is before `t` (Unix nanoseconds).
  bool Before(int64_t t) { return Now() < t; }

  // Now, in Unix nanoseconds; the clock is read at most once.
  int64_t Now() {
    if (!have_) {
      now_ = ToUnixNanosSaturated(context_.now.has_value() ? *context_.now
                                                           : clock_->Now());
      have_ = true;
    }
    return now_;
  }

 private:
  const RequestContext& context_;
  const Clock* clock_;
  int64_t now_ = 0;
  bool have_ = false;
};

// What steps 2-10 decide, before it becomes a Decision (ToDecision): 16
// bytes, returned in two registers, so that the Decision is written once, in
// place, instead of being assembled field by field in a temporary and copied
// whole (a store-forwarding stall on every Check). The deciding grant's id
// is id_length bytes at id_offset in grant_ids, or (kLongGrantId) read from
// the id table.
struct Verdict {
  Reason reason = Reason::kInternalError;
  GrantSource source = GrantSource::kNone;
  uint16_t id_length = 0;
  uint32_t grant = Decision::kNoGrant;
  uint32_t id_offset = 0;
  uint32_t unused = 0;
};
static_assert(sizeof(Verdict) == 16, "Verdict is returned in registers");

// The grants of `span` at `scope` (a span is sorted by scope).
inline GrantSpan ScopeSpan(const Snapshot& s, GrantSpan span,
                           uint32_t scope) {
  const GrantRec* first = s.grants.data() + span.begin;
  const GrantRec* last = s.grants.data() + span.end;
  const GrantRec* lo = std::lower_bound(
      first, last, scope,
      [](const GrantRec& g, uint32_t value) { return g.scope < value; });
  const GrantRec* hi = lo;
  while (hi != last && hi->scope == scope) ++hi;
  return {static_cast<uint32_t>(lo - s.grants.data()),
          static_cast<uint32_t>(hi - s.grants.data())};
}

// Bit j set where scopes[j] is a, b or c, for j < n <= kLinearScanLimit.
// Reads whole groups of four (the scope arrays are padded, see
// kScopePadding) and masks off the tail.
ARBITER_ALWAYS_INLINE inline uint32_t ScopeMatches(const uint32_t* scopes,
                                                   uint32_t n, uint32_t a,
                                                   uint32_t b, uint32_t c) {
  uint32_t bits = 0;
#if defined(ARBITER_SSE2_SCAN)
  const __m128i va = _mm_set1_epi32(static_cast<int>(a));
  const __m128i vb = _mm_set1_epi32(static_cast<int>(b));
  const __m128i vc = _mm_set1_epi32(static_cast<int>(c));
  for (uint32_t j = 0; j < n; j += 4) {
    const __m128i v =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(scopes + j));
    const __m128i eq = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi32(v, va), _mm_cmpeq_epi32(v, vb)),
        _mm_cmpeq_epi32(v, vc));
    bits |= static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(eq))) << j;
  }
#else
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t v = scopes[j];
    bits |= static_cast<uint32_t>((v == a) | (v == b) | (v == c)) << j;
  }
#endif
  return bits & ((uint32_t{1} << n) - 1);  // n <= 16: no overflow
}

// The scopes a grant must have to apply to a request: path[0..top], and
// kNone (never a scope) past the top. A grant's level is its scope's level,
// so "scope == path[level]" is "scope is one of a, b, c".
struct PathScopes {
  const uint32_t* path;
  int top;
  uint32_t a, b, c;
};

inline PathScopes MakePathScopes(const uint32_t* path, int top) {
  return {path, top, path[0], top >= 1 ? path[1] : kNone,
          top >= 2 ? path[2] : kNone};
}

// Visits the grants of `span` on the path, levels 0..top, each
// (subject, scope) range in id order: `visit(grant_index, level)`. Small
// spans compare their scopes (grant_scopes) with the path and read only the
// records of the grants that match.
template <typename Visit>
ARBITER_ALWAYS_INLINE inline void ForEachPathGrant(const Snapshot& s,
                                                   GrantSpan span,
                                                   const PathScopes& on,
                                                   Visit&& visit) {
  const uint32_t n = span.end - span.begin;
  if (n <= kLinearScanLimit) {
    for (uint32_t bits = ScopeMatches(s.grant_scopes.data() + span.begin, n,
                                      on.a, on.b, on.c);
         bits != 0; bits &= bits - 1) {
      const uint32_t i = span.begin + __builtin_ctz(bits);
      visit(i, s.grants[i].level);
    }
    return;
  }
  for (int level = 0; level <= on.top; ++level) {
    const GrantSpan r = ScopeSpan(s, span, on.path[level]);
    for (uint32_t i = r.begin; i < r.end; ++i) visit(i, level);
  }
}

// Visits the path grants of the principal, then of each of its groups, in
// subject order.
template <typename Visit>
ARBITER_ALWAYS_INLINE inline void ForEachSubjectPathGrant(
    const Snapshot& s, const PrincipalRec& p, const PathScopes& on,
    Visit&& visit) {
  ForEachPathGrant(s, p.grants, on, visit);
  for (uint32_t g = p.groups_begin; g < p.groups_end; ++g) {
    ForEachPathGrant(s, s.principal_groups[g], on, visit);
  }
}

// Whether resource r (`node`) is a workload that principal p created. Read
// only when an own-workload permission could decide.
inline bool IsCreator(const Snapshot& s, uint32_t p, uint32_t r,
                      const Node& node) {
  return node.kind == NodeKind::kWorkload && s.node_creator[r] == p;
}

// The most specific level (project, cloud, org) whose roles meet `mask`.
inline int MostSpecificLevel(const uint64_t (&at)[3], uint64_t mask) {
  if (at[kProjectLevel] & mask) return kProjectLevel;
  if (at[kCloudLevel] & mask) return kCloudLevel;
  if (at[kOrgLevel] & mask) return kOrgLevel;
  return -1;
}

// The least of per-level candidates: project, then cloud, then org.
inline uint32_t MostSpecific(const uint32_t (&by_level)[3]) {
  if (by_level[kProjectLevel] != kNone) return by_level[kProjectLevel];
  if (by_level[kCloudLevel] != kNone) return by_level[kCloudLevel];
  return by_level[kOrgLevel];
}

// A verdict with no grant.
inline Verdict MakeVerdict(Reason reason) {
  Verdict v;
  v.reason = reason;
  return v;
}

Verdict WithGrant(const Snapshot& s, Reason reason, uint32_t grant) {
  // Callers derive `grant` from grants they saw, so it exists; fail closed
  // all the same.
  if (grant >= s.grants.size()) return MakeVerdict(Reason::kInternalError);
  const GrantRec& g = s.grants[grant];
  Verdict v;
  v.reason = reason;
  v.source = static_cast<GrantSource>(g.source);
  v.id_length = g.id_length;
  v.grant = grant;
  v.id_offset = g.id_offset;
  return v;
}

}  // namespace

std::pair<uint32_t, uint32_t> GrantRange(const Snapshot& s,
                                         uint32_t subject, uint32_t scope) {
  const GrantSpan r = ScopeSpan(s,
                                GrantSpan{s.subject_grants_begin[subject],
                                          s.subject_grants_begin[subject + 1]},
                                scope);
  return {r.begin, r.end};
}

namespace {

// Steps 7-10 on role masks. at[level] holds the roles of the principal's
// live grants at path[level] (its own and its groups'); decide(reason,
// level, mask) returns the decision for `reason` whose grant is the least
// such grant at `level` with a role in `mask`, and is called only when
// at[level] & mask is not 0. EvaluateMasks and EvaluateSummary decide here;
// EvaluateGeneric is the same procedure grant by grant (the differential
// tests hold all three to the reference).
template <typename Decide>
ARBITER_ALWAYS_INLINE inline Verdict DecideOnMasks(
    const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
    const Node& node, int top, const uint64_t (&at)[3], Decide&& decide) {
  const PermissionMasks& m = s.permission_masks[k];
  const uint64_t all = at[0] | at[1] | at[2];
  const uint64_t held = all & ~s.deny_roles;
  uint64_t applicable = all & s.deny_roles;
  for (uint64_t d = applicable; d != 0; d &= d - 1) {
    const int role = __builtin_ctzll(d);
    if (s.exempt_roles[role] & held) applicable &= ~(uint64_t{1} << role);
  }

  // The candidate: a reason, and the level and role mask of its deciding
  // grant (level -1: no grant).
  Reason reason;
  int level = -1;
  uint64_t mask = 0;
  if (at[kOrgLevel] & s.bypass_roles) {
    reason = Reason::kOrgOwner, level = kOrgLevel, mask = s.bypass_roles;
  } else if (top == kOrgLevel) {
    if (at[kOrgLevel] & m.allow) {
      reason = Reason::kGrant, level = kOrgLevel, mask = m.allow;
    } else if (m.member_has) {
      reason = Reason::kOrgMember;
    } else {
      return MakeVerdict(s.has_all_permissions_role
                             ? Reason::kNeedsOrgOwner
                             : Reason::kInsufficientRole);
    }
  } else if ((at[kCloudLevel] & ~s.deny_roles) == 0) {
    return MakeVerdict(Reason::kNoCloudGrant);
  } else if ((level = MostSpecificLevel(at, m.allow)) >= 0) {
    reason = Reason::kGrant, mask = m.allow;
  } else {
    const bool project_anchor = top == kProjectLevel;
    const int pub = (node.project_flags & kPublic) ? 1 : 0;
    const uint64_t implied = project_anchor ? m.implied[pub] : 0;
    const uint64_t implied_own = project_anchor ? m.implied_own[pub] : 0;
    const uint64_t caps = project_anchor ? applicable & m.cap_blocks : 0;
    const uint64_t own_at_cloud = m.own | (caps == 0 ? implied_own : 0);
    if ((at[kCloudLevel] & implied) && caps == 0) {
      reason = pub ? Reason::kPublicProject : Reason::kCloudRoleInheritance;
      level = kCloudLevel, mask = implied;
    } else if ((at[kProjectLevel] & m.own) && IsCreator(s, p, r, node)) {
      reason = Reason::kOwnWorkload, level = kProjectLevel, mask = m.own;
    } else if ((at[kCloudLevel] & own_at_cloud) && IsCreator(s, p, r, node)) {
      reason = Reason::kOwnWorkload, level = kCloudLevel, mask = own_at_cloud;
    } else if ((at[kOrgLevel] & m.own) && IsCreator(s, p, r, node)) {
      reason = Reason::kOwnWorkload, level = kOrgLevel, mask = m.own;
    } else if (m.member_has) {
      reason = Reason::kOrgMember;
    } else if (caps != 0 && (at[kCloudLevel] & (implied | implied_own))) {
      return decide(Reason::kDenyRole, MostSpecificLevel(at, caps), caps);
    } else if (project_anchor && (at[kProjectLevel] & ~s.deny_roles) == 0 &&
               (at[kCloudLevel] & s.implying_roles[pub]) == 0) {
      return MakeVerdict(Reason::kNoProjectGrant);
    } else if ((held & m.own) || (at[kCloudLevel] & implied_own)) {
      return MakeVerdict(Reason::kNotWorkloadCreator);
    } else {
      return MakeVerdict(Reason::kInsufficientRole);
    }
  }

  // Step 10: deny roles subtract.
  if (const uint64_t deny = applicable & m.deny; deny != 0) {
    level = MostSpecificLevel(at, deny);
    reason = Reason::kDenyRole, mask = deny;
  }
  if (level < 0) return MakeVerdict(reason);
  return decide(reason, level, mask);
}

// The role-mask scan: one pass ORs the roles of the live grants on the path
// into one mask per level, remembering the first grant of each role.
Verdict EvaluateMasks(const Snapshot& s, uint32_t p, uint32_t k,
                      uint32_t r, const Node& node, int top, LazyNow& now) {
  const PrincipalRec& principal = s.principals[p];
  uint64_t at[3] = {0, 0, 0};
  // first[level][role]: the first live grant of `role` seen at `level`, which
  // is the least one (the visiting order is subject rank, then grant id).
  // Only entries whose bit is set in at[level] are written or read.
  uint32_t first[3][64];
  for (uint32_t g = principal.groups_begin; g < principal.groups_end; ++g) {
    __builtin_prefetch(s.grant_scopes.data() + s.principal_groups[g].begin);
  }
  ForEachSubjectPathGrant(s, principal, MakePathScopes(node.path, top),
                          [&](uint32_t i, int level) ARBITER_ALWAYS_INLINE {
                            const GrantRec& g = s.grants[i];
                            const uint64_t bit = uint64_t{1} << g.role;
                            if ((at[level] & bit) == 0 && now.Live(s, i)) {
                              at[level] |= bit;
                              first[level][g.role] = i;
                            }
                          });
  // Grant indices follow the least-first order within a level.
  auto decide = [&](Reason reason, int level, uint64_t mask) {
    uint32_t least = kNone;
    for (uint64_t m = at[level] & mask; m != 0; m &= m - 1) {
      least = std::min(least, first[level][__builtin_ctzll(m)]);
    }
    return WithGrant(s, reason, least);
  };
  return DecideOnMasks(s, p, k, r, node, top, at, decide);
}

// The least grant of principal `p` (or of its groups) at `scope` whose role
// is in `mask`, kNone if none. Grant indices follow (subject rank, grant id)
// at one scope, so the least index is the least grant.
uint32_t LeastGrantAt(const Snapshot& s, const PrincipalRec& p,
                      uint32_t scope, uint64_t mask) {
  uint32_t best = kNone;
  auto visit = [&](GrantSpan span) {
    const GrantSpan r = ScopeSpan(s, span, scope);
    for (uint32_t i = r.begin; i < r.end; ++i) {
      if ((mask >> s.grants[i].role) & 1) {
        best = std::min(best, i);
        return;  // ranges are in index order
      }
    }
  };
  visit(p.grants);
  for (uint32_t g = p.groups_begin; g < p.groups_end; ++g) {
    visit(s.principal_groups[g]);
  }
  return best;
}

// For each of the three keys, bit j set where tags[j] is the key, for
// j < n <= kMaxSummaryScopes. Compares all kMaxSummaryScopes tags (kNoTag
// past n; a branch on n costs more) and masks off the tail.
ARBITER_ALWAYS_INLINE inline void MatchSummary(const uint16_t* tags, uint32_t n,
                                               const uint16_t (&key)[3],
                                               uint32_t (&bits)[3]) {
  bits[0] = bits[1] = bits[2] = 0;
#if defined(ARBITER_SSE2_SCAN)
  static_assert(kMaxSummaryScopes == 16, "two 16-byte loads of 16-bit tags");
  static_assert(offsetof(PrincipalRec, tags) % 16 == 0, "aligned loads");
  const __m128i* v = reinterpret_cast<const __m128i*>(tags);
  const __m128i v0 = _mm_load_si128(v), v1 = _mm_load_si128(v + 1);
  // Sixteen 16-bit compares narrowed to bytes (a saturating pack keeps 0
  // and -1), then one movemask.
  for (int l = 0; l < 3; ++l) {
    const __m128i kl = _mm_set1_epi16(static_cast<short>(key[l]));
    bits[l] = static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_packs_epi16(_mm_cmpeq_epi16(v0, kl), _mm_cmpeq_epi16(v1, kl))));
  }
#else
  for (uint32_t j = 0; j < n; ++j) {
    for (int l = 0; l < 3; ++l) {
      bits[l] |= static_cast<uint32_t>(tags[j] == key[l]) << j;
    }
  }
#endif
  // kNone keys (levels above the permission's) match the unused tags.
  const uint32_t tail = (uint32_t{1} << n) - 1;  // n <= 16: no overflow
  bits[0] &= tail;
  bits[1] &= tail;
  bits[2] &= tail;
}

// Decision::valid_until for principal p on the path of `node` up to level
// `top`: the first expiry after now among the grants of p and of its groups
// at the path's scopes. Only grants on the path take part in a decision, and
// a grant's liveness changes once, at its expiry. Called only for
// principals with kPrincipalHasExpiring. Binary searches the principal's
// sorted (scope, expiry) pairs (or, without them, each subject's
// scope-sorted grants), so its cost does not grow with the number of grants
// at other scopes; it reads the clock only when a grant on the path expires,
// which the evaluation has then usually read already.
ABSL_ATTRIBUTE_NOINLINE int64_t ValidUntil(const Snapshot& s, uint32_t p,
                                           const Node& node, int top,
                                           LazyNow& now) {
  int64_t first = kNever;
  if (!s.principal_expiring_begin.empty()) {
    const auto* b = s.principal_expiring.data() + s.principal_expiring_begin[p];
    const auto* e =
        s.principal_expiring.data() + s.principal_expiring_begin[p + 1];
    for (int level = 0; level <= top; ++level) {
      const uint32_t scope = node.path[level];
      if (scope == kNone) continue;
      const auto* lo = std::lower_bound(
          b, e, std::make_pair(scope, std::numeric_limits<int64_t>::min()));
      if (lo == e || lo->first != scope) continue;
      // The scope's expiries, ascending: the first one after now.
      const auto* hi =
          std::upper_bound(lo, e, std::make_pair(scope, now.Now()));
      if (hi != e && hi->first == scope && hi->second < first) {
        first = hi->second;
      }
    }
  } else {
    auto scan = [&](GrantSpan span) {
      const uint32_t* scopes = s.grant_scopes.data();
      for (int level = 0; level <= top; ++level) {
        const uint32_t scope = node.path[level];
        if (scope == kNone) continue;
        const uint32_t* lo =
            std::lower_bound(scopes + span.begin, scopes + span.end, scope);
        for (; lo != scopes + span.end && *lo == scope; ++lo) {
          const int64_t e = s.GrantExpires(static_cast<uint32_t>(lo - scopes));
          if (e != kNever && e > now.Now() && e < first) first = e;
        }
      }
    };
    const PrincipalRec& rec = s.principals[p];
    scan(rec.grants);
    for (uint32_t i = rec.groups_begin; i < rec.groups_end; ++i) {
      scan(s.principal_groups[i]);
    }
  }
  return first;
}

// Steps 7-10 from the principal's scope summary, setting *until to
// Decision::valid_until (in Unix nanoseconds) when a grant on the path
// expires. Falls back to the scan where one has expired.
Verdict EvaluateSummary(const Snapshot& s, uint32_t p, uint32_t k,
                        uint32_t r, const Node& node, int top, LazyNow& now,
                        int64_t* until) {
  const PrincipalRec& principal = s.principals[p];
  const uint32_t key[3] = {node.path[0], top >= 1 ? node.path[1] : kNone,
                           top >= 2 ? node.path[2] : kNone};
  const uint16_t tag[3] = {ScopeTag(key[0]), ScopeTag(key[1]),
                           ScopeTag(key[2])};
  uint32_t bits[3];
  MatchSummary(principal.tags, principal.summary_size, tag, bits);
  // A summary's tags are distinct: each level matches one entry or none.
  const ScopeEntry* base = s.summary_entries.data() + principal.summary_begin;
  const ScopeEntry* entry[3] = {nullptr, nullptr, nullptr};
  uint64_t at[3] = {0, 0, 0};
  uint32_t flags = 0;
  for (int l = 0; l < 3; ++l) {
    if (bits[l] != 0) {
      entry[l] = base + __builtin_ctz(bits[l]);
      at[l] = entry[l]->roles;
      flags |= entry[l]->flags;
    }
  }
  if (!s.exact_tags) {
    // A tag may stand for more than one scope: the entry confirms it.
    flags = 0;
    for (int l = 0; l < 3; ++l) {
      if (entry[l] == nullptr) continue;
      if (entry[l]->scope_high != ScopeHigh(key[l])) {
        entry[l] = nullptr;
        at[l] = 0;
      } else {
        flags |= entry[l]->flags;
      }
    }
  }
  // The first expiry among the grants of the matched entries: while it is
  // ahead, the entries hold and it is the decision's valid_until (every
  // grant on the path is in one of them); once it has passed, the grants
  // decide one by one.
  int64_t first = kNever;
  if (ABSL_PREDICT_FALSE(flags & kEntryExpiring)) {
    for (int l = 0; l < 3; ++l) {
      if (entry[l] == nullptr || (entry[l]->flags & kEntryExpiring) == 0) {
        continue;
      }
      const int64_t e = s.SummaryExpires(
          static_cast<uint32_t>(entry[l] - s.summary_entries.data()));
      if (!now.Before(e)) {
        *until = ValidUntil(s, p, node, top, now);
        return EvaluateMasks(s, p, k, r, node, top, now);
      }
      first = std::min(first, e);
    }
  }
  auto decide = [&](Reason reason, int level, uint64_t mask) {
    const ScopeEntry& e = *entry[level];
    if ((e.roles & ~mask) != 0) {
      return WithGrant(s, reason, LeastGrantAt(s, principal, key[level], mask));
    }
    if (e.id_length == kLongEntryId) {
      return WithGrant(s, reason, e.least);
    }
    // Every grant at this scope qualifies: the entry's least one decides,
    // and the entry has what the decision shows of it.
    Verdict v;
    v.reason = reason;
    v.source = static_cast<GrantSource>(e.source);
    v.id_length = e.id_length;
    v.grant = e.least;
    v.id_offset = e.id_offset;
    return v;
  };
  *until = first;
  return DecideOnMasks(s, p, k, r, node, top, at, decide);
}

Verdict EvaluateGeneric(const Snapshot& s, uint32_t p, uint32_t k,
                        uint32_t r, const Node& node, int top, LazyNow& now) {
  const PrincipalRec& principal = s.principals[p];
  const uint32_t* path = node.path;
  const bool project_anchor = top == kProjectLevel;
  const bool is_public = (node.project_flags & kPublic) != 0;

  // Gather: one pass over the relevant grants of P and of its groups, in
  // subject order. The first grant seen per level is the least by
  // (subject rank, grant id) at that level.
  uint32_t owner = kNone;
  uint32_t allow[3] = {kNone, kNone, kNone};
  uint32_t own[3] = {kNone, kNone, kNone};
  uint32_t implied = kNone;      // implied role lists k in permissions
  uint32_t implied_own = kNone;  // implied role lists k as own-workload
  bool cloud_member = false, project_member = false, implied_any = false;
  bool own_any = false, saw_deny = false;
  uint64_t held = 0;  // exempt bits of held roles

  auto gather = [&](uint32_t i, int level) {
    const GrantRec& g = s.grants[i];
    const RoleRec& role = s.roles[g.role];
    if (role.deny) {
      saw_deny = true;
      return;
    }
    if (!now.Live(s, i)) return;
    held |= role.exempt_bit;
    if (level == kOrgLevel && role.all_permissions && owner == kNone) owner = i;
    if (level == kCloudLevel) cloud_member = true;
    if (level == kProjectLevel) project_member = true;
    if (allow[level] == kNone && s.RoleHas(g.role, k)) allow[level] = i;
    if (s.RoleHasOwn(g.role, k)) {
      own_any = true;
      if (own[level] == kNone) own[level] = i;
    }
    if (level == kCloudLevel && project_anchor) {
      const uint16_t ir =
          is_public ? role.public_project_role : role.private_project_role;
      if (ir != kNoRole) {
        implied_any = true;
        if (implied == kNone && s.RoleHas(ir, k)) implied = i;
        if (implied_own == kNone && s.RoleHasOwn(ir, k)) implied_own = i;
      }
    }
  };
  const PathScopes on = MakePathScopes(path, top);
  ForEachSubjectPathGrant(s, principal, on, gather);

  // Step 10's applicable deny grants, needed for caps and subtraction. Only
  // computed when a deny grant is on the path.
  uint32_t deny[3] = {kNone, kNone, kNone};
  uint32_t cap[3] = {kNone, kNone, kNone};
  if (saw_deny) {
    auto deny_pass = [&](uint32_t i, int level) {
      const GrantRec& g = s.grants[i];
      const RoleRec& role = s.roles[g.role];
      if (!role.deny || !now.Live(s, i) || (role.exempt_mask & held) != 0)
        return;
      if (deny[level] == kNone && s.RoleHas(g.role, k)) deny[level] = i;
      if (project_anchor && role.cap_role != kNoRole && cap[level] == kNone &&
          !s.RoleHas(role.cap_role, k)) {
        cap[level] = i;
      }
    };
    ForEachSubjectPathGrant(s, principal, on, deny_pass);
  }
  const bool member_has =
      s.member_role != kNoRole && s.RoleHas(s.member_role, k);

  // Steps 7-9: the allow candidate, or a denial.
  Verdict candidate;
  if (owner != kNone) {
    candidate = WithGrant(s, Reason::kOrgOwner, owner);
  } else if (top == kOrgLevel) {
    if (allow[kOrgLevel] != kNone) {
      candidate = WithGrant(s, Reason::kGrant, allow[kOrgLevel]);
    } else if (member_has) {
      candidate = MakeVerdict(Reason::kOrgMember);
    } else {
      return MakeVerdict(s.has_all_permissions_role
                             ? Reason::kNeedsOrgOwner
                             : Reason::kInsufficientRole);
    }
  } else {
    if (!cloud_member) return MakeVerdict(Reason::kNoCloudGrant);
    const uint32_t explicit_grant = MostSpecific(allow);
    const uint32_t cap_grant = MostSpecific(cap);
    // Own-workload grants at the cloud level: the cloud role's own list, or
    // its implied project role's while uncapped. Grant indices follow the
    // (subject rank, grant id) order within a level, so the least index is
    // the least grant.
    if (cap_grant == kNone)
      own[kCloudLevel] = std::min(own[kCloudLevel], implied_own);
    const uint32_t own_grant = MostSpecific(own);
    if (explicit_grant != kNone) {
      candidate = WithGrant(s, Reason::kGrant, explicit_grant);
    } else if (implied != kNone && cap_grant == kNone) {
      candidate = WithGrant(
          s, is_public ? Reason::kPublicProject : Reason::kCloudRoleInheritance,
          implied);
    } else if (own_grant != kNone && IsCreator(s, p, r, node)) {
      candidate = WithGrant(s, Reason::kOwnWorkload, own_grant);
    } else if (member_has) {
      candidate = MakeVerdict(Reason::kOrgMember);
    } else if (cap_grant != kNone &&
               (implied != kNone || implied_own != kNone)) {
      return WithGrant(s, Reason::kDenyRole, cap_grant);
    } else if (project_anchor && !project_member && !implied_any) {
      return MakeVerdict(Reason::kNoProjectGrant);
    } else if (own_any || implied_own != kNone) {
      return MakeVerdict(Reason::kNotWorkloadCreator);
    } else {
      return MakeVerdict(Reason::kInsufficientRole);
    }
  }

  // Step 10: deny roles subtract.
  const uint32_t deny_grant = MostSpecific(deny);
  if (deny_grant != kNone) {
    return WithGrant(s, Reason::kDenyRole, deny_grant);
  }
  return candidate;
}

// Steps 2-10, setting *until to Decision::valid_until (Unix nanoseconds)
// when a grant on the path expires.
ARBITER_ALWAYS_INLINE inline Verdict EvaluateVerdict(
    const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
    const RequestContext& context, EvaluationPath evaluation, int64_t* until) {
  const PrincipalRec& principal = s.principals[p];
  const Node& node = s.nodes[r];
  const PermissionRec& perm = s.permissions[k];
  // Start the loads of steps 7-10 while steps 2-6 run: the principal's
  // summary entries, or else the scopes and first records of its grants and
  // its groups' spans, are the next cache misses.
  const bool summary = principal.summary_size != kNoSummary &&
                       evaluation == EvaluationPath::kAuto;
  if (summary) {
    __builtin_prefetch(s.summary_entries.data() + principal.summary_begin);
  } else {
    __builtin_prefetch(s.grant_scopes.data() + principal.grants.begin);
    __builtin_prefetch(s.grants.data() + principal.grants.begin);
    if (principal.groups_begin != principal.groups_end) {
      __builtin_prefetch(s.principal_groups.data() + principal.groups_begin);
    }
  }

  // Steps 2-6: identity and request shape.
  if (principal.org != node.path[kOrgLevel]) {
    return MakeVerdict(Reason::kCrossOrg);
  }
  if (principal.state == v1::PRINCIPAL_STATE_DELETED) {
    return MakeVerdict(Reason::kPrincipalDeleted);
  }
  if (principal.state == v1::PRINCIPAL_STATE_INVITED) {
    return MakeVerdict(Reason::kPrincipalInvited);
  }
  if (principal.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
      context.channel == Channel::kConsole) {
    return MakeVerdict(Reason::kServiceAccountConsole);
  }
  const int top = perm.level;
  if (node.path[top] == kNone) {
    return MakeVerdict(Reason::kPermissionNotApplicable);
  }
  if (top == kProjectLevel && perm.forbidden_on_default_project &&
      (node.project_flags & kDefaultProject)) {
    return MakeVerdict(Reason::kProtectedResource);
  }

  // Steps 7-10.
  const Clock* clock =
      s.options.clock ? s.options.clock.get() : &Clock::System();
  LazyNow now(context, clock);
  // Summaries exist only with role masks (mask_path). EvaluateSummary sets
  // *until itself, from the entries it reads.
  if (summary) return EvaluateSummary(s, p, k, r, node, top, now, until);
  const Verdict v = (s.mask_path && evaluation != EvaluationPath::kGeneric)
                        ? EvaluateMasks(s, p, k, r, node, top, now)
                        : EvaluateGeneric(s, p, k, r, node, top, now);
  if (ABSL_PREDICT_FALSE(principal.flags & kPrincipalHasExpiring)) {
    *until = ValidUntil(s, p, node, top, now);
  }
  return v;
}

// The Decision of a verdict, written in place (see Verdict).
ARBITER_ALWAYS_INLINE inline Decision ToDecision(const Snapshot& s,
                                                 const Verdict& v,
                                                 uint64_t revision,
                                                 int64_t until) {
  Decision d;
  d.effect = EffectOf(v.reason);
  d.reason = v.reason;
  d.source = v.source;
  d.grant_index = v.grant;
  if (v.grant != Decision::kNoGrant) {
    d.grant_id =
        v.id_length == kLongGrantId || v.id_length == kLongEntryId
            ? s.grant_ids.Get(v.grant)
            : absl::string_view(s.grant_ids.data() + v.id_offset, v.id_length);
  }
  d.revision = revision;
  if (ABSL_PREDICT_FALSE(until != kNever)) {
    d.valid_until = absl::FromUnixNanos(until);
  }
  return d;
}

// Evaluate's body, inlined into Engine::Check (below) as well.
ARBITER_ALWAYS_INLINE inline Decision EvaluateInline(
    const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
    const RequestContext& context, uint64_t revision,
    EvaluationPath evaluation) {
  int64_t until = kNever;
  const Verdict v = EvaluateVerdict(s, p, k, r, context, evaluation, &until);
  return ToDecision(s, v, revision, until);
}

}  // namespace

Decision Evaluate(const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
                  const RequestContext& context, uint64_t revision,
                  EvaluationPath evaluation) noexcept {
  return EvaluateInline(s, p, k, r, context, revision, evaluation);
}

}  // namespace internal

// Defined here rather than in src/engine.cc so that the evaluation inlines
// into it: Check by handles is the hot path.
Decision Engine::Check(PrincipalRef principal, PermissionRef permission,
                       ResourceRef resource,
                       const RequestContext& context) const noexcept {
  const internal::Snapshot& s = *state_;
  if (principal.tag_ != tag_ || permission.tag_ != tag_ ||
      resource.tag_ != tag_) {
    return internal::MakeDecision(Reason::kStaleReference, revision_);
  }
  // Handles of this Engine are in range by construction; stay defensive.
  if (principal.index_ >= s.principals.size() ||
      permission.index_ >= s.permissions.size() ||
      resource.index_ >= s.nodes.size()) {
    return internal::MakeDecision(Reason::kInternalError, revision_);
  }
  return internal::EvaluateInline(s, principal.index_, permission.index_,
                                  resource.index_, context, revision_,
                                  internal::EvaluationPath::kAuto);
}

}  // namespace arbiter
