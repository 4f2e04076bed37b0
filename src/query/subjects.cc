// LookupSubjects: who can act on a resource.
//
// Why it is exact. Check needs, for a cloud- or project-level permission, a
// live cloud grant on the resource's cloud (step 9.1) unless the principal
// is an org owner (step 7): so the candidates are the cloud's members (the
// principals a grant at the cloud reaches, directly or through a group) and
// the holders of org-scope all_permissions grants. For an org-level
// permission they are every active principal of the organization, or only
// those holding an org-scope grant when a principal holding none is denied.
// A member without an expiring grant at the org or the cloud, and without a
// grant on the resource's project (or the resource itself, if it created
// it), holds exactly the roles its member-table signature records: the core
// decides once per signature (src/query/decide_util.h). Everyone else
// — owners, the project's grant holders, the creator, principals with
// expiring grants — is decided one by one with internal::Evaluate.
//
// Order: by principal rank (id); the member table is walked in rank order
// and merged with the individually decided principals.

#include <algorithm>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "arbiter/v1/principal.pb.h"
#include "src/eval/evaluator.h"
#include "src/internal/time_util.h"
#include "src/query/decide_util.h"
#include "src/query/lookups.h"

namespace arbiter {
namespace internal {
namespace {

// Member entries between a prefetch and its use.
constexpr ptrdiff_t kAhead = 8;

class SubjectWalk {
 public:
  SubjectWalk(const QueryIndex& ix, const SubjectsQuery& q,
              std::vector<SubjectMatch>* out, std::vector<uint32_t>* principals)
      : s_(*ix.s), ix_(ix), q_(q), out_(out), principals_(principals) {}

  void Run() {
    const Node& node = s_.nodes[q_.resource];
    const PermissionRec& perm = s_.permissions[q_.permission];
    top_ = perm.level;
    if (node.path[top_] == kNone) return;  // PERMISSION_NOT_APPLICABLE
    if (top_ == kProjectLevel && perm.forbidden_on_default_project &&
        (node.project_flags & kDefaultProject)) {
      return;  // PROTECTED_RESOURCE, org owners included
    }
    org_ = node.path[kOrgLevel];
    anchor_ = node.path[top_];
    now_ = ToUnixNanosSaturated(*q_.context.now);

    const MemberTable* table;
    uint32_t row;
    if (top_ == kOrgLevel) {
      row = org_;
      // Does a principal holding nothing at the org get it (ORG_MEMBER)?
      const SignatureVerdict none =
          DecideSignature(s_, q_.permission, anchor_, top_, RoleSig{});
      table = none.allowed() ? &ix_.org_members : &ix_.org_holders;
    } else {
      row = node.path[kCloudLevel];
      table = &ix_.cloud_members;
      CollectIndividuals(node, row);
    }
    Walk(*table, row);
  }

 private:
  bool Wanted(bool service_account) const {
    switch (q_.filter) {
      case PrincipalFilter::kUsers:
        return !service_account;
      case PrincipalFilter::kServiceAccounts:
        return service_account;
      default:
        return true;
    }
  }

  // An individually decided principal: the roles of its live grants at the
  // project (own and its groups'), and whether one of them expires (then
  // only Evaluate decides it).
  struct Individual {
    uint32_t principal;
    uint32_t rank;
    uint64_t at2;
    bool expiring;
    // An org owner's org entry (what decides it where it has no cloud
    // entry), else nullptr.
    const QueryIndex::OwnerEntry* owner = nullptr;
    // Its live grants at the project: how many, and the one when there is
    // one (the deciding grant at the project, if its role qualifies).
    uint32_t grants = 0;
    uint32_t grant = kNone;
    // Its entry in the cloud's member table, or nullptr.
    const MemberEntry* member = nullptr;
  };

  // Records a candidate; CollectIndividuals checks it and reads its tables
  // afterwards, once their cache lines have been requested (in a large
  // organization each is a miss: issued together, they overlap).
  void AddIndividual(uint32_t p, uint64_t roles, bool expiring,
                     const QueryIndex::OwnerEntry* owner = nullptr,
                     uint32_t grant = kNone) {
    __builtin_prefetch(&ix_.active_org[p]);
    __builtin_prefetch(&ix_.principal_rank[p]);
    __builtin_prefetch(&ix_.service_account[p]);
    __builtin_prefetch(&ix_.cloud_members.places.begin[p]);
    individuals_.push_back({p, 0, roles, expiring, owner,
                            grant != kNone ? 1u : 0u, grant, nullptr});
  }

