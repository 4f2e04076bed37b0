#include "src/query/decide_util.h"

#include <algorithm>

#include "arbiter/clock.h"
#include "arbiter/v1/principal.pb.h"
#include "src/eval/decide.h"
#include "src/eval/evaluator.h"
#include "src/internal/time_util.h"

namespace arbiter {
namespace internal {

absl::Time LookupInstant(const Snapshot& s, const RequestContext& context) {
  if (context.now.has_value()) return *context.now;
  const Clock* clock =
      s.options.clock ? s.options.clock.get() : &Clock::System();
  return clock->Now();
}

RequestContext AtInstant(const RequestContext& context, absl::Time at) {
  RequestContext out = context;
  out.now = at;
  return out;
}

bool DeniedEverything(const PrincipalRec& rec, Channel channel) {
  return rec.state == v1::PRINCIPAL_STATE_DELETED ||
         rec.state == v1::PRINCIPAL_STATE_INVITED ||
         (rec.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT &&
          channel == Channel::kConsole);
}

void PermissionBits(const Snapshot& s, uint32_t p, uint32_t r,
                    const RequestContext& context, uint64_t revision,
                    int only_level, uint64_t* bits, uint32_t* reasons) {
  std::fill(bits, bits + s.perm_words, 0);
  const PrincipalRec& rec = s.Principal(p);
  const Node& node = s.nodes[r];
  // Steps 2-4 concern the principal alone: every permission denies alike.
  if (rec.org != node.path[kOrgLevel] ||
      DeniedEverything(rec, context.channel)) {
    return;
  }
  const int depth = Depth(node);
  const uint32_t num_perms = static_cast<uint32_t>(s.permissions.size());
  auto set = [&](uint32_t k, Reason reason) {
    bits[k >> 6] |= uint64_t{1} << (k & 63);
    if (reasons != nullptr) *reasons |= uint32_t{1} << static_cast<int>(reason);
  };
  if (!s.mask_path) {
    // More than 64 roles: one evaluation per permission.
    for (uint32_t k = 0; k < num_perms; ++k) {
      const int top = s.permissions[k].level;
      if (top > depth || (only_level >= 0 && top != only_level)) continue;
      const Decision d = Evaluate(s, p, k, r, context, revision);
      if (d.allowed()) set(k, d.reason);
    }
    return;
  }
  const int64_t now = ToUnixNanosSaturated(*context.now);
  uint64_t all[3];
  GatherPathRoles(s, p, node, depth, now, all);
  DecideRequest q;
  q.public_project = (node.project_flags & kPublic) != 0;
  q.s = &s;
  q.principal = p;
  q.resource = r;
  q.node = &node;
  const bool default_project = (node.project_flags & kDefaultProject) != 0;
  for (uint32_t k = 0; k < num_perms; ++k) {
    const PermissionRec& perm = s.permissions[k];
    const int top = perm.level;
    if (top > depth || (only_level >= 0 && top != only_level)) continue;
    // Step 6.
    if (top == kProjectLevel && perm.forbidden_on_default_project &&
        default_project) {
      continue;
    }
    const uint64_t at[3] = {all[0], top >= kCloudLevel ? all[1] : 0,
                            top >= kProjectLevel ? all[2] : 0};
    q.top = top;
    const Verdict v = DecideOnMasks(
        NarrowMasks(s, k), q, at,
        [](Reason reason, int, uint64_t) { return MakeVerdict(reason); },
        NoTrace());
    if (EffectOf(v.reason) == Effect::kAllow) set(k, v.reason);
  }
}

SignatureVerdict DecideSignature(const Snapshot& s, uint32_t permission,
                                 uint32_t anchor, int top, const RoleSig& sig) {
  const Node& node = s.nodes[anchor];
  DecideRequest q;
  q.top = top;
  q.public_project = (node.project_flags & kPublic) != 0;
  q.s = &s;
  q.principal = kNone;  // never asked: the anchor is no workload
  q.resource = anchor;
  q.node = &node;
  const uint64_t at[3] = {sig.at0, top >= kCloudLevel ? sig.at1 : 0, 0};
  SignatureVerdict out;
  const Verdict v = DecideOnMasks(
      NarrowMasks(s, permission), q, at,
      [&](Reason reason, int level, uint64_t mask) {
        out.level = level;
        out.mask = mask;
        return MakeVerdict(reason);
      },
      NoTrace());
  out.reason = v.reason;
  return out;
}

Decision MakeMemberDecision(const Snapshot& s, const MemberEntry& entry,
                            const SignatureVerdict& v, uint32_t anchor,
                            int64_t now_nanos, uint64_t revision) {
  Decision d;
  d.effect = EffectOf(v.reason);
  d.reason = v.reason;
  d.revision = revision;
  if (v.level < 0) return d;
  // The entry's first grant at that scope is the least of all; it decides
  // when its role qualifies (none of them expires: the entry is regular).
  const uint32_t least = v.level == kOrgLevel     ? entry.least_org
                         : v.level == kCloudLevel ? entry.least_cloud
                                                  : kNone;
  uint32_t grant = kNone;
  if (least != kNone && Has(v.mask, s.grants[least].role)) {
    grant = least;
  } else {
    grant = LeastGrantWithRole(
        s, entry.principal, s.nodes[anchor].path[v.level], v.mask, now_nanos);
  }
  if (grant == kNone) {
    // Unreachable: the core named a level whose roles meet the mask.
    return MakeDecision(Reason::kInternalError, revision);
  }
  const GrantRec& g = s.grants[grant];
  d.source = static_cast<GrantSource>(g.source);
  d.grant_index = grant;
  d.grant_id = s.GrantId(grant);
  return d;
}

}  // namespace internal
}  // namespace arbiter
