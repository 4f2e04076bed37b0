// §10.5: service accounts and API keys. Pure rules returning plans
// (arbiter/identity_rules.h).

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "src/identity/rules_internal.h"

namespace arbiter {

using internal::QuoteValue;
using internal::Refuse;
using internal::TimeOf;
using internal::TimeString;

namespace {

constexpr size_t kMaxKeyName = 128;

absl::string_view KindName(v1::ApiKeyKind kind) {
  switch (kind) {
    case v1::API_KEY_KIND_SERVICE_ACCOUNT:
      return "SERVICE_ACCOUNT";
    case v1::API_KEY_KIND_USER:
      return "USER";
    case v1::API_KEY_KIND_CLI_LOGIN:
      return "CLI_LOGIN";
    default:
      return "UNSPECIFIED";
  }
}

std::string PrincipalWhat(const v1::Principal& p) {
  return absl::StrCat(p.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                          ? "service account "
                          : "user ",
                      QuoteValue(p.id()));
}

void AddRevocation(const v1::ApiKey& key, absl::Time now,
                   v1::IdentityPlan* plan) {
  v1::KeyRevocation* r = plan->add_revoke_api_keys();
  r->set_key_id(key.id());
  internal::SetTimestamp(now, r->mutable_revoked_at());
}

// Checks `spec` and adds the new key to `out` (plan, ids, credential).
// `rotating`: every other key of the principal is being revoked by the same
// plan, so names and the limit are judged against none of them.
absl::Status AddNewKey(const IdentityStateView& state, const KeySpec& spec,
                       absl::Time now, const IdentityOptions& options,
                       bool rotating, internal::IdDrawer& ids,
                       NewKeyOutcome* out) {
  const v1::Principal* p = state.FindPrincipal(spec.principal_id);
  if (p == nullptr) {
    return Refuse(IdentityRule::kPrincipalUnknown, absl::StatusCode::kNotFound,
                  absl::StrCat("principal ", QuoteValue(spec.principal_id),
                               " not found"));
  }
  const std::string what = PrincipalWhat(*p);
  if (!internal::IsActive(*p)) {
    return Refuse(
        IdentityRule::kPrincipalNotActive,
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat(what, " is ", v1::PrincipalState_Name(p->state()),
                     ": only active principals hold keys"));
  }
  const bool sa = p->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT;
  const bool user = p->kind() == v1::PRINCIPAL_KIND_USER;
  const bool kind_ok = (sa && spec.kind == v1::API_KEY_KIND_SERVICE_ACCOUNT) ||
                       (user && (spec.kind == v1::API_KEY_KIND_USER ||
                                 spec.kind == v1::API_KEY_KIND_CLI_LOGIN));
  if (!kind_ok) {
    return Refuse(
        IdentityRule::kKeyKindMismatch, absl::StatusCode::kInvalidArgument,
        absl::StrCat(what, " cannot hold a ", KindName(spec.kind),
                     " key (service accounts hold SERVICE_ACCOUNT keys; "
                     "users hold USER and CLI_LOGIN keys)"));
  }
  if (spec.kind == v1::API_KEY_KIND_USER && spec.name.empty()) {
    return Refuse(
        IdentityRule::kKeyNameInvalid, absl::StatusCode::kInvalidArgument,
        absl::StrCat("key of ", what, ": a personal (USER) key needs a name"));
  }
  bool name_ok = spec.name.size() <= kMaxKeyName;
  for (char c : spec.name) name_ok &= c >= ' ' && c <= '~';
  if (!name_ok) {
    return Refuse(IdentityRule::kKeyNameInvalid,
                  absl::StatusCode::kInvalidArgument,
                  absl::StrCat("key name ", QuoteValue(spec.name), " of ", what,
                               ": not 1..128 printable ASCII bytes"));
  }
  if (spec.expires_at <= now) {
    return Refuse(
        IdentityRule::kKeyExpiryInvalid, absl::StatusCode::kInvalidArgument,
        absl::StrCat("key of ", what, ": expiry ", TimeString(spec.expires_at),
                     " is not after now (", TimeString(now), ")"));
  }
  if (!rotating) {
    int live = 0;
    for (const v1::ApiKey* k : state.ApiKeysOf(p->id())) {
      if (!internal::KeyLive(*k, now, options)) continue;
      ++live;
      if (!spec.name.empty() && k->name() == spec.name) {
        return Refuse(
            IdentityRule::kKeyNameTaken, absl::StatusCode::kAlreadyExists,
            absl::StrCat("key name ", QuoteValue(spec.name),
                         " is taken by key ", QuoteValue(k->id()), " of ", what,
                         " (names are unique among live keys)"));
      }
    }
    if (live >= options.max_live_keys_per_principal) {
      return Refuse(
          IdentityRule::kKeyLimit, absl::StatusCode::kResourceExhausted,
          absl::StrCat(what, " holds ", live, " live keys, the ",
                       "limit (IdentityOptions::max_live_keys_per_",
                       "principal = ", options.max_live_keys_per_principal,
                       ")"));
    }
  }
  absl::Time expires_at = spec.expires_at;
  if (spec.kind == v1::API_KEY_KIND_CLI_LOGIN) {
    expires_at = std::min(expires_at, now + options.cli_login_key_ttl);
  }
  absl::StatusOr<std::string> id = ids.Next("key");
  if (!id.ok()) return id.status();
  absl::StatusOr<MintedKey> minted =
      MintApiKey(*id, p->id(), spec.kind, spec.name, now, expires_at);
  if (!minted.ok()) return minted.status();
  minted->record.set_org_id(p->org_id());
  *out->plan.add_add_api_keys() = minted->record;
  out->principal_id = p->id();
  out->key_id = *id;
  out->credential = std::move(minted->credential);
  return absl::OkStatus();
}

absl::Status UnknownOrg(absl::string_view org_id) {
  return Refuse(
      IdentityRule::kUnknownOrganization, absl::StatusCode::kNotFound,
      absl::StrCat("organization ", QuoteValue(org_id), " not found"));
}

}  // namespace

std::string ServiceAccountEmail(absl::string_view org_id,
                                absl::string_view name) {
  absl::string_view label = org_id;
  if (label.size() > 4 && absl::StartsWithIgnoreCase(label, "org_")) {
    label.remove_prefix(4);
  }
  std::string host = absl::AsciiStrToLower(label);
  std::replace(host.begin(), host.end(), '_', '-');
  return absl::StrCat(name, "@org-", host, ".serviceaccount.com");
}

absl::Status CheckServiceAccountName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 63 && name.front() != '-';
  for (char c : name) {
    ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  }
  if (ok) return absl::OkStatus();
  return Refuse(IdentityRule::kServiceAccountNameInvalid,
                absl::StatusCode::kInvalidArgument,
                absl::StrCat("service account name ", QuoteValue(name),
                             ": not 1..63 bytes of [a-z0-9-] starting with a "
                             "letter or digit"));
}