  // Owners, and for a project-level permission the principals reached by a
  // grant on the project, and the creator of a workload; each with its
  // entry in the member table row `row` of the cloud table.
  void CollectIndividuals(const Node& node, uint32_t row) {
    for (const QueryIndex::OwnerEntry& o : ix_.bypass_entries[org_]) {
      AddIndividual(o.entry.principal, 0, false, &o);
    }
    const uint32_t num_principals = static_cast<uint32_t>(s_.principals.size());
    if (top_ == kProjectLevel) {
      const absl::Span<const uint32_t> at =
          ix_.grants_at[node.path[kProjectLevel]];
      for (uint32_t i : at) {
        __builtin_prefetch(&s_.grants[i]);
        __builtin_prefetch(&s_.grant_subjects[i]);
      }
      for (uint32_t i : at) {
        const GrantRec& g = s_.grants[i];
        const bool expiring = (g.flags & kExpiring) != 0;
        // An expired grant holds nothing; one that will expire makes the
        // decision depend on the instant (Evaluate then decides).
        const uint64_t bit = g.role < 64 && s_.GrantExpires(i) > now_
                                 ? uint64_t{1} << g.role
                                 : 0;
        const uint32_t live = bit != 0 ? i : kNone;
        const uint32_t subject = s_.SubjectOfGrant(i);
        if (subject < num_principals) {
          AddIndividual(subject, bit, expiring, nullptr, live);
        } else {
          for (uint32_t p : ix_.reach_of_group[subject - num_principals]) {
            AddIndividual(p, bit, expiring, nullptr, live);
          }
        }
      }
    }
    if (node.kind == NodeKind::kWorkload) {
      const uint32_t creator = s_.node_creator[q_.resource];
      if (creator < num_principals) AddIndividual(creator, 0, false);
    }
    // Check denies principals of another organization, deleted and invited
    // ones, and service accounts on the console, everything.
    const bool console = q_.context.channel == Channel::kConsole;
    size_t n = 0;
    for (size_t i = 0; i < individuals_.size(); ++i) {
      Individual& ind = individuals_[i];
      const uint32_t p = ind.principal;
      if (ix_.active_org[p] != org_ || (ix_.service_account[p] && console)) {
        continue;
      }
      ind.rank = ix_.principal_rank[p];
      const absl::Span<const MemberTable::Place> places =
          ix_.cloud_members.places[p];
      if (!places.empty()) __builtin_prefetch(places.data());
      individuals_[n++] = ind;
    }
    individuals_.resize(n);
    std::sort(individuals_.begin(), individuals_.end(),
              [](const Individual& a, const Individual& b) {
                return a.rank < b.rank;
              });
    // One per principal, its roles merged.
    n = 0;
    for (size_t i = 0; i < individuals_.size(); ++i) {
      if (n > 0 && individuals_[n - 1].principal == individuals_[i].principal) {
        individuals_[n - 1].at2 |= individuals_[i].at2;
        individuals_[n - 1].expiring |= individuals_[i].expiring;
        individuals_[n - 1].grants += individuals_[i].grants;
        if (individuals_[n - 1].grant == kNone) {
          individuals_[n - 1].grant = individuals_[i].grant;
        }
        if (individuals_[i].owner != nullptr) {
          individuals_[n - 1].owner = individuals_[i].owner;
        }
      } else {
        individuals_[n++] = individuals_[i];
      }
    }
    individuals_.resize(n);
    for (Individual& ind : individuals_) {
      ind.member = ix_.cloud_members.Find(ind.principal, row);
      if (ind.member != nullptr) __builtin_prefetch(ind.member);
    }
  }

  bool Emit(uint32_t p, bool service_account, const Decision& d) {
    if (out_->size() >= q_.limit) return false;
    if (out_->size() == out_->capacity()) {
      // A large answer: grow sixteenfold (see resources.cc).
      const size_t grow = std::min(q_.limit, out_->capacity() * 16 + 16);
      out_->reserve(grow);
      principals_->reserve(grow);
    }
    SubjectMatch& m = out_->emplace_back();
    m.id = s_.principal_ids.Get(p);
    m.email = s_.principal_emails.Get(p);
    m.service_account = service_account;
    m.decision = d;
    principals_->push_back(p);
    return out_->size() < q_.limit;
  }

