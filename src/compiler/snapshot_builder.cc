#include "src/compiler/snapshot_builder.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "arbiter/v1/principal.pb.h"
#include "src/compiler/grant_rules.h"
#include "src/compiler/principal_layout.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

// A grant of a subject's new span: either a base slot kept, or a new grant.
struct SpanGrant {
  uint32_t scope;
  absl::string_view id;  // into the base's id column or the delta
  GrantRec rec;          // id_offset is set when the slot is written
  int64_t expires;       // kNever if none
};

const char* NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kOrg:
      return "organization";
    case NodeKind::kCloud:
      return "cloud";
    case NodeKind::kProject:
      return "project";
    case NodeKind::kWorkload:
      return "workload";
    case NodeKind::kComputeConfig:
      return "compute config";
    case NodeKind::kImage:
      return "image";
  }
  return "resource";
}

class Builder {
 public:
  Builder(const Snapshot& base, const StateDelta& delta)
      : base_(base), delta_(delta.proto()) {}

  absl::StatusOr<std::shared_ptr<const Snapshot>> Run();

 private:
  uint32_t num_principals() const {
    return static_cast<uint32_t>(base_.principals.size());
  }
  std::string DescribeSubject(uint32_t subject) const {
    if (subject < num_principals()) {
      return absl::StrCat(
          base_.Principal(subject).kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
              ? "service account "
              : "user ",
          Quote(base_.principal_ids.Get(subject)));
    }
    return absl::StrCat("group ",
                        Quote(base_.group_ids.Get(subject - num_principals())));
  }
  std::string DescribeNode(uint32_t node) const {
    return absl::StrCat(NodeKindName(base_.nodes[node].kind), " ",
                        Quote(base_.node_ids.Get(node)));
  }
  uint32_t SubjectOrg(uint32_t subject) const;

  // The subject and scope a grant names; false with an error in status_.
  bool ResolveSubject(const std::string& field, const v1::Grant& g,
                      uint32_t* subject);
  bool ResolveScope(const std::string& field, const v1::Grant& g,
                    uint32_t* scope, uint8_t* level);
  uint16_t FindRole(absl::string_view name) const;

  absl::Status Remove(int i);
  absl::Status Add(int i);
  // The groups containing `p`, transitively, by group id.
  std::vector<uint32_t> GroupsOf(uint32_t p) const;

  const Snapshot& base_;
  const v1::StateDelta& delta_;
  // Per changed subject: base slots removed, grants added.
  struct Change {
    absl::flat_hash_set<uint32_t> removed;
    std::vector<SpanGrant> added;
  };
  absl::flat_hash_map<uint32_t, Change> changes_;
  // The added grants' ids, which the spans view (reserved up front).
  std::vector<std::string> added_ids_;
  absl::Status status_;

  // Passes of Run, in order.
  absl::Status ReadDelta();
  absl::Status RelocateSpans();
  void FindAffectedPrincipals();
  absl::Status LayOutAffectedPrincipals();
  // A subject's span in the snapshot being built.
  GrantSpan NewSpan(uint32_t subject) const {
    auto it = new_span_.find(subject);
    return it != new_span_.end() ? it->second : base_.SubjectSpan(subject);
  }

  std::shared_ptr<Snapshot> out_;
  std::vector<uint32_t> subjects_;  // changed subjects, ascending
  absl::flat_hash_map<uint32_t, GrantSpan> new_span_;
  std::vector<uint32_t> affected_;  // principals to lay out, ascending
};

uint32_t Builder::SubjectOrg(uint32_t subject) const {
  if (subject < num_principals()) return base_.Principal(subject).org;
  // A group's org: the org of any member or of any grant's scope; groups
  // are org-bound at compile time. Read it from the id index's node org.
  const uint32_t g = subject - num_principals();
  const GrantSpan span = base_.GroupSpan(g);
  if (span.begin != span.end) {
    return base_.nodes[base_.grants[span.begin].scope].path[kOrgLevel];
  }
  for (uint32_t m = base_.group_members_begin[g];
       m < base_.group_members_begin[g + 1]; ++m) {
    const uint32_t org = SubjectOrg(base_.group_members[m]);
    if (org != kNone) return org;
  }
  for (uint32_t q = base_.parents_begin[subject];
       q < base_.parents_begin[subject + 1]; ++q) {
    const uint32_t org = SubjectOrg(num_principals() + base_.parents[q]);
    if (org != kNone) return org;
  }
  return kNone;
}

