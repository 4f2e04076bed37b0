// The identity mutations of TransactionApplier (access-model §10, the
// related rows of §4.3; docs/identity.md "Through the store"): invitations,
// service accounts, API keys, SSO and SCIM settings.
//
// Every rule is the identity layer's (arbiter/identity_rules.h): each
// mutation authorizes the actor, asks the rule function for a plan over the
// writer's state as the transaction has made it so far (IndexedStateView),
// applies the plan (ApplyPlan) and writes its audit records. A refusal of a
// rule keeps its IdentityRule payload and gains the mutation's field path and
// a Refusal. Secrets never reach the state, the delta, the log or the audit
// records: the plans hold salted hashes, and the credentials go to
// IdentityOutcome only.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "src/admin/refusal.h"
#include "src/admin/transaction.h"
#include "src/identity/rules_internal.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return Refuse(absl::StatusCode::kInvalidArgument, Refusal::kInvalid,
                absl::StrCat(field, ": ", message));
}

absl::Status Violates(absl::StatusCode code, Refusal refusal,
                      absl::string_view field, absl::string_view message) {
  return Refuse(code, refusal, absl::StrCat(field, ": ", message));
}

// A key's kind when the mutation leaves it unspecified: the holder's.
v1::ApiKeyKind DefaultKeyKind(const v1::Principal& holder,
                              v1::ApiKeyKind kind) {
  if (kind != v1::API_KEY_KIND_UNSPECIFIED) return kind;
  return holder.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
             ? v1::API_KEY_KIND_SERVICE_ACCOUNT
             : v1::API_KEY_KIND_USER;
}

bool IsDeleted(const v1::Principal& p) {
  return p.state() == v1::PRINCIPAL_STATE_DELETED;
}

