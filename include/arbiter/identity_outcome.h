// File: arbiter/identity_outcome.h
//
// What the identity mutations of one admin transaction produced, beyond the
// state change: the credentials of the keys it created (shown once) and the
// answer for every email it was asked to invite. PolicyStore::Apply returns
// it in AppliedTransaction::identity (arbiter/policy_store.h).
//
// Nothing here is logged, replicated or audited: the log and the audit
// records hold key ids and salted hashes, never a secret. A caller that
// drops an IssuedKey without showing its credential has lost the key (revoke
// it and make another).
//
// Thread safety: plain values; copies share the credential (immutable).

#ifndef ARBITER_IDENTITY_OUTCOME_H_
#define ARBITER_IDENTITY_OUTCOME_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "arbiter/identity.h"
#include "arbiter/v1/identity.pb.h"

namespace arbiter {

// A key made by create_api_key, rotate_api_keys or create_service_account.
struct IssuedKey {
  // The mutation's index in Transaction.mutations.
  int mutation = -1;
  std::string principal_id;
  std::string key_id;
  v1::ApiKeyKind kind = v1::API_KEY_KIND_UNSPECIFIED;
  // The effective expiry (InfiniteFuture() when none).
  absl::Time expires_at = absl::InfiniteFuture();
  // The only copy of the secret (Credential::Reveal()); shared by the copies
  // of this struct and wiped when the last one goes.
  std::shared_ptr<const Credential> credential;
};

// The answer for one email of an invite_users mutation, in request order.
struct InvitationOutcome {
  int mutation = -1;
  // As requested (not lower-cased).
  std::string email;
  // OK when invited; otherwise the refusal, whose IdentityRule
  // (IdentityRuleOf, arbiter/identity_rules.h) names the rule, e.g.
  // INVITE_ALREADY_MEMBER or INVITE_PENDING_LIMIT.
  absl::Status status;
  // When invited: the invitation, the invited principal (INVITED until the
  // invitee accepts), the instant it expires, and the pending invitation it
  // replaced (a re-invitation), if any.
  std::string invitation_id;
  std::string principal_id;
  absl::Time expires_at = absl::InfinitePast();
  std::string replaced_invitation_id;
};

struct IdentityOutcome {
  std::vector<IssuedKey> keys;
  std::vector<InvitationOutcome> invitations;

  bool empty() const { return keys.empty() && invitations.empty(); }
};

}  // namespace arbiter

#endif  // ARBITER_IDENTITY_OUTCOME_H_