bool Builder::ResolveSubject(const std::string& field, const v1::Grant& g,
                             uint32_t* subject) {
  const bool group = g.subject_case() == v1::Grant::kGroupId;
  if (g.subject_case() == v1::Grant::SUBJECT_NOT_SET) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        field, ".subject: missing subject (set principal_id or group_id)"));
    return false;
  }
  const std::string& id = group ? g.group_id() : g.principal_id();
  auto it = base_.id_index->find(id);
  const ObjectKind want = group ? ObjectKind::kGroup : ObjectKind::kPrincipal;
  if (it == base_.id_index->end() || it->second.kind != want) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat(field, ".subject: unknown ",
                     group ? "group " : "principal ", Quote(id)));
    return false;
  }
  *subject = group ? num_principals() + it->second.index : it->second.index;
  return true;
}

bool Builder::ResolveScope(const std::string& field, const v1::Grant& g,
                           uint32_t* scope, uint8_t* level) {
  const std::string* id = nullptr;
  NodeKind want = NodeKind::kOrg;
  switch (g.scope_case()) {
    case v1::Grant::kOrgId:
      id = &g.org_id(), want = NodeKind::kOrg, *level = kOrgLevel;
      break;
    case v1::Grant::kCloudId:
      id = &g.cloud_id(), want = NodeKind::kCloud, *level = kCloudLevel;
      break;
    case v1::Grant::kProjectId:
      id = &g.project_id(), want = NodeKind::kProject, *level = kProjectLevel;
      break;
    default:
      status_ = absl::InvalidArgumentError(absl::StrCat(
          field, ".scope: missing scope (set org_id, cloud_id or project_id)"));
      return false;
  }
  auto it = base_.id_index->find(*id);
  if (it == base_.id_index->end() || it->second.kind != ObjectKind::kNode ||
      base_.nodes[it->second.index].kind != want) {
    status_ = absl::InvalidArgumentError(absl::StrCat(
        field, ".scope: unknown ", NodeKindName(want), " ", Quote(*id)));
    return false;
  }
  *scope = it->second.index;
  return true;
}

uint16_t Builder::FindRole(absl::string_view name) const {
  for (uint32_t r = 0; r < base_.roles.size(); ++r) {
    if (base_.role_names.Get(r) == name) return static_cast<uint16_t>(r);
  }
  return kNoRole;
}

absl::Status Builder::Remove(int i) {
  const v1::Grant& g = delta_.remove_grants(i);
  const std::string field = absl::StrCat("remove_grants[", i, "]");
  uint32_t subject, scope;
  uint8_t level;
  if (!ResolveSubject(field, g, &subject) ||
      !ResolveScope(field, g, &scope, &level)) {
    return status_;
  }
  const GrantSpan span = base_.SubjectSpan(subject);
  Change& change = changes_[subject];
  for (uint32_t slot = span.begin; slot < span.end; ++slot) {
    if (base_.grant_scopes[slot] != scope || base_.GrantId(slot) != g.id()) {
      continue;
    }
    if (base_.role_names.Get(base_.grants[slot].role) != g.role()) {
      return absl::FailedPreconditionError(
          absl::StrCat(field, ".role: grant ", Quote(g.id()), " has role ",
                       Quote(base_.role_names.Get(base_.grants[slot].role)),
                       ", not ", Quote(g.role())));
    }
    if (!change.removed.insert(slot).second) break;  // removed twice
    return absl::OkStatus();
  }
  return absl::NotFoundError(absl::StrCat(field, ": no grant ", Quote(g.id()),
                                          " of ", DescribeSubject(subject),
                                          " on ", DescribeNode(scope)));
}