absl::StatusOr<NewKeyOutcome> PlanCreateServiceAccount(
    const IdentityStateView& state, absl::string_view org_id,
    absl::string_view name, absl::Time now, const IdentityOptions& options) {
  if (state.FindOrganization(org_id) == nullptr) return UnknownOrg(org_id);
  absl::Status name_ok = CheckServiceAccountName(name);
  if (!name_ok.ok()) return name_ok;
  const std::string email = ServiceAccountEmail(org_id, name);
  if (const v1::Principal* other = state.FindPrincipalByEmail(org_id, email)) {
    return Refuse(IdentityRule::kServiceAccountNameTaken,
                  absl::StatusCode::kAlreadyExists,
                  absl::StrCat("service account name ", QuoteValue(name),
                               " is taken in organization ", QuoteValue(org_id),
                               " (principal ", QuoteValue(other->id()), ", ",
                               email, ")"));
  }
  internal::IdDrawer ids(state, options);
  absl::StatusOr<std::string> sa_id = ids.Next("sa");
  if (!sa_id.ok()) return sa_id.status();
  absl::StatusOr<std::string> key_id = ids.Next("key");
  if (!key_id.ok()) return key_id.status();
  absl::StatusOr<MintedKey> minted =
      MintApiKey(*key_id, *sa_id, v1::API_KEY_KIND_SERVICE_ACCOUNT, "", now,
                 absl::InfiniteFuture());
  if (!minted.ok()) return minted.status();
  minted->record.set_org_id(std::string(org_id));

  NewKeyOutcome out;
  v1::Principal* p = out.plan.add_add_principals();
  p->set_id(*sa_id);
  p->set_org_id(std::string(org_id));
  p->set_kind(v1::PRINCIPAL_KIND_SERVICE_ACCOUNT);
  p->set_email(email);
  p->set_name(std::string(name));
  p->set_state(v1::PRINCIPAL_STATE_ACTIVE);
  *out.plan.add_add_api_keys() = minted->record;
  out.principal_id = *sa_id;
  out.key_id = *key_id;
  out.credential = std::move(minted->credential);
  return out;
}

