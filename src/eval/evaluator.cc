#include "src/eval/evaluator.h"

#include <algorithm>
#include <cstddef>
#include <limits>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/time/time.h"
#include "arbiter/clock.h"
#include "arbiter/engine.h"
#include "arbiter/v1/principal.pb.h"
#include "src/eval/decide.h"
#include "src/eval/path_scan.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {
namespace {

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

// The grants of `span` at `scope` (a span is sorted by scope).
inline GrantSpan ScopeSpan(const Snapshot& s, GrantSpan span, uint32_t scope) {
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
ARBITER_ALWAYS_INLINE inline void ForEachSubjectPathGrant(const Snapshot& s,
                                                          const PrincipalRec& p,
                                                          const PathScopes& on,
                                                          Visit&& visit) {
  ForEachPathGrant(s, p.grants, on, visit);
  for (uint32_t g = p.groups_begin; g < p.groups_end; ++g) {
    ForEachPathGrant(s, s.principal_groups[g], on, visit);
  }
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

std::pair<uint32_t, uint32_t> GrantRange(const Snapshot& s, uint32_t subject,
                                         uint32_t scope) {
  const GrantSpan r = ScopeSpan(s, s.SubjectSpan(subject), scope);
  return {r.begin, r.end};
}

namespace {

// The request's own facts the core needs (DecideRequest).
inline DecideRequest MakeRequest(const Snapshot& s, uint32_t p, uint32_t r,
                                 const Node& node, int top) {
  DecideRequest q;
  q.top = top;
  q.public_project = (node.project_flags & kPublic) != 0;
  q.s = &s;
  q.principal = p;
  q.resource = r;
  q.node = &node;
  return q;
}

// The scan on uint64_t masks (at most 64 roles): one pass ORs the roles of
// the live grants on the path into one mask per level, remembering the first
// grant of each role at each level and when it was seen. Grants are visited
// in (subject rank, grant id) order at each scope, so the first seen is the
// least.
template <typename Trace>
Verdict EvaluateMasks(const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
                      const Node& node, int top, LazyNow& now, Trace&& trace) {
  const PrincipalRec& principal = s.Principal(p);
  uint64_t at[3] = {0, 0, 0};
  // first[level][role], seen[level][role]: the first live grant of `role`
  // at `level` and its position in the visiting order. Only entries whose
  // bit is set in at[level] are written or read.
  uint32_t first[3][64];
  uint32_t seen[3][64];
  uint32_t order = 0;
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
                              seen[level][g.role] = order;
                            }
                            ++order;
                          });
  auto decide = [&](Reason reason, int level, uint64_t mask) {
    uint32_t least = kNone, when = kNone;
    ForEachRole(at[level] & mask, [&](uint32_t role) {
      if (seen[level][role] < when) {
        when = seen[level][role];
        least = first[level][role];
      }
    });
    return WithGrant(s, reason, least);
  };
  return DecideOnMasks(NarrowMasks(s, k), MakeRequest(s, p, r, node, top), at,
                       decide, trace);
}

// The first grant of principal `p` (or of its groups) at `scope`, in
// (subject rank, grant id) order, whose role `accept`s; kNone if none.
template <typename Accept>
uint32_t LeastGrantAt(const Snapshot& s, const PrincipalRec& p, uint32_t scope,
                      Accept&& accept) {
  auto visit = [&](GrantSpan span) {
    const GrantSpan r = ScopeSpan(s, span, scope);
    for (uint32_t i = r.begin; i < r.end; ++i) {
      if (accept(i)) return i;
    }
    return kNone;
  };
  uint32_t found = visit(p.grants);
  for (uint32_t g = p.groups_begin; g < p.groups_end && found == kNone; ++g) {
    found = visit(s.principal_groups[g]);
  }
  return found;
}

// The scan on RoleMask<W>, for any number of roles: gathers the masks, then
// finds the deciding grant with a second, short search at its level.
template <int W, typename Trace>
Verdict EvaluateWide(const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
                     const Node& node, int top, LazyNow& now, Trace&& trace) {
  const PrincipalRec& principal = s.Principal(p);
  RoleMask<W> at[3];
  ForEachSubjectPathGrant(s, principal, MakePathScopes(node.path, top),
                          [&](uint32_t i, int level) {
                            const uint16_t role = s.grants[i].role;
                            if (!Has(at[level], role) && now.Live(s, i)) {
                              Set(&at[level], role);
                            }
                          });
  auto decide = [&](Reason reason, int level, const RoleMask<W>& mask) {
    const uint32_t least =
        LeastGrantAt(s, principal, node.path[level], [&](uint32_t i) {
          return Has(mask, s.grants[i].role) && now.Live(s, i);
        });
    return WithGrant(s, reason, least);
  };
  return DecideOnMasks(WideMasks<W>(s, k), MakeRequest(s, p, r, node, top), at,
                       decide, trace);
}

// EvaluateWide at the snapshot's own width, or at least `min_words`.
template <typename Trace>
Verdict EvaluateWideAny(const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
                        const Node& node, int top, LazyNow& now,
                        size_t min_words, Trace&& trace) {
  const size_t words = std::max(s.wide_masks->mask_words, min_words);
  if (words <= 1) return EvaluateWide<1>(s, p, k, r, node, top, now, trace);
  if (words <= 4) return EvaluateWide<4>(s, p, k, r, node, top, now, trace);
  if (words <= 16) return EvaluateWide<16>(s, p, k, r, node, top, now, trace);
  return EvaluateWide<64>(s, p, k, r, node, top, now, trace);
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
  if (!s.principal_expiring_spans.empty()) {
    const GrantSpan pairs = s.ExpiringSpan(p);
    const ScopeExpiry* b = s.principal_expiring.data() + pairs.begin;
    const ScopeExpiry* e = s.principal_expiring.data() + pairs.end;
    for (int level = 0; level <= top; ++level) {
      const uint32_t scope = node.path[level];
      if (scope == kNone) continue;
      const ScopeExpiry* lo = std::lower_bound(
          b, e, ScopeExpiry{scope, std::numeric_limits<int64_t>::min()});
      if (lo == e || lo->scope != scope) continue;
      // The scope's expiries, ascending: the first one after now.
      const ScopeExpiry* hi =
          std::upper_bound(lo, e, ScopeExpiry{scope, now.Now()});
      if (hi != e && hi->scope == scope && hi->expires < first) {
        first = hi->expires;
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
    const PrincipalRec& rec = s.Principal(p);
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
Verdict EvaluateSummary(const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
                        const Node& node, int top, LazyNow& now,
                        int64_t* until) {
  const PrincipalRec& principal = s.Principal(p);
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
        return EvaluateMasks(s, p, k, r, node, top, now, NoTrace());
      }
      first = std::min(first, e);
    }
  }
  // Inlined: a call per decision costs more than its body's common path.
  auto decide = [&](Reason reason, int level,
                    uint64_t mask) ARBITER_ALWAYS_INLINE {
    const ScopeEntry& e = *entry[level];
    if ((e.roles & ~mask) != 0) {
      // No expired grant is on the path here: the first holder of a role
      // of `mask` decides.
      return WithGrant(s, reason,
                       LeastGrantAt(s, principal, key[level], [&](uint32_t i) {
                         return Has(mask, s.grants[i].role);
                       }));
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
  return DecideOnMasks(NarrowMasks(s, k), MakeRequest(s, p, r, node, top), at,
                       decide, NoTrace());
}

// Steps 2-6, identity and request shape: a denial, or kInternalError to go
// on to steps 7-10 (which never yield kInternalError for a valid request).
ARBITER_ALWAYS_INLINE inline Reason CheckShape(const Snapshot& s,
                                               const PrincipalRec& principal,
                                               const Node& node,
                                               const PermissionRec& perm,
                                               const RequestContext& context) {
  if (principal.org != node.path[kOrgLevel]) return Reason::kCrossOrg;
  if (principal.state == v1::PRINCIPAL_STATE_DELETED) {
    return Reason::kPrincipalDeleted;
  }
  if (principal.state == v1::PRINCIPAL_STATE_INVITED) {
    return Reason::kPrincipalInvited;
  }
  if (principal.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
      context.channel == Channel::kConsole) {
    return Reason::kServiceAccountConsole;
  }
  const int top = perm.level;
  if (node.path[top] == kNone) return Reason::kPermissionNotApplicable;
  if (top == kProjectLevel && perm.forbidden_on_default_project &&
      (node.project_flags & kDefaultProject)) {
    return Reason::kProtectedResource;
  }
  return Reason::kInternalError;
}

inline const Clock* ClockOf(const Snapshot& s) {
  return s.options.clock ? s.options.clock.get() : &Clock::System();
}

// Steps 2-10, setting *until to Decision::valid_until (Unix nanoseconds)
// when a grant on the path expires.
ARBITER_ALWAYS_INLINE inline Verdict EvaluateVerdict(
    const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
    const RequestContext& context, EvaluationPath evaluation, int64_t* until) {
  const PrincipalRec& principal = s.Principal(p);
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

  const Reason shape = CheckShape(s, principal, node, perm, context);
  if (shape != Reason::kInternalError) return MakeVerdict(shape);

  // Steps 7-10.
  const int top = perm.level;
  LazyNow now(context, ClockOf(s));
  // Summaries exist only with role masks (mask_path). EvaluateSummary sets
  // *until itself, from the entries it reads.
  if (summary) return EvaluateSummary(s, p, k, r, node, top, now, until);
  const Verdict v =
      (s.mask_path && evaluation != EvaluationPath::kWide)
          ? EvaluateMasks(s, p, k, r, node, top, now, NoTrace())
          : EvaluateWideAny(s, p, k, r, node, top, now,
                            evaluation == EvaluationPath::kWide ? 4 : 1,
                            NoTrace());
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

Decision EvaluateTraced(const Snapshot& s, uint32_t p, uint32_t k, uint32_t r,
                        const RequestContext& context, uint64_t revision,
                        DecisionTrace* trace) noexcept {
  const PrincipalRec& principal = s.Principal(p);
  const Node& node = s.nodes[r];
  const PermissionRec& perm = s.permissions[k];
  const Reason shape = CheckShape(s, principal, node, perm, context);
  if (shape != Reason::kInternalError) {
    return ToDecision(s, MakeVerdict(shape), revision, kNever);
  }
  const int top = perm.level;
  LazyNow now(context, ClockOf(s));
  const Verdict v =
      s.mask_path
          ? EvaluateMasks(s, p, k, r, node, top, now, RecordTrace{trace})
          : EvaluateWideAny(s, p, k, r, node, top, now, 1, RecordTrace{trace});
  int64_t until = kNever;
  if (principal.flags & kPrincipalHasExpiring) {
    until = ValidUntil(s, p, node, top, now);
  }
  return ToDecision(s, v, revision, until);
}

void GatherPathRoles(const Snapshot& s, uint32_t p, const Node& node, int top,
                     int64_t now_nanos, uint64_t at[3]) noexcept {
  RequestContext context;
  context.now = absl::FromUnixNanos(now_nanos);
  LazyNow now(context, ClockOf(s));
  at[0] = at[1] = at[2] = 0;
  ForEachSubjectPathGrant(s, s.Principal(p), MakePathScopes(node.path, top),
                          [&](uint32_t i, int level) {
                            const uint64_t bit = uint64_t{1}
                                                 << s.grants[i].role;
                            if ((at[level] & bit) == 0 && now.Live(s, i)) {
                              at[level] |= bit;
                            }
                          });
}

uint32_t LeastGrantWithRole(const Snapshot& s, uint32_t p, uint32_t scope,
                            uint64_t roles, int64_t now_nanos) noexcept {
  RequestContext context;
  context.now = absl::FromUnixNanos(now_nanos);
  LazyNow now(context, ClockOf(s));
  return LeastGrantAt(s, s.Principal(p), scope, [&](uint32_t i) {
    return Has(roles, s.grants[i].role) && now.Live(s, i);
  });
}

}  // namespace internal

// Defined here rather than in src/engine/engine.cc so that the evaluation
// inlines into it: Check by handles is the hot path.
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
