#include "src/admin/refusal.h"

#include <string>

#include "absl/strings/cord.h"

namespace arbiter {
namespace {

constexpr char kPayloadUrl[] = "type.arbiter.dev/arbiter.Refusal";

constexpr absl::string_view kNames[] = {
    "NONE",
    "INVALID",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "STALE_REVISION",
    "TOO_LARGE",
    "INVALID_STATE",
    "NO_CLOUD_GRANT",
    "READ_ONLY_CAP",
    "OWNER_WITH_READ_ONLY",
    "SELF_MODIFICATION",
    "ORG_OWNER_CLOUD_ROLE",
    "AUTO_ADD_ENABLED",
    "SCIM_REVOKE",
    "INVITATION_REFUSED",
    "LAST_ORG_OWNER",
    "DUPLICATE_QUOTA",
    "DUPLICATE_BUDGET",
    "ROLE_OUT_OF_SCOPE",
    "UNKNOWN_GROUP",
    "PROTECTED_RESOURCE",
    "ALREADY_MEMBER",
    "SERVICE_ACCOUNT_OWNER",
    "NOT_INVITED",
    "LIMIT_EXCEEDED",
    "UNAVAILABLE",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) ==
                  static_cast<size_t>(Refusal::kUnavailable) + 1,
              "a name per refusal");

}  // namespace

absl::string_view RefusalName(Refusal refusal) {
  const size_t i = static_cast<size_t>(refusal);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "UNKNOWN";
}

Refusal RefusalOf(const absl::Status& status) {
  if (status.ok()) return Refusal::kNone;
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return Refusal::kNone;
  const std::string name(*payload);
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
    if (kNames[i] == name) return static_cast<Refusal>(i);
  }
  return Refusal::kNone;
}

namespace internal {

absl::Status Refuse(absl::StatusCode code, Refusal refusal,
                    absl::string_view message) {
  absl::Status status(code, message);
  status.SetPayload(kPayloadUrl, absl::Cord(RefusalName(refusal)));
  return status;
}

absl::Status WithRefusal(absl::Status status, Refusal refusal) {
  if (status.ok() || RefusalOf(status) != Refusal::kNone) return status;
  status.SetPayload(kPayloadUrl, absl::Cord(RefusalName(refusal)));
  return status;
}

}  // namespace internal
}  // namespace arbiter