absl::StatusOr<v1::IdentityPlan> PlanDeleteServiceAccount(
    const IdentityStateView& state, absl::string_view org_id,
    absl::string_view name_or_id, absl::Time now) {
  if (state.FindOrganization(org_id) == nullptr) return UnknownOrg(org_id);
  const v1::Principal* p = state.FindPrincipal(name_or_id);
  if (p == nullptr || p->org_id() != org_id ||
      p->kind() != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ||
      p->state() == v1::PRINCIPAL_STATE_DELETED) {
    p = state.FindPrincipalByEmail(org_id,
                                   ServiceAccountEmail(org_id, name_or_id));
  }
  if (p == nullptr || p->kind() != v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ||
      p->state() == v1::PRINCIPAL_STATE_DELETED) {
    return Refuse(
        IdentityRule::kServiceAccountUnknown, absl::StatusCode::kNotFound,
        absl::StrCat("service account ", QuoteValue(name_or_id),
                     " not found in organization ", QuoteValue(org_id)));
  }
  v1::IdentityPlan plan;
  v1::PrincipalStateChange* change = plan.add_principal_states();
  change->set_principal_id(p->id());
  change->set_state(v1::PRINCIPAL_STATE_DELETED);
  for (const v1::ApiKey* k : state.ApiKeysOf(p->id())) {
    if (!internal::KeyRevoked(*k)) AddRevocation(*k, now, &plan);
  }
  for (const v1::Grant* g : state.GrantsOf(p->id())) {
    plan.add_remove_grant_ids(g->id());
  }
  return plan;
}

absl::StatusOr<NewKeyOutcome> PlanCreateApiKey(const IdentityStateView& state,
                                               const KeySpec& spec,
                                               absl::Time now,
                                               const IdentityOptions& options) {
  NewKeyOutcome out;
  internal::IdDrawer ids(state, options);
  absl::Status s =
      AddNewKey(state, spec, now, options, /*rotating=*/false, ids, &out);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<v1::IdentityPlan> PlanRevokeApiKey(
    const IdentityStateView& state, absl::string_view key_id, absl::Time now) {
  const v1::ApiKey* k = state.FindApiKey(key_id);
  if (k == nullptr) {
    return Refuse(IdentityRule::kKeyUnknown, absl::StatusCode::kNotFound,
                  absl::StrCat("key ", QuoteValue(key_id), " not found"));
  }
  if (internal::KeyRevoked(*k)) {
    return Refuse(
        IdentityRule::kKeyAlreadyRevoked, absl::StatusCode::kFailedPrecondition,
        absl::StrCat("key ", QuoteValue(key_id), " was already revoked at ",
                     TimeString(TimeOf(k->revoked_at()))));
  }
  v1::IdentityPlan plan;
  AddRevocation(*k, now, &plan);
  return plan;
}

v1::IdentityPlan PlanRevokeApiKeys(const IdentityStateView& state,
                                   absl::string_view principal_id,
                                   absl::Time now) {
  v1::IdentityPlan plan;
  for (const v1::ApiKey* k : state.ApiKeysOf(principal_id)) {
    if (!internal::KeyRevoked(*k)) AddRevocation(*k, now, &plan);
  }
  return plan;
}

absl::StatusOr<NewKeyOutcome> PlanRotateApiKeys(
    const IdentityStateView& state, const KeySpec& spec, absl::Time now,
    const IdentityOptions& options) {
  NewKeyOutcome out;
  internal::IdDrawer ids(state, options);
  absl::Status s =
      AddNewKey(state, spec, now, options, /*rotating=*/true, ids, &out);
  if (!s.ok()) return s;
  for (const v1::ApiKey* k : state.ApiKeysOf(spec.principal_id)) {
    if (!internal::KeyRevoked(*k)) AddRevocation(*k, now, &out.plan);
  }
  return out;
}

std::vector<ApiKeyInfo> ListApiKeys(const IdentityStateView& state,
                                    absl::string_view principal_id,
                                    absl::Time now,
                                    const IdentityOptions& options) {
  std::vector<ApiKeyInfo> out;
  for (const v1::ApiKey* k : state.ApiKeysOf(principal_id)) {
    ApiKeyInfo info;
    info.id = k->id();
    info.name = k->name();
    info.kind = k->kind();
    if (k->has_created_at()) info.created_at = TimeOf(k->created_at());
    info.expires_at = internal::KeyExpiry(*k, options);
    if (internal::KeyRevoked(*k)) {
      info.revoked_at = TimeOf(k->revoked_at());
      info.status = KeyStatus::kRevoked;
    } else {
      info.status =
          now < info.expires_at ? KeyStatus::kActive : KeyStatus::kExpired;
    }
    out.push_back(std::move(info));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ApiKeyInfo& a, const ApiKeyInfo& b) {
                     return a.created_at < b.created_at;
                   });
  return out;
}

}  // namespace arbiter
