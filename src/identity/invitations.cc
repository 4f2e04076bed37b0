// §10.1: invitations. Pure rules returning plans (arbiter/identity_rules.h).

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "arbiter/identity_rules.h"
#include "src/identity/rules_internal.h"

namespace arbiter {

using internal::QuoteValue;
using internal::Refuse;
using internal::TimeOf;
using internal::TimeString;

namespace {

constexpr absl::Duration kDay = absl::Hours(24);

bool Pending(const v1::Invitation& inv, absl::Time now) {
  return inv.state() == v1::INVITATION_STATE_PENDING &&
         (!inv.has_expires_at() || now < TimeOf(inv.expires_at()));
}

absl::Status UnknownOrg(absl::string_view org_id) {
  return Refuse(
      IdentityRule::kUnknownOrganization, absl::StatusCode::kNotFound,
      absl::StrCat("organization ", QuoteValue(org_id), " not found"));
}

// The organization-wide refusals of §10.1 / §4.3.
absl::Status CheckOrgAcceptsInvitations(const IdentityStateView& state,
                                        absl::string_view org_id,
                                        absl::Time now) {
  if (state.FindOrganization(org_id) == nullptr) return UnknownOrg(org_id);
  const v1::IdentitySettings* settings = state.FindIdentitySettings(org_id);
  if (settings == nullptr) return absl::OkStatus();
  if (settings->sso_mode() == v1::SSO_MODE_REQUIRED) {
    return Refuse(IdentityRule::kInviteSsoRequired,
                  absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("organization ", QuoteValue(org_id),
                               ": invitations are refused while its SSO "
                               "mode is REQUIRED (access-model §10.1)"));
  }
  if (settings->scim_enabled() && state.HasGroupBinding(org_id, now)) {
    return Refuse(IdentityRule::kInviteScimWithPolicy,
                  absl::StatusCode::kFailedPrecondition,
                  absl::StrCat("organization ", QuoteValue(org_id),
                               ": invitations are refused while SCIM is on "
                               "and a group policy binding exists "
                               "(access-model §4.3); members come from the "
                               "directory"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<InviteOutcome> PlanInvitations(
    const IdentityStateView& state, absl::string_view org_id,
    const std::vector<std::string>& emails, absl::string_view inviter_id,
    absl::Time now, const IdentityOptions& options) {
  absl::Status org_ok = CheckOrgAcceptsInvitations(state, org_id, now);
  if (!org_ok.ok()) return org_ok;

  // The organization's pending invitations by address, and the counts.
  absl::flat_hash_map<std::string, const v1::Invitation*> pending;
  int sent_today = 0;
  for (const v1::Invitation* inv : state.InvitationsOf(org_id)) {
    // Records stamped after `now` (clock skew) count too: the stricter
    // reading.
    if (inv->has_created_at() && TimeOf(inv->created_at()) > now - kDay) {
      ++sent_today;
    }
    if (Pending(*inv, now)) pending[internal::Lower(inv->email())] = inv;
  }
  int pending_count = static_cast<int>(pending.size());

  InviteOutcome out;
  internal::IdDrawer ids(state, options);
  absl::flat_hash_map<std::string, size_t> seen;  // address -> request index
  for (size_t i = 0; i < emails.size(); ++i) {
    const std::string& raw = emails[i];
    auto refuse = [&](IdentityRule rule, absl::StatusCode code,
                      absl::string_view why) {
      out.refused.push_back(
          {raw, Refuse(rule, code,
                       absl::StrCat("invitation of ", QuoteValue(raw),
                                    " to organization ", QuoteValue(org_id),
                                    ": ", why))});
    };
    const std::string problem = internal::CheckInviteEmail(raw);
    if (!problem.empty()) {
      refuse(IdentityRule::kInviteInvalidEmail,
             absl::StatusCode::kInvalidArgument, problem);
      continue;
    }
    const std::string email = internal::Lower(raw);
    auto [dup, first] = seen.emplace(email, i);
    if (!first) {
      refuse(IdentityRule::kInviteDuplicateEmail,
             absl::StatusCode::kInvalidArgument,
             absl::StrCat("the address is already emails[", dup->second,
                          "] of this request (addresses compare "
                          "case-insensitively)"));
      continue;
    }
    const v1::Principal* member = state.FindPrincipalByEmail(org_id, email);
    if (member != nullptr && internal::IsActive(*member)) {
      refuse(IdentityRule::kInviteAlreadyMember,
             absl::StatusCode::kAlreadyExists,
             absl::StrCat("already a member (principal ",
                          QuoteValue(member->id()), ")"));
      continue;
    }
    if (sent_today >= options.max_invitations_per_day) {
      refuse(IdentityRule::kInviteDailyLimit,
             absl::StatusCode::kResourceExhausted,
             absl::StrCat(sent_today, " invitations sent in the last 24 hours",
                          ", the limit (IdentityOptions::max_invitations_",
                          "per_day = ", options.max_invitations_per_day, ")"));
      continue;
    }
    auto old = pending.find(email);
    const bool replaces = old != pending.end();
    if (!replaces && pending_count >= options.max_pending_invitations) {
      refuse(IdentityRule::kInvitePendingLimit,
             absl::StatusCode::kResourceExhausted,
             absl::StrCat(pending_count, " invitations pending, the limit ",
                          "(IdentityOptions::max_pending_invitations = ",
                          options.max_pending_invitations, ")"));
      continue;
    }
    absl::StatusOr<std::string> id = ids.Next("inv");
    if (!id.ok()) return id.status();
    v1::Invitation inv;
    inv.set_id(*id);
    inv.set_org_id(std::string(org_id));
    inv.set_email(email);
    inv.set_inviter_id(std::string(inviter_id));
    internal::SetTimestamp(now, inv.mutable_created_at());
    internal::SetTimestamp(now + options.invitation_ttl,
                           inv.mutable_expires_at());
    inv.set_state(v1::INVITATION_STATE_PENDING);
    if (replaces) {
      v1::InvitationStateChange* change = out.plan.add_invitation_states();
      change->set_invitation_id(old->second->id());
      change->set_state(v1::INVITATION_STATE_REPLACED);
      change->set_replaced_by_id(inv.id());
      pending.erase(old);
    } else {
      ++pending_count;
    }
    ++sent_today;
    *out.plan.add_add_invitations() = inv;
    out.invited.push_back(std::move(inv));
  }
  return out;
}

absl::StatusOr<v1::IdentityPlan> PlanDeleteInvitation(
    const IdentityStateView& state, absl::string_view invitation_id) {
  const v1::Invitation* inv = state.FindInvitation(invitation_id);
  if (inv == nullptr) {
    return Refuse(
        IdentityRule::kInvitationUnknown, absl::StatusCode::kNotFound,
        absl::StrCat("invitation ", QuoteValue(invitation_id), " not found"));
  }
  if (inv->state() != v1::INVITATION_STATE_PENDING) {
    return Refuse(
        IdentityRule::kInvitationNotPending,
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat("invitation ", QuoteValue(invitation_id), " is ",
                     v1::InvitationState_Name(inv->state()), ", not pending"));
  }
  v1::IdentityPlan plan;
  v1::InvitationStateChange* change = plan.add_invitation_states();
  change->set_invitation_id(inv->id());
  change->set_state(v1::INVITATION_STATE_DELETED);
  return plan;
}

std::vector<v1::Invitation> ListPendingInvitations(
    const IdentityStateView& state, absl::string_view org_id, absl::Time now) {
  std::vector<v1::Invitation> out;
  for (const v1::Invitation* inv : state.InvitationsOf(org_id)) {
    if (Pending(*inv, now)) out.push_back(*inv);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const v1::Invitation& a, const v1::Invitation& b) {
                     return TimeOf(a.created_at()) < TimeOf(b.created_at());
                   });
  return out;
}

v1::IdentityPlan PlanInvitationHousekeeping(const IdentityStateView& state,
                                            absl::string_view org_id,
                                            absl::Time now) {
  v1::IdentityPlan plan;
  for (const v1::Invitation* inv : state.InvitationsOf(org_id)) {
    const bool old =
        !inv->has_created_at() || TimeOf(inv->created_at()) <= now - kDay;
    if (inv->state() == v1::INVITATION_STATE_PENDING) {
      if (Pending(*inv, now)) continue;
      // Expired: it no longer counts as pending; it still counts as sent
      // until a day has passed.
      if (old) {
        plan.add_remove_invitation_ids(inv->id());
      } else {
        v1::InvitationStateChange* change = plan.add_invitation_states();
        change->set_invitation_id(inv->id());
        change->set_state(v1::INVITATION_STATE_EXPIRED);
      }
    } else if (old) {
      plan.add_remove_invitation_ids(inv->id());
    }
  }
  return plan;
}

absl::StatusOr<AcceptOutcome> PlanAcceptInvitation(
    const IdentityStateView& state, absl::string_view invitation_id,
    absl::string_view accepting_email, absl::string_view name, absl::Time now,
    const IdentityOptions& options) {
  const v1::Invitation* inv = state.FindInvitation(invitation_id);
  if (inv == nullptr) {
    return Refuse(
        IdentityRule::kInvitationUnknown, absl::StatusCode::kNotFound,
        absl::StrCat("invitation ", QuoteValue(invitation_id), " not found"));
  }
  const std::string what = absl::StrCat("invitation ", QuoteValue(inv->id()),
                                        " of ", QuoteValue(inv->email()));
  if (inv->state() != v1::INVITATION_STATE_PENDING) {
    return Refuse(
        IdentityRule::kInvitationNotPending,
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat(what, " is ", v1::InvitationState_Name(inv->state()),
                     ", not pending"));
  }
  if (inv->has_expires_at() && now >= TimeOf(inv->expires_at())) {
    return Refuse(IdentityRule::kInvitationExpired,
                  absl::StatusCode::kFailedPrecondition,
                  absl::StrCat(what, " expired at ",
                               TimeString(TimeOf(inv->expires_at()))));
  }
  if (!internal::EqualsIgnoreCase(accepting_email, inv->email())) {
    return Refuse(
        IdentityRule::kInvitationEmailMismatch,
        absl::StatusCode::kPermissionDenied,
        absl::StrCat(what, " cannot be accepted by ",
                     QuoteValue(accepting_email), ": the addresses differ"));
  }
  const std::string& org_id = inv->org_id();
  if (state.FindOrganization(org_id) == nullptr) return UnknownOrg(org_id);
  const v1::Principal* existing =
      state.FindPrincipalByEmail(org_id, inv->email());
  if (existing != nullptr && internal::IsActive(*existing)) {
    return Refuse(IdentityRule::kInviteAlreadyMember,
                  absl::StatusCode::kAlreadyExists,
                  absl::StrCat(what, ": already a member of organization ",
                               QuoteValue(org_id), " (principal ",
                               QuoteValue(existing->id()), ")"));
  }

  AcceptOutcome out;
  v1::IdentityPlan& plan = out.plan;
  internal::IdDrawer ids(state, options);

  const v1::Principal* invited =
      existing != nullptr && existing->state() == v1::PRINCIPAL_STATE_INVITED &&
              existing->kind() == v1::PRINCIPAL_KIND_USER
          ? existing
          : nullptr;
  if (existing != nullptr && invited == nullptr) {
    // A live principal that is neither active nor an invited user (an
    // invited service account): adding a user with its address would make
    // two live principals share it.
    return Refuse(IdentityRule::kInviteAlreadyMember,
                  absl::StatusCode::kAlreadyExists,
                  absl::StrCat(what, ": principal ", QuoteValue(existing->id()),
                               " of organization ", QuoteValue(org_id),
                               " already has the address"));
  }
  if (invited != nullptr) {
    out.principal_id = invited->id();
    v1::PrincipalStateChange* change = plan.add_principal_states();
    change->set_principal_id(invited->id());
    change->set_state(v1::PRINCIPAL_STATE_ACTIVE);
  } else {
    absl::StatusOr<std::string> id = ids.Next("usr");
    if (!id.ok()) return id.status();
    out.principal_id = *id;
    v1::Principal* p = plan.add_add_principals();
    p->set_id(*id);
    p->set_org_id(org_id);
    p->set_kind(v1::PRINCIPAL_KIND_USER);
    p->set_email(inv->email());
    p->set_name(std::string(name));
    p->set_state(v1::PRINCIPAL_STATE_ACTIVE);
  }

  // Auto-add (§10.1): the auto-add role on every cloud that has it on,
  // unless the (re-activated) principal already holds it there.
  const std::string& role = internal::ProfileOf(options).auto_add_role();
  std::vector<const v1::Grant*> held;
  if (invited != nullptr) held = state.GrantsOf(invited->id());
  for (const v1::Cloud* cloud : state.CloudsOf(org_id)) {
    if (!cloud->auto_add_users() || role.empty()) continue;
    const bool has =
        std::any_of(held.begin(), held.end(), [&](const v1::Grant* g) {
          return g->scope_case() == v1::Grant::kCloudId &&
                 g->cloud_id() == cloud->id() && g->role() == role &&
                 internal::GrantLive(*g, now);
        });
    if (has) continue;
    absl::StatusOr<std::string> id = ids.Next("g");
    if (!id.ok()) return id.status();
    v1::Grant* g = plan.add_add_grants();
    g->set_id(*id);
    g->set_principal_id(out.principal_id);
    g->set_role(role);
    g->set_cloud_id(cloud->id());
    g->set_source(v1::GRANT_SOURCE_AUTO_ADD);
  }

  v1::InvitationStateChange* change = plan.add_invitation_states();
  change->set_invitation_id(inv->id());
  change->set_state(v1::INVITATION_STATE_ACCEPTED);
  change->set_principal_id(out.principal_id);
  return out;
}

}  // namespace arbiter
