#include "src/iam/iam_mappings.h"

#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "arbiter/v1/principal.pb.h"
#include "src/internal/names.h"
#include "src/snapshot/lookup.h"
#include "src/iam/cloud_mapping.h"
#include "src/iam/identity.h"

namespace arbiter {
namespace internal {
namespace {

using ObjectKind = ObjectKind;

uint32_t FindCloud(const Snapshot& s, absl::string_view cloud,
                   absl::string_view org) {
  if (cloud.empty()) return kNone;
  uint32_t org_node = kNone;
  if (!org.empty()) {
    org_node = ResolveOrg(s, org);
    if (org_node == kNone) return kNone;
  }
  auto it = s.id_index->find(cloud);
  if (it != s.id_index->end() && it->second.kind == ObjectKind::kNode &&
      s.nodes[it->second.index].kind == NodeKind::kCloud &&
      (org_node == kNone ||
       s.nodes[it->second.index].path[kOrgLevel] == org_node)) {
    return it->second.index;
  }
  if (org_node == kNone) {
    if (s.org_nodes.size() != 1) return kNone;
    org_node = s.org_nodes[0];
  }
  auto cit = s.child_by_name->find(ChildKey{org_node, cloud});
  if (cit == s.child_by_name->end() ||
      s.nodes[cit->second].kind != NodeKind::kCloud) {
    return kNone;
  }
  return cit->second;
}

// Why principal `p` may not launch in a cloud of `org_node`, or
// kRuleMatched when it may: it must be an active member of that
// organization.
IamReason PrincipalFailure(const Snapshot& s, uint32_t p,
                           uint32_t org_node) {
  const PrincipalRec& rec = s.Principal(p);
  if (rec.org != org_node) return IamReason::kCrossOrg;
  switch (rec.state) {
    case v1::PRINCIPAL_STATE_ACTIVE:
      return IamReason::kRuleMatched;
    case v1::PRINCIPAL_STATE_DELETED:
      return IamReason::kPrincipalDeleted;
    case v1::PRINCIPAL_STATE_INVITED:
      return IamReason::kPrincipalInvited;
    default:
      return IamReason::kInternalError;  // the compiler normalizes states
  }
}

IamDecision Fail(IamReason reason, uint64_t revision) {
  IamDecision d;
  d.outcome = IamOutcome::kFail;
  d.reason = reason;
  d.revision = revision;
  return d;
}

}  // namespace

struct IamMappings::Resolution {
  const CloudMapping* cloud = nullptr;
  uint32_t cloud_node = kNone;
  uint32_t project_node = kNone;
  uint32_t compute_config_node = kNone;
  absl::string_view compute_config_identity;
  absl::string_view user;  // the email, as given or from the principal
  // True once every attribute is resolved: `workload` is ready for the rules.
  bool resolved = false;
  IamWorkload workload;
};

IamMappings::IamMappings() = default;
IamMappings::~IamMappings() = default;

std::shared_ptr<const IamMappings> IamMappings::Compile(
    const v1::PolicySet& state, const Snapshot& s, Diagnostics& diag) {
  auto out = absl::WrapUnique(new IamMappings());
  bool ok = true;

  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> projects_of;
  for (uint32_t n = 0; n < s.nodes.size(); ++n) {
    if (s.nodes[n].kind == NodeKind::kProject) {
      projects_of[s.nodes[n].path[kCloudLevel]].push_back(n);
    }
  }

  for (int i = 0; i < state.clouds_size(); ++i) {
    const v1::Cloud& c = state.clouds(i);
    auto it = s.id_index->find(c.id());
    if (it == s.id_index->end() || it->second.kind != ObjectKind::kNode ||
        s.nodes[it->second.index].kind != NodeKind::kCloud) {
      // The compiler reports broken clouds before calling us; stay safe if a
      // state reaches here with rules on a cloud that was not compiled.
      diag.Add(absl::StrCat("clouds[", i, "].iam_mapping"),
               absl::StrCat("rules on cloud ", Quote(c.id()),
                            ", which does not exist in the compiled state"));
      ok = false;
      continue;
    }
    const uint32_t node = it->second.index;
    std::unique_ptr<CloudMapping> m =
        CloudMapping::Build(c.iam_mapping(), i, c.id(), s.options, diag);
    if (m == nullptr) {
      ok = false;
      if (diag.full()) return nullptr;
      continue;
    }
    for (uint32_t p : projects_of[node]) {
      m->AddProject(p, s.node_ids.Get(p), s.node_names.Get(p),
                    (s.nodes[p].flags & kDefaultProject) != 0);
    }
    m->FinishProjects();
    if (m->default_project() == kNone) {
      diag.Add(absl::StrCat("clouds[", i, "]"),
               absl::StrCat("internal error: cloud ", Quote(c.id()),
                            " has no default project"));
      ok = false;
      continue;
    }
    out->cloud_slot_.emplace(node, static_cast<uint32_t>(out->clouds_.size()));
    out->cloud_nodes_.push_back(node);
    out->clouds_.push_back(std::move(m));
  }
  // The by-name fast path: every cloud id and, in a single-organization
  // snapshot, every cloud name (an id wins over an equal name).
  if (s.org_nodes.size() == 1) {
    for (uint32_t slot = 0; slot < out->clouds_.size(); ++slot) {
      out->cloud_by_key_.emplace(s.node_names.Get(out->cloud_nodes_[slot]),
                                 slot);
    }
  }
  for (uint32_t slot = 0; slot < out->clouds_.size(); ++slot) {
    out->cloud_by_key_[s.node_ids.Get(out->cloud_nodes_[slot])] = slot;
  }

  for (int i = 0; i < state.compute_configs_size(); ++i) {
    const v1::ComputeConfig& c = state.compute_configs(i);
    auto it = s.id_index->find(c.id());
    if (it == s.id_index->end() || it->second.kind != ObjectKind::kNode ||
        s.nodes[it->second.index].kind != NodeKind::kComputeConfig) {
      continue;  // reported by the compiler
    }
    const uint32_t node = it->second.index;
    if (!c.iam_identity().empty()) {
      const std::string problem =
          CheckIamIdentity(c.iam_identity(), s.options.max_name_length);
      if (!problem.empty()) {
        diag.Add(absl::StrCat("compute_configs[", i, "].iam_identity"),
                 absl::StrCat(problem, " in compute config ", Quote(c.id())));
        ok = false;
        continue;
      }
    }
    const uint32_t cloud = s.nodes[node].path[kCloudLevel];
    out->compute_configs_[node] = ComputeConfigEntry{cloud, c.iam_identity()};
    out->compute_config_by_name_.emplace(
        ChildKey{cloud, s.node_names.Get(node)}, node);
  }

  if (!ok) return nullptr;
  return out;
}

const IamMappings::ComputeConfigEntry* IamMappings::FindComputeConfig(
    const Snapshot& s, uint32_t cloud_node, absl::string_view cc,
    uint32_t* node) const {
  auto it = s.id_index->find(cc);
  if (it != s.id_index->end() && it->second.kind == ObjectKind::kNode) {
    auto cit = compute_configs_.find(it->second.index);
    if (cit != compute_configs_.end() && cit->second.cloud == cloud_node) {
      *node = it->second.index;
      return &cit->second;
    }
  }
  auto nit = compute_config_by_name_.find(ChildKey{cloud_node, cc});
  if (nit == compute_config_by_name_.end()) return nullptr;
  auto cit = compute_configs_.find(nit->second);
  if (cit == compute_configs_.end()) return nullptr;
  *node = nit->second;
  return &cit->second;
}

bool IamMappings::ResolveUser(const Snapshot& s, absl::string_view user,
                              uint32_t org_node, absl::string_view* email,
                              IamReason* failure) const {
  *failure = IamReason::kInvalidUser;
  if (user.empty() || user.size() > s.options.max_name_length) return false;
  // Ids never contain '@' (CheckId), so only a user without one can be an id.
  if (user.find('@') == absl::string_view::npos) {
    auto it = s.id_index->find(user);
    if (it == s.id_index->end() || it->second.kind != ObjectKind::kPrincipal) {
      return false;
    }
    *email = s.principal_emails.Get(it->second.index);
    *failure = PrincipalFailure(s, it->second.index, org_node);
    return *failure == IamReason::kRuleMatched;
  }
  // Not an id: it must be a well-formed email (one '@', printable ASCII, no
  // spaces), so that a stray space or control byte cannot slip past `!=` or
  // `notin` rules.
  if (!CheckEmail(user, s.options.max_name_length).empty()) return false;
  *email = user;
  // The organization's live principal with this email, else its deleted one.
  auto it = s.org_email_index->find(ChildKey{org_node, user});
  if (it != s.org_email_index->end()) {
    *failure = PrincipalFailure(s, it->second, org_node);
    return *failure == IamReason::kRuleMatched;
  }
  // Held only by principals of other organizations: never mapped here.
  if (s.email_index->find(user) != s.email_index->end()) {
    *failure = IamReason::kCrossOrg;
    return false;
  }
  // No principal at all: a plain string only if the options ask for it.
  if (!s.options.iam_match_unknown_users) {
    *failure = IamReason::kUnknownPrincipal;
    return false;
  }
  return true;
}

IamDecision IamMappings::Decide(const Snapshot& s,
                                const WorkloadAttributes& w, uint64_t revision,
                                Resolution* r) const {
  uint32_t slot = kNone;
  if (w.org.empty()) {
    // Without an organization, a cloud is an id, or a name in the only one.
    auto it = cloud_by_key_.find(w.cloud);
    if (it != cloud_by_key_.end()) slot = it->second;
  } else {
    const uint32_t node = FindCloud(s, w.cloud, w.org);
    auto it = cloud_slot_.find(node);
    if (it != cloud_slot_.end()) slot = it->second;
  }
  if (slot == kNone) return Fail(IamReason::kUnknownCloud, revision);
  r->cloud_node = cloud_nodes_[slot];
  const CloudMapping& m = *clouds_[slot];
  r->cloud = &m;

  if (w.type == v1::WORKLOAD_TYPE_UNSPECIFIED ||
      !v1::WorkloadType_IsValid(w.type) || !m.SetType(w.type, &r->workload)) {
    return Fail(IamReason::kInvalidWorkloadType, revision);
  }

  // An id of a project of this cloud, or a name in it; "" is the default
  // project.
  const uint32_t project = m.FindProject(w.project);
  if (project == kNone) return Fail(IamReason::kUnknownProject, revision);
  r->project_node = m.project_node(project);
  m.SetProject(project, &r->workload);

  const ComputeConfigEntry* cc = nullptr;
  if (!w.compute_config.empty()) {
    cc = FindComputeConfig(s, r->cloud_node, w.compute_config,
                           &r->compute_config_node);
    if (cc == nullptr) return Fail(IamReason::kUnknownComputeConfig, revision);
    r->compute_config_identity = cc->identity;
  }

  IamReason user_failure;
  if (!ResolveUser(s, w.user, s.nodes[r->cloud_node].path[kOrgLevel], &r->user,
                   &user_failure)) {
    return Fail(user_failure, revision);
  }
  m.SetUser(r->user, &r->workload);
  r->resolved = true;

  IamDecision d;
  d.revision = revision;
  const bool has_override = cc != nullptr && !cc->identity.empty();
  if (has_override && s.options.iam_override_precedence ==
                          IamOverridePrecedence::kComputeConfigWins) {
    d.outcome = IamOutcome::kMapped;
    d.reason = IamReason::kComputeConfigOverride;
    d.identity = cc->identity;
    return d;
  }

  uint32_t rule = kNoRule;
  if (!m.FirstMatch(&r->workload, &rule)) {
    return Fail(IamReason::kInternalError, revision);
  }
  if (rule != kNoRule) {
    d.outcome = IamOutcome::kMapped;
    d.reason = IamReason::kRuleMatched;
    d.identity = m.identity(rule);
    d.rule_index = static_cast<int>(rule);
    return d;
  }
  // No rule matched. FAIL is the admin's guardrail: nothing overrides it
  // under kMappingWins (kComputeConfigWins returned above).
  if (m.fails_by_default()) return Fail(IamReason::kNoRuleMatched, revision);
  if (has_override) {
    d.outcome = IamOutcome::kMapped;
    d.reason = IamReason::kComputeConfigOverride;
    d.identity = cc->identity;
    return d;
  }
  d.outcome = IamOutcome::kCloudDefault;
  d.reason = IamReason::kNoRuleMatched;
  d.identity = m.default_identity();
  return d;
}

IamDecision IamMappings::Resolve(const Snapshot& s,
                                 const WorkloadAttributes& w,
                                 uint64_t revision) const noexcept {
  // Resolution allocates nothing itself, but RE2 may (and could throw
  // std::bad_alloc): fail closed rather than terminate.
  try {
    Resolution r;
    return Decide(s, w, revision, &r);
  } catch (...) {
    return Fail(IamReason::kInternalError, revision);
  }
}

IamExplanation IamMappings::Explain(const Snapshot& s,
                                    const WorkloadAttributes& w,
                                    uint64_t revision) const {
  IamExplanation e;
  Resolution r;
  e.decision = Decide(s, w, revision, &r);
  e.workload_type = std::string(WorkloadTypeLabel(w.type));
  if (r.cloud_node != kNone)
    e.cloud_id = std::string(s.node_ids.Get(r.cloud_node));
  if (r.project_node != kNone) {
    e.project_name = std::string(s.node_names.Get(r.project_node));
  }
  if (r.compute_config_node != kNone) {
    e.compute_config_id = std::string(s.node_ids.Get(r.compute_config_node));
    e.compute_config_identity = std::string(r.compute_config_identity);
  }
  e.user = absl::AsciiStrToLower(r.user);
  if (!r.resolved) return e;

  // The trace is a plain scan in list order, independent of the indexes that
  // Resolve uses; tests check that both agree.
  const CloudMapping& m = *r.cloud;
  for (uint32_t i = 0; i < m.num_rules(); ++i) {
    IamRuleTrace t;
    t.rule_index = static_cast<int>(i);
    t.selector = std::string(m.selector(i));
    t.identity = std::string(m.identity(i));
    const int failing = m.FirstFailing(i, &r.workload);
    if (failing < 0) {
      t.matched = true;
      e.rules.push_back(std::move(t));
      break;
    }
    const SelectorKey key = m.requirement_key(i, failing);
    const int k = static_cast<int>(key);
    absl::StrAppend(&t.failed_requirement, m.requirement_text(i, failing),
                    ": ");
    if (!r.workload.present[k]) {
      absl::StrAppend(&t.failed_requirement,
                      "a cluster has no workload-type (workload-type "
                      "requirements never match it)");
    } else {
      absl::StrAppend(&t.failed_requirement, SelectorKeyName(key), " is ",
                      key == SelectorKey::kUser ? absl::string_view(e.user)
                                                : r.workload.text[k]);
    }
    e.rules.push_back(std::move(t));
  }
  return e;
}

size_t IamMappings::MemoryUsage() const {
  size_t bytes = sizeof(*this) +
                 clouds_.capacity() * sizeof(std::unique_ptr<CloudMapping>) +
                 cloud_slot_.capacity() * 2 * sizeof(uint32_t) +
                 cloud_nodes_.capacity() * sizeof(uint32_t) +
                 cloud_by_key_.capacity() *
                     (sizeof(absl::string_view) + sizeof(uint32_t)) +
                 compute_config_by_name_.capacity() *
                     (sizeof(ChildKey) + sizeof(uint32_t));
  for (const auto& m : clouds_) bytes += m->MemoryUsage();
  for (const auto& [node, entry] : compute_configs_) {
    bytes += sizeof(node) + sizeof(entry) + entry.identity.capacity();
  }
  return bytes;
}

}  // namespace internal
}  // namespace arbiter