absl::string_view KeyKindName(v1::ApiKeyKind kind) {
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

absl::string_view SsoModeName(v1::SsoMode mode) {
  switch (mode) {
    case v1::SSO_MODE_OPTIONAL:
      return "optional";
    case v1::SSO_MODE_REQUIRED:
      return "required";
    default:
      return "none";
  }
}

std::string TimeText(absl::Time t) {
  return t == absl::InfiniteFuture() ? "never" : TimeString(t);
}

// The Refusal each IdentityRule maps to (its canonical code is kept).
Refusal RefusalFor(IdentityRule rule) {
  switch (rule) {
    case IdentityRule::kInviteSsoRequired:
    case IdentityRule::kInviteScimWithPolicy:
      return Refusal::kInvitationRefused;
    case IdentityRule::kInviteAlreadyMember:
      return Refusal::kAlreadyMember;
    case IdentityRule::kInvitePendingLimit:
    case IdentityRule::kInviteDailyLimit:
    case IdentityRule::kKeyLimit:
      return Refusal::kLimitExceeded;
    case IdentityRule::kInvitationNotPending:
    case IdentityRule::kInvitationExpired:
      return Refusal::kNotInvited;
    case IdentityRule::kInvitationEmailMismatch:
    case IdentityRule::kGroupMembershipNotSynced:
      return Refusal::kPermissionDenied;
    case IdentityRule::kServiceAccountNameTaken:
    case IdentityRule::kKeyNameTaken:
    case IdentityRule::kSsoDomainTaken:
      return Refusal::kAlreadyExists;
    case IdentityRule::kUnknownOrganization:
    case IdentityRule::kInvitationUnknown:
    case IdentityRule::kServiceAccountUnknown:
    case IdentityRule::kPrincipalUnknown:
    case IdentityRule::kKeyUnknown:
      return Refusal::kNotFound;
    case IdentityRule::kScimHumanRevoke:
      return Refusal::kScimRevoke;
    case IdentityRule::kLastOrgOwner:
      return Refusal::kLastOrgOwner;
    default:
      return Refusal::kInvalid;
  }
}

// IdentityStateView over the writer's IndexedState, as the transaction has
// changed it so far, through its indexes: each rule costs O(the objects it
// reads), not O(the state).
class IndexedStateView final : public IdentityStateView {
 public:
  explicit IndexedStateView(const IndexedState& state) : state_(state) {}

  const v1::Organization* FindOrganization(
      absl::string_view id) const override {
    return state_.Org(id);
  }
  const v1::Principal* FindPrincipal(absl::string_view id) const override {
    return state_.Principal(id);
  }
  const v1::Principal* FindPrincipalByEmail(
      absl::string_view org_id, absl::string_view email) const override {
    for (const v1::Principal* p : state_.PrincipalsByEmail(org_id, email)) {
      if (!IsDeleted(*p)) return p;
    }
    return nullptr;
  }
  const v1::ApiKey* FindApiKey(absl::string_view id) const override {
    return static_cast<const v1::ApiKey*>(state_.Find(ObjKind::kApiKey, id));
  }
  const v1::Invitation* FindInvitation(absl::string_view id) const override {
    return static_cast<const v1::Invitation*>(
        state_.Find(ObjKind::kInvitation, id));
  }
  const v1::IdentitySettings* FindIdentitySettings(
      absl::string_view org_id) const override {
    return state_.IdentitySettings(org_id);
  }
  // In state order, as PolicySetView gives them.
  std::vector<const v1::ApiKey*> ApiKeysOf(
      absl::string_view principal_id) const override {
    return InStateOrder<v1::ApiKey>(ObjKind::kApiKey,
                                    state_.ApiKeysOf(principal_id));
  }
  std::vector<const v1::Invitation*> InvitationsOf(
      absl::string_view org_id) const override {
    return InStateOrder<v1::Invitation>(ObjKind::kInvitation,
                                        state_.InvitationsOf(org_id));
  }
  std::vector<const v1::Grant*> GrantsOf(
      absl::string_view subject_id) const override {
    std::vector<const v1::Grant*> out;
    for (const std::string& id : state_.GrantsOf(subject_id)) {
      if (const v1::Grant* g = state_.Grant(id)) out.push_back(g);
    }
    std::sort(out.begin(), out.end(),
              [](const v1::Grant* a, const v1::Grant* b) {
                return a->id() < b->id();
              });
    return out;
  }
  std::vector<const v1::Cloud*> CloudsOf(
      absl::string_view org_id) const override {
    std::vector<const v1::Cloud*> out;
    for (const std::string& id : state_.CloudsOf(org_id)) {
      if (const v1::Cloud* c = state_.Cloud(id)) out.push_back(c);
    }
    std::sort(out.begin(), out.end(),
              [](const v1::Cloud* a, const v1::Cloud* b) {
                return a->id() < b->id();
              });
    return out;
  }
  bool HasGroupBinding(absl::string_view org_id,
                       absl::Time now) const override {
    for (const std::string& group : state_.GroupsOf(org_id)) {
      for (const std::string& id : state_.GrantsOf(group)) {
        const v1::Grant* g = state_.Grant(id);
        if (g != nullptr && GrantLive(*g, now)) return true;
      }
    }
    return false;
  }
  bool IdInUse(absl::string_view id) const override {
    for (int k = 0; k < kNumObjKinds; ++k) {
      if (state_.Find(static_cast<ObjKind>(k), id) != nullptr) return true;
    }
    return false;
  }
  absl::string_view OrgVerifyingDomain(
      absl::string_view domain) const override {
    for (const v1::IdentitySettings& s : state_.state().identity_settings()) {
      for (const v1::SsoDomain& d : s.domains()) {
        if (d.verified() && EqualsIgnoreCase(d.domain(), domain)) {
          return s.org_id();
        }
      }
    }
    return {};
  }

 private:
  template <typename T>
  std::vector<const T*> InStateOrder(
      ObjKind kind, const absl::flat_hash_set<std::string>& ids) const {
    std::vector<std::pair<int, const T*>> found;
    found.reserve(ids.size());
    for (const std::string& id : ids) {
      const int at = state_.Position(kind, id);
      if (at >= 0) {
        found.emplace_back(at, static_cast<const T*>(state_.Find(kind, id)));
      }
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<const T*> out;
    out.reserve(found.size());
    for (const auto& f : found) out.push_back(f.second);
    return out;
  }

  const IndexedState& state_;
};

// The PENDING invitation of `email` in `org` (unexpired at `now`, or any
// when `now` is InfinitePast()), or nullptr.
const v1::Invitation* PendingInvitationOf(const IndexedState& state,
                                          absl::string_view org,
                                          absl::string_view email,
                                          absl::Time now) {
  for (const std::string& id : state.InvitationsOf(org)) {
    const auto* inv = static_cast<const v1::Invitation*>(
        state.Find(ObjKind::kInvitation, id));
    if (inv != nullptr && inv->state() == v1::INVITATION_STATE_PENDING &&
        (now == absl::InfinitePast() || !inv->has_expires_at() ||
         now < TimeOf(inv->expires_at())) &&
        EqualsIgnoreCase(inv->email(), email)) {
      return inv;
    }
  }
  return nullptr;
}

}  // namespace

// ---- Shared pieces
// --------------------------------------------------------------

IdentityOptions TransactionApplier::IdentityRules() const {
  IdentityOptions o = options_.engine.identity;
  o.profile = &engine_.profile();
  if (!o.new_id) {
    // The transaction's deterministic ids ("key_7_2"), unique in the state.
    o.new_id = [this](absl::string_view prefix) {
      return NewId(absl::StrCat(prefix, "_"));
    };
  }
  return o;
}

absl::Status TransactionApplier::FromRule(const absl::Status& status,
                                          absl::string_view where) const {
  absl::Status out(status.code(), absl::StrCat(where.empty() ? field_ : where,
                                               ": ", status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) {
        out.SetPayload(url, payload);
      });
  return WithRefusal(std::move(out), RefusalFor(IdentityRuleOf(status)));
}

absl::Status TransactionApplier::ApplyPlan(const v1::IdentityPlan& plan) {
  // The new objects and the removals first, then the changes of state (of
  // old and new objects alike), then the grants.
  {
    StateDelta d;
    d.set_revisions(state_.revision(), state_.revision());
    v1::StateDelta& p = *d.mutable_proto();
    *p.mutable_put_principals() = plan.add_principals();
    *p.mutable_put_invitations() = plan.add_invitations();
    *p.mutable_put_api_keys() = plan.add_api_keys();
    *p.mutable_put_identity_settings() = plan.set_identity_settings();
    *p.mutable_delete_invitations() = plan.remove_invitation_ids();
    if (!d.empty()) {
      if (absl::Status s = Apply(d); !s.ok()) return s;
    }
  }
  {
    StateDelta d;
    d.set_revisions(state_.revision(), state_.revision());
    v1::StateDelta& p = *d.mutable_proto();
    for (const v1::PrincipalStateChange& c : plan.principal_states()) {
      const v1::Principal* old = state_.Principal(c.principal_id());
      if (old == nullptr) {
        return Invalid(field_, absl::StrCat("identity plan: no principal ",
                                            Quote(c.principal_id())));
      }
      v1::Principal* next = p.add_put_principals();
      *next = *old;
      next->set_state(c.state());
    }
    for (const v1::InvitationStateChange& c : plan.invitation_states()) {
      const auto* old = static_cast<const v1::Invitation*>(
          state_.Find(ObjKind::kInvitation, c.invitation_id()));
      if (old == nullptr) {
        return Invalid(field_, absl::StrCat("identity plan: no invitation ",
                                            Quote(c.invitation_id())));
      }
      v1::Invitation* next = p.add_put_invitations();
      *next = *old;
      next->set_state(c.state());
      if (!c.replaced_by_id().empty()) {
        next->set_replaced_by_id(c.replaced_by_id());
      }
      if (!c.principal_id().empty()) next->set_principal_id(c.principal_id());
    }
    for (const v1::KeyRevocation& r : plan.revoke_api_keys()) {
      const auto* old = static_cast<const v1::ApiKey*>(
          state_.Find(ObjKind::kApiKey, r.key_id()));
      if (old == nullptr) {
        return Invalid(
            field_, absl::StrCat("identity plan: no key ", Quote(r.key_id())));
      }
      v1::ApiKey* next = p.add_put_api_keys();
      *next = *old;
      *next->mutable_revoked_at() = r.revoked_at();
    }
    if (!d.empty()) {
      if (absl::Status s = Apply(d); !s.ok()) return s;
    }
  }
  for (const std::string& id : plan.remove_grant_ids()) {
    const v1::Grant* g = state_.Grant(id);
    if (g == nullptr) {
      return Invalid(field_,
                     absl::StrCat("identity plan: no grant ", Quote(id)));
    }
    const v1::Grant copy = *g;
    if (absl::Status s = RemoveGrant(copy); !s.ok()) return s;
  }
  for (const v1::Grant& g : plan.add_grants()) {
    if (absl::Status s = AddGrant(g); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TransactionApplier::RetireIdentity(
    const v1::Principal& principal) {
  IndexedStateView view(state_);
  v1::IdentityPlan plan = PlanRevokeApiKeys(view, principal.id(), now_);
  if (principal.state() == v1::PRINCIPAL_STATE_INVITED) {
    // An invitee removed before joining cannot join on the old invitation.
    for (const v1::Invitation* inv : view.InvitationsOf(principal.org_id())) {
      if (inv->state() == v1::INVITATION_STATE_PENDING &&
          EqualsIgnoreCase(inv->email(), principal.email())) {
        v1::InvitationStateChange* c = plan.add_invitation_states();
        c->set_invitation_id(inv->id());
        c->set_state(v1::INVITATION_STATE_DELETED);
      }
    }
  }
  if (absl::Status s = ApplyPlan(plan); !s.ok()) return s;
  for (const v1::KeyRevocation& r : plan.revoke_api_keys()) {
    Audit(audit_action::kRevoke, audit_entity::kApiKey, r.key_id(),
          {{"key_id", r.key_id()}, {"principal_id", principal.id()}});
  }
  for (const v1::InvitationStateChange& c : plan.invitation_states()) {
    Audit(audit_action::kDelete, audit_entity::kInvitation, c.invitation_id(),
          {{"id", c.invitation_id()}, {"invitee_email", principal.email()}});
  }
  return absl::OkStatus();
}

// ---- §10.1 Invitations
// -----------------------------------------------------------

absl::Status TransactionApplier::InviteUsers(const v1::InviteUsers& m) {
  if (absl::Status s = Authorize("org.invitations.manage", org_); !s.ok()) {
    return s;
  }
  if (m.emails().empty()) return Invalid(field_, "no email to invite");
  if (m.principal_ids_size() > 0 && m.principal_ids_size() != m.emails_size()) {
    return Invalid(field_, "principal_ids must name one id per email");
  }
  const IdentityOptions rules = IdentityRules();
  IndexedStateView view(state_);
  const std::vector<std::string> emails(m.emails().begin(), m.emails().end());
  absl::StatusOr<InviteOutcome> plan =
      PlanInvitations(view, org_, emails, actor_, now_, rules);
  if (!plan.ok()) return FromRule(plan.status());

  // Match the answers to the request: both lists keep its order, and only
  // the first occurrence of an address can be invited.
  struct Answer {
    const v1::Invitation* invited = nullptr;
    const InviteOutcome::Refusal* refused = nullptr;
  };
  std::vector<Answer> answers(emails.size());
  {
    size_t k = 0, r = 0;
    absl::flat_hash_set<std::string> taken;
    for (size_t i = 0; i < emails.size(); ++i) {
      const std::string lower = Lower(emails[i]);
      if (k < plan->invited.size() && plan->invited[k].email() == lower &&
          taken.insert(lower).second) {
        answers[i].invited = &plan->invited[k++];
      } else if (r < plan->refused.size()) {
        answers[i].refused = &plan->refused[r++];
      } else {
        return Refuse(absl::StatusCode::kInternal, Refusal::kInvalid,
                      absl::StrCat(field_,
                                   ": invitation answers do not "
                                   "match the request"));
      }
    }
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].refused == nullptr) continue;
    if (plan->invited.empty() || m.all_or_nothing()) {
      return FromRule(answers[i].refused->status,
                      absl::StrCat(field_, ".emails[", i, "]"));
    }
  }

  // The invitations, with the invitations they replace.
  if (absl::Status s = ApplyPlan(plan->plan); !s.ok()) return s;
  absl::flat_hash_map<std::string, std::string> replaced;  // new -> old
  for (const v1::InvitationStateChange& c : plan->plan.invitation_states()) {
    if (c.state() == v1::INVITATION_STATE_REPLACED) {
      replaced[c.replaced_by_id()] = c.invitation_id();
    }
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    InvitationOutcome outcome;
    outcome.mutation = index_;
    outcome.email = emails[i];
    if (answers[i].refused != nullptr) {
      outcome.status = FromRule(answers[i].refused->status,
                                absl::StrCat(field_, ".emails[", i, "]"));
      identity_.invitations.push_back(std::move(outcome));
      continue;
    }
    const v1::Invitation& inv = *answers[i].invited;
    const std::string where = absl::StrCat(field_, ".emails[", i, "]");
    // The invitee as an INVITED principal (it holds nothing until it
    // joins); an earlier invitee of the address is replaced, like its
    // invitation.
    for (const v1::Principal* p : state_.PrincipalsByEmail(org_, inv.email())) {
      if (p->state() != v1::PRINCIPAL_STATE_INVITED) continue;
      v1::Principal old = *p;
      old.set_state(v1::PRINCIPAL_STATE_DELETED);
      if (absl::Status s = PutPrincipal(old); !s.ok()) return s;
    }
    v1::Principal invited;
    invited.set_id(m.principal_ids_size() > 0 ? m.principal_ids(i)
                                              : NewId("usr_"));
    const std::string problem =
        CheckId(invited.id(), engine_.options().max_id_length);
    if (!problem.empty()) {
      return Invalid(absl::StrCat(field_, ".principal_ids[", i, "]"), problem);
    }
    if (view.IdInUse(invited.id())) {
      return Violates(
          absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists, where,
          absl::StrCat("principal id ", Quote(invited.id()), " is taken"));
    }
    invited.set_org_id(org_);
    invited.set_kind(v1::PRINCIPAL_KIND_USER);
    invited.set_email(inv.email());
    invited.set_state(v1::PRINCIPAL_STATE_INVITED);
    if (absl::Status s = PutPrincipal(invited); !s.ok()) return s;
    auto rep = replaced.find(inv.id());
    const std::string replaces = rep == replaced.end() ? "" : rep->second;
    const std::string expires = TimeString(TimeOf(inv.expires_at()));
    if (replaces.empty()) {
      Audit(audit_action::kInvite, audit_entity::kUser, invited.id(),
            {{"invitee_email", inv.email()},
             {"invitation_id", inv.id()},
             {"expires_at", expires}});
    } else {
      Audit(audit_action::kInvite, audit_entity::kUser, invited.id(),
            {{"invitee_email", inv.email()},
             {"invitation_id", inv.id()},
             {"expires_at", expires},
             {"replaces", replaces}});
    }
    outcome.invitation_id = inv.id();
    outcome.principal_id = invited.id();
    outcome.expires_at = TimeOf(inv.expires_at());
    outcome.replaced_invitation_id = replaces;
    identity_.invitations.push_back(std::move(outcome));
  }
  return absl::OkStatus();
}

absl::Status TransactionApplier::AcceptInvitation(
    const v1::AcceptInvitation& m) {
  absl::StatusOr<const v1::Principal*> p =
      FindPrincipal(m.principal().empty() ? absl::string_view(actor_)
                                          : absl::string_view(m.principal()),
                    "principal");
  if (!p.ok()) return p.status();
  const v1::Principal invitee = **p;
  // Only the invitee accepts its invitation.
  if (invitee.id() != actor_) {
    return Violates(
        absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied, field_,
        absl::StrCat(Quote(actor_), " may not accept the invitation of ",
                     Quote(invitee.id())));
  }
  if (invitee.state() != v1::PRINCIPAL_STATE_INVITED) {
    return Violates(
        absl::StatusCode::kFailedPrecondition, Refusal::kNotInvited, field_,
        absl::StrCat(Quote(invitee.id()), " has no pending invitation"));
  }
  std::string invitation = m.invitation_id();
  if (invitation.empty()) {
    // The address's pending invitation; an expired one is named so that
    // the rule says it expired.
    const v1::Invitation* pending =
        PendingInvitationOf(state_, org_, invitee.email(), now_);
    if (pending == nullptr) {
      pending = PendingInvitationOf(state_, org_, invitee.email(),
                                    absl::InfinitePast());
    }
    if (pending == nullptr) {
      return Violates(
          absl::StatusCode::kFailedPrecondition, Refusal::kNotInvited, field_,
          absl::StrCat(Quote(invitee.id()), " has no pending invitation"));
    }
    invitation = pending->id();
  } else {
    const auto* inv = static_cast<const v1::Invitation*>(
        state_.Find(ObjKind::kInvitation, invitation));
    if (inv == nullptr || inv->org_id() != org_) {
      return Violates(absl::StatusCode::kNotFound, Refusal::kNotInvited,
                      absl::StrCat(field_, ".invitation_id"),
                      absl::StrCat("no invitation ", Quote(invitation),
                                   " in organization ", Quote(org_)));
    }
  }
  const IdentityOptions rules = IdentityRules();
  IndexedStateView view(state_);
  absl::StatusOr<AcceptOutcome> plan = PlanAcceptInvitation(
      view, invitation, actor_email_, m.name(), now_, rules);
  if (!plan.ok()) return FromRule(plan.status());
  if (absl::Status s = ApplyPlan(plan->plan); !s.ok()) return s;
  if (!m.name().empty()) {
    v1::Principal named = *state_.Principal(plan->principal_id);
    named.set_name(m.name());
    if (absl::Status s = PutPrincipal(named); !s.ok()) return s;
  }
  Audit(audit_action::kJoin, audit_entity::kUser, plan->principal_id,
        {{"invitation_id", invitation}});
  for (const v1::Grant& g : plan->plan.add_grants()) {
    Audit(audit_action::kGrant, audit_entity::kCloud, g.cloud_id(),
          {{"principal_id", g.principal_id()},
           {"role", g.role()},
           {"source", "auto_add"}});
  }
  return absl::OkStatus();
}

// ---- §10.5 Service accounts
// ------------------------------------------------------

absl::Status TransactionApplier::CreateServiceAccount(
    const v1::CreateServiceAccount& m) {
  if (absl::Status s = Authorize("org.service_accounts.manage", org_);
      !s.ok()) {
    return s;
  }
  IdentityOptions rules = IdentityRules();
  IndexedStateView view(state_);
  if (!m.principal_id().empty()) {
    const std::string problem =
        CheckId(m.principal_id(), engine_.options().max_id_length);
    if (!problem.empty()) {
      return Invalid(absl::StrCat(field_, ".principal_id"), problem);
    }
    if (view.IdInUse(m.principal_id())) {
      return Violates(
          absl::StatusCode::kAlreadyExists, Refusal::kAlreadyExists, field_,
          absl::StrCat("principal id ", Quote(m.principal_id()), " is taken"));
    }
    // The plan draws the account's id first: give it the requested one.
    auto draw = rules.new_id;
    auto requested = std::make_shared<std::string>(m.principal_id());
    rules.new_id = [draw, requested](absl::string_view prefix) {
      if (prefix == "sa" && !requested->empty()) {
        return std::exchange(*requested, std::string());
      }
      return draw(prefix);
    };
  }
  absl::StatusOr<NewKeyOutcome> plan =
      PlanCreateServiceAccount(view, org_, m.name(), now_, rules);
  if (!plan.ok()) return FromRule(plan.status());
  if (absl::Status s = ApplyPlan(plan->plan); !s.ok()) return s;
  const v1::Principal sa = *state_.Principal(plan->principal_id);
  Audit(audit_action::kCreate, audit_entity::kServiceAccount, sa.id(),
        {{"id", sa.id()}, {"name", sa.name()}, {"email", sa.email()}});
  Audit(audit_action::kCreate, audit_entity::kApiKey, plan->key_id,
        {{"key_id", plan->key_id},
         {"principal_id", sa.id()},
         {"kind", KeyKindName(v1::API_KEY_KIND_SERVICE_ACCOUNT)}});
  IssuedKey key;
  key.mutation = index_;
  key.principal_id = sa.id();
  key.key_id = plan->key_id;
  key.kind = v1::API_KEY_KIND_SERVICE_ACCOUNT;
  key.credential =
      std::make_shared<const Credential>(std::move(plan->credential));
  identity_.keys.push_back(std::move(key));
  // Auto-add clouds take it too, like any member joining (SetAutoAdd is
  // retroactive for service accounts as well).
  std::vector<std::string> clouds(state_.CloudsOf(org_).begin(),
                                  state_.CloudsOf(org_).end());
  std::sort(clouds.begin(), clouds.end());
  for (const std::string& id : clouds) {
    const v1::Cloud* cloud = state_.Cloud(id);
    if (cloud != nullptr && cloud->auto_add_users()) {
      if (absl::Status s = AutoAdd(*cloud, sa); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status TransactionApplier::DeleteServiceAccount(
    const v1::DeleteServiceAccount& m) {
  if (absl::Status s = Authorize("org.service_accounts.manage", org_);
      !s.ok()) {
    return s;
  }
  IndexedStateView view(state_);
  std::string target = m.principal();
  if (target.find('@') != std::string::npos) {
    // By email: the plan takes an id or a name.
    if (const v1::Principal* p = view.FindPrincipalByEmail(org_, target)) {
      target = p->id();
    }
  }
  absl::StatusOr<v1::IdentityPlan> plan =
      PlanDeleteServiceAccount(view, org_, target, now_);
  if (!plan.ok()) return FromRule(plan.status());
  const std::string id = plan->principal_states(0).principal_id();
  if (absl::Status s = ApplyPlan(*plan); !s.ok()) return s;
  owners_changed_ = true;
  Audit(audit_action::kDelete, audit_entity::kServiceAccount, id, {{"id", id}});
  for (const v1::KeyRevocation& r : plan->revoke_api_keys()) {
    Audit(audit_action::kRevoke, audit_entity::kApiKey, r.key_id(),
          {{"key_id", r.key_id()}, {"principal_id", id}});
  }
  return absl::OkStatus();
}

// ---- The mutations added for §10
// ---------------------------------------------------

absl::Status TransactionApplier::IdentityMutation(const v1::Mutation& m) {
  switch (m.op_case()) {
    case v1::Mutation::kDeleteInvitation:
      return DeleteInvitation(m.delete_invitation());
    case v1::Mutation::kExpireInvitations:
      return ExpireInvitations();
    case v1::Mutation::kCreateApiKey:
    case v1::Mutation::kRotateApiKeys:
      return IssueApiKey(m);
    case v1::Mutation::kRevokeApiKey:
      return RevokeApiKey(m.revoke_api_key());
    case v1::Mutation::kRevokeApiKeys:
      return RevokeApiKeys(m.revoke_api_keys());
    case v1::Mutation::kSetIdentitySettings:
      return SetIdentitySettings(m.set_identity_settings());
    default:
      break;
  }
  return Invalid(field_, "not an identity mutation");
}

// The principal a key mutation names: an id, an email, a service account's
// name, or (empty) the actor.
absl::StatusOr<const v1::Principal*> TransactionApplier::FindKeyHolder(
    const std::string& name) const {
  if (name.empty()) return state_.Principal(actor_);
  absl::StatusOr<const v1::Principal*> p = FindPrincipal(name, "principal");
  if (p.ok() || name.find('@') != std::string::npos) return p;
  IndexedStateView view(state_);
  if (const v1::Principal* sa =
          view.FindPrincipalByEmail(org_, ServiceAccountEmail(org_, name))) {
    if (sa->kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT) return sa;
  }
  return p;
}

// Who may manage whose keys (access-model §5.1): service accounts' keys are
// the org owners' (org.service_accounts.manage); a user's keys are made and
// rotated by that user only (a key acts as its principal), and revoked by
// that user or by whoever may remove users.
absl::Status TransactionApplier::AuthorizeKeys(const v1::Principal& holder,
                                               bool revoke_only) {
  if (holder.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT) {
    return Authorize("org.service_accounts.manage", org_);
  }
  if (holder.id() == actor_) {
    return Authorize("org.api_keys.manage_own", org_);
  }
  if (revoke_only) return Authorize("org.users.remove", org_);
  return Violates(
      absl::StatusCode::kPermissionDenied, Refusal::kPermissionDenied, field_,
      absl::StrCat(Quote(actor_), " may not make keys for ", Quote(holder.id()),
                   ": a user's key is made by that user"));
}

absl::Status TransactionApplier::DeleteInvitation(
    const v1::DeleteInvitation& m) {
  IndexedStateView view(state_);
  if (absl::Status s = Authorize("org.invitations.manage", org_); !s.ok()) {
    return s;
  }
  const std::string& name = m.invitation();
  if (name.empty()) return Invalid(field_, "missing invitation");
  const v1::Invitation* inv = view.FindInvitation(name);
  if (inv == nullptr && name.find('@') != std::string::npos) {
    inv = PendingInvitationOf(state_, org_, name, now_);
  }
  if (inv == nullptr || inv->org_id() != org_) {
    return Violates(absl::StatusCode::kNotFound, Refusal::kNotFound,
                    absl::StrCat(field_, ".invitation"),
                    absl::StrCat("no invitation ", Quote(name),
                                 " in organization ", Quote(org_)));
  }
  const std::string id = inv->id();
  const std::string email = inv->email();
  absl::StatusOr<v1::IdentityPlan> plan = PlanDeleteInvitation(view, id);
  if (!plan.ok()) return FromRule(plan.status());
  // Its invitee goes with it.
  for (const v1::Principal* p : state_.PrincipalsByEmail(org_, email)) {
    if (p->state() != v1::PRINCIPAL_STATE_INVITED) continue;
    v1::PrincipalStateChange* c = plan->add_principal_states();
    c->set_principal_id(p->id());
    c->set_state(v1::PRINCIPAL_STATE_DELETED);
  }
  if (absl::Status s = ApplyPlan(*plan); !s.ok()) return s;
  Audit(audit_action::kDelete, audit_entity::kInvitation, id,
        {{"id", id}, {"invitee_email", email}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::ExpireInvitations() {
  IndexedStateView view(state_);
  if (absl::Status s = Authorize("org.invitations.manage", org_); !s.ok()) {
    return s;
  }
  const v1::IdentityPlan plan = PlanInvitationHousekeeping(view, org_, now_);
  if (absl::Status s = ApplyPlan(plan); !s.ok()) return s;
  for (const v1::InvitationStateChange& c : plan.invitation_states()) {
    Audit("EXPIRE", audit_entity::kInvitation, c.invitation_id(),
          {{"id", c.invitation_id()}});
  }
  if (plan.remove_invitation_ids_size() > 0) {
    Audit("PURGE", audit_entity::kInvitation, org_,
          {{"records", absl::StrCat(plan.remove_invitation_ids_size())}});
  }
  return absl::OkStatus();
}

// create_api_key and rotate_api_keys: one new key (rotate: the others of
// the holder revoked), its credential handed out once in the outcome.
absl::Status TransactionApplier::IssueApiKey(const v1::Mutation& m) {
  const IdentityOptions rules = IdentityRules();
  IndexedStateView view(state_);
  const bool rotate = m.has_rotate_api_keys();
  const std::string& who =
      rotate ? m.rotate_api_keys().principal() : m.create_api_key().principal();
  absl::StatusOr<const v1::Principal*> holder = FindKeyHolder(who);
  if (!holder.ok()) return holder.status();
  if (*holder == nullptr) return Invalid(field_, "no principal");
  const v1::Principal h = **holder;
  if (absl::Status s = AuthorizeKeys(h, false); !s.ok()) return s;
  KeySpec spec;
  spec.principal_id = h.id();
  spec.kind = DefaultKeyKind(
      h, rotate ? m.rotate_api_keys().kind() : m.create_api_key().kind());
  spec.name = rotate ? m.rotate_api_keys().name() : m.create_api_key().name();
  const google::protobuf::Timestamp& expires =
      rotate ? m.rotate_api_keys().expires_at()
             : m.create_api_key().expires_at();
  const bool has_expiry = rotate ? m.rotate_api_keys().has_expires_at()
                                 : m.create_api_key().has_expires_at();
  if (has_expiry) spec.expires_at = TimeOf(expires);
  if (rotate && spec.name.empty() && spec.kind == v1::API_KEY_KIND_USER) {
    // The new key takes the name of the newest live personal key.
    absl::Time newest = absl::InfinitePast();
    for (const v1::ApiKey* k : view.ApiKeysOf(h.id())) {
      if (k->kind() == v1::API_KEY_KIND_USER && KeyLive(*k, now_, rules) &&
          TimeOf(k->created_at()) >= newest) {
        newest = TimeOf(k->created_at());
        spec.name = k->name();
      }
    }
  }
  absl::StatusOr<NewKeyOutcome> out =
      rotate ? PlanRotateApiKeys(view, spec, now_, rules)
             : PlanCreateApiKey(view, spec, now_, rules);
  if (!out.ok()) return FromRule(out.status());
  if (absl::Status s = ApplyPlan(out->plan); !s.ok()) return s;
  const auto* record = static_cast<const v1::ApiKey*>(
      state_.Find(ObjKind::kApiKey, out->key_id));
  IssuedKey key;
  key.mutation = index_;
  key.principal_id = out->principal_id;
  key.key_id = out->key_id;
  key.kind = spec.kind;
  if (record != nullptr) key.expires_at = KeyExpiry(*record, rules);
  const std::string expiry = TimeText(key.expires_at);
  const std::string revoked = absl::StrCat(out->plan.revoke_api_keys_size());
  Audit(rotate ? audit_action::kRotate : audit_action::kCreate,
        audit_entity::kApiKey, out->key_id,
        {{"key_id", out->key_id},
         {"principal_id", h.id()},
         {"kind", KeyKindName(spec.kind)},
         {"name", spec.name},
         {"expires_at", expiry},
         {"revoked_keys", revoked}});
  for (const v1::KeyRevocation& r : out->plan.revoke_api_keys()) {
    Audit(audit_action::kRevoke, audit_entity::kApiKey, r.key_id(),
          {{"key_id", r.key_id()},
           {"principal_id", h.id()},
           {"rotated_to", out->key_id}});
  }
  key.credential =
      std::make_shared<const Credential>(std::move(out->credential));
  identity_.keys.push_back(std::move(key));
  return absl::OkStatus();
}

absl::Status TransactionApplier::RevokeApiKey(const v1::RevokeApiKey& m) {
  IndexedStateView view(state_);
  const std::string& id = m.key_id();
  const v1::ApiKey* k = view.FindApiKey(id);
  const v1::Principal* holder =
      k == nullptr ? nullptr : state_.Principal(k->principal_id());
  // Another organization's key is as unknown as a missing one.
  if (k == nullptr || holder == nullptr || holder->org_id() != org_) {
    return Violates(
        absl::StatusCode::kNotFound, Refusal::kNotFound,
        absl::StrCat(field_, ".key_id"),
        absl::StrCat("no key ", Quote(id), " in organization ", Quote(org_)));
  }
  const v1::Principal h = *holder;
  if (absl::Status s = AuthorizeKeys(h, true); !s.ok()) return s;
  absl::StatusOr<v1::IdentityPlan> plan = PlanRevokeApiKey(view, id, now_);
  if (!plan.ok()) return FromRule(plan.status());
  if (absl::Status s = ApplyPlan(*plan); !s.ok()) return s;
  Audit(audit_action::kRevoke, audit_entity::kApiKey, id,
        {{"key_id", id}, {"principal_id", h.id()}});
  return absl::OkStatus();
}

absl::Status TransactionApplier::RevokeApiKeys(const v1::RevokeApiKeys& m) {
  IndexedStateView view(state_);
  absl::StatusOr<const v1::Principal*> holder = FindKeyHolder(m.principal());
  if (!holder.ok()) return holder.status();
  if (*holder == nullptr) return Invalid(field_, "no principal");
  const v1::Principal h = **holder;
  if (absl::Status s = AuthorizeKeys(h, true); !s.ok()) return s;
  const v1::IdentityPlan plan = PlanRevokeApiKeys(view, h.id(), now_);
  if (absl::Status s = ApplyPlan(plan); !s.ok()) return s;
  for (const v1::KeyRevocation& r : plan.revoke_api_keys()) {
    Audit(audit_action::kRevoke, audit_entity::kApiKey, r.key_id(),
          {{"key_id", r.key_id()}, {"principal_id", h.id()}});
  }
  return absl::OkStatus();
}

absl::Status TransactionApplier::SetIdentitySettings(
    const v1::SetIdentitySettings& m) {
  IndexedStateView view(state_);
  if (absl::Status s = Authorize("org.sso.configure", org_); !s.ok()) {
    return s;
  }
  v1::IdentitySettings settings = m.settings();
  if (settings.org_id().empty()) settings.set_org_id(org_);
  if (settings.org_id() != org_) {
    return Invalid(
        absl::StrCat(field_, ".settings.org_id"),
        absl::StrCat(Quote(settings.org_id()),
                     " is not the transaction's organization ", Quote(org_)));
  }
  absl::StatusOr<v1::IdentityPlan> plan =
      PlanSetIdentitySettings(view, settings);
  if (!plan.ok()) return FromRule(plan.status());
  if (absl::Status s = ApplyPlan(*plan); !s.ok()) return s;
  const v1::IdentitySettings& set = plan->set_identity_settings(0);
  std::vector<std::string> verified, claimed;
  for (const v1::SsoDomain& d : set.domains()) {
    (d.verified() ? verified : claimed).push_back(d.domain());
  }
  Audit(audit_action::kSet, "IDENTITY_SETTINGS", org_,
        {{"sso_mode", SsoModeName(set.sso_mode())},
         {"verified_domains", absl::StrJoin(verified, ",")},
         {"claimed_domains", absl::StrJoin(claimed, ",")},
         {"scim_enabled", set.scim_enabled() ? "true" : "false"}});
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace arbiter
