#include "src/admin/transaction.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "arbiter/quota.h"
#include "src/admin/refusal.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return Refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                absl::StrCat(field, ": ", message));
}

absl::Status NotFound(absl::string_view field, absl::string_view message) {
  return Refuse(absl::StatusCode::kNotFound, Refusal::kNotFound,
                absl::StrCat(field, ": ", message));
}

absl::Status Violates(absl::StatusCode code, Refusal refusal,
                      absl::string_view field, absl::string_view message) {
  return Refuse(code, refusal, absl::StrCat(field, ": ", message));
}

bool Live(const v1::Principal& p) {
  return p.state() != v1::PRINCIPAL_STATE_DELETED;
}
bool Active(const v1::Principal& p) {
  return p.state() == v1::PRINCIPAL_STATE_ACTIVE ||
         p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED;
}

const std::string& ScopeOf(const v1::Grant& g) {
  return g.has_org_id()     ? g.org_id()
         : g.has_cloud_id() ? g.cloud_id()
                            : g.project_id();
}

}  // namespace

TransactionApplier::TransactionApplier(IndexedState& state,
                                       const Engine& engine,
                                       const v1::Transaction& transaction,
                                       const PolicyStoreOptions& options,
                                       absl::Time now, uint64_t revision)
    : state_(state),
      engine_(engine),
      txn_(transaction),
      options_(options),
      now_(now),
      revision_(revision) {}

// ---- Names
// -------------------------------------------------------------------

absl::Status TransactionApplier::ResolveActor() {
  // The organization: by id, or the one named so.
  if (!txn_.org_id().empty()) {
    if (state_.Org(txn_.org_id()) != nullptr) {
      org_ = txn_.org_id();
    } else {
      for (const v1::Organization& o : state_.state().organizations()) {
        if (o.name() == txn_.org_id()) org_ = o.id();
      }
    }
    if (org_.empty()) {
      return NotFound("org_id",
                      absl::StrCat("no organization ", Quote(txn_.org_id())));
    }
  }
  if (txn_.actor().empty()) return Invalid("actor", "missing actor");
  const v1::Principal* actor = nullptr;
  if (txn_.actor().find('@') == std::string::npos) {
    actor = state_.Principal(txn_.actor());
  } else if (!org_.empty()) {
    for (const v1::Principal* p :
         state_.PrincipalsByEmail(org_, txn_.actor())) {
      if (Live(*p)) actor = p;
    }
  } else {
    for (const v1::Organization& o : state_.state().organizations()) {
      for (const v1::Principal* p :
           state_.PrincipalsByEmail(o.id(), txn_.actor())) {
        if (!Live(*p)) continue;
        if (actor != nullptr) {
          return Invalid("actor", absl::StrCat(Quote(txn_.actor()),
                                               " is a member of several "
                                               "organizations: set org_id"));
        }
        actor = p;
      }
    }
  }
  if (actor == nullptr || (!org_.empty() && actor->org_id() != org_)) {
    return NotFound("actor",
                    absl::StrCat("no principal ", Quote(txn_.actor()),
                                 org_.empty() ? "" : " in the organization"));
  }
  org_ = actor->org_id();
  actor_ = actor->id();
  actor_email_ = actor->email();
  actor_name_ = actor->name();
  return absl::OkStatus();
}

absl::StatusOr<const v1::Principal*> TransactionApplier::FindPrincipal(
    absl::string_view name, const char* field) const {
  const std::string where = absl::StrCat(field_, ".", field);
  if (name.empty()) return Invalid(where, "missing principal");
  if (name.find('@') == absl::string_view::npos) {
    const v1::Principal* p = state_.Principal(name);
    if (p != nullptr && p->org_id() == org_) return p;
  } else {
    const v1::Principal* found = nullptr;
    for (const v1::Principal* p : state_.PrincipalsByEmail(org_, name)) {
      if (Live(*p)) found = p;
    }
    if (found != nullptr) return found;
  }
  return NotFound(where, absl::StrCat("no principal ", Quote(name),
                                      " in organization ", Quote(org_)));
}

