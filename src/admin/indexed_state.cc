#include "src/admin/indexed_state.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct KindSpec {
  const char* field;  // PolicySet's repeated field, and delta's put_/delete_
  const char* key;    // the object's key field
};
constexpr KindSpec kSpecs[kNumObjKinds] = {
    {"organizations", "id"},   {"clouds", "id"},
    {"projects", "id"},        {"workloads", "id"},
    {"compute_configs", "id"}, {"images", "id"},
    {"principals", "id"},      {"groups", "id"},
    {"grants", "id"},          {"custom_permissions", "name"},
    {"custom_roles", "name"},  {"quotas", "id"},
    {"budgets", "id"},         {"api_keys", "id"},
    {"invitations", "id"},     {"identity_settings", "org_id"},
};

// Removals apply in this order, puts in the reverse: children go before
// their parents, parents come before their children.
constexpr ObjKind kRemovalOrder[] = {
    ObjKind::kGrant,
    ObjKind::kApiKey,
    ObjKind::kInvitation,
    ObjKind::kQuota,
    ObjKind::kBudget,
    ObjKind::kWorkload,
    ObjKind::kComputeConfig,
    ObjKind::kImage,
    ObjKind::kProject,
    ObjKind::kCloud,
    ObjKind::kGroup,
    ObjKind::kPrincipal,
    ObjKind::kIdentitySettings,
    ObjKind::kCustomRole,
    ObjKind::kCustomPermission,
    ObjKind::kOrg,
};

const absl::flat_hash_set<std::string>& Empty() {
  static const auto* empty = new absl::flat_hash_set<std::string>();
  return *empty;
}

const absl::flat_hash_set<std::string>& Lookup(
    const absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>&
        index,
    absl::string_view key) {
  auto it = index.find(key);
  return it == index.end() ? Empty() : it->second;
}

void Link(
    absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>& index,
    absl::string_view key, absl::string_view value, bool add) {
  if (key.empty()) return;
  if (add) {
    index[key].insert(std::string(value));
    return;
  }
  auto it = index.find(key);
  if (it == index.end()) return;
  it->second.erase(value);
  if (it->second.empty()) index.erase(it);
}

std::string EmailKey(absl::string_view org, absl::string_view email) {
  return absl::StrCat(org, "\n", absl::AsciiStrToLower(email));
}

}  // namespace

IndexedState::IndexedState(v1::PolicySet state) : state_(std::move(state)) {
  const Descriptor* d = v1::PolicySet::descriptor();
  for (int k = 0; k < kNumObjKinds; ++k) {
    Table& t = tables_[k];
    t.field = d->FindFieldByName(kSpecs[k].field);
    t.key = t.field->message_type()->FindFieldByName(kSpecs[k].key);
    const Reflection* r = state_.GetReflection();
    const int n = r->FieldSize(state_, t.field);
    t.position.reserve(n);
    for (int i = 0; i < n; ++i) {
      const Message& m = r->GetRepeatedMessage(state_, t.field, i);
      t.position.emplace(KeyOf(static_cast<ObjKind>(k), m), i);
      IndexObject(static_cast<ObjKind>(k), m, true);
    }
  }
}

std::string IndexedState::KeyOf(ObjKind kind, const Message& m) const {
  return m.GetReflection()->GetString(m, tables_[static_cast<int>(kind)].key);
}

google::protobuf::RepeatedPtrField<Message>* IndexedState::Field(ObjKind kind) {
  return state_.GetReflection()->MutableRepeatedPtrField<Message>(
      &state_, tables_[static_cast<int>(kind)].field);
}

const Message& IndexedState::At(ObjKind kind, int position) const {
  return state_.GetReflection()->GetRepeatedMessage(
      state_, tables_[static_cast<int>(kind)].field, position);
}

const Message* IndexedState::Find(ObjKind kind, absl::string_view key) const {
  const Table& t = tables_[static_cast<int>(kind)];
  auto it = t.position.find(key);
  return it == t.position.end() ? nullptr : &At(kind, it->second);
}

int IndexedState::Position(ObjKind kind, absl::string_view key) const {
  const Table& t = tables_[static_cast<int>(kind)];
  auto it = t.position.find(key);
  return it == t.position.end() ? -1 : it->second;
}

#define ARBITER_TYPED_FIND(Method, Type, Kind)                      \
  const v1::Type* IndexedState::Method(absl::string_view k) const { \
    return static_cast<const v1::Type*>(Find(ObjKind::Kind, k));    \
  }
