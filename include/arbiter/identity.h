// File: arbiter/identity.h
//
// Identity: who is calling, decided before any Check (access-model §2,
// §4.1 rule 2, §5.5, §10). Two channels reach a principal:
//
//  * API keys (users' personal keys, `anyscale login` keys, service-account
//    keys). A key is presented as a credential string
//
//        ask_<key id>_<64 lower-case hex digits: the 256-bit secret>
//
//    and stored only as a random salt plus SHA-256(salt || secret) in a
//    v1::ApiKey record. MintApiKey makes one; the secret exists only in the
//    Credential it returns, once.
//  * Logins (password, email magic link, SSO), decided by the organization's
//    SSO settings (v1::IdentitySettings): a user whose email is in a verified
//    domain of an organization whose SSO mode is REQUIRED must log in with
//    SSO; a service account never logs in (keys only, never the console).
//
// KeyIndex is the compiled, immutable form of a state's keys, principals and
// SSO settings. KeyIndex::Authenticate resolves a credential to its principal
// or refuses with an AuthReason, failing closed on anything unexpected: a
// malformed credential, an unknown key, a wrong secret, a revoked or expired
// key, a deleted, invited, unknown or other-organization principal, a key
// kind its principal may not hold, a service account on the console, a user
// key where SSO is required (IdentityOptions::user_keys_under_required_sso).
//
// The rule functions that create, rotate and revoke keys, invite users and
// plan SCIM changes are in arbiter/identity_rules.h.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<const arbiter::KeyIndex>> index =
//       arbiter::KeyIndex::Create(state);
//   if (!index.ok()) return index.status();
//   arbiter::AuthResult r = (*index)->Authenticate(
//       request_token, absl::Now(), {arbiter::Channel::kApi, "org_123"});
//   if (!r.authenticated()) {
//     // Answer 401 whatever the reason; log AuthReasonName(r.reason).
//   }
//   // r.principal_index is the principal's position in state.principals().

#ifndef ARBITER_IDENTITY_H_
#define ARBITER_IDENTITY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/request.h"
#include "arbiter/v1/identity.pb.h"
#include "arbiter/v1/policy_set.pb.h"
#include "arbiter/v1/principal.pb.h"
#include "arbiter/v1/role.pb.h"

namespace arbiter {

namespace internal {
struct CredentialAccess;
struct KeyIndexRep;
}  // namespace internal

// ---- Options -----------------------------------------------------------

// Which API keys of a user who must log in with SSO (a verified-domain email
// in an organization whose SSO mode is REQUIRED) still authenticate.
// access-model §10.3 makes SSO govern logins; keys are a separate channel.
enum class SsoKeyPolicy : uint8_t {
  // Every key kind. A key is issued by a session that already logged in
  // (through SSO once it is required); cut older keys by revoking them
  // (PlanRevokeApiKeys). Service accounts are never subject to SSO.
  kAllowAllKeys = 0,
  // Only CLI login keys, which `anyscale login` mints through the browser
  // (hence SSO) and which expire (cli_login_key_ttl); personal USER keys are
  // refused with kSsoRequired.
  kCliLoginKeysOnly,
  // No key of such a user authenticates (kSsoRequired).
  kNoUserKeys,
};

// Knobs of the identity rules, each with its default. Plain data; copy
// freely.
struct IdentityOptions {
  // §10.1: at most this many pending (unexpired) invitations per org.
  int max_pending_invitations = 20;
  // §10.1: at most this many invitations sent per org in any 24 hours
  // (re-invitations and since-deleted invitations count).
  int max_invitations_per_day = 20;
  // How long an invitation stays acceptable. [I] (the docs give an
  // expires_at but no duration).
  absl::Duration invitation_ttl = absl::Hours(7 * 24);
  // §10.5: a CLI login key expires this long after its creation, whatever
  // its record says (the earlier of the two wins).
  absl::Duration cli_login_key_ttl = absl::Hours(7 * 24);
  // Live (unrevoked, unexpired) keys one principal may hold.
  int max_live_keys_per_principal = 100;
  // §10.3 says every user of a verified domain logs in with SSO once SSO is
  // on; by default only SSO mode REQUIRED enforces it, and OPTIONAL lets
  // such users choose. True: OPTIONAL enforces it too.
  bool enforce_sso_in_optional_mode = false;
  SsoKeyPolicy user_keys_under_required_sso = SsoKeyPolicy::kAllowAllKeys;
  // The profile naming the auto-add role and the deny roles; nullptr: the
  // built-in Anyscale profile (arbiter/profile.h). Must outlive the call.
  const v1::Profile* profile = nullptr;
  // Makes the id of a new object from a prefix ("inv", "usr", "sa", "key",
  // "g"). Unset: "<prefix>_<16 hex digits>" of 64 random bits (RAND_bytes).
  // An id already in use is drawn again (up to 16 times). Key ids must be
  // 1..64 bytes of [A-Za-z0-9_-].
  std::function<std::string(absl::string_view prefix)> new_id;
  // SCIM enforce-groups removes every direct user binding at cloud and
  // project scope. True: at org scope too (the org role). [I]
  bool enforce_groups_removes_org_bindings = false;
};

// ---- Credentials ---------------------------------------------------------

// The credential of a new API key: shown once, at creation. Move-only; the
// memory is wiped when it is destroyed. Nothing in the library prints it:
// DebugString() shows the key id only.
class Credential {
 public:
  Credential() = default;
  Credential(Credential&& other) noexcept;
  Credential& operator=(Credential&& other) noexcept;
  Credential(const Credential&) = delete;
  Credential& operator=(const Credential&) = delete;
  ~Credential();