absl::StatusOr<const v1::Cloud*> TransactionApplier::FindCloud(
    absl::string_view name, const char* field) const {
  const std::string where = absl::StrCat(field_, ".", field);
  if (const v1::Cloud* c = state_.Cloud(name); c != nullptr) {
    if (c->org_id() == org_) return c;
  }
  for (const std::string& id : state_.CloudsOf(org_)) {
    const v1::Cloud* c = state_.Cloud(id);
    if (c != nullptr && c->name() == name) return c;
  }
  return NotFound(where, absl::StrCat("no cloud ", Quote(name),
                                      " in organization ", Quote(org_)));
}

absl::StatusOr<const v1::Project*> TransactionApplier::FindProject(
    absl::string_view name, const char* field) const {
  const std::string where = absl::StrCat(field_, ".", field);
  const size_t slash = name.find('/');
  if (slash == absl::string_view::npos) {
    const v1::Project* p = state_.Project(name);
    if (p != nullptr) {
      const v1::Cloud* c = state_.Cloud(p->cloud_id());
      if (c != nullptr && c->org_id() == org_) return p;
    }
  } else {
    absl::StatusOr<const v1::Cloud*> cloud =
        FindCloud(name.substr(0, slash), field);
    if (cloud.ok()) {
      for (const std::string& id : state_.ProjectsOf((*cloud)->id())) {
        const v1::Project* p = state_.Project(id);
        if (p != nullptr && p->name() == name.substr(slash + 1)) return p;
      }
    }
  }
  return NotFound(where, absl::StrCat("no project ", Quote(name),
                                      " in organization ", Quote(org_)));
}

absl::StatusOr<const v1::Group*> TransactionApplier::FindGroup(
    absl::string_view name, const char* field) const {
  const std::string where = absl::StrCat(field_, ".", field);
  if (const v1::Group* g = state_.Group(name); g != nullptr) {
    if (g->org_id() == org_) return g;
  }
  for (const std::string& id : state_.GroupsOf(org_)) {
    const v1::Group* g = state_.Group(id);
    if (g != nullptr && g->name() == name) return g;
  }
  return Violates(
      absl::StatusCode::kNotFound, Refusal::kUnknownGroup, where,
      absl::StrCat("no group ", Quote(name), " in organization ", Quote(org_)));
}

std::string TransactionApplier::NewId(absl::string_view prefix) const {
  // Deterministic for a transaction (revision and a counter), unique in the
  // state.
  while (true) {
    std::string id = absl::StrFormat("%s%x_%x", prefix, revision_, next_id_++);
    bool used = false;
    for (int k = 0; k < kNumObjKinds && !used; ++k) {
      used = state_.Find(static_cast<ObjKind>(k), id) != nullptr;
    }
    if (!used) return id;
  }
}

// ---- Authorization
// -----------------------------------------------------------

absl::Status TransactionApplier::Authorize(absl::string_view permission,
                                           absl::string_view resource_id) {
  if (created_.contains(resource_id)) return absl::OkStatus();
  AccessRequest request;
  request.principal = actor_;
  request.permission = permission;
  request.resource = resource_id;
  request.org = org_;
  request.context.now = now_;
  const Decision d = engine_.Check(request);
  if (d.allowed()) return absl::OkStatus();
  return Violates(
      absl::StatusCode::kPermissionDenied,
      d.reason == Reason::kProtectedResource ? Refusal::kProtectedResource
                                             : Refusal::kPermissionDenied,
      field_,
      absl::StrCat(Quote(actor_), " may not ", permission, " on ",
                   Quote(resource_id), " (", ReasonName(d.reason), ")"));
}

// ---- Changes
// -----------------------------------------------------------------

absl::Status TransactionApplier::Apply(const StateDelta& delta) {
  IndexedState::UndoLog log;
  absl::Status s = state_.Apply(delta, &log);
  if (!s.ok()) {
    return WithRefusal(
        absl::Status(s.code(), absl::StrCat(field_, ": ", s.message())),
        s.code() == absl::StatusCode::kNotFound ? Refusal::kNotFound
                                                : Refusal::kInvalid);
  }
  logs_.push_back(std::move(log));
  return absl::OkStatus();
}

absl::Status TransactionApplier::PutPrincipal(const v1::Principal& p) {
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  *d.mutable_proto()->add_put_principals() = p;
  return Apply(d);
}

absl::Status TransactionApplier::AddGrant(v1::Grant grant) {
  if (grant.id().empty()) grant.set_id(NewId("g_"));
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  d.AddGrant(grant);
  if (IsOrgOwnerRole(grant.role())) owners_changed_ = true;
  added_grants_.insert(grant.id());
  touched_subjects_.insert(grant.has_group_id() ? grant.group_id()
                                                : grant.principal_id());
  return Apply(d);
}

