// File: arbiter/identity_rules.h
//
// The rules of the identity lifecycle (access-model §10 and the related rows
// of §4.3) as pure functions: invitations, service accounts, API keys, SSO
// settings and SCIM. None of them changes a state. Each either refuses with
// an absl::Status, or returns a v1::IdentityPlan: the list of records to add,
// change or remove, which the administration layer authorizes, audits and
// applies (ApplyIdentityPlan applies one to a PolicySet, all or nothing).
//
// Every refusal carries, besides its canonical code and a message naming the
// object, a stable IdentityRule (IdentityRuleOf(status)), so that the caller
// maps each rule to its own refusal code. docs/identity.md lists them all.
//
// Who may call what (org owners for invitations and service accounts, every
// member for their own keys) is the caller's business: it checks the guarding
// permission with Engine::Check before calling.
//
// Reads go through IdentityStateView. PolicySetView indexes a v1::PolicySet
// in O(size) once; a store keeping its own indexes implements the view and
// makes every per-object rule O(the object's keys, invitations, grants).
//
// Example:
//
//   arbiter::PolicySetView view(state);
//   absl::StatusOr<arbiter::NewKeyOutcome> sa =
//       arbiter::PlanCreateServiceAccount(view, "org_123", "deployer", now);
//   if (!sa.ok()) return sa.status();  // IdentityRuleOf(sa.status())
//   ARBITER_RETURN_IF_ERROR(arbiter::ApplyIdentityPlan(sa->plan, &state));
//   Send(sa->credential.Reveal());  // the only time the secret exists

#ifndef ARBITER_IDENTITY_RULES_H_
#define ARBITER_IDENTITY_RULES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/identity.h"
#include "arbiter/v1/identity.pb.h"
#include "arbiter/v1/policy_set.pb.h"

namespace arbiter {

// ---- Refusals ----------------------------------------------------------

// One value per rule; the comment gives the status code it comes with.
enum class IdentityRule : uint8_t {
  kNone = 0,             // OK, or a status not made by these functions
  kUnknownOrganization,  // NotFound
  // §10.1 invitations
  kInviteSsoRequired,        // FailedPrecondition
  kInviteScimWithPolicy,     // FailedPrecondition
  kInviteInvalidEmail,       // InvalidArgument
  kInviteDuplicateEmail,     // InvalidArgument (twice in one request)
  kInviteAlreadyMember,      // AlreadyExists
  kInvitePendingLimit,       // ResourceExhausted
  kInviteDailyLimit,         // ResourceExhausted
  kInvitationUnknown,        // NotFound
  kInvitationNotPending,     // FailedPrecondition
  kInvitationExpired,        // FailedPrecondition
  kInvitationEmailMismatch,  // PermissionDenied
  // §10.5 service accounts and keys
  kServiceAccountNameInvalid,  // InvalidArgument
  kServiceAccountNameTaken,    // AlreadyExists
  kServiceAccountUnknown,      // NotFound
  kPrincipalUnknown,           // NotFound
  kPrincipalNotActive,         // FailedPrecondition
  kKeyKindMismatch,            // InvalidArgument
  kKeyNameInvalid,             // InvalidArgument
  kKeyNameTaken,               // AlreadyExists
  kKeyExpiryInvalid,           // InvalidArgument
  kKeyLimit,                   // ResourceExhausted
  kKeyUnknown,                 // NotFound
  kKeyAlreadyRevoked,          // FailedPrecondition
  // §10.4 and §4.3: SCIM
  kScimHumanRevoke,           // FailedPrecondition
  kGroupMembershipNotSynced,  // PermissionDenied
  kScimNotEnabled,            // FailedPrecondition
  kLastOrgOwner,              // FailedPrecondition
  // §10.3 SSO settings
  kSsoDomainInvalid,    // InvalidArgument
  kSsoDomainDuplicate,  // InvalidArgument
  kSsoDomainTaken,      // AlreadyExists
  kSsoModeInvalid,      // InvalidArgument
  // ApplyIdentityPlan: the plan does not fit the state (stale or foreign)
  kPlanConflict,  // FailedPrecondition
  // The random generator failed
  kInternal,  // Internal
};

// "INVITE_SSO_REQUIRED", ...
absl::string_view IdentityRuleName(IdentityRule rule);
// The rule a status of these functions carries (a payload); kNone for OK
// and for any other status.
IdentityRule IdentityRuleOf(const absl::Status& status);

// ---- Reading the state ---------------------------------------------------

// What the rules read. Pointers stay valid while the underlying state does.
// Emails compare case-insensitively; ids exactly.
class IdentityStateView {
 public:
  virtual ~IdentityStateView() = default;
  virtual const v1::Organization* FindOrganization(
      absl::string_view id) const = 0;
  virtual const v1::Principal* FindPrincipal(absl::string_view id) const = 0;
  // The principal of `org_id` with `email` that is not DELETED (there is at
  // most one), or nullptr.
  virtual const v1::Principal* FindPrincipalByEmail(
      absl::string_view org_id, absl::string_view email) const = 0;
  virtual const v1::ApiKey* FindApiKey(absl::string_view id) const = 0;
  virtual const v1::Invitation* FindInvitation(absl::string_view id) const = 0;
  virtual const v1::IdentitySettings* FindIdentitySettings(
      absl::string_view org_id) const = 0;
  // Every key record of the principal, revoked ones included.
  virtual std::vector<const v1::ApiKey*> ApiKeysOf(
      absl::string_view principal_id) const = 0;
  // Every invitation record of the organization, whatever its state.
  virtual std::vector<const v1::Invitation*> InvitationsOf(
      absl::string_view org_id) const = 0;
  // The grants whose subject is this principal or group.
  virtual std::vector<const v1::Grant*> GrantsOf(
      absl::string_view subject_id) const = 0;
  virtual std::vector<const v1::Cloud*> CloudsOf(
      absl::string_view org_id) const = 0;
  // True when a grant to a group of the organization is live at `now` (a
  // "policy binding", §4.3).
  virtual bool HasGroupBinding(absl::string_view org_id,
                               absl::Time now) const = 0;
  // True when any object of the state has this id.
  virtual bool IdInUse(absl::string_view id) const = 0;
  // The organization whose settings verify `domain` (lower case), or "".
  virtual absl::string_view OrgVerifyingDomain(
      absl::string_view domain) const = 0;
};

// IdentityStateView over a PolicySet, indexed once in O(size). `state` must
// outlive the view and must not change while the view is used. Thread-safe
// for concurrent reads.
class PolicySetView final : public IdentityStateView {
 public:
  explicit PolicySetView(const v1::PolicySet& state);
  ~PolicySetView() override;
  PolicySetView(const PolicySetView&) = delete;
  PolicySetView& operator=(const PolicySetView&) = delete;

