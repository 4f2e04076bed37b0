// Helpers shared by the identity rule functions: refusals carrying their
// IdentityRule, timestamps, ids, emails and domains. Private to the library.

#ifndef ARBITER_SRC_IDENTITY_RULES_INTERNAL_H_
#define ARBITER_SRC_IDENTITY_RULES_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "arbiter/identity.h"
#include "arbiter/identity_rules.h"
#include "google/protobuf/timestamp.pb.h"

namespace arbiter {
namespace internal {

// A status with `code`, `message` and `rule` as its payload (read back by
// IdentityRuleOf).
absl::Status Refuse(IdentityRule rule, absl::StatusCode code,
                    absl::string_view message);

// `"value"`, escaped and cut to 64 bytes.
std::string QuoteValue(absl::string_view value);

// Timestamps. An unset timestamp is `fallback`.
absl::Time TimeOf(const google::protobuf::Timestamp& t);
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
std::string TimeString(absl::Time t);  // RFC 3339, UTC

// A fresh id for `prefix`, from options.new_id or RandomId, drawn again while
// `state` uses it. Internal error (kInternal) if none is found.
absl::StatusOr<std::string> NewId(const IdentityStateView& state,
                                  const IdentityOptions& options,
                                  absl::string_view prefix);

// Draws the ids of one plan: unused in the state and distinct from each
// other.
class IdDrawer {
 public:
  IdDrawer(const IdentityStateView& state, const IdentityOptions& options)
      : state_(state), options_(options) {}
  absl::StatusOr<std::string> Next(absl::string_view prefix);

 private:
  const IdentityStateView& state_;
  const IdentityOptions& options_;
  std::vector<std::string> taken_;
};

// ASCII lower case.
std::string Lower(absl::string_view s);
bool EqualsIgnoreCase(absl::string_view a, absl::string_view b);

// Longest email accepted anywhere in this module (RFC 5321's path limit).
inline constexpr size_t kMaxEmailBytes = 254;

// Empty when `email` is 1..254 printable ASCII bytes with one '@' that has
// text on both sides, else what is wrong.
std::string CheckInviteEmail(absl::string_view email);

// The part after the '@' (empty without one).
absl::string_view EmailDomain(absl::string_view email);

// Empty when `domain` (lower case) is a DNS name of two or more labels, each
// 1..63 bytes of [a-z0-9-] not starting or ending with '-', 253 bytes at
// most; else what is wrong.
std::string CheckDomain(absl::string_view domain);

// Principal helpers.
inline bool IsActive(const v1::Principal& p) {
  return p.state() == v1::PRINCIPAL_STATE_ACTIVE ||
         p.state() == v1::PRINCIPAL_STATE_UNSPECIFIED;
}

// Whether a key is revoked / expired at `now` (effective expiry, with the
// CLI login TTL).
bool KeyRevoked(const v1::ApiKey& key);
absl::Time KeyExpiry(const v1::ApiKey& key, const IdentityOptions& options);
inline bool KeyLive(const v1::ApiKey& key, absl::Time now,
                    const IdentityOptions& options) {
  return !KeyRevoked(key) && now < KeyExpiry(key, options);
}

// Whether a grant applies at `now` (no expiry, or expiry after now).
bool GrantLive(const v1::Grant& grant, absl::Time now);

// The profile in effect (options.profile or the built-in one).
const v1::Profile& ProfileOf(const IdentityOptions& options);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IDENTITY_RULES_INTERNAL_H_