absl::Status Builder::Add(int i) {
  const v1::Grant& g = delta_.add_grants(i);
  const std::string field = absl::StrCat("add_grants[", i, "]");
  const std::string problem = CheckId(g.id(), base_.options.max_id_length);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".id: ", problem));
  }
  uint32_t subject, scope;
  uint8_t level;
  if (!ResolveSubject(field, g, &subject) ||
      !ResolveScope(field, g, &scope, &level)) {
    return status_;
  }
  const uint16_t role = FindRole(g.role());
  if (role == kNoRole) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".role: ",
        g.role().empty() ? std::string("missing role")
                         : absl::StrCat("unknown role ", Quote(g.role()))));
  }
  const bool group = subject >= num_principals();
  const v1::SubjectKind subject_kind =
      group ? v1::SUBJECT_KIND_GROUP
      : base_.Principal(subject).kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
          ? v1::SUBJECT_KIND_SERVICE_ACCOUNT
          : v1::SUBJECT_KIND_USER;
  auto fail = [&](const GrantProblem& p) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".", p.field, ": ", p.message));
  };
  const v1::Role& def = base_.profile->roles(role);
  if (auto p = CheckRolePlacement(def, level, subject_kind,
                                  DescribeSubject(subject))) {
    return fail(*p);
  }
  if (SubjectOrg(subject) != base_.nodes[scope].path[kOrgLevel]) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".scope: ", DescribeNode(scope), " and ",
        DescribeSubject(subject), " belong to different organizations"));
  }
  const absl::string_view auto_add = base_.profile->auto_add_role();
  SpanGrant sg{};
  if (auto p = CheckSource(g.source(), group, level,
                           base_.role_names.Get(role) == auto_add, auto_add,
                           &sg.rec.source)) {
    return fail(*p);
  }
  if (auto p = CheckExpiry(g, &sg.expires)) return fail(*p);
  if (base_.roles[role].all_permissions &&
      !base_.options.allow_service_account_org_owner &&
      subject_kind == v1::SUBJECT_KIND_SERVICE_ACCOUNT) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".subject: ", DescribeSubject(subject),
                     " cannot hold ", Quote(def.name()),
                     " (EngineOptions::allow_service_account_org_owner)"));
  }
  // added_ids_ was reserved for every add: it never reallocates, so the
  // view stays valid.
  added_ids_.push_back(g.id());
  sg.id = added_ids_.back();
  sg.scope = scope;
  sg.rec.scope = scope;
  sg.rec.role = role;
  sg.rec.level = level;
  sg.rec.flags = sg.expires != kNever ? kExpiring : 0;
  changes_[subject].added.push_back(sg);
  return absl::OkStatus();
}

std::vector<uint32_t> Builder::GroupsOf(uint32_t p) const {
  std::vector<uint32_t> out, stack{p};
  absl::flat_hash_set<uint32_t> seen;
  while (!stack.empty()) {
    const uint32_t x = stack.back();
    stack.pop_back();
    for (uint32_t i = base_.parents_begin[x]; i < base_.parents_begin[x + 1];
         ++i) {
      const uint32_t g = base_.parents[i];
      if (!seen.insert(g).second) continue;
      out.push_back(g);
      stack.push_back(num_principals() + g);
    }
  }
  std::sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) {
    return base_.group_ids.Get(a) < base_.group_ids.Get(b);
  });
  return out;
}

absl::Status Builder::ReadDelta() {
  added_ids_.reserve(delta_.add_grants_size());
  for (int i = 0; i < delta_.remove_grants_size(); ++i) {
    if (absl::Status s = Remove(i); !s.ok()) return s;
  }
  for (int i = 0; i < delta_.add_grants_size(); ++i) {
    if (absl::Status s = Add(i); !s.ok()) return s;
  }
  for (const auto& [subject, change] : changes_) subjects_.push_back(subject);
  std::sort(subjects_.begin(), subjects_.end());
  return absl::OkStatus();
}

