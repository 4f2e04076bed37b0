// Names of the authentication reasons (arbiter/identity.h).

#include "absl/strings/string_view.h"
#include "arbiter/identity.h"

namespace arbiter {

absl::string_view AuthReasonName(AuthReason reason) {
  switch (reason) {
    case AuthReason::kAuthenticated:
      return "AUTHENTICATED";
    case AuthReason::kMalformedCredential:
      return "MALFORMED_CREDENTIAL";
    case AuthReason::kUnknownKey:
      return "UNKNOWN_KEY";
    case AuthReason::kWrongSecret:
      return "WRONG_SECRET";
    case AuthReason::kKeyRevoked:
      return "KEY_REVOKED";
    case AuthReason::kKeyExpired:
      return "KEY_EXPIRED";
    case AuthReason::kUnknownPrincipal:
      return "UNKNOWN_PRINCIPAL";
    case AuthReason::kCrossOrg:
      return "CROSS_ORG";
    case AuthReason::kPrincipalDeleted:
      return "PRINCIPAL_DELETED";
    case AuthReason::kPrincipalInvited:
      return "PRINCIPAL_INVITED";
    case AuthReason::kKeyKindMismatch:
      return "KEY_KIND_MISMATCH";
    case AuthReason::kServiceAccountConsole:
      return "SERVICE_ACCOUNT_CONSOLE";
    case AuthReason::kSsoRequired:
      return "SSO_REQUIRED";
    case AuthReason::kSsoNotConfigured:
      return "SSO_NOT_CONFIGURED";
    case AuthReason::kSsoDomainNotVerified:
      return "SSO_DOMAIN_NOT_VERIFIED";
    case AuthReason::kUnknownOrg:
      return "UNKNOWN_ORG";
    case AuthReason::kInternalError:
      return "INTERNAL_ERROR";
  }
  return "INTERNAL_ERROR";
}

bool ParseAuthReason(absl::string_view name, AuthReason* reason) {
  for (int r = 0; r <= static_cast<int>(AuthReason::kInternalError); ++r) {
    if (AuthReasonName(static_cast<AuthReason>(r)) == name) {
      *reason = static_cast<AuthReason>(r);
      return true;
    }
  }
  return false;
}

}  // namespace arbiter
