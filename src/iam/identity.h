// Validation of the identities cloud IAM mapping hands out: rule values,
// a cloud's default identity and a compute config's IAM override.

#ifndef ARBITER_SRC_IAM_IDENTITY_H_
#define ARBITER_SRC_IAM_IDENTITY_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace arbiter {
namespace internal {

// An identity is an AWS role or instance-profile *name*, a GCP
// service-account email or a Kubernetes service account: 1..max_length
// printable ASCII bytes without spaces, and not an ARN (`arn:...`, any case).
// Returns an empty string when `identity` is acceptable, else what is wrong;
// for an ARN the message suggests the name (its last path segment).
std::string CheckIamIdentity(absl::string_view identity, size_t max_length);

}  // namespace internal
}  // namespace arbiter

#endif  // ARBITER_SRC_IAM_IDENTITY_H_
