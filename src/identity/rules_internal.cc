#include "src/identity/rules_internal.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "arbiter/profile.h"
#include "src/identity/credential.h"
#include "src/internal/names.h"

namespace arbiter {
namespace internal {
namespace {

constexpr absl::string_view kRulePayloadUrl =
    "type.arbiter.dev/arbiter.IdentityRule";

struct RuleName {
  IdentityRule rule;
  absl::string_view name;
};

constexpr RuleName kRuleNames[] = {
    {IdentityRule::kNone, "NONE"},
    {IdentityRule::kUnknownOrganization, "UNKNOWN_ORGANIZATION"},
    {IdentityRule::kInviteSsoRequired, "INVITE_SSO_REQUIRED"},
    {IdentityRule::kInviteScimWithPolicy, "INVITE_SCIM_WITH_POLICY"},
    {IdentityRule::kInviteInvalidEmail, "INVITE_INVALID_EMAIL"},
    {IdentityRule::kInviteDuplicateEmail, "INVITE_DUPLICATE_EMAIL"},
    {IdentityRule::kInviteAlreadyMember, "INVITE_ALREADY_MEMBER"},
    {IdentityRule::kInvitePendingLimit, "INVITE_PENDING_LIMIT"},
    {IdentityRule::kInviteDailyLimit, "INVITE_DAILY_LIMIT"},
    {IdentityRule::kInvitationUnknown, "INVITATION_UNKNOWN"},
    {IdentityRule::kInvitationNotPending, "INVITATION_NOT_PENDING"},
    {IdentityRule::kInvitationExpired, "INVITATION_EXPIRED"},
    {IdentityRule::kInvitationEmailMismatch, "INVITATION_EMAIL_MISMATCH"},
    {IdentityRule::kServiceAccountNameInvalid, "SERVICE_ACCOUNT_NAME_INVALID"},
    {IdentityRule::kServiceAccountNameTaken, "SERVICE_ACCOUNT_NAME_TAKEN"},
    {IdentityRule::kServiceAccountUnknown, "SERVICE_ACCOUNT_UNKNOWN"},
    {IdentityRule::kPrincipalUnknown, "PRINCIPAL_UNKNOWN"},
    {IdentityRule::kPrincipalNotActive, "PRINCIPAL_NOT_ACTIVE"},
    {IdentityRule::kKeyKindMismatch, "KEY_KIND_MISMATCH"},
    {IdentityRule::kKeyNameInvalid, "KEY_NAME_INVALID"},
    {IdentityRule::kKeyNameTaken, "KEY_NAME_TAKEN"},
    {IdentityRule::kKeyExpiryInvalid, "KEY_EXPIRY_INVALID"},
    {IdentityRule::kKeyLimit, "KEY_LIMIT"},
    {IdentityRule::kKeyUnknown, "KEY_UNKNOWN"},
    {IdentityRule::kKeyAlreadyRevoked, "KEY_ALREADY_REVOKED"},
    {IdentityRule::kScimHumanRevoke, "SCIM_HUMAN_REVOKE"},
    {IdentityRule::kGroupMembershipNotSynced, "GROUP_MEMBERSHIP_NOT_SYNCED"},
    {IdentityRule::kScimNotEnabled, "SCIM_NOT_ENABLED"},
    {IdentityRule::kLastOrgOwner, "LAST_ORG_OWNER"},
    {IdentityRule::kSsoDomainInvalid, "SSO_DOMAIN_INVALID"},
    {IdentityRule::kSsoDomainDuplicate, "SSO_DOMAIN_DUPLICATE"},
    {IdentityRule::kSsoDomainTaken, "SSO_DOMAIN_TAKEN"},
    {IdentityRule::kSsoModeInvalid, "SSO_MODE_INVALID"},
    {IdentityRule::kPlanConflict, "PLAN_CONFLICT"},
    {IdentityRule::kInternal, "INTERNAL"},
};

}  // namespace

absl::Status Refuse(IdentityRule rule, absl::StatusCode code,
                    absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kRulePayloadUrl, absl::Cord(IdentityRuleName(rule)));
  return status;
}

std::string QuoteValue(absl::string_view value) { return Quote(value); }

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // floor
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

std::string TimeString(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  if (t == absl::InfinitePast()) return "the beginning of time";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<std::string> NewId(const IdentityStateView& state,
                                  const IdentityOptions& options,
                                  absl::string_view prefix) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string id = options.new_id ? options.new_id(prefix) : RandomId(prefix);
    if (!id.empty() && !state.IdInUse(id)) return id;
  }
  return Refuse(IdentityRule::kInternal, absl::StatusCode::kInternal,
                absl::StrCat("could not draw an unused ", prefix, " id"));
}