  // Decides an individual one by one; false when the page is full. With
  // its cloud member entry `m` (nullptr: none) and no expiring grant at the
  // org, the cloud or the project, from the roles recorded (the decision
  // core, as Check gathers them); otherwise with Evaluate.
  bool Decide(const Individual& ind, const MemberEntry* m,
              absl::Span<const RoleSig> sigs) {
    const uint32_t p = ind.principal;
    // Without a grant at the cloud (no member entry) nor org ownership,
    // Check denies every cloud- and project-level permission
    // (NO_CLOUD_GRANT, step 9.1).
    if (m == nullptr && ind.owner == nullptr) return true;
    const bool sa = ix_.service_account[p] != 0;
    if (!Wanted(sa)) return true;
    Decision d;
    if (m != nullptr && m->sig != kIrregular && !ind.expiring && s_.mask_path) {
      d = DecideRegular(ind, *m, sigs[m->sig]);
    } else if (m == nullptr && ind.owner != nullptr &&
               ind.owner->entry.sig != kIrregular && !ind.expiring &&
               s_.mask_path) {
      // An owner without a grant at the cloud: its org roles alone.
      d = DecideRegular(ind, ind.owner->entry, ind.owner->sig);
    } else {
      d = Evaluate(s_, p, q_.permission, q_.resource, q_.context, q_.revision);
    }
    return !d.allowed() || Emit(p, sa, d);
  }

  Decision DecideRegular(const Individual& ind, const MemberEntry& m,
                         const RoleSig& sig) const {
    const Node& node = s_.nodes[q_.resource];
    DecideRequest q;
    q.top = top_;
    q.public_project = (node.project_flags & kPublic) != 0;
    q.s = &s_;
    q.principal = ind.principal;
    q.resource = q_.resource;
    q.node = &node;
    const uint64_t at[3] = {sig.at0, top_ >= kCloudLevel ? sig.at1 : 0,
                            top_ >= kProjectLevel ? ind.at2 : 0};
    SignatureVerdict v;
    const Verdict verdict = DecideOnMasks(
        NarrowMasks(s_, q_.permission), q, at,
        [&](Reason reason, int level, uint64_t mask) {
          v.level = level;
          v.mask = mask;
          return MakeVerdict(reason);
        },
        NoTrace());
    v.reason = verdict.reason;
    if (!v.allowed()) return MakeDecision(v.reason, q_.revision);
    if (v.level == kProjectLevel && ind.grants == 1 &&
        Has(v.mask, s_.grants[ind.grant].role)) {
      // Its one live grant at the project: the least there.
      const GrantRec& g = s_.grants[ind.grant];
      Decision d;
      d.effect = EffectOf(v.reason);
      d.reason = v.reason;
      d.revision = q_.revision;
      d.source = static_cast<GrantSource>(g.source);
      d.grant_index = ind.grant;
      d.grant_id = s_.GrantId(ind.grant);
      return d;
    }
    return MakeMemberDecision(s_, m, v, anchor_, now_, q_.revision);
  }

