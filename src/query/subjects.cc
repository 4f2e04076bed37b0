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
      CollectIndividuals(node);
    }
    Walk(table->entries[row], table->sigs[row]);
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

  void AddIndividual(uint32_t p) {
    const PrincipalRec& rec = s_.Principal(p);
    if (rec.org != org_ || DeniedEverything(rec, q_.context.channel)) return;
    individuals_.push_back(p);
  }

  // Owners, and for a project-level permission the principals reached by a
  // grant on the project, and the creator of a workload.
  void CollectIndividuals(const Node& node) {
    for (uint32_t p : ix_.bypass_holders[org_]) AddIndividual(p);
    const uint32_t num_principals = static_cast<uint32_t>(s_.principals.size());
    if (top_ == kProjectLevel) {
      for (uint32_t i : ix_.grants_at[node.path[kProjectLevel]]) {
        const uint32_t subject = s_.SubjectOfGrant(i);
        if (subject < num_principals) {
          AddIndividual(subject);
        } else {
          for (uint32_t p : ix_.reach_of_group[subject - num_principals]) {
            AddIndividual(p);
          }
        }
      }
    }
    if (node.kind == NodeKind::kWorkload) {
      const uint32_t creator = s_.node_creator[q_.resource];
      if (creator < num_principals) AddIndividual(creator);
    }
    auto by_rank = [&](uint32_t a, uint32_t b) {
      return ix_.principal_rank[a] < ix_.principal_rank[b];
    };
    std::sort(individuals_.begin(), individuals_.end(), by_rank);
    individuals_.erase(std::unique(individuals_.begin(), individuals_.end()),
                       individuals_.end());
  }

  bool Emit(uint32_t p, const Decision& d) {
    if (out_->size() >= q_.limit) return false;
    SubjectMatch m;
    m.id = s_.principal_ids.Get(p);
    m.email = s_.principal_emails.Get(p);
    m.service_account =
        s_.Principal(p).kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
    m.decision = d;
    out_->push_back(m);
    principals_->push_back(p);
    return out_->size() < q_.limit;
  }

  // Decides p one by one; false when the page is full.
  bool Individual(uint32_t p) {
    const PrincipalRec& rec = s_.Principal(p);
    if (!Wanted(rec.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT)) return true;
    const Decision d = Evaluate(s_, p, q_.permission, q_.resource, q_.context,
                                q_.revision);
    return !d.allowed() || Emit(p, d);
  }

  void Walk(absl::Span<const MemberEntry> entries,
            absl::Span<const RoleSig> sigs) {
    // Verdicts by signature, decided on first use.
    absl::InlinedVector<uint8_t, 64> known(sigs.size(), 0);
    absl::InlinedVector<SignatureVerdict, 64> verdicts(sigs.size());
    const uint32_t after = q_.resume ? q_.after_rank : 0;
    auto e = entries.begin();
    if (q_.resume) {
      e = std::upper_bound(entries.begin(), entries.end(), after,
                           [](uint32_t r, const MemberEntry& m) {
                             return r < m.rank;
                           });
    }
    auto i = individuals_.begin();
    if (q_.resume) {
      i = std::upper_bound(individuals_.begin(), individuals_.end(), after,
                           [&](uint32_t r, uint32_t p) {
                             return r < ix_.principal_rank[p];
                           });
    }
    const bool console = q_.context.channel == Channel::kConsole;
    while (e != entries.end() || i != individuals_.end()) {
      const uint32_t er = e != entries.end() ? e->rank : kNone;
      const uint32_t ir =
          i != individuals_.end() ? ix_.principal_rank[*i] : kNone;
      if (ir <= er) {
        if (ir == er) ++e;  // decided individually
        if (!Individual(*i++)) return;
        continue;
      }
      const MemberEntry& m = *e++;
      if (!Wanted(m.service_account) || (console && m.service_account)) {
        continue;
      }
      if (m.sig == kIrregular) {
        if (!Individual(m.principal)) return;
        continue;
      }
      if (!known[m.sig]) {
        known[m.sig] = 1;
        verdicts[m.sig] =
            DecideSignature(s_, q_.permission, anchor_, top_, sigs[m.sig]);
      }
      const SignatureVerdict& v = verdicts[m.sig];
      if (!v.allowed()) continue;
      if (!Emit(m.principal,
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
  std::vector<uint32_t> individuals_;  // by rank
};

}  // namespace

void FindSubjects(const QueryIndex& ix, const SubjectsQuery& q,
                  std::vector<SubjectMatch>* out,
                  std::vector<uint32_t>* principals) {
  SubjectWalk(ix, q, out, principals).Run();
}

}  // namespace internal
}  // namespace arbiter