absl::StatusOr<std::string> IdDrawer::Next(absl::string_view prefix) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    absl::StatusOr<std::string> id = NewId(state_, options_, prefix);
    if (!id.ok()) return id;
    if (std::find(taken_.begin(), taken_.end(), *id) == taken_.end()) {
      taken_.push_back(*id);
      return id;
    }
  }
  return Refuse(IdentityRule::kInternal, absl::StatusCode::kInternal,
                absl::StrCat("could not draw an unused ", prefix, " id"));
}

std::string Lower(absl::string_view s) {
  std::string out(s);
  absl::AsciiStrToLower(&out);
  return out;
}

bool EqualsIgnoreCase(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(a, b);
}

std::string CheckInviteEmail(absl::string_view email) {
  return CheckEmail(email, kMaxEmailBytes);
}

absl::string_view EmailDomain(absl::string_view email) {
  const size_t at = email.rfind('@');
  if (at == absl::string_view::npos) return {};
  return email.substr(at + 1);
}

std::string CheckDomain(absl::string_view domain) {
  if (domain.empty()) return "empty domain";
  if (domain.size() > 253) {
    return absl::StrCat("domain of ", domain.size(),
                        " bytes is longer than 253");
  }
  int labels = 0;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == absl::string_view::npos) end = domain.size();
    const absl::string_view label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63) {
      return absl::StrCat("domain ", Quote(domain),
                          ": every label must be 1..63 bytes");
    }
    if (label.front() == '-' || label.back() == '-') {
      return absl::StrCat("domain ", Quote(domain),
                          ": a label starts or ends with '-'");
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return absl::StrCat("domain ", Quote(domain),
                            ": only [a-z0-9-] and dots are allowed");
      }
    }
    ++labels;
    start = end + 1;
  }
  if (labels < 2) {
    return absl::StrCat("domain ", Quote(domain),
                        ": needs at least two labels");
  }
  return "";
}

bool KeyRevoked(const v1::ApiKey& key) { return key.has_revoked_at(); }

absl::Time KeyExpiry(const v1::ApiKey& key, const IdentityOptions& options) {
  absl::Time expiry =
      key.has_expires_at() ? TimeOf(key.expires_at()) : absl::InfiniteFuture();
  if (key.kind() == v1::API_KEY_KIND_CLI_LOGIN) {
    // Fail closed: a CLI login key without a creation time has no start for
    // its time to live.
    const absl::Time ttl_end =
        key.has_created_at()
            ? TimeOf(key.created_at()) + options.cli_login_key_ttl
            : absl::InfinitePast();
    expiry = std::min(expiry, ttl_end);
  }
  return expiry;
}

bool GrantLive(const v1::Grant& grant, absl::Time now) {
  return !grant.has_expires_at() || now < TimeOf(grant.expires_at());
}

const v1::Profile& ProfileOf(const IdentityOptions& options) {
  return options.profile != nullptr ? *options.profile : BuiltinProfile();
}

}  // namespace internal

absl::string_view IdentityRuleName(IdentityRule rule) {
  for (const internal::RuleName& r : internal::kRuleNames) {
    if (r.rule == rule) return r.name;
  }
  return "UNKNOWN";
}

IdentityRule IdentityRuleOf(const absl::Status& status) {
  if (status.ok()) return IdentityRule::kNone;
  absl::optional<absl::Cord> payload =
      status.GetPayload(internal::kRulePayloadUrl);
  if (!payload.has_value()) return IdentityRule::kNone;
  const std::string name(*payload);
  for (const internal::RuleName& r : internal::kRuleNames) {
    if (r.name == name) return r.rule;
  }
  return IdentityRule::kNone;
}

}  // namespace arbiter