  // Merges the member table row (by rank) with the individuals. Every
  // signature of the row is decided first; when the members of the allowed
  // ones are few (a private project), only they and the irregular members
  // are visited, else the whole row in order.
  void Walk(const MemberTable& table, uint32_t row) {
    const absl::Span<const MemberEntry> entries = table.entries[row];
    const absl::Span<const RoleSig> sigs = table.sigs[row];
    const uint32_t first_sig = table.sigs.begin[row];
    verdicts_.resize(sigs.size());
    size_t allowed = table.irregular[row].size();
    for (size_t j = 0; j < sigs.size(); ++j) {
      verdicts_[j] = DecideSignature(s_, q_.permission, anchor_, top_, sigs[j]);
      if (verdicts_[j].allowed()) {
        allowed += table.members_of_sig[first_sig + j].size();
      }
    }
    const uint32_t after = q_.resume ? q_.after_rank : 0;
    auto i = individuals_.begin();
    if (q_.resume) {
      i = std::upper_bound(
          individuals_.begin(), individuals_.end(), after,
          [](uint32_t r, const Individual& ind) { return r < ind.rank; });
    }
    auto rank_of = [&](uint32_t pos) { return entries[pos].rank; };
    auto first_after = [&](absl::Span<const uint32_t> positions) {
      if (!q_.resume) return positions;
      auto it = std::upper_bound(
          positions.begin(), positions.end(), after,
          [&](uint32_t r, uint32_t pos) { return r < rank_of(pos); });
      return positions.subspan(it - positions.begin());
    };
    if (allowed * 4 < entries.size()) {
      // Sparse: the allowed and irregular members, by position (= rank).
      positions_.clear();
      for (size_t j = 0; j < sigs.size(); ++j) {
        if (!verdicts_[j].allowed()) continue;
        for (uint32_t pos : first_after(table.members_of_sig[first_sig + j])) {
          positions_.push_back(pos);
        }
      }
      for (uint32_t pos : first_after(table.irregular[row])) {
        positions_.push_back(pos);
      }
      std::sort(positions_.begin(), positions_.end());
      Merge(entries, positions_.begin(), positions_.end(), i, sigs,
            [](std::vector<uint32_t>::const_iterator it) { return *it; });
      return;
    }
    size_t begin = 0;
    if (q_.resume) {
      begin = std::upper_bound(
                  entries.begin(), entries.end(), after,
                  [](uint32_t r, const MemberEntry& m) { return r < m.rank; }) -
              entries.begin();
    }
    Merge(entries, begin, entries.size(), i, sigs,
          [](size_t pos) { return static_cast<uint32_t>(pos); });
  }

  // Visits the row's entries at positions [first, last) (through
  // `position`) merged by rank with the individuals from `i` (which carry
  // their own entries: with a sparse walk, theirs may lie between the
  // positions visited).
  template <typename It, typename Position>
  void Merge(absl::Span<const MemberEntry> entries, It first, It last,
             std::vector<Individual>::const_iterator i,
             absl::Span<const RoleSig> sigs, Position&& position) {
    const bool console = q_.context.channel == Channel::kConsole;
    It e = first;
    while (e != last || i != individuals_.end()) {
      const uint32_t er = e != last ? entries[position(e)].rank : kNone;
      const uint32_t ir = i != individuals_.end() ? i->rank : kNone;
      if (ir <= er) {
        if (ir == er) ++e;  // decided as an individual
        if (!Decide(*i, i->member, sigs)) return;
        ++i;
        continue;
      }
      // What an allowed member's decision reads, a few entries ahead.
      if (last - e > kAhead) {
        const MemberEntry& ahead = entries[position(e + kAhead)];
        const uint32_t g =
            top_ == kOrgLevel ? ahead.least_org : ahead.least_cloud;
        if (g != kNone) __builtin_prefetch(&s_.grants[g]);
      }
      const MemberEntry& m = entries[position(e++)];
      if (!Wanted(m.service_account) || (console && m.service_account)) {
        continue;
      }
      if (m.sig == kIrregular) {
        if (!Decide({m.principal, m.rank, 0, true}, &m, sigs)) return;
        continue;
      }
      const SignatureVerdict& v = verdicts_[m.sig];
      if (!v.allowed()) continue;
      if (!Emit(m.principal, m.service_account,
                MakeMemberDecision(s_, m, v, anchor_, now_, q_.revision))) {
        return;
      }
    }
  }

  const Snapshot& s_;
  const QueryIndex& ix_;
  const SubjectsQuery& q_;
  std::vector<SubjectMatch>* out_;
  std::vector<uint32_t>* principals_;
  int top_ = 0;
  uint32_t org_ = kNone;
  uint32_t anchor_ = kNone;
  int64_t now_ = 0;
  std::vector<Individual> individuals_;     // by rank
  std::vector<SignatureVerdict> verdicts_;  // of the row's signatures
  std::vector<uint32_t> positions_;         // the sparse walk's entries
};

}  // namespace

void FindSubjects(const QueryIndex& ix, const SubjectsQuery& q,
                  std::vector<SubjectMatch>* out,
                  std::vector<uint32_t>* principals) {
  SubjectWalk(ix, q, out, principals).Run();
}

}  // namespace internal
}  // namespace arbiter
