// PolicySetView: IdentityStateView over a v1::PolicySet, indexed once.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity_rules.h"
#include "src/identity/rules_internal.h"

namespace arbiter {

struct PolicySetView::Index {
  absl::flat_hash_map<absl::string_view, int> orgs;
  absl::flat_hash_map<absl::string_view, int> principals;
  // (org id, '\n', lower-cased email) -> index of the non-deleted principal.
  absl::flat_hash_map<std::string, int> emails;
  absl::flat_hash_map<absl::string_view, int> keys;
  absl::flat_hash_map<absl::string_view, int> invitations;
  absl::flat_hash_map<absl::string_view, int> settings;
  absl::flat_hash_map<absl::string_view, std::vector<int>> keys_of;
  absl::flat_hash_map<absl::string_view, std::vector<int>> invitations_of;
  absl::flat_hash_map<absl::string_view, std::vector<int>> grants_of;
  absl::flat_hash_map<absl::string_view, std::vector<int>> clouds_of;
  // Org id -> the latest expiry of a grant to one of its groups
  // (InfiniteFuture when one never expires).
  absl::flat_hash_map<absl::string_view, absl::Time> group_binding_until;
  absl::flat_hash_set<absl::string_view> ids;
  absl::flat_hash_map<std::string, std::string> verified_domains;
};

namespace {

std::string EmailKey(absl::string_view org, absl::string_view email) {
  return absl::StrCat(org, "\n", internal::Lower(email));
}

template <typename Map>
const typename Map::mapped_type* Lookup(const Map& map, absl::string_view key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

PolicySetView::PolicySetView(const v1::PolicySet& state) : state_(state) {
  auto index = std::make_unique<Index>();
  Index& x = *index;
  auto add_ids = [&x](const auto& list) {
    for (const auto& item : list) x.ids.insert(item.id());
  };
  add_ids(state.organizations());
  add_ids(state.clouds());
  add_ids(state.projects());
  add_ids(state.workloads());
  add_ids(state.compute_configs());
  add_ids(state.images());
  add_ids(state.principals());
  add_ids(state.groups());
  add_ids(state.grants());
  add_ids(state.quotas());
  add_ids(state.budgets());
  add_ids(state.api_keys());
  add_ids(state.invitations());

  for (int i = 0; i < state.organizations_size(); ++i)
    x.orgs.emplace(state.organizations(i).id(), i);
  for (int i = 0; i < state.clouds_size(); ++i)
    x.clouds_of[state.clouds(i).org_id()].push_back(i);
  for (int i = 0; i < state.principals_size(); ++i) {
    const v1::Principal& p = state.principals(i);
    x.principals.emplace(p.id(), i);
    if (p.state() != v1::PRINCIPAL_STATE_DELETED) {
      x.emails.emplace(EmailKey(p.org_id(), p.email()), i);
    }
  }
  for (int i = 0; i < state.api_keys_size(); ++i) {
    x.keys.emplace(state.api_keys(i).id(), i);
    x.keys_of[state.api_keys(i).principal_id()].push_back(i);
  }
  for (int i = 0; i < state.invitations_size(); ++i) {
    x.invitations.emplace(state.invitations(i).id(), i);
    x.invitations_of[state.invitations(i).org_id()].push_back(i);
  }
  for (int i = 0; i < state.identity_settings_size(); ++i) {
    const v1::IdentitySettings& s = state.identity_settings(i);
    x.settings.emplace(s.org_id(), i);
    for (const v1::SsoDomain& d : s.domains()) {
      if (d.verified()) {
        x.verified_domains.emplace(internal::Lower(d.domain()), s.org_id());
      }
    }
  }
  absl::flat_hash_map<absl::string_view, absl::string_view> group_org;
  for (const v1::Group& g : state.groups())
    group_org.emplace(g.id(), g.org_id());
  for (int i = 0; i < state.grants_size(); ++i) {
    const v1::Grant& g = state.grants(i);
    if (g.subject_case() == v1::Grant::kPrincipalId) {
      x.grants_of[g.principal_id()].push_back(i);
    } else if (g.subject_case() == v1::Grant::kGroupId) {
      x.grants_of[g.group_id()].push_back(i);
      auto org = group_org.find(g.group_id());
      if (org == group_org.end()) continue;
      const absl::Time until = g.has_expires_at()
                                   ? internal::TimeOf(g.expires_at())
                                   : absl::InfiniteFuture();
      auto [it, inserted] = x.group_binding_until.emplace(org->second, until);
      if (!inserted && until > it->second) it->second = until;
    }
  }
  index_ = std::move(index);
}

PolicySetView::~PolicySetView() = default;

const v1::Organization* PolicySetView::FindOrganization(
    absl::string_view id) const {
  const int* i = Lookup(index_->orgs, id);
  return i == nullptr ? nullptr : &state_.organizations(*i);
}

const v1::Principal* PolicySetView::FindPrincipal(absl::string_view id) const {
  const int* i = Lookup(index_->principals, id);
  return i == nullptr ? nullptr : &state_.principals(*i);
}

const v1::Principal* PolicySetView::FindPrincipalByEmail(
    absl::string_view org_id, absl::string_view email) const {
  auto it = index_->emails.find(EmailKey(org_id, email));
  return it == index_->emails.end() ? nullptr : &state_.principals(it->second);
}

const v1::ApiKey* PolicySetView::FindApiKey(absl::string_view id) const {
  const int* i = Lookup(index_->keys, id);
  return i == nullptr ? nullptr : &state_.api_keys(*i);
}

const v1::Invitation* PolicySetView::FindInvitation(
    absl::string_view id) const {
  const int* i = Lookup(index_->invitations, id);
  return i == nullptr ? nullptr : &state_.invitations(*i);
}

const v1::IdentitySettings* PolicySetView::FindIdentitySettings(
    absl::string_view org_id) const {
  const int* i = Lookup(index_->settings, org_id);
  return i == nullptr ? nullptr : &state_.identity_settings(*i);
}

std::vector<const v1::ApiKey*> PolicySetView::ApiKeysOf(
    absl::string_view principal_id) const {
  std::vector<const v1::ApiKey*> out;
  if (const auto* list = Lookup(index_->keys_of, principal_id)) {
    for (int i : *list) out.push_back(&state_.api_keys(i));
  }
  return out;
}

std::vector<const v1::Invitation*> PolicySetView::InvitationsOf(
    absl::string_view org_id) const {
  std::vector<const v1::Invitation*> out;
  if (const auto* list = Lookup(index_->invitations_of, org_id)) {
    for (int i : *list) out.push_back(&state_.invitations(i));
  }
  return out;
}

std::vector<const v1::Grant*> PolicySetView::GrantsOf(
    absl::string_view subject_id) const {
  std::vector<const v1::Grant*> out;
  if (const auto* list = Lookup(index_->grants_of, subject_id)) {
    for (int i : *list) out.push_back(&state_.grants(i));
  }
  return out;
}

std::vector<const v1::Cloud*> PolicySetView::CloudsOf(
    absl::string_view org_id) const {
  std::vector<const v1::Cloud*> out;
  if (const auto* list = Lookup(index_->clouds_of, org_id)) {
    for (int i : *list) out.push_back(&state_.clouds(i));
  }
  return out;
}

bool PolicySetView::HasGroupBinding(absl::string_view org_id,
                                    absl::Time now) const {
  const absl::Time* until = Lookup(index_->group_binding_until, org_id);
  return until != nullptr && now < *until;
}

bool PolicySetView::IdInUse(absl::string_view id) const {
  return index_->ids.contains(id);
}

absl::string_view PolicySetView::OrgVerifyingDomain(
    absl::string_view domain) const {
  auto it = index_->verified_domains.find(domain);
  return it == index_->verified_domains.end() ? absl::string_view()
                                              : it->second;
}

}  // namespace arbiter