absl::Status TransactionApplier::RemoveGrant(const v1::Grant& grant) {
  StateDelta d;
  d.set_revisions(state_.revision(), state_.revision());
  d.RemoveGrant(grant);
  if (IsOrgOwnerRole(grant.role())) owners_changed_ = true;
  return Apply(d);
}

std::vector<const v1::Grant*> TransactionApplier::GrantsOfOn(
    absl::string_view subject, absl::string_view scope) const {
  std::vector<const v1::Grant*> out;
  for (const std::string& id : state_.GrantsOf(subject)) {
    const v1::Grant* g = state_.Grant(id);
    if (g != nullptr && ScopeOf(*g) == scope) out.push_back(g);
  }
  std::sort(out.begin(), out.end(), [](const v1::Grant* a, const v1::Grant* b) {
    return a->id() < b->id();
  });
  return out;
}

absl::Status TransactionApplier::RemoveGrantsOf(
    absl::string_view subject, const absl::flat_hash_set<std::string>& scopes,
    bool allow_roles, bool deny_roles) {
  std::vector<v1::Grant> doomed;
  for (const std::string& id : state_.GrantsOf(subject)) {
    const v1::Grant* g = state_.Grant(id);
    if (g == nullptr || !scopes.contains(ScopeOf(*g))) continue;
    const v1::Role* role = ProfileRole(g->role());
    const bool deny = role != nullptr && role->effect() == v1::ROLE_EFFECT_DENY;
    if ((deny && deny_roles) || (!deny && allow_roles)) doomed.push_back(*g);
  }
  std::sort(
      doomed.begin(), doomed.end(),
      [](const v1::Grant& a, const v1::Grant& b) { return a.id() < b.id(); });
  for (const v1::Grant& g : doomed) {
    if (absl::Status s = RemoveGrant(g); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void TransactionApplier::Audit(
    absl::string_view action, absl::string_view entity,
    absl::string_view resource_id,
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        metadata) {
  const std::string& ip = txn_.metadata().source_ip();
  AuditActor actor{actor_, actor_name_, actor_email_, ip};
  AuditEvent event{org_, action, entity, resource_id, revision_, now_};
  audit_.push_back(NewAuditRecord(actor, event, metadata));
}

// ---- Facts
// -------------------------------------------------------------------

const v1::Role* TransactionApplier::ProfileRole(absl::string_view name) const {
  for (const v1::Role& r : engine_.profile().roles()) {
    if (r.name() == name) return &r;
  }
  // A custom role this transaction added.
  return state_.CustomRole(name);
}

bool TransactionApplier::IsOrgOwnerRole(absl::string_view role) const {
  const v1::Role* r = ProfileRole(role);
  return r != nullptr && r->all_permissions();
}

bool TransactionApplier::Holds(absl::string_view principal,
                               absl::string_view role,
                               absl::string_view scope) const {
  auto live = [&](const v1::Grant& g) {
    return !g.has_expires_at() ||
           absl::FromUnixSeconds(g.expires_at().seconds()) +
                   absl::Nanoseconds(g.expires_at().nanos()) >
               now_;
  };
  std::vector<std::string> subjects = state_.AllGroupsOf(principal);
  subjects.emplace_back(principal);
  for (const std::string& subject : subjects) {
    for (const v1::Grant* g : GrantsOfOn(subject, scope)) {
      if (g->role() == role && live(*g)) return true;
    }
  }
  return false;
}

bool TransactionApplier::IsOrgOwner(absl::string_view principal) const {
  for (const v1::Role& r : engine_.profile().roles()) {
    if (r.all_permissions() && Holds(principal, r.name(), org_)) return true;
  }
  return false;
}

size_t TransactionApplier::CountOrgOwners() const {
  absl::flat_hash_set<std::string> owners, seen_groups;
  std::vector<std::string> groups;
  for (const std::string& id : state_.GrantsOn(org_)) {
    const v1::Grant* g = state_.Grant(id);
    if (g == nullptr || !IsOrgOwnerRole(g->role())) continue;
    if (g->has_expires_at() &&
        absl::FromUnixSeconds(g->expires_at().seconds()) +
                absl::Nanoseconds(g->expires_at().nanos()) <=
            now_) {
      continue;
    }
    if (g->has_group_id()) {
      groups.push_back(g->group_id());
    } else {
      const v1::Principal* p = state_.Principal(g->principal_id());
      if (p != nullptr && (p->state() == v1::PRINCIPAL_STATE_ACTIVE ||
                           p->state() == v1::PRINCIPAL_STATE_UNSPECIFIED)) {
        owners.insert(p->id());
      }
    }
  }
  while (!groups.empty()) {
    const std::string group = std::move(groups.back());
    groups.pop_back();
    if (!seen_groups.insert(group).second) continue;
    const v1::Group* g = state_.Group(group);
    if (g == nullptr) continue;
    for (const std::string& member : g->member_ids()) {
      if (const v1::Principal* p = state_.Principal(member)) {
        if (p->state() == v1::PRINCIPAL_STATE_ACTIVE ||
            p->state() == v1::PRINCIPAL_STATE_UNSPECIFIED) {
          owners.insert(p->id());
        }
      } else {
        groups.push_back(member);
      }
    }
  }
  return owners.size();
}

// A principal holding cloud_read_only on a cloud may hold at most
// project_readonly on its projects, and never cloud_owner on it (§3.3,
// §4.3), whether the grants are its own or its groups'. The rule is judged
// for every active principal that a grant or a membership added by this
// transaction reaches, and only breaches the transaction makes are refused:
// a breach the state already had (a loaded state is never refused for one)
// never blocks a change, so a revocation is never refused for it. A breach is
// made when one of its two grants is new, or when it reaches the principal
// through a group held by it and some group of the principal grew.
absl::Status TransactionApplier::CheckReadOnlyCaps() const {
  static constexpr char kCloudReadOnly[] = "cloud_read_only";
  if (added_grants_.empty() && grown_groups_.empty()) return absl::OkStatus();
  std::vector<std::string> principals;
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> stack(touched_subjects_.begin(),
                                 touched_subjects_.end());
  stack.insert(stack.end(), grown_groups_.begin(), grown_groups_.end());
  while (!stack.empty()) {
    const std::string subject = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(subject).second) continue;
    if (const v1::Principal* p = state_.Principal(subject)) {
      if (Active(*p)) principals.push_back(subject);
    } else if (const v1::Group* g = state_.Group(subject)) {
      for (const std::string& m : g->member_ids()) stack.push_back(m);
    }
  }
  std::sort(principals.begin(), principals.end());
  auto live = [&](const v1::Grant& g) {
    return !g.has_expires_at() ||
           absl::FromUnixSeconds(g.expires_at().seconds()) +
                   absl::Nanoseconds(g.expires_at().nanos()) >
               now_;
  };
  struct Held {
    bool any = false;  // some grant
    bool old = false;  // some grant the transaction did not make
    std::string via;   // the group of the first, if any
  };
  for (const std::string& principal : principals) {
    std::vector<std::string> subjects = state_.AllGroupsOf(principal);
    bool grown = false;
    for (const std::string& g : subjects) grown |= grown_groups_.contains(g);
    subjects.push_back(principal);
    absl::flat_hash_map<std::string, Held> read_only, owner;
    std::vector<std::pair<const v1::Grant*, bool>> project_grants;
    for (const std::string& subject : subjects) {
      for (const std::string& id : state_.GrantsOf(subject)) {
        const v1::Grant* g = state_.Grant(id);
        if (g == nullptr || !live(*g)) continue;
        const bool fresh =
            added_grants_.contains(id) || (grown && g->has_group_id());
        const v1::Role* role = ProfileRole(g->role());
        if (role == nullptr || role->effect() == v1::ROLE_EFFECT_DENY) {
          if (g->role() != kCloudReadOnly || g->cloud_id().empty()) continue;
        }
        Held* held = nullptr;
        if (!g->project_id().empty()) {
          if (g->role() != "project_readonly") {
            project_grants.emplace_back(g, fresh);
          }
          continue;
        }
        if (g->cloud_id().empty()) continue;
        if (g->role() == kCloudReadOnly) {
          held = &read_only[g->cloud_id()];
        } else if (g->role() == "cloud_owner") {
          held = &owner[g->cloud_id()];
        } else {
          continue;
        }
        if (!held->any) held->via = g->group_id();
        held->any = true;
        held->old |= !fresh;
      }
    }
    auto through = [](const std::string& group) {
      return group.empty() ? std::string()
                           : absl::StrCat(" (through group ", Quote(group), ")");
    };
    std::vector<std::string> clouds;
    for (const auto& [cloud, held] : owner) clouds.push_back(cloud);
    std::sort(clouds.begin(), clouds.end());
    for (const std::string& cloud : clouds) {
      const auto ro = read_only.find(cloud);
      if (ro == read_only.end()) continue;
      const Held& o = owner[cloud];
      if (o.old && ro->second.old) continue;  // the state had it
      return Violates(
          absl::StatusCode::kFailedPrecondition, Refusal::kOwnerWithReadOnly,
          "mutations",
          absl::StrCat(Quote(principal), " would hold cloud_owner",
                       through(o.via), " together with cloud_read_only",
                       through(ro->second.via), " on cloud ", Quote(cloud)));
    }
    std::sort(project_grants.begin(), project_grants.end(),
              [](const auto& a, const auto& b) {
                return a.first->id() < b.first->id();
              });
    for (const auto& [g, fresh] : project_grants) {
      const v1::Project* project = state_.Project(g->project_id());
      if (project == nullptr) continue;
      const auto ro = read_only.find(project->cloud_id());
      if (ro == read_only.end()) continue;
      if (!fresh && ro->second.old) continue;  // the state had it
      return Violates(
          absl::StatusCode::kFailedPrecondition, Refusal::kReadOnlyCap,
          "mutations",
          absl::StrCat(Quote(principal), " would hold ", Quote(g->role()),
                       through(g->group_id()), " on project ",
                       Quote(g->project_id()), " while holding cloud_read_only",
                       through(ro->second.via), " on cloud ",
                       Quote(project->cloud_id()),
                       ": at most project_readonly on its projects"));
    }
  }
  return absl::OkStatus();
}

bool TransactionApplier::ScimWithBinding() const {
  const v1::IdentitySettings* settings = state_.IdentitySettings(org_);
  if (settings == nullptr || !settings->scim_enabled()) return false;
  for (const std::string& group : state_.GroupsOf(org_)) {
    if (!state_.GrantsOf(group).empty()) return true;
  }
  return false;
}

// ---- Driving
// -----------------------------------------------------------------

namespace {

// Whether a mutation may change who the organization's owners are (an org
// role, a principal's state, a group's members or bindings, a role's
// permissions). The others touch cloud and project grants, resources, quotas,
// budgets, keys and settings only, and so leave the owners as they are;
// CheckResult fails closed if one of them marks the owners changed anyway.
bool MayChangeOrgOwners(const v1::Mutation& m) {
  switch (m.op_case()) {
    case v1::Mutation::kCreateCloud:
    case v1::Mutation::kCreateProject:
    case v1::Mutation::kDeleteProject:
    case v1::Mutation::kSetProjectVisibility:
    case v1::Mutation::kSetCloudMember:
    case v1::Mutation::kRemoveCloudMember:
    case v1::Mutation::kSetProjectMember:
    case v1::Mutation::kRemoveProjectMember:
    case v1::Mutation::kSetAutoAdd:
    case v1::Mutation::kSetIamMapping:
    case v1::Mutation::kCreateQuota:
    case v1::Mutation::kSetQuotaEnabled:
    case v1::Mutation::kModifyQuota:
    case v1::Mutation::kDeleteQuota:
    case v1::Mutation::kCreateBudget:
    case v1::Mutation::kSetBudgetEnabled:
    case v1::Mutation::kModifyBudget:
    case v1::Mutation::kDeleteBudget:
    case v1::Mutation::kInviteUsers:
    case v1::Mutation::kDeleteInvitation:
    case v1::Mutation::kExpireInvitations:
    case v1::Mutation::kCreateApiKey:
    case v1::Mutation::kRevokeApiKey:
    case v1::Mutation::kRevokeApiKeys:
    case v1::Mutation::kRotateApiKeys:
    case v1::Mutation::kSetIdentitySettings:
      return false;
    default:
      return true;
  }
}

}  // namespace

absl::Status TransactionApplier::ApplyMutations() {
  if (absl::Status s = ResolveActor(); !s.ok()) return s;
  for (const v1::Mutation& m : txn_.mutations()) {
    if (MayChangeOrgOwners(m)) {
      owners_before_ = CountOrgOwners();
      owners_counted_ = true;
      break;
    }
  }
  for (int i = 0; i < txn_.mutations_size(); ++i) {
    if (absl::Status s = Mutate(i, txn_.mutations(i)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TransactionApplier::Mutate(int index, const v1::Mutation& m) {
  const google::protobuf::FieldDescriptor* op =
      m.GetReflection()->GetOneofFieldDescriptor(
          m, v1::Mutation::descriptor()->FindOneofByName("op"));
  field_ = absl::StrCat("mutations[", index, "]",
                        op != nullptr ? absl::StrCat(".", op->name()) : "");
  index_ = index;
  if (m.has_scim_enforce_groups() && m.scim_enforce_groups().dry_run()) {
    if (txn_.mutations_size() != 1) {
      return Invalid(field_, "a dry run must be the only mutation");
    }
    dry_run_ = true;
  }
  switch (m.op_case()) {
    case v1::Mutation::kInviteUsers:
      return InviteUsers(m.invite_users());
    case v1::Mutation::kAcceptInvitation:
      return AcceptInvitation(m.accept_invitation());
    case v1::Mutation::kRemoveUser:
      return RemoveUser(m.remove_user());
    case v1::Mutation::kSetOrgRole:
      return SetOrgRole(m.set_org_role());
    case v1::Mutation::kCreateCloud:
      return CreateCloud(m.create_cloud());
    case v1::Mutation::kDeleteCloud:
      return DeleteCloud(m.delete_cloud());
    case v1::Mutation::kCreateProject:
      return CreateProject(m.create_project());
    case v1::Mutation::kDeleteProject:
      return DeleteProject(m.delete_project());
    case v1::Mutation::kSetProjectVisibility:
      return SetProjectVisibility(m.set_project_visibility());
    case v1::Mutation::kSetCloudMember:
      return SetCloudMember(m.set_cloud_member());
    case v1::Mutation::kRemoveCloudMember:
      return RemoveCloudMember(m.remove_cloud_member());
    case v1::Mutation::kSetProjectMember:
      return SetProjectMember(m.set_project_member());
    case v1::Mutation::kRemoveProjectMember:
      return RemoveProjectMember(m.remove_project_member());
    case v1::Mutation::kSetAutoAdd:
      return SetAutoAdd(m.set_auto_add());
    case v1::Mutation::kSetGroupPolicy:
      return SetGroupPolicy(m.set_group_policy());
    case v1::Mutation::kDeleteGroup:
      return DeleteGroup(m.delete_group());
    case v1::Mutation::kSyncGroup:
      return SyncGroup(m.sync_group());
    case v1::Mutation::kScimEnforceGroups:
      return ScimEnforceGroups(m.scim_enforce_groups());
    case v1::Mutation::kCreateServiceAccount:
      return CreateServiceAccount(m.create_service_account());
    case v1::Mutation::kDeleteServiceAccount:
      return DeleteServiceAccount(m.delete_service_account());
    case v1::Mutation::kSetCustomRole:
      return SetCustomRole(m.set_custom_role());
    case v1::Mutation::kDeleteCustomRole:
      return DeleteCustomRole(m.delete_custom_role());
    case v1::Mutation::kSetIamMapping:
      return SetIamMapping(m.set_iam_mapping());
    case v1::Mutation::kCreateQuota:
    case v1::Mutation::kSetQuotaEnabled:
    case v1::Mutation::kModifyQuota:
    case v1::Mutation::kDeleteQuota:
    case v1::Mutation::kCreateBudget:
    case v1::Mutation::kSetBudgetEnabled:
    case v1::Mutation::kModifyBudget:
    case v1::Mutation::kDeleteBudget:
      return QuotaMutation(m);
    case v1::Mutation::kDeleteInvitation:
    case v1::Mutation::kExpireInvitations:
    case v1::Mutation::kCreateApiKey:
    case v1::Mutation::kRevokeApiKey:
    case v1::Mutation::kRevokeApiKeys:
    case v1::Mutation::kRotateApiKeys:
    case v1::Mutation::kSetIdentitySettings:
      return IdentityMutation(m);
    case v1::Mutation::OP_NOT_SET:
      break;
  }
  return Invalid(field_, "empty mutation (set one operation)");
}

}  // namespace internal
}  // namespace arbiter