absl::Status Builder::RelocateSpans() {
  std::vector<GrantRec> recs;
  std::vector<uint32_t> scopes, holders;
  std::vector<int64_t> expiries;
  std::vector<absl::string_view> ids;
  const uint32_t first_slot = static_cast<uint32_t>(base_.grants.size());
  // Where appended ids start in the id column's bytes.
  uint64_t id_at =
      base_.grant_ids.Offset(static_cast<uint32_t>(base_.grant_ids.size()));
  bool any_expiring = !base_.grant_expires.empty();
  int64_t live_delta = 0;
  for (uint32_t subject : subjects_) {
    const Change& change = changes_[subject];
    const GrantSpan old = base_.SubjectSpan(subject);
    std::vector<SpanGrant> span;
    span.reserve(old.end - old.begin + change.added.size());
    for (uint32_t slot = old.begin; slot < old.end; ++slot) {
      if (change.removed.contains(slot)) continue;
      span.push_back(SpanGrant{base_.grant_scopes[slot], base_.GrantId(slot),
                               base_.grants[slot], base_.GrantExpires(slot)});
    }
    for (const SpanGrant& g : change.added) span.push_back(g);
    // The canonical order of a span: (scope, grant id).
    std::sort(span.begin(), span.end(),
              [](const SpanGrant& a, const SpanGrant& b) {
                return a.scope != b.scope ? a.scope < b.scope : a.id < b.id;
              });
    for (size_t j = 1; j < span.size(); ++j) {
      if (span[j].scope == span[j - 1].scope && span[j].id == span[j - 1].id) {
        return absl::AlreadyExistsError(absl::StrCat(
            "add_grants: ", DescribeSubject(subject), " already holds a grant ",
            Quote(span[j].id), " on ", DescribeNode(span[j].scope)));
      }
    }
    live_delta += static_cast<int64_t>(span.size()) -
                  static_cast<int64_t>(old.end - old.begin);
    const uint32_t begin = first_slot + static_cast<uint32_t>(recs.size());
    for (SpanGrant& g : span) {
      g.rec.id_offset = static_cast<uint32_t>(id_at);
      g.rec.id_length = g.id.size() < kLongGrantId
                            ? static_cast<uint16_t>(g.id.size())
                            : kLongGrantId;
      id_at += g.id.size();
      recs.push_back(g.rec);
      scopes.push_back(g.scope);
      holders.push_back(subject);
      expiries.push_back(g.expires);
      ids.push_back(g.id);
      any_expiring |= g.expires != kNever;
    }
    new_span_[subject] = {begin, begin + static_cast<uint32_t>(span.size())};
    // Padding slots: a four-wide read of this span's scopes stays in it.
    for (size_t pad = 0; pad < kScopePadding; ++pad) {
      recs.push_back(GrantRec{kNone, static_cast<uint32_t>(id_at), kNoRole, 0,
                              0, 0, 0, 0});
      scopes.push_back(kNone);
      holders.push_back(kNone);
      expiries.push_back(kNever);
      ids.push_back(absl::string_view());
    }
  }
  if (id_at > UINT32_MAX || !base_.grant_ids.Append(ids, &out_->grant_ids)) {
    return absl::ResourceExhaustedError(
        "the state's grant ids exceed the 4 GiB a snapshot can hold");
  }
  out_->grants = base_.grants.Append(recs.data(), recs.size());
  out_->grant_scopes = base_.grant_scopes.Append(scopes.data(), scopes.size());
  out_->grant_subjects =
      base_.grant_subjects.Append(holders.data(), holders.size());
  if (any_expiring) {
    Column<int64_t> column = base_.grant_expires;
    if (column.empty()) {
      column =
          Column<int64_t>(std::vector<int64_t>(base_.grants.size(), kNever));
    }
    out_->grant_expires = column.Append(expiries.data(), expiries.size());
  }
  out_->num_grants =
      static_cast<size_t>(static_cast<int64_t>(base_.num_grants) + live_delta);
  for (uint32_t subject : subjects_) {
    if (subject >= num_principals()) {
      out_->group_span_overlay.Set(subject - num_principals(),
                                   new_span_[subject]);
    }
  }
  return absl::OkStatus();
}

void Builder::FindAffectedPrincipals() {
  // The changed principals, and every principal a changed group contains,
  // through nested groups.
  absl::flat_hash_set<uint32_t> seen;
  absl::flat_hash_set<uint32_t> groups_seen;
  std::vector<uint32_t> stack;
  auto reach = [&](uint32_t subject) {
    if (subject < num_principals()) {
      if (seen.insert(subject).second) affected_.push_back(subject);
    } else {
      stack.push_back(subject - num_principals());
    }
  };
  for (uint32_t subject : subjects_) reach(subject);
  while (!stack.empty()) {
    const uint32_t g = stack.back();
    stack.pop_back();
    if (!groups_seen.insert(g).second) continue;
    for (uint32_t m = base_.group_members_begin[g];
         m < base_.group_members_begin[g + 1]; ++m) {
      reach(base_.group_members[m]);
    }
  }
  std::sort(affected_.begin(), affected_.end());
}