ARBITER_TYPED_FIND(Org, Organization, kOrg)
ARBITER_TYPED_FIND(Cloud, Cloud, kCloud)
ARBITER_TYPED_FIND(Project, Project, kProject)
ARBITER_TYPED_FIND(Workload, Workload, kWorkload)
ARBITER_TYPED_FIND(Principal, Principal, kPrincipal)
ARBITER_TYPED_FIND(Group, Group, kGroup)
ARBITER_TYPED_FIND(Grant, Grant, kGrant)
ARBITER_TYPED_FIND(Quota, ResourceQuota, kQuota)
ARBITER_TYPED_FIND(Budget, Budget, kBudget)
ARBITER_TYPED_FIND(CustomRole, Role, kCustomRole)
ARBITER_TYPED_FIND(IdentitySettings, IdentitySettings, kIdentitySettings)
#undef ARBITER_TYPED_FIND

const absl::flat_hash_set<std::string>& IndexedState::GrantsOf(
    absl::string_view subject) const {
  return Lookup(grants_of_, subject);
}
const absl::flat_hash_set<std::string>& IndexedState::GrantsOn(
    absl::string_view scope) const {
  return Lookup(grants_on_, scope);
}
const absl::flat_hash_set<std::string>& IndexedState::GroupsContaining(
    absl::string_view subject) const {
  return Lookup(groups_containing_, subject);
}
const absl::flat_hash_set<std::string>& IndexedState::ProjectsOf(
    absl::string_view cloud) const {
  return Lookup(projects_of_, cloud);
}
const absl::flat_hash_set<std::string>& IndexedState::WorkloadsOf(
    absl::string_view project) const {
  return Lookup(workloads_of_, project);
}
const absl::flat_hash_set<std::string>& IndexedState::CloudsOf(
    absl::string_view org) const {
  return Lookup(clouds_of_, org);
}
const absl::flat_hash_set<std::string>& IndexedState::PrincipalsOf(
    absl::string_view org) const {
  return Lookup(principals_of_, org);
}
const absl::flat_hash_set<std::string>& IndexedState::GroupsOf(
    absl::string_view org) const {
  return Lookup(groups_of_, org);
}

const absl::flat_hash_set<std::string>& IndexedState::ApiKeysOf(
    absl::string_view principal) const {
  return Lookup(api_keys_of_, principal);
}

const absl::flat_hash_set<std::string>& IndexedState::InvitationsOf(
    absl::string_view org) const {
  return Lookup(invitations_of_, org);
}

std::vector<const v1::Principal*> IndexedState::PrincipalsByEmail(
    absl::string_view org, absl::string_view email) const {
  std::vector<const v1::Principal*> out;
  for (const std::string& id :
       Lookup(principals_by_email_, EmailKey(org, email))) {
    if (const v1::Principal* p = Principal(id)) out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const v1::Principal* a, const v1::Principal* b) {
              return a->id() < b->id();
            });
  return out;
}