  // "ask_<key id>_<64 hex digits>": give it to the key's holder, then drop
  // it. Empty for a default-constructed Credential.
  absl::string_view Reveal() const { return value_; }
  // "ask_<key id>_<redacted>".
  std::string DebugString() const;

 private:
  friend struct internal::CredentialAccess;
  explicit Credential(std::string value) : value_(std::move(value)) {}
  void Wipe();
  std::string value_;
};

struct MintedKey {
  v1::ApiKey record;  // salt and hash; no secret
  Credential credential;
};

// Makes a key: 32 random secret bytes and 16 random salt bytes
// (RAND_bytes), the record {id, principal_id, kind, name, salt,
// secret_hash, created_at, expires_at (unless InfiniteFuture())}. No rule is
// checked here (see PlanCreateApiKey). InvalidArgument for a key id outside
// 1..64 bytes of [A-Za-z0-9_-]; Internal if the random generator fails.
absl::StatusOr<MintedKey> MintApiKey(absl::string_view key_id,
                                     absl::string_view principal_id,
                                     v1::ApiKeyKind kind,
                                     absl::string_view name,
                                     absl::Time created_at,
                                     absl::Time expires_at);

// True when `credential` is well formed, names `record`'s id and carries the
// secret whose salted hash `record` stores (compared in constant time). Says
// nothing about revocation, expiry or the principal: use
// KeyIndex::Authenticate for that.
bool VerifyApiKeySecret(const v1::ApiKey& record,
                        absl::string_view credential) noexcept;

// ---- Authentication results -------------------------------------------

// Why an authentication failed. Order: the reasons are tried in the order
// listed (docs/identity.md, "Authenticate"); every reason below the secret
// check is reported only to a caller holding the right secret.
enum class AuthReason : uint8_t {
  kAuthenticated = 0,
  // Not `ask_<id>_<64 hex>` (never echoed: it may be a mistyped secret).
  kMalformedCredential,
  // No key has this id (another deployment's key, or a deleted record).
  kUnknownKey,
  // The key exists; the secret is not its secret.
  kWrongSecret,
  kKeyRevoked,
  // Past expires_at, or a CLI login key past created_at + cli_login_key_ttl
  // (or without created_at).
  kKeyExpired,
  // The key's principal (or the login email) names no principal.
  kUnknownPrincipal,
  // The principal belongs to another organization than the one the caller
  // authenticates for (AuthContext::org), or the key record's org_id.
  kCrossOrg,
  kPrincipalDeleted,
  kPrincipalInvited,
  // A SERVICE_ACCOUNT key on a user, or a USER / CLI_LOGIN key on a service
  // account.
  kKeyKindMismatch,
  // A service account on the console, or logging in: service accounts
  // authenticate with API keys only (§5.5).
  kServiceAccountConsole,
  // SSO is required for this user (§10.3): a password or magic-link login,
  // or a key refused by IdentityOptions::user_keys_under_required_sso.
  kSsoRequired,
  // An SSO login to an organization without SSO (mode UNSPECIFIED).
  kSsoNotConfigured,
  // An SSO login for an email outside the organization's verified domains:
  // the IdP may only vouch for domains the organization has verified.
  kSsoDomainNotVerified,
  // AuthContext::org or the login's organization is not in the state.
  kUnknownOrg,
  // Fail-closed catch-all.
  kInternalError,
};

// "AUTHENTICATED", "KEY_REVOKED", ...
absl::string_view AuthReasonName(AuthReason reason);
bool ParseAuthReason(absl::string_view name, AuthReason* reason);

// The outcome of Authenticate or AuthenticateLogin. The views point into the
// KeyIndex that produced it and are valid while it lives.
struct AuthResult {
  static constexpr uint32_t kNoPrincipal = std::numeric_limits<uint32_t>::max();