absl::Status Builder::LayOutAffectedPrincipals() {
  const GrantSlots slots{out_->grants.data(), out_->grant_expires.data()};
  const bool summarize = base_.options.scope_summaries && base_.mask_path &&
                         base_.roles.size() <= kMaxSummaryRoles;
  HugeVector<GrantSpan> groups_out;
  HugeVector<ScopeEntry> entries_out;
  std::vector<EntryExpiry> entry_expiries_out;
  std::vector<ScopeExpiry> expiring_out;
  PrincipalLayoutOut lay;
  lay.groups = &groups_out;
  lay.groups_base = static_cast<uint32_t>(base_.principal_groups.size());
  lay.entries = &entries_out;
  lay.entries_base = static_cast<uint32_t>(base_.summary_entries.size());
  lay.entry_expiries = &entry_expiries_out;
  const bool expiring_index = !base_.principal_expiring_spans.empty();
  lay.expiring = expiring_index ? &expiring_out : nullptr;
  lay.expiring_base = static_cast<uint32_t>(base_.principal_expiring.size());
  const bool sa_owners = base_.options.allow_service_account_org_owner;
  std::vector<GrantSpan> group_spans;
  for (uint32_t p : affected_) {
    PrincipalRec rec = base_.Principal(p);
    group_spans.clear();
    for (uint32_t g : GroupsOf(p)) {
      const GrantSpan span = NewSpan(num_principals() + g);
      if (span.begin == span.end) continue;
      // A service account must not reach an org-owner role through a
      // group either (EngineOptions::allow_service_account_org_owner).
      if (rec.kind == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT && !sa_owners) {
        for (uint32_t i = span.begin; i < span.end; ++i) {
          if (out_->roles[out_->grants[i].role].all_permissions) {
            return absl::InvalidArgumentError(absl::StrCat(
                "add_grants: group ", Quote(base_.group_ids.Get(g)), " holds ",
                Quote(base_.role_names.Get(out_->grants[i].role)),
                " and contains ", DescribeSubject(p),
                " (EngineOptions::allow_service_account_org_owner)"));
          }
        }
      }
      group_spans.push_back(span);
    }
    const GrantSpan pairs =
        LayOutPrincipal(slots, NewSpan(p), group_spans, summarize, &rec, lay);
    rec.overridden = 0;
    out_->principal_overlay.Set(p, rec);
    if (expiring_index) out_->expiring_overlay.Set(p, pairs);
  }
  out_->principal_groups =
      base_.principal_groups.Append(groups_out.data(), groups_out.size());
  out_->summary_entries =
      base_.summary_entries.Append(entries_out.data(), entries_out.size());
  out_->summary_expires = base_.summary_expires.Append(
      entry_expiries_out.data(), entry_expiries_out.size());
  if (expiring_index) {
    out_->principal_expiring = base_.principal_expiring.Append(
        expiring_out.data(), expiring_out.size());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Snapshot>> Builder::Run() {
  if (absl::Status s = ReadDelta(); !s.ok()) return s;
  out_ = std::make_shared<Snapshot>(base_);
  out_->generation = base_.generation + 1;
  if (absl::Status s = RelocateSpans(); !s.ok()) return s;
  FindAffectedPrincipals();
  if (absl::Status s = LayOutAffectedPrincipals(); !s.ok()) return s;
  // Last, once nothing can fail: mark the base records the overlay now
  // overrides (readers of older snapshots find nothing in theirs, or their
  // own older version, and keep the base record).
  for (uint32_t p : affected_) MarkOverridden(base_.principals[p].overridden);
  return std::shared_ptr<const Snapshot>(std::move(out_));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Snapshot>> SnapshotBuilder::Apply(
    const Snapshot& base, const StateDelta& delta) {
  if (!delta.GrantsOnly()) {
    return absl::UnimplementedError(
        "SnapshotBuilder applies grant changes only; compile the state");
  }
  return Builder(base, delta).Run();
}

bool SnapshotBuilder::NeedsCompaction(const Snapshot& s) {
  const size_t dead = s.grants.size() - s.num_grants;
  return dead > s.num_grants + 4096;
}

bool SnapshotBuilder::NeedsRepack(const Snapshot& s) {
  const size_t overridden = s.principal_overlay.size() +
                            s.group_span_overlay.size() +
                            s.expiring_overlay.size();
  return overridden > std::max<size_t>(256, s.principals.size() / 16);
}

std::shared_ptr<const Snapshot> SnapshotBuilder::Repack(const Snapshot& s) {
  auto out = std::make_shared<Snapshot>(s);
  HugeVector<PrincipalRec> principals(s.principals.size());
  for (uint32_t p = 0; p < principals.size(); ++p) {
    principals[p] = s.Principal(p);
    principals[p].overridden = 0;
  }
  out->principals = Column<PrincipalRec>::Adopt(std::move(principals));
  out->principal_overlay = Overlay<PrincipalRec>();
  std::vector<GrantSpan> groups(s.group_spans.size());
  for (uint32_t g = 0; g < groups.size(); ++g) groups[g] = s.GroupSpan(g);
  out->group_spans = Column<GrantSpan>::Adopt(std::move(groups));
  out->group_span_overlay = Overlay<GrantSpan>();
  if (!s.principal_expiring_spans.empty()) {
    std::vector<GrantSpan> spans(s.principal_expiring_spans.size());
    for (uint32_t p = 0; p < spans.size(); ++p) spans[p] = s.ExpiringSpan(p);
    out->principal_expiring_spans = Column<GrantSpan>::Adopt(std::move(spans));
  }
  out->expiring_overlay = Overlay<GrantSpan>();
  return out;
}

}  // namespace internal
}  // namespace arbiter
