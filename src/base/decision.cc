#include "arbiter/decision.h"

#include <iterator>

namespace arbiter {
namespace {

constexpr absl::string_view kReasonNames[] = {
    "ORG_OWNER",
    "GRANT",
    "PUBLIC_PROJECT",
    "CLOUD_ROLE_INHERITANCE",
    "ORG_MEMBER",
    "OWN_WORKLOAD",
    "UNKNOWN_PRINCIPAL",
    "AMBIGUOUS_PRINCIPAL",
    "UNKNOWN_PERMISSION",
    "UNKNOWN_RESOURCE",
    "UNKNOWN_ORG",
    "STALE_REFERENCE",
    "CROSS_ORG",
    "PRINCIPAL_DELETED",
    "PRINCIPAL_INVITED",
    "SERVICE_ACCOUNT_CONSOLE",
    "PERMISSION_NOT_APPLICABLE",
    "PROTECTED_RESOURCE",
    "NEEDS_ORG_OWNER",
    "NO_CLOUD_GRANT",
    "NO_PROJECT_GRANT",
    "NOT_WORKLOAD_CREATOR",
    "INSUFFICIENT_ROLE",
    "DENY_ROLE",
    "INTERNAL_ERROR",
};
static_assert(std::size(kReasonNames) ==
                  static_cast<size_t>(Reason::kInternalError) + 1,
              "kReasonNames must list every Reason");

}  // namespace

absl::string_view ReasonName(Reason reason) {
  const size_t i = static_cast<size_t>(reason);
  return i < std::size(kReasonNames) ? kReasonNames[i] : "INTERNAL_ERROR";
}

bool ParseReason(absl::string_view name, Reason* reason) {
  for (size_t i = 0; i < std::size(kReasonNames); ++i) {
    if (kReasonNames[i] == name) {
      *reason = static_cast<Reason>(i);
      return true;
    }
  }
  return false;
}

absl::string_view GrantSourceName(GrantSource source) {
  switch (source) {
    case GrantSource::kNone:
      return "NONE";
    case GrantSource::kDirect:
      return "DIRECT";
    case GrantSource::kGroup:
      return "GROUP";
    case GrantSource::kAutoAdd:
      return "AUTO_ADD";
  }
  return "NONE";
}

bool operator==(const Decision& a, const Decision& b) {
  return a.effect == b.effect && a.reason == b.reason && a.source == b.source &&
         a.grant_index == b.grant_index && a.grant_id == b.grant_id &&
         a.revision == b.revision && a.valid_until == b.valid_until;
}

std::ostream& operator<<(std::ostream& os, const Decision& d) {
  os << (d.allowed() ? "ALLOW " : "DENY ") << ReasonName(d.reason);
  if (!d.grant_id.empty()) {
    os << " grant=" << d.grant_id << " source=" << GrantSourceName(d.source);
  }
  os << " revision=" << d.revision;
  if (d.valid_until != absl::InfiniteFuture()) {
    os << " valid_until=" << absl::FormatTime(absl::RFC3339_full, d.valid_until,
                                              absl::UTCTimeZone());
  }
  return os;
}

}  // namespace arbiter
