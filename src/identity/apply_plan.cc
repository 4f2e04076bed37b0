// ApplyIdentityPlan: a plan of arbiter/identity_rules.h applied to a
// PolicySet, all or nothing.

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity_rules.h"
#include "src/identity/rules_internal.h"

namespace arbiter {
namespace {

using internal::QuoteValue;

absl::Status Conflict(absl::string_view message) {
  return internal::Refuse(IdentityRule::kPlanConflict,
                          absl::StatusCode::kFailedPrecondition,
                          absl::StrCat("identity plan: ", message));
}

template <typename List>
absl::flat_hash_map<std::string, int> IndexById(const List& list) {
  absl::flat_hash_map<std::string, int> out;
  for (int i = 0; i < list.size(); ++i) out.emplace(list.Get(i).id(), i);
  return out;
}

template <typename T>
void RemoveWhere(google::protobuf::RepeatedPtrField<T>* list,
                 const absl::flat_hash_set<std::string>& ids) {
  int kept = 0;
  for (int i = 0; i < list->size(); ++i) {
    if (ids.contains(list->Get(i).id())) continue;
    if (kept != i) list->SwapElements(kept, i);
    ++kept;
  }
  while (list->size() > kept) list->RemoveLast();
}

}  // namespace

absl::Status ApplyIdentityPlan(const v1::IdentityPlan& plan,
                               v1::PolicySet* state) {
  // ---- Check everything first: a refused plan changes nothing. ----
  PolicySetView view(*state);
  absl::flat_hash_set<std::string> added;
  auto add_id = [&](absl::string_view kind,
                    const std::string& id) -> absl::Status {
    if (id.empty()) return Conflict(absl::StrCat("a new ", kind, " has no id"));
    if (view.IdInUse(id) || !added.insert(id).second) {
      return Conflict(absl::StrCat("new ", kind, " id ", QuoteValue(id),
                                   " is already in use"));
    }
    return absl::OkStatus();
  };
  absl::flat_hash_set<std::string> new_principals, new_invitations, new_keys;
  for (const v1::Principal& p : plan.add_principals()) {
    absl::Status s = add_id("principal", p.id());
    if (!s.ok()) return s;
    new_principals.insert(p.id());
  }
  for (const v1::Grant& g : plan.add_grants()) {
    absl::Status s = add_id("grant", g.id());
    if (!s.ok()) return s;
  }
  for (const v1::Invitation& inv : plan.add_invitations()) {
    absl::Status s = add_id("invitation", inv.id());
    if (!s.ok()) return s;
    new_invitations.insert(inv.id());
  }
  for (const v1::ApiKey& k : plan.add_api_keys()) {
    absl::Status s = add_id("key", k.id());
    if (!s.ok()) return s;
    new_keys.insert(k.id());
  }
  for (const v1::PrincipalStateChange& c : plan.principal_states()) {
    if (view.FindPrincipal(c.principal_id()) == nullptr &&
        !new_principals.contains(c.principal_id())) {
      return Conflict(absl::StrCat("principal ", QuoteValue(c.principal_id()),
                                   " not found"));
    }
  }
  absl::flat_hash_set<std::string> removed_grants(
      plan.remove_grant_ids().begin(), plan.remove_grant_ids().end());
  const auto grant_index = IndexById(state->grants());
  for (const std::string& id : removed_grants) {
    if (!grant_index.contains(id)) {
      return Conflict(absl::StrCat("grant ", QuoteValue(id), " not found"));
    }
  }
  for (const v1::InvitationStateChange& c : plan.invitation_states()) {
    if (view.FindInvitation(c.invitation_id()) == nullptr &&
        !new_invitations.contains(c.invitation_id())) {
      return Conflict(absl::StrCat("invitation ", QuoteValue(c.invitation_id()),
                                   " not found"));
    }
  }
  absl::flat_hash_set<std::string> removed_invitations(
      plan.remove_invitation_ids().begin(), plan.remove_invitation_ids().end());
  for (const std::string& id : removed_invitations) {
    if (view.FindInvitation(id) == nullptr) {
      return Conflict(
          absl::StrCat("invitation ", QuoteValue(id), " not found"));
    }
  }
  for (const v1::KeyRevocation& r : plan.revoke_api_keys()) {
    const v1::ApiKey* k = view.FindApiKey(r.key_id());
    if (k == nullptr && !new_keys.contains(r.key_id())) {
      return Conflict(
          absl::StrCat("key ", QuoteValue(r.key_id()), " not found"));
    }
    if (k != nullptr && internal::KeyRevoked(*k)) {
      return Conflict(
          absl::StrCat("key ", QuoteValue(r.key_id()), " is already revoked"));
    }
  }
  for (const v1::IdentitySettings& s : plan.set_identity_settings()) {
    if (view.FindOrganization(s.org_id()) == nullptr) {
      return Conflict(
          absl::StrCat("organization ", QuoteValue(s.org_id()), " not found"));
    }
  }

  // ---- Apply. Nothing below can fail. ----
  for (const v1::Principal& p : plan.add_principals())
    *state->add_principals() = p;
  for (const v1::Grant& g : plan.add_grants()) *state->add_grants() = g;
  for (const v1::Invitation& inv : plan.add_invitations())
    *state->add_invitations() = inv;
  for (const v1::ApiKey& k : plan.add_api_keys()) *state->add_api_keys() = k;

  const auto principals = IndexById(state->principals());
  for (const v1::PrincipalStateChange& c : plan.principal_states()) {
    state->mutable_principals(principals.at(c.principal_id()))
        ->set_state(c.state());
  }
  const auto invitations = IndexById(state->invitations());
  for (const v1::InvitationStateChange& c : plan.invitation_states()) {
    v1::Invitation* inv =
        state->mutable_invitations(invitations.at(c.invitation_id()));
    inv->set_state(c.state());
    if (!c.replaced_by_id().empty())
      inv->set_replaced_by_id(c.replaced_by_id());
    if (!c.principal_id().empty()) inv->set_principal_id(c.principal_id());
  }
  const auto keys = IndexById(state->api_keys());
  for (const v1::KeyRevocation& r : plan.revoke_api_keys()) {
    *state->mutable_api_keys(keys.at(r.key_id()))->mutable_revoked_at() =
        r.revoked_at();
  }
  for (const v1::IdentitySettings& s : plan.set_identity_settings()) {
    bool replaced = false;
    for (v1::IdentitySettings& existing : *state->mutable_identity_settings()) {
      if (existing.org_id() == s.org_id()) {
        existing = s;
        replaced = true;
        break;
      }
    }
    if (!replaced) *state->add_identity_settings() = s;
  }
  RemoveWhere(state->mutable_grants(), removed_grants);
  RemoveWhere(state->mutable_invitations(), removed_invitations);
  return absl::OkStatus();
}

}  // namespace arbiter
