// Refusals: an absl::Status whose payload names the Refusal
// (arbiter/policy_store.h), so callers and the CLI can tell a
// LAST_ORG_OWNER from a NO_CLOUD_GRANT beyond the status code.

#ifndef ARBITER_SRC_ADMIN_REFUSAL_H_
#define ARBITER_SRC_ADMIN_REFUSAL_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "arbiter/policy_store.h"

namespace arbiter {
namespace internal {

// A status of `code` with `message`, carrying `refusal`.
absl::Status Refuse(absl::StatusCode code, Refusal refusal,
                    absl::string_view message);

// `status` (not OK) carrying `refusal` unless it carries one already.
absl::Status WithRefusal(absl::Status status, Refusal refusal);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_ADMIN_REFUSAL_H_