  AuthReason reason = AuthReason::kInternalError;
  // The principal's position in the state's `principals`; kNoPrincipal
  // unless authenticated. In an Engine compiled from the same state this is
  // the PrincipalRef's index (Engine::FindPrincipal(principal_id)->index()).
  uint32_t principal_index = kNoPrincipal;
  // For logs: set once the secret verified (or for logins, once the email
  // named a principal), even when a later rule refused.
  absl::string_view principal_id;
  absl::string_view org_id;
  v1::PrincipalKind principal_kind = v1::PRINCIPAL_KIND_UNSPECIFIED;
  // Keys: the key's id (set whenever the credential is well formed: ids are
  // not secret), kind, and the instant it stops authenticating
  // (InfiniteFuture() when never, and for logins).
  absl::string_view key_id;
  v1::ApiKeyKind key_kind = v1::API_KEY_KIND_UNSPECIFIED;
  absl::Time valid_until = absl::InfiniteFuture();
  // PolicySet::revision of the indexed state.
  uint64_t revision = 0;

  bool authenticated() const { return reason == AuthReason::kAuthenticated; }
};

// Where and for whom a key is presented.
struct AuthContext {
  // kConsole refuses service-account keys (§5.5).
  Channel channel = Channel::kApi;
  // When set (an organization id), a principal of any other organization is
  // refused with kCrossOrg: a per-tenant endpoint should always set it.
  absl::string_view org;
};

enum class LoginMethod : uint8_t {
  kPassword = 0,
  kMagicLink,
  // The organization's IdP vouched for the email (SAML / OIDC).
  kSso,
};

// ---- KeyIndex ------------------------------------------------------------

// The keys, principals and SSO settings of a state, compiled for
// authentication. Immutable and safe for concurrent use from any number of
// threads without external synchronization. Authenticate takes no lock and
// allocates nothing: one hash lookup of the key id, one SHA-256 of 16 + 32
// bytes, a constant-time comparison, and a few loads.
class KeyIndex {
 public:
  // Validates the identity part of `state` and compiles it. InvalidArgument
  // naming the field path of the first problem:
  //   api_keys[i]: id not 1..64 bytes of [A-Za-z0-9_-], duplicate id, missing
  //     principal_id, unknown kind, salt not 16..64 bytes, secret_hash not
  //     32 bytes, org_id differing from the principal's organization;
  //   identity_settings[i]: unknown or duplicate org_id, unknown SSO mode,
  //     invalid or duplicate domain, a verified domain another organization
  //     verified too.
  // A key whose principal_id names no principal is kept and refused at
  // Authenticate (kUnknownPrincipal). The principals themselves are
  // validated by Engine::Create, not here.
  static absl::StatusOr<std::unique_ptr<const KeyIndex>> Create(
      const v1::PolicySet& state, const IdentityOptions& options = {});

  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;
  ~KeyIndex();

  // Resolves an API key credential at instant `now` (the store's or the
  // Engine's clock, never the caller's word). Never throws, never
  // allocates.
  AuthResult Authenticate(absl::string_view credential, absl::Time now,
                          const AuthContext& context = {}) const noexcept;

  // Decides a console login of `email` (case-insensitive) into organization
  // `org_id` by `method`: an unknown, deleted or invited principal is
  // refused; a service account always (kServiceAccountConsole); a password
  // or magic link when SSO is required for the email's domain (kSsoRequired);
  // an SSO login when the organization has no SSO (kSsoNotConfigured) or the
  // email's domain is not one of its verified domains
  // (kSsoDomainNotVerified). Never throws, never allocates.
  AuthResult AuthenticateLogin(absl::string_view org_id,
                               absl::string_view email,
                               LoginMethod method) const noexcept;

  // True when `email` must log in with SSO in `org_id` (its domain is a
  // verified domain there and the SSO mode enforces it).
  bool SsoRequiredFor(absl::string_view org_id,
                      absl::string_view email) const noexcept;

  size_t num_keys() const;
  uint64_t revision() const;
  const IdentityOptions& options() const;
  // Approximate heap bytes held.
  size_t MemoryUsage() const;

 private:
  explicit KeyIndex(std::unique_ptr<const internal::KeyIndexRep> rep);
  std::unique_ptr<const internal::KeyIndexRep> rep_;
};

}  // namespace arbiter

#endif  // ARBITER_IDENTITY_H_