std::vector<std::string> IndexedState::AllGroupsOf(
    absl::string_view subject) const {
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> stack{std::string(subject)};
  while (!stack.empty()) {
    const std::string x = std::move(stack.back());
    stack.pop_back();
    for (const std::string& g : GroupsContaining(x)) {
      if (!seen.insert(g).second) continue;
      out.push_back(g);
      stack.push_back(g);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void IndexedState::IndexObject(ObjKind kind, const Message& m, bool add) {
  switch (kind) {
    case ObjKind::kGrant: {
      const auto& g = static_cast<const v1::Grant&>(m);
      const std::string& subject =
          g.has_group_id() ? g.group_id() : g.principal_id();
      const std::string& scope = g.has_org_id()     ? g.org_id()
                                 : g.has_cloud_id() ? g.cloud_id()
                                                    : g.project_id();
      Link(grants_of_, subject, g.id(), add);
      Link(grants_on_, scope, g.id(), add);
      break;
    }
    case ObjKind::kGroup: {
      const auto& g = static_cast<const v1::Group&>(m);
      for (const std::string& member : g.member_ids()) {
        Link(groups_containing_, member, g.id(), add);
      }
      Link(groups_of_, g.org_id(), g.id(), add);
      break;
    }
    case ObjKind::kProject: {
      const auto& p = static_cast<const v1::Project&>(m);
      Link(projects_of_, p.cloud_id(), p.id(), add);
      break;
    }
    case ObjKind::kWorkload: {
      const auto& w = static_cast<const v1::Workload&>(m);
      Link(workloads_of_, w.project_id(), w.id(), add);
      break;
    }
    case ObjKind::kCloud: {
      const auto& c = static_cast<const v1::Cloud&>(m);
      Link(clouds_of_, c.org_id(), c.id(), add);
      break;
    }
    case ObjKind::kPrincipal: {
      const auto& p = static_cast<const v1::Principal&>(m);
      Link(principals_of_, p.org_id(), p.id(), add);
      if (!p.email().empty()) {
        Link(principals_by_email_, EmailKey(p.org_id(), p.email()), p.id(),
             add);
      }
      break;
    }
    case ObjKind::kApiKey: {
      const auto& k = static_cast<const v1::ApiKey&>(m);
      Link(api_keys_of_, k.principal_id(), k.id(), add);
      break;
    }
    case ObjKind::kInvitation: {
      const auto& inv = static_cast<const v1::Invitation&>(m);
      Link(invitations_of_, inv.org_id(), inv.id(), add);
      break;
    }
    default:
      break;
  }
}

void IndexedState::Insert(ObjKind kind, std::unique_ptr<Message> m,
                          UndoLog* undo) {
  Table& t = tables_[static_cast<int>(kind)];
  auto* field = Field(kind);
  IndexObject(kind, *m, true);
  std::string key = KeyOf(kind, *m);
  t.position[key] = field->size();
  field->AddAllocated(m.release());
  undo->steps_.push_back({UndoLog::Step::kInserted, kind, field->size() - 1,
                          nullptr, std::move(key)});
}

void IndexedState::Erase(ObjKind kind, int position, UndoLog* undo) {
  Table& t = tables_[static_cast<int>(kind)];
  auto* field = Field(kind);
  const int last = field->size() - 1;
  if (position != last) {
    field->SwapElements(position, last);
    t.position[KeyOf(kind, field->Get(position))] = position;
  }
  std::unique_ptr<Message> erased(field->ReleaseLast());
  std::string key = KeyOf(kind, *erased);
  t.position.erase(key);
  IndexObject(kind, *erased, false);
  undo->steps_.push_back({UndoLog::Step::kErased, kind, position,
                          std::move(erased), std::move(key)});
}

void IndexedState::Replace(ObjKind kind, int position,
                           std::unique_ptr<Message> m, UndoLog* undo) {
  auto* field = Field(kind);
  Message* slot = field->Mutable(position);
  std::unique_ptr<Message> old(slot->New());
  old->GetReflection()->Swap(old.get(), slot);
  IndexObject(kind, *old, false);
  slot->GetReflection()->Swap(slot, m.get());
  IndexObject(kind, *slot, true);
  std::string key = KeyOf(kind, *slot);
  undo->steps_.push_back({UndoLog::Step::kReplaced, kind, position,
                          std::move(old), std::move(key)});
}

absl::Status IndexedState::Apply(const StateDelta& delta, UndoLog* undo) {
  UndoLog log;
  log.revision = state_.revision();
  const v1::StateDelta& d = delta.proto();
  const Descriptor* dd = v1::StateDelta::descriptor();
  const Reflection* dr = d.GetReflection();
  auto fail = [&](absl::Status status) {
    Revert(std::move(log));
    return status;
  };
  // Removals: grants whole, the others by key.
  for (int i = 0; i < d.remove_grants_size(); ++i) {
    const v1::Grant& g = d.remove_grants(i);
    auto it = tables_[static_cast<int>(ObjKind::kGrant)].position.find(g.id());
    if (it == tables_[static_cast<int>(ObjKind::kGrant)].position.end()) {
      return fail(absl::NotFoundError(absl::StrCat(
          "remove_grants[", i, "]: no grant ", Quote(g.id()), " to remove")));
    }
    if (!google::protobuf::util::MessageDifferencer::Equals(
            At(ObjKind::kGrant, it->second), g)) {
      return fail(absl::FailedPreconditionError(
          absl::StrCat("remove_grants[", i, "]: grant ", Quote(g.id()),
                       " differs from the state's")));
    }
    Erase(ObjKind::kGrant, it->second, &log);
  }
  for (ObjKind kind : kRemovalOrder) {
    if (kind == ObjKind::kGrant) continue;
    const FieldDescriptor* f = dd->FindFieldByName(
        absl::StrCat("delete_", kSpecs[static_cast<int>(kind)].field));
    const int n = dr->FieldSize(d, f);
    for (int i = 0; i < n; ++i) {
      const std::string key = dr->GetRepeatedString(d, f, i);
      Table& t = tables_[static_cast<int>(kind)];
      auto it = t.position.find(key);
      if (it == t.position.end()) {
        return fail(absl::NotFoundError(absl::StrCat(
            f->name(), "[", i, "]: no object ", Quote(key), " to remove")));
      }
      Erase(kind, it->second, &log);
    }
  }
  // Puts, parents first.
  for (int r = kNumObjKinds - 1; r >= 0; --r) {
    const ObjKind kind = kRemovalOrder[r];
    if (kind == ObjKind::kGrant) continue;
    const FieldDescriptor* f = dd->FindFieldByName(
        absl::StrCat("put_", kSpecs[static_cast<int>(kind)].field));
    const int n = dr->FieldSize(d, f);
    for (int i = 0; i < n; ++i) {
      const Message& m = dr->GetRepeatedMessage(d, f, i);
      std::unique_ptr<Message> copy(m.New());
      copy->CopyFrom(m);
      Table& t = tables_[static_cast<int>(kind)];
      auto it = t.position.find(KeyOf(kind, m));
      if (it == t.position.end()) {
        Insert(kind, std::move(copy), &log);
      } else {
        Replace(kind, it->second, std::move(copy), &log);
      }
    }
  }
  for (int i = 0; i < d.add_grants_size(); ++i) {
    const v1::Grant& g = d.add_grants(i);
    if (tables_[static_cast<int>(ObjKind::kGrant)].position.contains(g.id())) {
      return fail(absl::AlreadyExistsError(absl::StrCat(
          "add_grants[", i, "]: a grant ", Quote(g.id()), " exists")));
    }
    Insert(ObjKind::kGrant, std::make_unique<v1::Grant>(g), &log);
  }
  state_.set_revision(d.revision());
  *undo = std::move(log);
  return absl::OkStatus();
}

void IndexedState::Revert(UndoLog undo) {
  UndoLog scratch;  // the inverse steps' own log, discarded
  for (auto it = undo.steps_.rbegin(); it != undo.steps_.rend(); ++it) {
    UndoLog::Step& step = *it;
    auto* field = Field(step.kind);
    Table& t = tables_[static_cast<int>(step.kind)];
    switch (step.op) {
      case UndoLog::Step::kInserted:
        Erase(step.kind, field->size() - 1, &scratch);
        break;
      case UndoLog::Step::kErased: {
        Insert(step.kind, std::move(step.saved), &scratch);
        const int last = field->size() - 1;
        if (step.position != last) {
          field->SwapElements(step.position, last);
          t.position[KeyOf(step.kind, field->Get(step.position))] =
              step.position;
          t.position[KeyOf(step.kind, field->Get(last))] = last;
        }
        break;
      }
      case UndoLog::Step::kReplaced:
        Replace(step.kind, step.position, std::move(step.saved), &scratch);
        break;
    }
  }
  state_.set_revision(undo.revision);
}

StateDelta IndexedState::NetDelta(const std::vector<UndoLog>& logs) const {
  // (kind, key) -> the object before the first change (null: absent).
  std::map<std::pair<int, std::string>, const Message*> before;
  for (const UndoLog& log : logs) {
    for (const UndoLog::Step& step : log.steps_) {
      before.emplace(
          std::make_pair(static_cast<int>(step.kind), step.key),
          step.op == UndoLog::Step::kInserted ? nullptr : step.saved.get());
    }
  }
  StateDelta delta;
  v1::StateDelta& d = *delta.mutable_proto();
  const Descriptor* dd = v1::StateDelta::descriptor();
  const Reflection* dr = d.GetReflection();
  for (const auto& [kind_key, old] : before) {
    const ObjKind kind = static_cast<ObjKind>(kind_key.first);
    const Message* now = Find(kind, kind_key.second);
    if (old != nullptr && now != nullptr &&
        google::protobuf::util::MessageDifferencer::Equals(*old, *now)) {
      continue;  // changed and changed back
    }
    if (kind == ObjKind::kGrant) {
      if (old != nullptr)
        *d.add_remove_grants() = static_cast<const v1::Grant&>(*old);
      if (now != nullptr)
        *d.add_add_grants() = static_cast<const v1::Grant&>(*now);
      continue;
    }
    const char* name = kSpecs[static_cast<int>(kind)].field;
    if (now == nullptr) {
      if (old != nullptr) {
        dr->AddString(&d, dd->FindFieldByName(absl::StrCat("delete_", name)),
                      kind_key.second);
      }
      continue;
    }
    dr->AddMessage(&d, dd->FindFieldByName(absl::StrCat("put_", name)))
        ->CopyFrom(*now);
  }
  d.set_revision(state_.revision());
  return delta;
}

}  // namespace internal
}  // namespace arbiter