  const v1::PolicySet& state() const { return state_; }

  const v1::Organization* FindOrganization(absl::string_view id) const override;
  const v1::Principal* FindPrincipal(absl::string_view id) const override;
  const v1::Principal* FindPrincipalByEmail(
      absl::string_view org_id, absl::string_view email) const override;
  const v1::ApiKey* FindApiKey(absl::string_view id) const override;
  const v1::Invitation* FindInvitation(absl::string_view id) const override;
  const v1::IdentitySettings* FindIdentitySettings(
      absl::string_view org_id) const override;
  std::vector<const v1::ApiKey*> ApiKeysOf(
      absl::string_view principal_id) const override;
  std::vector<const v1::Invitation*> InvitationsOf(
      absl::string_view org_id) const override;
  std::vector<const v1::Grant*> GrantsOf(
      absl::string_view subject_id) const override;
  std::vector<const v1::Cloud*> CloudsOf(
      absl::string_view org_id) const override;
  bool HasGroupBinding(absl::string_view org_id, absl::Time now) const override;
  bool IdInUse(absl::string_view id) const override;
  absl::string_view OrgVerifyingDomain(absl::string_view domain) const override;

 private:
  struct Index;
  const v1::PolicySet& state_;
  std::unique_ptr<const Index> index_;
};

// ---- §10.1 Invitations ---------------------------------------------------

struct InviteOutcome {
  // The new invitations and the pending ones they replace.
  v1::IdentityPlan plan;
  // The invitations made, in request order (copies of plan.add_invitations).
  std::vector<v1::Invitation> invited;
  // Every other email of the request, with its refusal.
  struct Refusal {
    std::string email;
    absl::Status status;
  };
  std::vector<Refusal> refused;
};

// Invites `emails` (any case; stored in lower case) into `org_id`. The whole
// request is refused when the organization is unknown
// (kUnknownOrganization), its SSO mode is REQUIRED (kInviteSsoRequired), or
// SCIM is on and a group binding exists (kInviteScimWithPolicy). Otherwise
// each email is judged in order and either invited or refused on its own:
// kInviteInvalidEmail, kInviteDuplicateEmail, kInviteAlreadyMember (an
// ACTIVE principal of the organization has the address), kInviteDailyLimit
// (options.max_invitations_per_day sent in the last 24 h, this request's
// included), kInvitePendingLimit (options.max_pending_invitations pending).
// Re-inviting a pending address replaces its invitation with a new one (new
// id; the old becomes REPLACED) and does not add to the pending count.
// Each invitation expires options.invitation_ttl after `now`.
absl::StatusOr<InviteOutcome> PlanInvitations(
    const IdentityStateView& state, absl::string_view org_id,
    const std::vector<std::string>& emails, absl::string_view inviter_id,
    absl::Time now, const IdentityOptions& options = {});

// Deletes a pending invitation (state DELETED; the record stays for the
// daily count). kInvitationUnknown, kInvitationNotPending.
absl::StatusOr<v1::IdentityPlan> PlanDeleteInvitation(
    const IdentityStateView& state, absl::string_view invitation_id);

// The organization's invitations that are pending at `now` (state PENDING
// and unexpired), oldest first.
std::vector<v1::Invitation> ListPendingInvitations(
    const IdentityStateView& state, absl::string_view org_id, absl::Time now);

// Marks the pending invitations that expired by `now` EXPIRED, and removes
// the records that no longer count (not pending, created 24 h or more
// before `now`). Optional housekeeping: no rule depends on it.
v1::IdentityPlan PlanInvitationHousekeeping(const IdentityStateView& state,
                                            absl::string_view org_id,
                                            absl::Time now);

struct AcceptOutcome {
  v1::IdentityPlan plan;
  // The principal the invitee is now (new, or the INVITED one activated).
  std::string principal_id;
};

// The invitee of `invitation_id`, who authenticated as `accepting_email`,
// joins: an INVITED principal of the organization with that address becomes
// ACTIVE, else a new ACTIVE user is added (a new id: a re-invited deleted user
// never gets the old one back, §4.1 rule 2). Membership gives the profile's
// member_role (org_collaborator) implicitly; the plan adds an AUTO_ADD grant
// of the profile's auto_add_role on every cloud of the organization with
// auto_add_users on. Refusals: kInvitationUnknown, kInvitationNotPending,
// kInvitationExpired (at `now`), kInvitationEmailMismatch,
// kInviteAlreadyMember (an ACTIVE principal has the address by now).
absl::StatusOr<AcceptOutcome> PlanAcceptInvitation(
    const IdentityStateView& state, absl::string_view invitation_id,
    absl::string_view accepting_email, absl::string_view name, absl::Time now,
    const IdentityOptions& options = {});

// ---- §10.5 Service accounts and API keys ---------------------------------

// "<name>@org-<label>.serviceaccount.com", the label being the organization
// id without an "org_" prefix, in lower case, '_' turned into '-' (org_123 →
// ci@org-123.serviceaccount.com).
std::string ServiceAccountEmail(absl::string_view org_id,
                                absl::string_view name);

// A service account name is 1..63 bytes of [a-z0-9-], starting with a letter
// or digit. kServiceAccountNameInvalid.
absl::Status CheckServiceAccountName(absl::string_view name);

struct NewKeyOutcome {
  v1::IdentityPlan plan;
  std::string principal_id;
  std::string key_id;
  // Shown once; the plan holds only the salted hash.
  Credential credential;
};

// A new service account of `org_id` (ACTIVE, the documented email) with its
// first key (§10.5: `service-account create` returns a key). Refusals:
// kUnknownOrganization, kServiceAccountNameInvalid, kServiceAccountNameTaken
// (a service account, deleted ones aside, has the name). Service accounts
// get no auto-add grant [I].
absl::StatusOr<NewKeyOutcome> PlanCreateServiceAccount(
    const IdentityStateView& state, absl::string_view org_id,
    absl::string_view name, absl::Time now,
    const IdentityOptions& options = {});

// Deletes the service account `name_or_id` of `org_id`: state DELETED, every
// unrevoked key revoked at `now`, every grant to it removed. Refusals:
// kUnknownOrganization, kServiceAccountUnknown (also for a user, or one
// already deleted).
absl::StatusOr<v1::IdentityPlan> PlanDeleteServiceAccount(
    const IdentityStateView& state, absl::string_view org_id,
    absl::string_view name_or_id, absl::Time now);

struct KeySpec {
  std::string principal_id;
  v1::ApiKeyKind kind = v1::API_KEY_KIND_UNSPECIFIED;
  // USER keys: required, unique among the user's live keys. Others:
  // optional, unique when given. 1..128 bytes of printable ASCII.
  std::string name;
  // Optional expiry (must be after `now`); CLI_LOGIN keys always expire at
  // most options.cli_login_key_ttl after `now`.
  absl::Time expires_at = absl::InfiniteFuture();
};

// A new key for an ACTIVE principal. Refusals: kPrincipalUnknown,
// kPrincipalNotActive, kKeyKindMismatch (SERVICE_ACCOUNT keys for service
// accounts only; USER and CLI_LOGIN keys for users only), kKeyNameInvalid,
// kKeyNameTaken, kKeyExpiryInvalid, kKeyLimit
// (options.max_live_keys_per_principal live keys already).
absl::StatusOr<NewKeyOutcome> PlanCreateApiKey(
    const IdentityStateView& state, const KeySpec& spec, absl::Time now,
    const IdentityOptions& options = {});

// Revokes one key at `now`. kKeyUnknown, kKeyAlreadyRevoked.
absl::StatusOr<v1::IdentityPlan> PlanRevokeApiKey(
    const IdentityStateView& state, absl::string_view key_id, absl::Time now);

// Revokes every unrevoked key of a principal at `now` (console "Revoke all
// keys"; part of removing a user). Empty plan when there is none.
v1::IdentityPlan PlanRevokeApiKeys(const IdentityStateView& state,
                                   absl::string_view principal_id,
                                   absl::Time now);

// Rotation (§10.5 `rotate-api-keys`; a user's "rotate platform keys"): one
// new key as PlanCreateApiKey makes it (names and the limit judged as if the
// other keys were already revoked), and every other unrevoked key of the
// principal revoked at `now`.
absl::StatusOr<NewKeyOutcome> PlanRotateApiKeys(
    const IdentityStateView& state, const KeySpec& spec, absl::Time now,
    const IdentityOptions& options = {});

enum class KeyStatus : uint8_t { kActive, kExpired, kRevoked };

// A key as listings show it: no salt, no hash, no secret.
struct ApiKeyInfo {
  std::string id;
  std::string name;
  v1::ApiKeyKind kind = v1::API_KEY_KIND_UNSPECIFIED;
  absl::Time created_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfiniteFuture();  // effective expiry
  absl::Time revoked_at = absl::InfiniteFuture();  // InfiniteFuture: not
  KeyStatus status = KeyStatus::kRevoked;
};

// The principal's keys at `now`, in creation order.
std::vector<ApiKeyInfo> ListApiKeys(const IdentityStateView& state,
                                    absl::string_view principal_id,
                                    absl::Time now,
                                    const IdentityOptions& options = {});

// ---- §10.4 SCIM and the related rows of §4.3 -----------------------------

// §4.3: revoking a human member's access (a cloud or project membership) in
// an organization with SCIM on and a live group binding is refused
// (kScimHumanRevoke); a service account's succeeds. OK otherwise;
// kPrincipalUnknown for an unknown principal.
absl::Status CheckMemberRevocation(const IdentityStateView& state,
                                   absl::string_view principal_id,
                                   absl::Time now);

// §10.4: group membership is written only by the directory sync.
// kGroupMembershipNotSynced unless `from_directory_sync`.
absl::Status CheckGroupMembershipWrite(absl::string_view group_id,
                                       bool from_directory_sync);

// A user of `scim check-permissions`: a live allow role on a cloud (direct,
// auto-add or through groups) and no live project role (direct or through
// groups) on any project of that cloud.
struct PermissionGap {
  std::string principal_id;
  std::string email;
  std::string cloud_id;
  std::vector<std::string> cloud_roles;  // sorted, deduplicated
};

// The gaps of the ACTIVE users of `org_id` at `now` (organization owners
// aside: they hold every project implicitly), sorted by principal and cloud.
// kUnknownOrganization.
absl::StatusOr<std::vector<PermissionGap>> ScimCheckPermissions(
    const v1::PolicySet& state, absl::string_view org_id, absl::Time now,
    const IdentityOptions& options = {});

// `scim enforce-groups`: the plan removes every grant to a user of `org_id`
// (DIRECT and AUTO_ADD; cloud and project scope, and org scope with
// options.enforce_groups_removes_org_bindings) and deletes the ACTIVE users
// who are in no group (revoking their keys); group and service-account
// bindings stay. The plan is the dry run: apply it to enforce. Refusals:
// kUnknownOrganization, kScimNotEnabled, kLastOrgOwner (no ACTIVE principal
// would keep an org-owner role).
absl::StatusOr<v1::IdentityPlan> PlanScimEnforceGroups(
    const v1::PolicySet& state, absl::string_view org_id, absl::Time now,
    const IdentityOptions& options = {});

// ---- §10.3 SSO settings ----------------------------------------------------

// Replaces the organization's identity settings (domains lower-cased).
// Refusals: kUnknownOrganization, kSsoModeInvalid, kSsoDomainInvalid (not a
// DNS name with at least two labels), kSsoDomainDuplicate, kSsoDomainTaken
// (verified by another organization).
absl::StatusOr<v1::IdentityPlan> PlanSetIdentitySettings(
    const IdentityStateView& state, const v1::IdentitySettings& settings);

// ---- Applying a plan -------------------------------------------------------

// Applies `plan` to `state`, all or nothing: first checks that every object
// it changes or removes exists and every object it adds has an unused id
// (else kPlanConflict, FailedPrecondition, naming the object, and `state` is
// untouched). Added objects go at the end of their lists; removed ones keep
// the others' order.
absl::Status ApplyIdentityPlan(const v1::IdentityPlan& plan,
                               v1::PolicySet* state);

}  // namespace arbiter

#endif  // ARBITER_IDENTITY_RULES_H_
